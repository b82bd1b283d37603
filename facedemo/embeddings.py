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
import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from facedemo import config, faces, images
from facedemo.errors import ImageError, SettingError

if TYPE_CHECKING:
    from facedemo.datasets import Progress  # (done, total, file name); datasets loads pandas

#: Bump when the tables change; a store of another version is rebuilt (it is only a cache).
SCHEMA_VERSION = 1

#: Images detected, embedded and written per transaction (a killed run loses at most these).
BATCH_SIZE = 16

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

#: A stored answer: the embedding, or the sentence why the image has none.
_Answer = np.ndarray | str


@dataclass(frozen=True)
class EmbeddedSet:
    """Embeddings of a list of images under one engine, and which images have none."""

    embeddings: np.ndarray  # float32 (n_ok, d), rows in the order of ok_indices
    ok_indices: np.ndarray  # int32 indices into the input paths that got a face
    failures: tuple[tuple[int, str], ...]  # (input index, the sentence why) for the rest
    embedded_now: int  # distinct images detected and embedded now (0 on a warm store)
    embedded_before: int  # input images answered from the store


def content_hash(data: bytes) -> str:
    """The key of an image's content: a 128-bit BLAKE2b digest of its file bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


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


@dataclass(frozen=True)
class _Outcome:
    """What computing one image gave: the row to store and this call's answer."""

    kind: str  # a row kind, or "" for a file that could not be read (not stored)
    digest: str  # hash of the bytes actually decoded
    failure: str = ""
    vector: np.ndarray | None = None

    @property
    def answer(self) -> _Answer:
        return self.vector if self.vector is not None else self.failure


def _detect(
    path: Path, engine: faces.Engine, enforce_detection: bool
) -> tuple[_Outcome, np.ndarray | None]:
    """The outcome of finding the largest face in one file, and the crop to embed if any.

    The bytes are hashed again as they are decoded, so a file changed since it was
    first read is stored under its new content, never under the old key.
    """
    try:
        data = _read(path)
    except ImageError as error:  # gone since it was hashed: reported, not stored
        return _Outcome("", "", str(error)), None
    digest = content_hash(data)
    try:
        image = images.load_image(data)  # unnamed: the stored sentence fits every copy
    except ImageError as error:
        return _Outcome("unreadable", digest, str(error)), None
    # One detector pass either way: without a face it answers with the whole photo.
    largest = faces.detect(image, engine, enforce_detection=False)[0]
    if not largest.whole_photo or engine.detector == "skip":  # "skip": the photo is the face
        return _Outcome("face", digest), largest.crop
    if enforce_detection:
        return _Outcome("no_face", digest, faces.NO_FACE), None
    return _Outcome("whole_photo", digest, faces.NO_FACE), largest.crop


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
        """Create the tables, or rebuild them when the file holds another schema version."""
        with _transaction(connection):
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
            if row[0] == SCHEMA_VERSION:
                return
            connection.execute("DROP TABLE IF EXISTS embeddings")
            connection.execute(_SCHEMA)
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
            with self._connect() as connection:
                if engine is None:
                    connection.execute("DELETE FROM embeddings")
                else:
                    connection.execute(
                        "DELETE FROM embeddings WHERE engine_key = ?", (engine.embedding_key,)
                    )

        self._healing(delete_rows)

    def embed_paths(
        self,
        paths: Sequence[Path],
        engine: faces.Engine,
        progress: Progress | None = None,
        enforce_detection: bool = True,
    ) -> EmbeddedSet:
        """Embed the largest face of each image, computing only what the store lacks.

        Each file is read and hashed once; identical files are embedded once. Images
        already answered are reported to ``progress`` in one call at the start, then
        one call per image as each batch is written. Without ``enforce_detection`` an
        image with no face is embedded whole, as :func:`facedemo.faces.detect` does.
        """
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
                paths, dict(answers), indices_of, engine, progress, enforce_detection
            )
        )

    def _fill(
        self,
        paths: list[Path],
        answers: dict[int, _Answer],
        indices_of: dict[str, list[int]],
        engine: faces.Engine,
        progress: Progress | None,
        enforce_detection: bool,
    ) -> EmbeddedSet:
        """Answer the hashed images from the store, computing and storing what it lacks."""
        with self._connect() as connection:
            stored = self._lookup(connection, engine, list(indices_of), enforce_detection)
            for key, answer in stored.items():
                answers.update(dict.fromkeys(indices_of[key], answer))
            reused = sum(len(indices_of[key]) for key in stored)
            if answers and progress is not None:
                progress(len(answers), len(paths), paths[max(answers)].name)

            missing = [key for key in indices_of if key not in stored]
            computed = 0
            for start in range(0, len(missing), self.batch_size):
                batch = missing[start : start + self.batch_size]
                with _COMPUTE_LOCK:
                    fresh = self._lookup(connection, engine, batch, enforce_detection)
                    todo = {key: paths[indices_of[key][0]] for key in batch if key not in fresh}
                    outcomes = self._compute(todo, engine, enforce_detection)
                    self._write(connection, engine, outcomes.values())
                computed += len(todo)
                reused += sum(len(indices_of[key]) for key in fresh)
                for key in batch:
                    answer = fresh[key] if key in fresh else outcomes[key].answer
                    for index in indices_of[key]:
                        answers[index] = answer
                        if progress is not None:
                            progress(len(answers), len(paths), paths[index].name)
        return self._assemble(answers, computed, reused)

    @staticmethod
    def _lookup(
        connection: sqlite3.Connection,
        engine: faces.Engine,
        keys: Sequence[str],
        enforce_detection: bool,
    ) -> dict[str, _Answer]:
        """Stored answers for the content hashes ``keys`` (absent: not stored or unusable)."""
        found: dict[str, _Answer] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            rows = connection.execute(
                "SELECT content_hash, kind, dimension, vector, failure FROM embeddings "
                f"WHERE engine_key = ? AND content_hash IN ({', '.join('?' * len(chunk))})",
                (engine.embedding_key, *chunk),
            )
            for key, *row in rows:
                answer = _answer(*row, enforce_detection)
                if answer is not None:
                    found[key] = answer
        return found

    @staticmethod
    def _compute(
        todo: dict[str, Path], engine: faces.Engine, enforce_detection: bool
    ) -> dict[str, _Outcome]:
        """Detect each image of ``todo`` (by content hash), then embed the crops in one call."""
        detected = {key: _detect(path, engine, enforce_detection) for key, path in todo.items()}
        with_crop = [key for key, (_, crop) in detected.items() if crop is not None]
        vectors = faces.embed([detected[key][1] for key in with_crop], engine.model)
        outcomes = {key: outcome for key, (outcome, _) in detected.items()}
        for key, vector in zip(with_crop, vectors, strict=True):
            outcomes[key] = replace(outcomes[key], vector=vector)
        return outcomes

    @staticmethod
    def _write(
        connection: sqlite3.Connection, engine: faces.Engine, outcomes: Iterable[_Outcome]
    ) -> None:
        """Store the outcomes in one transaction, replacing torn or outdated rows."""
        rows = [
            (
                engine.embedding_key,
                outcome.digest,
                outcome.kind,
                None if outcome.vector is None else len(outcome.vector),
                None if outcome.vector is None else outcome.vector.astype("<f4").tobytes(),
                outcome.failure or None,
            )
            for outcome in outcomes
            if outcome.kind
        ]
        if rows:
            with _transaction(connection):
                connection.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?)", rows
                )

    @staticmethod
    def _assemble(answers: dict[int, _Answer], computed: int, reused: int) -> EmbeddedSet:
        """The answers by input index as an EmbeddedSet."""
        order = sorted(answers)
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
        return EmbeddedSet(embeddings, ok_indices, failures, computed, reused)
