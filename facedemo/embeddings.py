"""The embedding store: every image embedded once per engine setting, kept on disk.

Rows live in SQLite, keyed by the image's content (a hash of the file bytes, so a
renamed or copied photo is found again) and by ``Engine.embedding_key`` (model,
detector, alignment, detection size; the metric does not change a vector). Images
without a usable face are stored too, with the sentence why, so they are listed
rather than dropped and not retried until the engine changes.

The file is shared by sessions, pages and CLI runs, in threads and processes at
once: every call opens its own connection, the database runs in WAL mode with a
busy timeout, and each batch is written in one short transaction, so a killed run
loses only the batch it was working on.

A data set can be embedded on several cores or machines (``jobs``, ``scheduler``: see
:mod:`facedemo.workers`); this process stays the file's one writer. Photos already
stored are never sent out; the rest go out as batches of bytes, and each batch that
comes back is written in its own transaction, so a killed run loses only the batches
in flight and a rerun continues where it stopped.

Beside each vector the store keeps the photo's quality measures
(:mod:`facedemo.quality.measures`: face size, sharpness, exposure, pose, the detector's
score), computed in the same pass. A photo whose vector is stored but whose measures are
not (embedded before measures existed, measured by another version, a damaged measures
row) is detected again and measured, never embedded again. A store file of the first
schema (vectors only) is upgraded in place when opened: its vectors stay as they are.

The store is only a cache, so a damaged file (cut short, overwritten, not SQLite at
all) is never an error: found when the store opens (an integrity check) or when a
call reads it, it is renamed aside (``embeddings.sqlite3.damaged-<time>``, kept for
inspection) and a fresh store takes its place; ``EmbeddingStore.healed`` holds the
sentence saying so. Healing takes a lock file beside the store and checks the file
again under it, so two processes finding the same damage move it aside once.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import math
import sqlite3
import threading
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from facedemo import config, faces, images, workers
from facedemo.errors import ImageError, SettingError
from facedemo.quality.measures import MEASURES, MEASURES_VERSION, unmeasured
from facedemo.workers import Outcomes, Photo, content_hash

if TYPE_CHECKING:
    from facedemo.datasets import Progress  # (done, total, file name); datasets loads pandas

#: Bump when the tables change; a store of a version in :data:`_UPGRADES` is upgraded in
#: place, one of any other version rebuilt (it is only a cache).
SCHEMA_VERSION = 2

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

_SCHEMA = """
CREATE TABLE embeddings (
    engine_key   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('face', 'whole_photo', 'no_face', 'unreadable')),
    dimension    INTEGER,
    vector       BLOB,
    failure      TEXT,
    PRIMARY KEY (engine_key, content_hash)
) WITHOUT ROWID
"""
# kind: 'face' = the largest face's vector; 'no_face' = none found (failure says so);
# 'whole_photo' = none found, the whole photo's vector (used only without enforce_detection);
# 'unreadable' = the bytes are not an image we can decode (failure says why).

_MEASURES_SCHEMA = """
CREATE TABLE measures (
    engine_key   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version      INTEGER NOT NULL,
    measures     TEXT NOT NULL,
    PRIMARY KEY (engine_key, content_hash)
) WITHOUT ROWID
"""
# One row per photo with a face (or a whole-photo stand-in) under an engine: measures is a
# JSON object, measure name -> number (null where unmeasurable), computed the way
# MEASURES_VERSION says; a row of another version, or one that does not read, is measured
# again.

#: Statements that bring a store of an older schema version to this one, its rows kept. A
#: version-1 store may still hold a measures table: an older checkout that met this version
#: rebuilt the store as version 1 and left the table it did not know about.
_UPGRADES: dict[int, tuple[str, ...]] = {1: ("DROP TABLE IF EXISTS measures", _MEASURES_SCHEMA)}

#: A stored answer: the embedding, or the sentence why the image has none.
_Answer = np.ndarray | str

#: A photo's quality measures by name (NaN where unmeasured).
_Measures = dict[str, float]

#: What the store holds of a photo: its answer, and its measures (None: not measured yet,
#: measured by another version, or a row that does not read).
_Stored = tuple[_Answer, _Measures | None]


@dataclass(frozen=True)
class EmbeddedSet:
    """Embeddings of a list of images under one engine, and which images have none."""

    embeddings: np.ndarray  # float32 (n_ok, d), rows in the order of ok_indices
    ok_indices: np.ndarray  # int32 indices into the input paths that got a face
    failures: tuple[tuple[int, str], ...]  # (input index, the sentence why) for the rest
    embedded_now: int  # distinct images detected and embedded now (0 on a warm store)
    embedded_before: int  # input images answered from the store
    # Quality measures by name (facedemo.quality.MEASURES), float64 aligned with the rows of
    # ``embeddings``, NaN where unmeasured.
    measures: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    measured_now: int = 0  # distinct images whose stored vector was measured now (detected)


def _read(path: Path) -> bytes:
    """The file's bytes, or ImageError (missing, unreadable, not a regular file, too large)."""
    return images.read_photo_file(path, path.name)


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite found the file damaged or no database (rather than locked or full)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DAMAGED_CODES


def _vector(dimension: int | None, blob: bytes | None) -> np.ndarray | None:
    """A stored vector, or None when its bytes do not match its dimension (a torn row)."""
    if not dimension or blob is None or len(blob) != 4 * dimension:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def _measures(version: int | None, text: str | None) -> _Measures | None:
    """Stored measures, or None when there are none of this version or the row does not
    read (every measure a number or null)."""
    if version != MEASURES_VERSION or text is None:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, dict) or values.keys() != MEASURES.keys():
        return None
    if not all(v is None or type(v) in (int, float) for v in values.values()):
        return None
    return {name: math.nan if value is None else float(value) for name, value in values.items()}


def _measures_text(values: _Measures) -> str:
    """Measures as their row stores them: JSON, null for NaN."""
    return json.dumps({name: None if math.isnan(v) else v for name, v in values.items()})


def _answer(
    kind: str,
    dimension: int | None,
    blob: bytes | None,
    failure: str | None,
    enforce_detection: bool,
) -> _Answer | None:
    """What a stored row says under ``enforce_detection``; None means compute it again.

    Without enforce_detection a 'no_face' row has no vector yet: the whole photo's is wanted.
    """
    if kind == "unreadable" or (enforce_detection and kind != "face"):
        return failure
    return _vector(dimension, blob)


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
        """Create the tables; upgrade them in place from a version in :data:`_UPGRADES` (the
        first schema: vectors only), or rebuild them from any other version."""
        with _transaction(connection):
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
            if row[0] == SCHEMA_VERSION:
                return
            if row[0] in _UPGRADES:
                for statement in _UPGRADES[row[0]]:
                    connection.execute(statement)
            else:
                connection.execute("DROP TABLE IF EXISTS embeddings")
                connection.execute("DROP TABLE IF EXISTS measures")
                connection.execute(_SCHEMA)
                connection.execute(_MEASURES_SCHEMA)
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
        answers: dict[int, _Answer] = {}  # by input index
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
    ) -> dict[str, _Stored]:
        """Stored answers and measures for the content hashes ``keys`` (absent: not stored
        or unusable)."""
        found: dict[str, _Stored] = {}
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
                answer = _answer(kind, dimension, blob, failure, enforce_detection)
                if answer is not None:
                    found[key] = (answer, _measures(version, measures))
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
                _measures_text(outcome.measures),
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
    answers: dict[int, _Answer]  # by input index
    progress: Progress | None
    computed: int = 0  # distinct images detected and embedded now
    measured: int = 0  # distinct images whose stored vector was measured now
    reused: int = 0  # input images answered from the store
    measures: dict[int, _Measures] = field(default_factory=dict)  # by input index
    # Stored vectors waiting for their measures, by content hash: sent to be measured only.
    measure_only: dict[str, np.ndarray] = field(default_factory=dict)
    started: bool = False  # progress has heard of the answers the store held at the start

    def start(self, stored: dict[str, _Stored]) -> list[str]:
        """Take what the store already holds whole; tell progress once if there is any.
        Returns the content hashes still to compute, in input order."""
        todo = self.take(stored, list(self.indices_of))
        if self.answers and self.progress is not None:
            last = self.paths[max(self.answers)].name
            self.progress(len(self.answers), len(self.paths), last)
        self.started = True
        return todo

    def take(self, stored: dict[str, _Stored], keys: Sequence[str]) -> list[str]:
        """Answer the ``keys`` the store holds whole (a failure, or a vector with its
        measures); keep stored vectors without measures to be measured only. Returns the
        keys still to compute (embed, or measure only); progress hears of each answer."""
        todo = []
        for key in keys:
            answer, measures = stored.get(key, (None, None))
            if isinstance(answer, str) or (answer is not None and measures is not None):
                self._answer(key, answer, measures)
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
                self._answer(key, self.measure_only.pop(key), outcome.measures)
            else:
                self.computed += 1
                self._answer(key, outcome.answer, outcome.measures)

    def _answer(self, key: str, answer: _Answer, measures: _Measures | None) -> None:
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
