"""Are two photos the same person? Photos analysed once, then compared as often as asked.

:func:`analyse_photo` loads, detects and embeds every face of a photo and remembers the
last few answers (a page re-run reuses them); :func:`compare` turns two analysed photos,
an engine and a threshold into a :class:`Verification`; :func:`verify` does both.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from facedemo import images
from facedemo.cache import LruCache
from facedemo.errors import FaceIndexError, SettingError
from facedemo.faces.detection import Face, _faces_in
from facedemo.faces.distance import distances
from facedemo.faces.embedding import embed
from facedemo.faces.engines import DEFAULT_ENGINE, Engine, default_threshold

#: How many analysed photos verify() keeps in memory (a page re-run reuses them); each
#: holds its decoded image, so a dozen phone photos is already a few hundred MB.
PHOTO_CACHE_SIZE = 16


def confidence(distance: float, model: str, metric: str, verified: bool) -> float:
    """DeepFace's calibrated confidence (0-100) that the pair is the same person; for a
    model DeepFace has no calibration for (FaceNet-CASIA) it says 51 or 49."""
    from deepface.modules import verification

    return float(
        verification.find_confidence(
            distance, model_name=model, verified=verified, distance_metric=metric
        )
    )


@dataclass(frozen=True)
class Photo:
    """A photo analysed once: its faces and their embeddings (rows match faces)."""

    image: np.ndarray = field(repr=False)
    faces: tuple[Face, ...]
    embeddings: np.ndarray = field(repr=False)
    timings: dict[str, float]  # seconds per step, as Verification.timings


@dataclass(frozen=True)
class Verification:
    """The answer to "are these the same person?" and everything behind it."""

    verified: bool
    distance: float
    threshold: float
    confidence: float
    engine: Engine
    photos: tuple[Photo, Photo]
    face_indices: tuple[int, int]
    timings: dict[str, float]

    @property
    def faces(self) -> tuple[Face, Face]:
        """The face used from each photo."""
        return tuple(p.faces[i] for p, i in zip(self.photos, self.face_indices, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json``)."""
        return {
            "verified": self.verified,
            "distance": self.distance,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "model": self.engine.model,
            "detector": self.engine.detector,
            "metric": self.engine.metric,
            "alignment": self.engine.alignment,
            "faces": [
                {"used": index, "found": [face.to_dict() for face in photo.faces]}
                | photo.faces[index].to_dict()
                for photo, index in zip(self.photos, self.face_indices, strict=True)
            ],
            "timings": self.timings,
        }


_recent_photos: LruCache[tuple[str, str, bool], Photo] = LruCache(PHOTO_CACHE_SIZE)


def forget_photos() -> None:
    """Empty the in-memory cache of analysed photos (benchmarks measure the cold path)."""
    _recent_photos.clear()


def _source_key(photo: Any) -> str:
    """Identifies a photo without decoding it: its bytes, its pixels, or its file's stamp."""
    if isinstance(photo, bytes | bytearray):
        return hashlib.blake2b(photo, digest_size=16).hexdigest()
    if isinstance(photo, np.ndarray):
        digest = hashlib.blake2b(np.ascontiguousarray(photo).tobytes(), digest_size=16)
        return digest.hexdigest() + str(photo.shape)
    path = Path(photo).expanduser().resolve()
    stamp = path.stat() if path.is_file() else None
    return f"{path}|{stamp.st_mtime_ns}|{stamp.st_size}" if stamp else str(path)


def analyse_photo(
    photo: Any,
    engine: Engine = DEFAULT_ENGINE,
    enforce_detection: bool = True,
    name: str | None = None,
) -> Photo:
    """Load, detect and embed every face of one photo, remembering recent answers.

    ``photo`` is a path, bytes, a file object or an RGB array; ``name`` labels bytes
    in error messages. A photo seen recently (same content and settings) is not
    decoded again.
    """
    started = time.perf_counter()
    if hasattr(photo, "read"):
        name = name or getattr(photo, "name", None)
        photo = photo.read()
    key = (_source_key(photo), engine.embedding_key, enforce_detection)
    cached = _recent_photos.get(key)
    if cached is not None:
        timings = {"load": time.perf_counter() - started, "detect": 0.0, "embed": 0.0}
        return replace(cached, timings=timings)
    image = images.load_image(photo, name)
    loaded = time.perf_counter()
    faces = _faces_in(image, engine, enforce_detection)
    detected = time.perf_counter()
    vectors = embed([face.crop for face in faces], engine.model)
    embedded = time.perf_counter()
    result = Photo(
        image=image,
        faces=faces,
        embeddings=vectors,
        timings={
            "load": loaded - started,
            "detect": detected - loaded,
            "embed": embedded - detected,
        },
    )
    return _recent_photos.put(key, result)


def pick_face(index: int | None, found: int, which: str = "") -> int:
    """Face ``index`` of the ``found`` faces of a photo (the largest, 0, when None); a
    FaceIndexError saying how many faces the (``which``) photo has when there is no such face."""
    if index is None:
        return 0
    if not 0 <= index < found:
        named = f"{which} photo" if which else "photo"
        indexed = "indexed 0" if found == 1 else f"indexed from 0 (the largest) to {found - 1}"
        raise FaceIndexError(
            f"The {named} has {found} face{'s' if found != 1 else ''}, {indexed}; "
            f"there is no face {index}."
        )
    return index


def compare(
    photos: tuple[Photo, Photo],
    engine: Engine = DEFAULT_ENGINE,
    threshold: float | None = None,
    face_indices: tuple[int | None, int | None] = (None, None),
) -> Verification:
    """The verdict for two analysed photos; cheap, so a page can re-run it on every change.

    The largest face of each photo is used unless ``face_indices`` picks others
    (0 = largest). ``threshold`` defaults to DeepFace's pre-tuned value.
    """
    if threshold is None:
        threshold = default_threshold(engine.model, engine.metric)
    elif not np.isfinite(threshold) or threshold < 0:
        raise SettingError(f"The threshold must be a number of at least 0, not {threshold}.")
    started = time.perf_counter()
    chosen = (
        pick_face(face_indices[0], len(photos[0].faces), "first"),
        pick_face(face_indices[1], len(photos[1].faces), "second"),
    )
    first, second = (photo.embeddings[index] for photo, index in zip(photos, chosen, strict=True))
    distance = float(distances(first, second, engine.metric)[0])
    verified = distance <= threshold
    timings = {
        step: photos[0].timings[step] + photos[1].timings[step] for step in photos[0].timings
    }
    timings["compare"] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    return Verification(
        verified=verified,
        distance=distance,
        threshold=float(threshold),
        confidence=confidence(distance, engine.model, engine.metric, verified),
        engine=engine,
        photos=photos,
        face_indices=chosen,
        timings=timings,
    )


def verify(
    img1: Any,
    img2: Any,
    model: str = DEFAULT_ENGINE.model,
    detector: str = DEFAULT_ENGINE.detector,
    metric: str = DEFAULT_ENGINE.metric,
    threshold: float | None = None,
    *,
    alignment: str = DEFAULT_ENGINE.alignment,
    face_indices: tuple[int | None, int | None] = (None, None),
    enforce_detection: bool = True,
    max_side: int = DEFAULT_ENGINE.max_side,
) -> Verification:
    """Are the faces in two photos the same person?

    Photos are paths, bytes, file objects or RGB arrays; see :func:`compare` for
    the face choice and the threshold.
    """
    engine = Engine(model, detector, metric, alignment, max_side)
    photos = (
        analyse_photo(img1, engine, enforce_detection),
        analyse_photo(img2, engine, enforce_detection),
    )
    return compare(photos, engine, threshold, face_indices)
