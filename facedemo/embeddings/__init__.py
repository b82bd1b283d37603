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

from facedemo.embeddings.rows import SCHEMA_VERSION, EmbeddedSet
from facedemo.embeddings.store import (
    BATCH_SIZE,
    BUSY_TIMEOUT,
    PARALLEL_MIN_BATCHES,
    EmbeddingStore,
    content_hash,
)

__all__ = [
    "BATCH_SIZE",
    "BUSY_TIMEOUT",
    "PARALLEL_MIN_BATCHES",
    "SCHEMA_VERSION",
    "EmbeddedSet",
    "EmbeddingStore",
    "content_hash",
]
