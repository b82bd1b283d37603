"""The embedding store: one SQLite file, written by this process alone, filled here, on local
cores or on Dask (``facedemo.embeddings`` says what it keeps, how it is shared and healed)."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import sqlite3
import threading
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from facedemo import config, faces, images, workers
from facedemo.embeddings.rows import (
    MEASURES_SCHEMA,
    SCHEMA,
    SCHEMA_VERSION,
    UPGRADES,
    Answer,
    EmbeddedSet,
    Measures,
    Stored,
    measures_text,
    stored_answer,
    stored_measures,
)
from facedemo.errors import ImageError, SettingError
from facedemo.quality.measures import MEASURES, MEASURES_VERSION, unmeasured
from facedemo.workers import Outcomes, Photo, content_hash

if TYPE_CHECKING:
    from facedemo.datasets import Progress  # (done, total, file name); datasets loads pandas

#: Images detected, embedded and written per transaction (a killed run loses at most these).
BATCH_SIZE = 16

#: Fewer batches of photos to compute than this stay in this process: a pool is not worth
#: starting for them.
PARALLEL_MIN_BATCHES = 2

#: Seconds a connection waits for another writer before giving up.
BUSY_TIMEOUT = 60.0

#: Content hashes per ``IN (...)`` query, below SQLite's limit on bound parameters.
_LOOKUP_CHUNK = 500

# SQLite's primary result codes for a file that is damaged or is no database at all.
_DAMAGED_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

_Result = TypeVar("_Result")

# One model run at a time in this process: DeepFace's models are process-wide singletons,
# and a session waiting here finds what another session just stored instead of redoing it.
_COMPUTE_LOCK = threading.Lock()


def _read(path: Path) -> bytes:
    """The file's bytes, or ImageError (missing, unreadable, not a regular file, too large)."""
    return images.read_photo_file(path, path.name)


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite found the file damaged or no database (rather than locked or full)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DAMAGED_CODES


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """Take the write lock up front (waiting up to the busy timeout), commit or roll back."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class EmbeddingStore:
    """Embeddings by image content and engine setting in one SQLite file.

    Safe to share between threads (one store object serves every Streamlit session)
    and between processes: no connection outlives the call that opened it.
    """

    def __init__(self, path: Path | None = None, *, batch_size: int = BATCH_SIZE) -> None:
        """Open the store at ``path`` (default ``config.embeddings_db()``), creating it, or
        rebuilding it when the file there is damaged (see :attr:`healed`)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.path = Path(path) if path is not None else config.embeddings_db()
        self.batch_size = batch_size
        #: The sentence saying the store was found damaged, moved aside and rebuilt (the
        #: last time it happened to this object); None while it never was.
        self.healed: str | None = None
        if self.path.exists() and not self.path.is_file():
            raise SettingError(
                f"The embedding store should be a file, but {self.path} is a folder (or "
                "another kind of entry). Move it away, or set FACEDEMO_HOME to another folder."
            )
        self._healing(self._check_integrity)

    def take_healed(self) -> str | None:
        """``healed``, once: returned and forgotten, so a store shared by a server's sessions
        says it only after the study that found the damage."""
        said, self.healed = self.healed, None
        return said

    def _check_integrity(self) -> None:
        """Raise sqlite3.DatabaseError when the file is damaged (SQLite's quick check)."""
        with self._connect() as connection:
            problems = connection.execute("PRAGMA quick_check").fetchall()
        if problems != [("ok",)]:
            error = sqlite3.DatabaseError(f"integrity check: {problems[0][0]}")
            error.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
            raise error

    def _healing(self, operation: Callable[[], _Result]) -> _Result:
        """Run ``operation``; if it finds the file damaged, move the file aside and run it
        once more on a fresh store."""
        try:
            return operation()
        except sqlite3.DatabaseError as error:
            if not _is_damage(error):
                raise  # locked, disk full, no permission: not ours to repair
            self._move_aside(error)
        return operation()

    def _move_aside(self, error: sqlite3.DatabaseError) -> None:
        """Rename the damaged file (and its write-ahead log) aside, under a lock file, unless
        another process already did; set :attr:`healed`."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._check_integrity()
                return  # another process (or thread) healed it while we waited
            except sqlite3.DatabaseError as again:
                if not _is_damage(again):
                    raise
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
            self.path.rename(aside)
            # The log belongs to the damaged file: a fresh store must not replay it.
            for suffix in ("-wal", "-shm"):
                log = self.path.with_name(self.path.name + suffix)
                if log.exists():
                    log.rename(aside.with_name(aside.name + suffix))
        self.healed = (
            f"The embedding store {self.path} was damaged ({error}), so it was moved aside "
            f"to {aside} and a fresh one started: embeddings are computed again as they are "
            "needed, and nothing you made is lost (the store is only a cache); delete the "
            "damaged copy once you no longer need it."
        )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode, with the tables in place; closed on exit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL: durable if the process dies
            self._ensure_schema(connection)
            yield connection
        finally:
            connection.close()

    @staticmethod
    def _ensure_schema(connection: sqlite3.Connection) -> None:
        """Create the tables; upgrade them in place from a version in :data:`UPGRADES` (the
        first schema: vectors only), or rebuild them from any other version."""
        with _transaction(connection):
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
            if row[0] == SCHEMA_VERSION:
                return
            if row[0] in UPGRADES:
                for statement in UPGRADES[row[0]]:
                    connection.execute(statement)
            else:
                connection.execute("DROP TABLE IF EXISTS embeddings")
                connection.execute("DROP TABLE IF EXISTS measures")
                connection.execute(SCHEMA)
                connection.execute(MEASURES_SCHEMA)
            connection.execute("DELETE FROM schema_version")
            connection.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    def count(self, engine: faces.Engine | None = None) -> int:
        """Stored embeddings (failures not counted), of one engine setting or of all."""
        query = "SELECT count(*) FROM embeddings WHERE vector IS NOT NULL"
        parameters: tuple[str, ...] = ()
        if engine is not None:
            query += " AND engine_key = ?"
            parameters = (engine.embedding_key,)

        def count_rows() -> int:
            with self._connect() as connection:
                return connection.execute(query, parameters).fetchone()[0]

        return self._healing(count_rows)

    def clear(self, engine: faces.Engine | None = None) -> None:
        """Forget the rows of one engine setting, or every row."""

        def delete_rows() -> None:
            with self._connect() as connection, _transaction(connection):
                for table in ("embeddings", "measures"):
                    if engine is None:
                        connection.execute(f"DELETE FROM {table}")
                    else:
                        connection.execute(
                            f"DELETE FROM {table} WHERE engine_key = ?", (engine.embedding_key,)
                        )

        self._healing(delete_rows)

    def embed_paths(
        self,
        paths: Sequence[Path],
        engine: faces.Engine,
        progress: Progress | None = None,
        enforce_detection: bool = True,
        *,
        jobs: int = 1,
        scheduler: str | None = None,
    ) -> EmbeddedSet:
        """Embed the largest face of each image, computing only what the store lacks.

        Each file is read and hashed once; identical files are embedded once. Images
        already answered are reported to ``progress`` in one call at the start, then
        one call per image as each batch is written. Without ``enforce_detection`` an
        image with no face is embedded whole, as :func:`facedemo.faces.detect` does.

        ``jobs`` > 1 computes on that many local worker processes (when at least
        :data:`PARALLEL_MIN_BATCHES` batches of photos are missing; fewer stay here); ``scheduler``,
        a Dask address such as ``tcp://HOST:8786``, computes on that cluster instead.
        Either way this process writes the store, and the vectors are the same.

        Each photo's quality measures come with its vector (``EmbeddedSet.measures``); a
        photo whose vector is stored without them is detected and measured (counted in
        ``measured_now``), not embedded.
        """
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        paths = [Path(path) for path in paths]
        answers: dict[int, Answer] = {}  # by input index
        indices_of: dict[str, list[int]] = {}  # input indices by content hash, in input order
        for index, path in enumerate(paths):
            try:
                indices_of.setdefault(content_hash(_read(path)), []).append(index)
            except ImageError as error:  # nothing to key it by: reported, not stored
                answers[index] = str(error)

        return self._healing(
            lambda: self._fill(
                _Filling(paths, indices_of, dict(answers), progress),
                engine,
                enforce_detection,
                jobs,
                scheduler,
            )
        )

    def _fill(
        self,
        filling: _Filling,
        engine: faces.Engine,
        enforce_detection: bool,
        jobs: int,
        scheduler: str | None,
    ) -> EmbeddedSet:
        """Answer the hashed images from the store, computing and storing what it lacks."""
        with self._connect() as connection:
            stored = self._lookup(connection, engine, list(filling.indices_of), enforce_detection)
            missing = filling.start(stored)
            few = len(missing) < PARALLEL_MIN_BATCHES * self.batch_size
            if scheduler is None and (jobs == 1 or few):
                self._compute_here(connection, filling, missing, engine, enforce_detection)
            else:
                self._compute_away(
                    connection, filling, missing, engine, enforce_detection, jobs, scheduler
                )
        return filling.result()

    def _compute_here(
        self,
        connection: sqlite3.Connection,
        filling: _Filling,
        missing: list[str],
        engine: faces.Engine,
        enforce_detection: bool,
    ) -> None:
        """Compute ``missing`` in this process, a batch at a time, each written as it is done.

        Each batch is looked up again under the lock: another session may just have
        stored it.
        """
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            with _COMPUTE_LOCK:
                fresh = self._lookup(connection, engine, batch, enforce_detection)
                photos = [filling.photo(key) for key in filling.take(fresh, batch)]
                outcomes = workers.embed_batch(photos, engine, enforce_detection)
                self._write(connection, engine, outcomes, filling.measure_only)
            filling.record(outcomes)

    def _compute_away(
        self,
        connection: sqlite3.Connection,
        filling: _Filling,
        missing: list[str],
        engine: faces.Engine,
        enforce_detection: bool,
        jobs: int,
        scheduler: str | None,
    ) -> None:
        """Compute ``missing`` on local workers or a Dask cluster, writing each batch here
        as it comes back (in any order)."""
        with _COMPUTE_LOCK:  # one model run at a time per process: the pool is this one's
            fresh = self._lookup(connection, engine, missing, enforce_detection)
            todo = filling.take(fresh, missing)
            batches = (
                [filling.photo(key) for key in todo[start : start + self.batch_size]]
                for start in range(0, len(todo), self.batch_size)
            )
            if scheduler is not None:
                done = workers.on_dask(batches, engine, enforce_detection, scheduler)
            else:
                done = workers.on_local_cores(batches, engine, enforce_detection, jobs)
            for outcomes in done:
                self._write(connection, engine, outcomes, filling.measure_only)
                filling.record(outcomes)

    @staticmethod
    def _lookup(
        connection: sqlite3.Connection,
        engine: faces.Engine,
        keys: Sequence[str],
        enforce_detection: bool,
    ) -> dict[str, Stored]:
        """Stored answers and measures for the content hashes ``keys`` (absent: not stored
        or unusable)."""
        found: dict[str, Stored] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            rows = connection.execute(
                "SELECT e.content_hash, e.kind, e.dimension, e.vector, e.failure, m.version, "
                "m.measures FROM embeddings AS e LEFT JOIN measures AS m "
                "ON m.engine_key = e.engine_key AND m.content_hash = e.content_hash "
                f"WHERE e.engine_key = ? AND e.content_hash IN ({', '.join('?' * len(chunk))})",
                (engine.embedding_key, *chunk),
            )
            for key, kind, dimension, blob, failure, version, measures in rows:
                answer = stored_answer(kind, dimension, blob, failure, enforce_detection)
                if answer is not None:
                    found[key] = (answer, stored_measures(version, measures))
        return found

    @staticmethod
    def _write(
        connection: sqlite3.Connection,
        engine: faces.Engine,
        outcomes: Outcomes,
        measure_only: Container[str],
    ) -> None:
        """Store the outcomes in one transaction, replacing torn or outdated rows: the row
        and measures of each, only the measures of those sent as ``measure_only``."""
        rows = [
            (
                engine.embedding_key,
                outcome.digest,
                outcome.kind,
                None if outcome.vector is None else len(outcome.vector),
                None if outcome.vector is None else outcome.vector.astype("<f4").tobytes(),
                outcome.failure or None,
            )
            for key, outcome in outcomes.items()
            if outcome.kind and key not in measure_only
        ]
        measured = [
            (
                engine.embedding_key,
                outcome.digest,
                MEASURES_VERSION,
                measures_text(outcome.measures),
            )
            for outcome in outcomes.values()
            if outcome.measures is not None
        ]
        if rows or measured:
            with _transaction(connection):
                connection.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?)", rows
                )
                connection.executemany(
                    "INSERT OR REPLACE INTO measures VALUES (?, ?, ?, ?)", measured
                )


@dataclass
class _Filling:
    """One ``embed_paths`` call as it goes: answers and measures by input index, what is
    still to measure, and what was computed."""

    paths: list[Path]
    indices_of: dict[str, list[int]]  # input indices by content hash, in input order
    answers: dict[int, Answer]  # by input index
    progress: Progress | None
    computed: int = 0  # distinct images detected and embedded now
    measured: int = 0  # distinct images whose stored vector was measured now
    reused: int = 0  # input images answered from the store
    measures: dict[int, Measures] = field(default_factory=dict)  # by input index
    # Stored vectors waiting for their measures, by content hash: sent to be measured only.
    measure_only: dict[str, np.ndarray] = field(default_factory=dict)
    started: bool = False  # progress has heard of the answers the store held at the start

    def start(self, stored: dict[str, Stored]) -> list[str]:
        """Take what the store already holds whole; tell progress once if there is any.
        Returns the content hashes still to compute, in input order."""
        todo = self.take(stored, list(self.indices_of))
        if self.answers and self.progress is not None:
            last = self.paths[max(self.answers)].name
            self.progress(len(self.answers), len(self.paths), last)
        self.started = True
        return todo

    def take(self, stored: dict[str, Stored], keys: Sequence[str]) -> list[str]:
        """Answer the ``keys`` the store holds whole (a failure, or a vector with its
        measures); keep stored vectors without measures to be measured only. Returns the
        keys still to compute (embed, or measure only); progress hears of each answer."""
        todo = []
        for key in keys:
            answer, measures = stored.get(key, (None, None))
            if isinstance(answer, str) or (answer is not None and measures is not None):
                self.stored_answer(key, answer, measures)
                self.reused += len(self.indices_of[key])
                continue
            if answer is not None:
                self.measure_only[key] = answer
            todo.append(key)
        return todo

    def photo(self, key: str) -> Photo:
        """The photo of content hash ``key`` as a worker takes it: its first file's bytes,
        or the sentence why that file can no longer be read; and whether it wants a vector."""
        wants_vector = key not in self.measure_only
        try:
            return key, _read(self.paths[self.indices_of[key][0]]), wants_vector
        except ImageError as error:  # gone since it was hashed: reported, not stored
            return key, str(error), wants_vector

    def record(self, outcomes: Outcomes) -> None:
        """Take a written batch of computed outcomes; tell progress once per input image."""
        for key, outcome in outcomes.items():
            if key in self.measure_only:
                self.measured += 1
                self.reused += len(self.indices_of[key])
                self.stored_answer(key, self.measure_only.pop(key), outcome.measures)
            else:
                self.computed += 1
                self.stored_answer(key, outcome.answer, outcome.measures)

    def stored_answer(self, key: str, answer: Answer, measures: Measures | None) -> None:
        """Answer every input image of content hash ``key``; progress hears of each, unless
        the store answered it at the start (one call for all of those)."""
        for index in self.indices_of[key]:
            self.answers[index] = answer
            if measures is not None:
                self.measures[index] = measures
            if self.progress is not None and self.started:
                self.progress(len(self.answers), len(self.paths), self.paths[index].name)

    def result(self) -> EmbeddedSet:
        """The answers by input index as an EmbeddedSet."""
        order = sorted(self.answers)
        answers = self.answers
        ok_indices = np.array(
            [index for index in order if not isinstance(answers[index], str)], dtype=np.int32
        )
        embeddings = (
            np.stack([answers[index] for index in ok_indices])
            if len(ok_indices)
            else np.zeros((0, 0), dtype=np.float32)
        )
        failures = tuple(
            (index, answers[index]) for index in order if isinstance(answers[index], str)
        )
        nothing = unmeasured()
        measures = {
            name: np.array(
                [self.measures.get(index, nothing)[name] for index in ok_indices],
                dtype=np.float64,
            )
            for name in MEASURES
        }
        return EmbeddedSet(
            embeddings, ok_indices, failures, self.computed, self.reused, measures, self.measured
        )
