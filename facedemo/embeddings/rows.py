"""What the store's SQLite file holds: its tables and their version, the upgrades from older
versions, and how a row reads back (a vector, the sentence why there is none, the measures)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from facedemo.quality.measures import MEASURES, MEASURES_VERSION

#: Bump when the tables change; a store of a version in :data:`UPGRADES` is upgraded in
#: place, one of any other version rebuilt (it is only a cache).
SCHEMA_VERSION = 2

SCHEMA = """
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

MEASURES_SCHEMA = """
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
UPGRADES: dict[int, tuple[str, ...]] = {1: ("DROP TABLE IF EXISTS measures", MEASURES_SCHEMA)}

#: A stored answer: the embedding, or the sentence why the image has none.
Answer = np.ndarray | str

#: A photo's quality measures by name (NaN where unmeasured).
Measures = dict[str, float]

#: What the store holds of a photo: its answer, and its measures (None: not measured yet,
#: measured by another version, or a row that does not read).
Stored = tuple[Answer, Measures | None]


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


def stored_vector(dimension: int | None, blob: bytes | None) -> np.ndarray | None:
    """A stored vector, or None when its bytes do not match its dimension (a torn row)."""
    if not dimension or blob is None or len(blob) != 4 * dimension:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def stored_measures(version: int | None, text: str | None) -> Measures | None:
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


def measures_text(values: Measures) -> str:
    """Measures as their row stores them: JSON, null for NaN."""
    return json.dumps({name: None if math.isnan(v) else v for name, v in values.items()})


def stored_answer(
    kind: str,
    dimension: int | None,
    blob: bytes | None,
    failure: str | None,
    enforce_detection: bool,
) -> Answer | None:
    """What a stored row says under ``enforce_detection``; None means compute it again.

    Without enforce_detection a 'no_face' row has no vector yet: the whole photo's is wanted.
    """
    if kind == "unreadable" or (enforce_detection and kind != "face"):
        return failure
    return stored_vector(dimension, blob)
