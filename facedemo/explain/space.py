"""Where faces live: a gallery's embeddings drawn in two dimensions, with a probe among them.

A model puts every face at a point of a space of 128 (Dlib) or 512 (FaceNet) numbers;
photos of one person should sit close together. Two dimensions cannot hold all of that,
so the map says how far to trust it: scikit-learn's ``trustworthiness`` (1.0: every
photo's nearest neighbours on the map are its neighbours in the model's space too; about
0.5: no better than chance). PCA (the default) is a fixed projection, so a probe is
placed with the same transform; t-SNE has no transform, so it is fitted with the probe
among the photos. The threshold is drawn as what it is, a neighbourhood: the gallery
photos within the threshold distance of the probe in the model's own space (a circle on
the map would lie, since the map does not keep distances).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facedemo import faces
from facedemo.errors import DatasetError, SettingError
from facedemo.identify import Gallery, Identification, gallery_from_embeddings

#: The projections offered, the default first.
METHODS = ("pca", "tsne")

#: Neighbours trustworthiness looks at (fewer on a gallery too small for them).
TRUST_NEIGHBOURS = 5

#: The fewest photos a map is drawn for.
MIN_PHOTOS = 4


@dataclass(frozen=True)
class GalleryMap:
    """Each gallery photo as a point, the probe (if any) and how far to trust the picture."""

    method: str
    x: np.ndarray = field(repr=False)  # float32 (n,), one per gallery photo
    y: np.ndarray = field(repr=False)
    files: tuple[str, ...]  # each photo's path relative to the gallery's folder
    people: tuple[str, ...]  # who each photo shows
    trustworthiness: float
    neighbours: int  # the k trustworthiness was computed with
    probe: tuple[float, float] | None  # where the probe lands, when one was given
    within_threshold: np.ndarray | None = field(repr=False)  # bool (n,), near the probe
    threshold: float | None
    metric: str

    def __len__(self) -> int:
        return len(self.files)

    def nearest_people(self, count: int = 3) -> tuple[str, ...]:
        """The people of the ``count`` gallery points closest to the probe on the map."""
        if self.probe is None:
            return ()
        gaps = np.hypot(self.x - self.probe[0], self.y - self.probe[1])
        return tuple(self.people[i] for i in np.argsort(gaps, kind="stable")[:count])

    def caption(self) -> str:
        """How far the picture can be trusted, in words."""
        name = {"pca": "PCA", "tsne": "t-SNE"}[self.method]
        said = (
            f"Trustworthiness {self.trustworthiness:.2f} ({name}, {self.neighbours} nearest "
            "neighbours): 1.0 means each photo's nearest photos on the map are its nearest "
            "in the model's space too; about 0.5 is no better than chance. "
            "A 2-D map squeezes the model's space: distances on it are not the model's."
        )
        if self.probe is not None:
            near = int(self.within_threshold.sum())
            said += (
                f" Ringed: the {near} photo(s) within the threshold {self.threshold:.4f} of "
                "the probe, measured in the model's space."
            )
        return said

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json``)."""
        answer: dict[str, Any] = {
            "method": self.method,
            "metric": self.metric,
            "trustworthiness": self.trustworthiness,
            "neighbours": self.neighbours,
            "points": [
                {"x": float(x), "y": float(y), "file": file, "person": person}
                for x, y, file, person in zip(self.x, self.y, self.files, self.people, strict=True)
            ],
        }
        if self.probe is not None:
            answer["probe"] = {
                "x": self.probe[0],
                "y": self.probe[1],
                "threshold": self.threshold,
                "within_threshold": [
                    file
                    for file, near in zip(self.files, self.within_threshold, strict=True)
                    if near
                ],
                "nearest_people": list(self.nearest_people()),
            }
        return answer


def _space(vectors: np.ndarray, metric: str) -> np.ndarray:
    """The rows as the metric sees them: unit length unless the metric is plain euclidean."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if metric == "euclidean":
        return vectors
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _project(points: np.ndarray, method: str, seed: int, probe: np.ndarray | None) -> np.ndarray:
    """(n [+ 1], 2) coordinates: the gallery's points, then the probe's when given."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method == "pca":
        pca = PCA(n_components=2, random_state=seed).fit(points)
        stacked = points if probe is None else np.vstack([points, probe])
        return pca.transform(stacked)
    stacked = points if probe is None else np.vstack([points, probe])
    perplexity = float(min(30.0, max(2.0, (len(stacked) - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(stacked)


def gallery_map(
    gallery: Gallery,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    method: str = "pca",
    probe: np.ndarray | None = None,
    threshold: float | None = None,
    seed: int = 0,
) -> GalleryMap:
    """The gallery's embeddings in two dimensions, with ``probe`` (an embedding of the same
    engine) placed among them and the photos within ``threshold`` of it marked
    (``threshold`` defaults to the engine's pre-tuned one)."""
    faces.check_choice("map method", method, METHODS)
    if gallery.embedding_key != engine.embedding_key:
        raise SettingError(
            f"The gallery was embedded with {gallery.embedding_key.replace('|', ' · ')}, "
            f"not with {engine.embedding_key.replace('|', ' · ')}: build it again for "
            "these settings."
        )
    if len(gallery) < MIN_PHOTOS:
        raise DatasetError(
            f"The gallery '{gallery.name}' has {len(gallery)} photo(s) with a face; a map "
            f"needs at least {MIN_PHOTOS}. Add photos to it."
        )
    from sklearn.manifold import trustworthiness
    from threadpoolctl import threadpool_limits

    points = _space(gallery.embeddings, engine.metric)
    placed = None if probe is None else _space(np.reshape(probe, (1, -1)), engine.metric)
    if placed is not None and placed.shape[1] != points.shape[1]:
        raise SettingError(
            f"The probe's embedding has {placed.shape[1]} numbers but the gallery's have "
            f"{points.shape[1]}: embed both with the same model."
        )
    fitted = points if placed is None else np.vstack([points, placed])
    neighbours = min(TRUST_NEIGHBOURS, (len(fitted) - 1) // 2)
    # One thread: a gallery of a few hundred photos gains nothing from more, and t-SNE's
    # OpenMP threads on a busy 2-core machine took 8 s instead of 0.2 s for the demo set.
    with threadpool_limits(limits=1):
        coordinates = _project(points, method, seed, placed)
        trust = float(trustworthiness(fitted, coordinates, n_neighbors=neighbours))
    within = None
    if probe is not None:
        if threshold is None:
            threshold = faces.default_threshold(engine.model, engine.metric)
        distances = gallery.distances(np.reshape(probe, -1), engine.metric)
        within = distances.astype(np.float64) <= threshold  # identify's rule: Candidate.matches
    coordinates = coordinates.astype(np.float32)
    n = len(gallery)
    return GalleryMap(
        method=method,
        x=coordinates[:n, 0],
        y=coordinates[:n, 1],
        files=tuple(gallery.relative(path) for path in gallery.paths),
        people=gallery.identities,
        trustworthiness=trust,
        neighbours=neighbours,
        probe=None if probe is None else (float(coordinates[n, 0]), float(coordinates[n, 1])),
        within_threshold=within,
        threshold=None if threshold is None else float(threshold),
        metric=engine.metric,
    )


#: Most photos a data set's map draws: beyond, a seeded sample of people's photos, so that
#: t-SNE (seconds per thousand points here) and the browser stay quick on an LFW-size set.
MAP_PHOTOS = 1_500


def dataset_map(
    gallery: Gallery,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    method: str = "pca",
    seed: int = 0,
    limit: int = MAP_PHOTOS,
) -> tuple[GalleryMap, int]:
    """:func:`gallery_map` of a whole data set, with no probe (the explorer's view), and how
    many photos it has in all: beyond ``limit`` the map draws a seeded sample of them."""
    total = len(gallery)
    if total > limit:
        keep = np.sort(np.random.default_rng(seed).choice(total, limit, replace=False))
        gallery = gallery_from_embeddings(
            gallery.embeddings[keep],
            [gallery.identities[index] for index in keep],
            [gallery.paths[index] for index in keep],
            gallery.embedding_key,
            name=gallery.name,
            root=gallery.root,
        )
    return gallery_map(gallery, engine, method, seed=seed), total


def identification_map(result: Identification, method: str = "pca", seed: int = 0) -> GalleryMap:
    """:func:`gallery_map` of what an identify answer searched (its own photo left out), with
    the face it looked up as the probe and the answer's threshold."""
    if result.photo is not None:
        probe = result.photo.embeddings[result.face_index]
    else:
        probe = faces.embed([result.face.crop], result.engine.model)[0]
    return gallery_map(result.gallery, result.engine, method, probe, result.threshold, seed)
