"""Why same, why different? An occlusion similarity map of a pair of faces, for any engine.

The xFace way (Knoche et al., 2023): grey a patch of one aligned face (the crop the model
sees), embed it, and see how the distance to the other face moves. A patch whose greying
raises the distance was pulling the two faces together; one whose greying lowers it was
pushing them apart. xFace's default grid costs about 2,260 embeddings a pair; here the map
goes coarse to fine instead: a coarse grid on both faces in one batch, then only the
cells that moved the distance most are split in four, again in one batch. The map's
values are per fine cell: a coarse cell that was not split shares its change among its
four fine cells (a quarter each), so split and unsplit cells read on one scale.

A map can look convincing and mean nothing, so every explanation carries a deletion
check: grey the top 10 % of cells (the ones the map says pulled the faces together
most) and compare the distance's rise with the mean rise for random 10 % sets. When the
top cells do no better than random ones, the map is not explaining the model's decision.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facedemo import faces
from facedemo.cache import LruCache
from facedemo.errors import ImageError, SettingError

#: How many explanations are kept in memory (a page re-run, a CLI call in one process).
EXPLANATIONS_KEPT = 16


@dataclass(frozen=True)
class OcclusionSettings:
    """The grid and the deletion check; :attr:`passes` is what they cost in embeddings."""

    coarse: int = 3  # coarse grid: coarse × coarse cells per face
    refine: int = 2  # coarse cells (of both faces together) split into 2 × 2 children
    deletion_share: float = 0.10  # share of the fine cells greyed by the deletion check
    random_sets: int = 2  # random sets per face the top cells are compared with
    seed: int = 0  # of the random sets
    grey: int = 128  # the value a greyed patch takes (every channel)

    def __post_init__(self) -> None:
        if self.coarse < 1 or not 0 <= self.refine <= 2 * self.coarse**2:
            raise SettingError(
                f"An occlusion grid needs at least 1 × 1 cells and at most {2 * self.coarse**2} "
                f"cells to refine, not {self.coarse} and {self.refine}."
            )
        if not 0 < self.deletion_share < 1 or self.random_sets < 1:
            raise SettingError(
                "The deletion check greys a share strictly between 0 and 1 of the cells and "
                "compares it with at least one random set."
            )

    @property
    def fine(self) -> int:
        """Cells per side of the map: every coarse cell is two fine cells wide."""
        return 2 * self.coarse

    @property
    def passes(self) -> int:
        """Embeddings one explanation computes: the two faces, every coarse cell of both,
        four children per refined cell, and per face its top set and its random sets."""
        return 2 + 2 * self.coarse**2 + 4 * self.refine + 2 * (1 + self.random_sets)


DEFAULT_SETTINGS = OcclusionSettings()

#: The most embeddings the default explanation may cost: a Dlib pair in ≤ 3 s on 2 cores
#: (about 80 ms an embedding on one core; dlib's network uses one).
PASS_BUDGET = 34

#: What a failed deletion check means, said to a newcomer.
CHECK_FAILED = (
    "Greying the cells this map marks as most important moved the distance no more than "
    "greying random cells, so the map is not explaining this decision: read its colours as "
    "noise, not as the reason the model gave its answer."
)
#: How to read the map, said to a newcomer.
HOW_TO_READ = (
    "Each face was greyed one patch at a time and the distance to the other face measured "
    "again. Purple patches pulled the two faces together (greying them made the faces less "
    "alike); orange patches pushed them apart; clear patches made no difference."
)
CHECK_PASSED = (
    "Greying the cells this map marks as most important moved the distance more than greying "
    "random cells, so the map points at parts of the faces the model really relies on here."
)


@dataclass(frozen=True)
class DeletionCheck:
    """The distance's rise after greying the map's top cells, against random cells."""

    share: float  # of one face's fine cells
    cells: int  # cells greyed in each set (of one face; the other stays whole)
    top: float  # distance change after greying a face's top cells, mean of both faces
    random: float  # mean distance change over the random sets of both faces
    random_sets: int  # per face
    seed: int

    @property
    def passed(self) -> bool:
        """The top cells raised the distance more than random ones did."""
        return self.top > self.random

    def sentence(self) -> str:
        """The check's outcome in two plain sentences."""
        return CHECK_PASSED if self.passed else CHECK_FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "cells": self.cells,
            "top": self.top,
            "random": self.random,
            "random_sets": self.random_sets,
            "seed": self.seed,
            "passed": self.passed,
            "meaning": self.sentence(),
        }


@dataclass(frozen=True)
class Explanation:
    """Which parts of two aligned faces pulled them together or pushed them apart.

    ``maps[f]`` is face ``f``'s fine grid (rows top to bottom): the change in distance
    when that cell is greyed. Above 0 the cell pulled the faces together (greying it
    makes them less alike); below 0 it pushed them apart.
    """

    distance: float  # of the two faces as they are
    model: str
    metric: str
    settings: OcclusionSettings
    maps: np.ndarray = field(repr=False)  # float32 (2, fine, fine)
    coarse_maps: np.ndarray = field(repr=False)  # float32 (2, coarse, coarse), before splitting
    refined: tuple[tuple[int, int, int], ...]  # (face, row, column) of each split coarse cell
    passes: int  # embeddings computed
    seconds: float
    deletion_check: DeletionCheck
    crops: tuple[np.ndarray, np.ndarray] = field(repr=False)  # the faces as the model saw them

    @property
    def grid(self) -> dict[str, int]:
        return {"coarse": self.settings.coarse, "fine": self.settings.fine}

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json``)."""
        return {
            "distance": self.distance,
            "model": self.model,
            "metric": self.metric,
            "grid": self.grid | {"refined": [list(cell) for cell in self.refined]},
            "passes": self.passes,
            "seconds": self.seconds,
            "deletion_check": self.deletion_check.as_dict(),
            "maps": [np.round(face_map, 6).tolist() for face_map in self.maps],
        }


def _edges(length: int, cells: int) -> np.ndarray:
    """Pixel edges of ``cells`` equal cells along a side of ``length`` pixels."""
    return np.linspace(0, length, cells + 1).round().astype(int)


def greyed(crop: np.ndarray, cells: list[tuple[int, int]], fine: int, grey: int) -> np.ndarray:
    """A copy of ``crop`` with the fine cells ``(row, column)`` of a ``fine`` × ``fine`` grid
    filled with ``grey``."""
    out = crop.copy()
    rows, columns = _edges(crop.shape[0], fine), _edges(crop.shape[1], fine)
    for row, column in cells:
        out[rows[row] : rows[row + 1], columns[column] : columns[column + 1]] = grey
    return out


def _coarse_cell(row: int, column: int) -> list[tuple[int, int]]:
    """The four fine cells of coarse cell (row, column)."""
    return [(2 * row + dr, 2 * column + dc) for dr in (0, 1) for dc in (0, 1)]


def _changes(vectors: np.ndarray, other: np.ndarray, metric: str, baseline: float) -> np.ndarray:
    """Distance of each row of ``vectors`` to ``other``, less ``baseline``."""
    others = np.broadcast_to(other, vectors.shape)
    return faces.distances(vectors, others, metric).astype(np.float64) - baseline


def _checked_crop(crop: Any, which: str) -> np.ndarray:
    array = np.asarray(crop)
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 2:
        raise ImageError(f"The {which} face is not an RGB picture, so it cannot be explained.")
    return np.ascontiguousarray(array, dtype=np.uint8)


def _key(crops: tuple[np.ndarray, np.ndarray], engine: faces.Engine, settings) -> tuple:
    digest = hashlib.blake2b(digest_size=16)
    for crop in crops:
        digest.update(str(crop.shape).encode())
        digest.update(crop.tobytes())
    return digest.hexdigest(), engine.model, engine.metric, settings


_explanations: LruCache[tuple, Explanation] = LruCache(EXPLANATIONS_KEPT)


def forget_explanations() -> None:
    """Empty the in-memory cache of explanations (benchmarks measure the cold path)."""
    _explanations.clear()


def cached_explanation(
    crop_a: np.ndarray,
    crop_b: np.ndarray,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    settings: OcclusionSettings = DEFAULT_SETTINGS,
) -> Explanation | None:
    """The explanation of this pair already made (a page shows it again at no cost), or None."""
    crops = (_checked_crop(crop_a, "first"), _checked_crop(crop_b, "second"))
    return _explanations.get(_key(crops, engine, settings))


def explain_faces(
    crop_a: np.ndarray,
    crop_b: np.ndarray,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    settings: OcclusionSettings = DEFAULT_SETTINGS,
) -> Explanation:
    """The occlusion map of two aligned face crops (RGB uint8, as ``Face.crop``), cached per
    pair and engine; ``settings.passes`` embeddings in three batches."""
    crops = (_checked_crop(crop_a, "first"), _checked_crop(crop_b, "second"))
    key = _key(crops, engine, settings)
    return _explanations.get_or_make(key, lambda: _explain(crops, engine, settings))


def _explain(
    crops: tuple[np.ndarray, np.ndarray], engine: faces.Engine, settings: OcclusionSettings
) -> Explanation:
    started = time.perf_counter()
    coarse, fine, grey, metric = settings.coarse, settings.fine, settings.grey, engine.metric
    cells = [(row, column) for row in range(coarse) for column in range(coarse)]

    # Level 1: both faces as they are, and every coarse cell of each greyed, in one batch.
    batch = list(crops)
    for crop in crops:
        batch += [greyed(crop, _coarse_cell(*cell), fine, grey) for cell in cells]
    vectors = faces.embed(batch, engine.model)
    originals = vectors[:2]
    distance = float(faces.distances(originals[0], originals[1], metric)[0])
    per_face = len(cells)
    coarse_maps = np.stack(
        [
            _changes(
                vectors[2 + f * per_face : 2 + (f + 1) * per_face],
                originals[1 - f],
                metric,
                distance,
            ).reshape(coarse, coarse)
            for f in (0, 1)
        ]
    )

    # Level 2: the coarse cells that moved the distance most, of either face, split in four.
    order = np.argsort(-np.abs(coarse_maps).ravel(), kind="stable")[: settings.refine]
    refined = tuple(tuple(int(i) for i in np.unravel_index(k, coarse_maps.shape)) for k in order)
    maps = np.repeat(np.repeat(coarse_maps / 4, 2, axis=1), 2, axis=2)
    if refined:
        batch = [
            greyed(crops[face], [child], fine, grey)
            for face, row, column in refined
            for child in _coarse_cell(row, column)
        ]
        vectors = faces.embed(batch, engine.model)
        for k, (face, row, column) in enumerate(refined):
            children = _changes(vectors[4 * k : 4 * k + 4], originals[1 - face], metric, distance)
            maps[face, 2 * row : 2 * row + 2, 2 * column : 2 * column + 2] = children.reshape(2, 2)

    check = _deletion_check(crops, originals, maps, engine, settings, distance)
    return Explanation(
        distance=distance,
        model=engine.model,
        metric=metric,
        settings=settings,
        maps=maps.astype(np.float32),
        coarse_maps=coarse_maps.astype(np.float32),
        refined=refined,
        passes=settings.passes,
        seconds=time.perf_counter() - started,
        deletion_check=check,
        crops=crops,
    )


def _deletion_check(
    crops: tuple[np.ndarray, np.ndarray],
    originals: np.ndarray,
    maps: np.ndarray,
    engine: faces.Engine,
    settings: OcclusionSettings,
    distance: float,
) -> DeletionCheck:
    """Per face, the other left whole: grey its top cells, then random sets of as many
    cells; every set of both faces in one batch. ``top`` and ``random`` pool both faces."""
    per_face = settings.fine**2
    count = max(1, round(settings.deletion_share * per_face))
    rng = np.random.default_rng(settings.seed)
    batch = []
    for face in (0, 1):
        sets = [np.argsort(-maps[face].ravel(), kind="stable")[:count]]
        sets += [rng.choice(per_face, count, replace=False) for _ in range(settings.random_sets)]
        for chosen in sets:
            cells = [divmod(int(k), settings.fine) for k in chosen]
            batch.append(greyed(crops[face], cells, settings.fine, settings.grey))
    vectors = faces.embed(batch, engine.model)
    sets_per_face = 1 + settings.random_sets
    changes = np.stack(
        [
            _changes(
                vectors[face * sets_per_face : (face + 1) * sets_per_face],
                originals[1 - face],
                engine.metric,
                distance,
            )
            for face in (0, 1)
        ]
    )  # (face, set): set 0 the top cells
    return DeletionCheck(
        share=settings.deletion_share,
        cells=count,
        top=float(changes[:, 0].mean()),
        random=float(changes[:, 1:].mean()),
        random_sets=settings.random_sets,
        seed=settings.seed,
    )


def explain_photos(
    img1: Any,
    img2: Any,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    *,
    face_indices: tuple[int | None, int | None] = (None, None),
    enforce_detection: bool = True,
    settings: OcclusionSettings = DEFAULT_SETTINGS,
) -> Explanation:
    """:func:`explain_faces` on a face of each photo (the largest unless ``face_indices``
    picks others), as :func:`facedemo.faces.verify` would compare them."""
    chosen = []
    for photo, index, which in zip((img1, img2), face_indices, ("first", "second"), strict=True):
        found = faces.detect(photo, engine, enforce_detection)
        chosen.append(found[faces.pick_face(index, len(found), which)].crop)
    return explain_faces(chosen[0], chosen[1], engine, settings)
