"""Identify (1:N): who in a gallery of known people is this face?

Verification compares two faces; identification compares one face with every photo
of a gallery (any identity data set) and ranks the people by their closest photo.
The gallery is embedded once through the embedding store and kept as a
:class:`Gallery` (unit-length rows grouped person by person), so a query costs one
face embedding plus one matrix-vector product: cheap enough for every frame of a
live video. The answer is the closest person when their distance is within the
verification threshold, and "unknown" when nobody is.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facedemo import faces
from facedemo.datasets import IdentityDataset, Progress, relative_path
from facedemo.embeddings import EmbeddingStore
from facedemo.errors import DatasetError, SettingError

#: People listed by default, closest first.
TOP = 5

#: What an answer with nobody within the threshold says.
UNKNOWN = "unknown"


@dataclass(frozen=True, eq=False)
class Gallery:
    """A data set's faces embedded once, ready to search: rows grouped person by person."""

    name: str
    root: Path
    embedding_key: str  # faces.Engine.embedding_key the rows were embedded under
    identity_names: tuple[str, ...]  # the people, sorted
    paths: tuple[Path, ...]  # one photo per row
    labels: np.ndarray = field(repr=False)  # int32 (n,), index into identity_names, ascending
    # float64, as faces.DistanceTable: in float32 a photo's euclidean distance to itself
    # would come out as 0.0005 (the rounding of 2 - 2 * similarity), not 0.
    unit: np.ndarray = field(repr=False)  # (n, d), each row divided by its length
    norms: np.ndarray = field(repr=False)  # (n,), the rows' lengths (for euclidean)
    bounds: np.ndarray = field(repr=False)  # int64 (people + 1,), person k's rows: bounds[k:k+2]
    skipped: tuple[tuple[Path, str], ...] = ()  # photos without a usable face, and why
    embedded_now: int = 0  # photos detected and embedded while building it (0: store was warm)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def people(self) -> int:
        """How many people the gallery can name."""
        return len(self.identity_names)

    @property
    def identities(self) -> tuple[str, ...]:
        """The person in each row."""
        return tuple(self.identity_names[label] for label in self.labels)

    @property
    def embeddings(self) -> np.ndarray:
        """The rows as the model gave them, float32 (n, d)."""
        return (self.unit * self.norms[:, None]).astype(np.float32)

    @functools.cached_property
    def _rows_by_file(self) -> dict[Path, int]:
        return {path.resolve(): row for row, path in enumerate(self.paths)}

    def row_of(self, path: str | Path) -> int | None:
        """The row of the photo at ``path`` (same file, however written), or None."""
        return self._rows_by_file.get(Path(path).expanduser().resolve())

    def relative(self, path: Path) -> str:
        """A gallery photo's path as the user knows it: relative to the data set's folder."""
        return relative_path(self.root, path)

    def without(self, rows: np.ndarray | list[int]) -> Gallery:
        """The gallery less some rows (a person left with no photo drops out)."""
        keep = np.ones(len(self), dtype=bool)
        keep[np.asarray(rows, dtype=np.int64)] = False
        if not keep.any():
            raise DatasetError(
                f"The gallery '{self.name}' holds no other photo than the one searched for, "
                "so there is nobody to compare with: add photos of more people to it."
            )
        return gallery_from_embeddings(
            self.embeddings[keep],
            [self.identity_names[label] for label in self.labels[keep]],
            [self.paths[i] for i in np.flatnonzero(keep)],
            self.embedding_key,
            name=self.name,
            root=self.root,
            skipped=self.skipped,
            embedded_now=self.embedded_now,
        )

    def distances(self, embedding: np.ndarray, metric: str) -> np.ndarray:
        """float32 distance from ``embedding`` to every row, as :func:`faces.distances` gives it."""
        query = np.asarray(embedding, dtype=np.float64).reshape(-1)
        length = float(np.linalg.norm(query))
        # einsum's own loop, not BLAS: a matrix-vector product gains nothing from BLAS threads,
        # and waking them costs 10-15 ms per call on a busy 2-core machine (0.6 ms here for
        # an LFW-size gallery), which matters when a live video asks every frame.
        similarity = np.einsum("ij,j->i", self.unit, query / max(length, np.finfo(np.float64).tiny))
        if metric == "euclidean":
            squared = self.norms**2 + length**2 - 2.0 * self.norms * length * similarity
            return np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
        return faces.distance_from_similarity(similarity, metric)


def gallery_from_embeddings(
    embeddings: np.ndarray,
    identities: Sequence[str],
    paths: Sequence[Path],
    embedding_key: str,
    *,
    name: str = "gallery",
    root: Path = Path(),
    skipped: tuple[tuple[Path, str], ...] = (),
    embedded_now: int = 0,
) -> Gallery:
    """A gallery of given embeddings (``embeddings[i]`` shows ``identities[i]`` in ``paths[i]``),
    regrouped person by person and normalised once."""
    if not len(identities) == len(paths) == len(embeddings) > 0:
        raise ValueError("a gallery needs one identity and one path per embedding, and one row")
    identity_names, labels = np.unique(np.asarray(identities, dtype=str), return_inverse=True)
    order = np.argsort(labels, kind="stable")
    labels = labels[order].astype(np.int32)
    rows = np.asarray(embeddings, dtype=np.float64)[order]
    norms = np.linalg.norm(rows, axis=1)
    unit = rows / np.maximum(norms, np.finfo(np.float64).tiny)[:, None]
    bounds = np.searchsorted(labels, np.arange(len(identity_names) + 1)).astype(np.int64)
    return Gallery(
        name=name,
        root=root,
        embedding_key=embedding_key,
        identity_names=tuple(str(person) for person in identity_names),
        paths=tuple(Path(paths[i]) for i in order),
        labels=labels,
        unit=unit,
        norms=norms,
        bounds=bounds,
        skipped=skipped,
        embedded_now=embedded_now,
    )


def build_gallery(
    dataset: IdentityDataset,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    store: EmbeddingStore | None = None,
    progress: Progress | None = None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
) -> Gallery:
    """Embed each photo of ``dataset`` once (reusing the store) into a searchable gallery.

    Photos in which the detector finds no face are left out and listed in ``skipped``.
    ``jobs`` and ``scheduler`` say where missing embeddings are computed
    (:meth:`EmbeddingStore.embed_paths`).
    """
    store = store or EmbeddingStore()
    embedded = store.embed_paths(dataset.paths, engine, progress, jobs=jobs, scheduler=scheduler)
    skipped = tuple((dataset.paths[index], reason) for index, reason in embedded.failures)
    if len(embedded.ok_indices) == 0:
        raise DatasetError(
            f"None of the {len(dataset)} photos of '{dataset.name}' gave a face the detector "
            f"finds ({engine.detector}), so there is nobody to compare with. Try another "
            "detector or a gallery with clearer face photos."
        )
    return gallery_from_embeddings(
        embedded.embeddings,
        [dataset.identities[i] for i in embedded.ok_indices],
        [dataset.paths[i] for i in embedded.ok_indices],
        engine.embedding_key,
        name=dataset.name,
        root=dataset.root,
        skipped=skipped,
        embedded_now=embedded.embedded_now,
    )


@dataclass(frozen=True)
class Candidate:
    """One person of the gallery and how close their closest photo is to the face."""

    identity: str
    path: Path  # this person's closest photo
    distance: float
    matches: bool  # distance <= threshold: the model would say "same person"
    photos: int  # this person's photos in the gallery


@dataclass(frozen=True)
class Identification:
    """The answer to "who is this?": the closest people of a gallery, closest first."""

    candidates: tuple[Candidate, ...]
    threshold: float
    engine: faces.Engine
    face: faces.Face  # the face searched for
    face_index: int  # its place among the photo's faces (0 = largest)
    photo: faces.Photo | None  # the analysed photo it came from, when there was one
    gallery: Gallery = field(repr=False)  # what was searched (the query photo left out)
    left_out: Path | None  # the query's own photo, when it was part of the gallery
    timings: dict[str, float]

    @property
    def identity(self) -> str | None:
        """The closest person if they are within the threshold; None means unknown."""
        best = self.candidates[0] if self.candidates else None
        return best.identity if best is not None and best.matches else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json``)."""
        gallery = self.gallery
        return {
            "identity": self.identity or UNKNOWN,
            "known": self.identity is not None,
            "threshold": self.threshold,
            "model": self.engine.model,
            "detector": self.engine.detector,
            "metric": self.engine.metric,
            "alignment": self.engine.alignment,
            "face": {"used": self.face_index} | self.face.to_dict(),
            "gallery": {
                "name": gallery.name,
                "people": gallery.people,
                "photos": len(gallery),
                "skipped": [
                    {"file": gallery.relative(path), "reason": reason}
                    for path, reason in gallery.skipped
                ],
            },
            "left_out": None if self.left_out is None else gallery.relative(self.left_out),
            "candidates": [
                {
                    "rank": rank,
                    "identity": candidate.identity,
                    "file": gallery.relative(candidate.path),
                    "distance": candidate.distance,
                    "verdict": "match" if candidate.matches else "no match",
                    "photos": candidate.photos,
                }
                for rank, candidate in enumerate(self.candidates, start=1)
            ],
            "timings": self.timings,
        }


def _check_search(gallery: Gallery, dimension: int, threshold: float, top: int) -> None:
    if not np.isfinite(threshold) or threshold < 0:
        raise SettingError(f"The threshold must be a number of at least 0, not {threshold}.")
    if top < 1:
        raise SettingError(f"Ask for at least one candidate, not {top}.")
    if dimension != gallery.unit.shape[1]:
        raise SettingError(
            f"This face's embedding has {dimension} numbers but the gallery's have "
            f"{gallery.unit.shape[1]}: embed both with the same model."
        )


def search(
    embedding: np.ndarray, gallery: Gallery, metric: str, threshold: float, top: int = TOP
) -> tuple[Candidate, ...]:
    """The ``top`` people closest to ``embedding``, each by their closest photo, closest first."""
    faces.check_choice("metric", metric, faces.METRICS)
    _check_search(gallery, np.size(embedding), threshold, top)
    distances = gallery.distances(embedding, metric)
    starts, stops = gallery.bounds[:-1], gallery.bounds[1:]
    closest = np.minimum.reduceat(distances, starts)  # every person has at least one row
    people = np.arange(len(closest))
    if top < len(closest):  # the top few of thousands of people: no full sort
        people = np.argpartition(closest, top - 1)[:top]
    people = people[np.lexsort((people, closest[people]))]  # closest first, ties by name
    candidates = []
    for person in people:
        start, stop = int(starts[person]), int(stops[person])
        row = start + int(np.argmin(distances[start:stop]))
        distance = float(distances[row])
        candidates.append(
            Candidate(
                identity=gallery.identity_names[person],
                path=gallery.paths[row],
                distance=distance,
                matches=distance <= threshold,
                photos=stop - start,
            )
        )
    return tuple(candidates)


def _face_of(
    photo_or_face: Any, engine: faces.Engine, face_index: int, enforce_detection: bool
) -> tuple[faces.Face, faces.Photo | None, np.ndarray, dict[str, float]]:
    """The face to search for, its photo (if analysed), its embedding and what it cost."""
    started = time.perf_counter()
    if isinstance(photo_or_face, faces.Face):
        vector = faces.embed([photo_or_face.crop], engine.model)[0]
        return photo_or_face, None, vector, {"embed": time.perf_counter() - started}
    if isinstance(photo_or_face, np.ndarray):  # a video frame: not kept in the photo cache
        found = faces.detect(photo_or_face, engine, enforce_detection)
        detected = time.perf_counter()
        face = found[faces.pick_face(face_index, len(found))]
        vector = faces.embed([face.crop], engine.model)[0]
        seconds = {"detect": detected - started, "embed": time.perf_counter() - detected}
        return face, None, vector, seconds
    if isinstance(photo_or_face, faces.Photo):
        photo = photo_or_face
        seconds = {}
    else:
        photo = faces.analyse_photo(photo_or_face, engine, enforce_detection)
        seconds = dict(photo.timings)
    index = faces.pick_face(face_index, len(photo.faces))
    return photo.faces[index], photo, photo.embeddings[index], seconds


def identify(
    photo_or_face: Any,
    gallery: Gallery,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    threshold: float | None = None,
    top: int = TOP,
    *,
    face_index: int = 0,
    enforce_detection: bool = True,
) -> Identification:
    """Who in ``gallery`` is the face in ``photo_or_face``? The closest people, closest first.

    ``photo_or_face`` is a photo (path, bytes, file object: analysed once and cached, as
    Verify does), an RGB array such as a video frame (detected afresh, not cached), an
    analysed :class:`faces.Photo` or a detected :class:`faces.Face` (only embedded).
    ``face_index`` picks the face of a photo (0 = largest). A photo that is itself part
    of the gallery is left out of it, so the answer has to come from other photos.
    ``threshold`` defaults to DeepFace's pre-tuned value for the engine's model and metric.
    """
    if gallery.embedding_key != engine.embedding_key:
        raise SettingError(
            f"The gallery was embedded with {gallery.embedding_key.replace('|', ' · ')}, "
            f"not with {engine.embedding_key.replace('|', ' · ')}: build it again for "
            "these settings."
        )
    if threshold is None:
        threshold = faces.default_threshold(engine.model, engine.metric)
    _check_search(gallery, gallery.unit.shape[1], threshold, top)
    left_out = None
    if isinstance(photo_or_face, str | Path):
        row = gallery.row_of(photo_or_face)
        if row is not None:
            left_out, gallery = gallery.paths[row], gallery.without([row])
    face, photo, embedding, timings = _face_of(photo_or_face, engine, face_index, enforce_detection)
    started = time.perf_counter()
    candidates = search(embedding, gallery, engine.metric, threshold, top)
    timings["search"] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    return Identification(
        candidates=candidates,
        threshold=float(threshold),
        engine=engine,
        face=face,
        face_index=face_index if not isinstance(photo_or_face, faces.Face) else 0,
        photo=photo,
        gallery=gallery,
        left_out=left_out,
        timings=timings,
    )
