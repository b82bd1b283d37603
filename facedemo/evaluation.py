"""An engine on an identity data set: every pair's distance and the analysis behind a threshold.

The notebook this project grew from called ``DeepFace.verify`` once per pair, embedding
every image again for every pair. Here each image is embedded once (and kept in the
embedding store), pairs are index arrays, and their distances one vectorised pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facedemo import faces, thresholds
from facedemo.datasets import IdentityDataset, Pairs, PairsTable, make_pairs
from facedemo.embeddings import EmbeddingStore
from facedemo.errors import DatasetError

Progress = Callable[[int, int, str], None]

#: Pairs whose distances are computed in one numpy pass (bounds temporary memory).
DISTANCE_CHUNK = 1 << 18


@dataclass(frozen=True)
class PairStudy:
    """Every pair of a data set with its distance, and the threshold analysis over them."""

    name: str
    engine_label: str
    analysis: thresholds.Analysis
    file_x: np.ndarray = field(repr=False)  # paths (object arrays), one per pair
    file_y: np.ndarray = field(repr=False)
    identity_x: np.ndarray = field(repr=False)
    identity_y: np.ndarray = field(repr=False)
    same: np.ndarray = field(repr=False)  # bool
    distances: np.ndarray = field(repr=False)  # float32
    failed_images: tuple[tuple[str, str], ...] = ()  # (file, why) for images with no face
    embedded_now: int = 0
    embedded_before: int = 0
    seconds: float = 0.0

    def pairs_frame(self, threshold: float) -> pd.DataFrame:
        """The pairs with distances and the decision at ``threshold`` (the CSV export)."""
        accepted = self.distances <= np.float32(threshold)
        return pd.DataFrame(
            {
                "file_x": self.file_x,
                "file_y": self.file_y,
                "identity_x": self.identity_x,
                "identity_y": self.identity_y,
                "same_person": self.same,
                "distance": self.distances,
                "decision_same": accepted,
                "correct": accepted == self.same,
            }
        )

    def misclassified(self, threshold: float, limit: int = 12) -> pd.DataFrame:
        """Wrong decisions at ``threshold``, the most confidently wrong first."""
        frame = self.pairs_frame(threshold)
        wrong = frame[~frame["correct"]].copy()
        wrong["margin"] = (wrong["distance"] - threshold).abs()
        return wrong.sort_values("margin", ascending=False).head(limit)

    def summary(self, target_far: float = thresholds.DEFAULT_TARGET_FAR) -> dict:
        """The numbers the CLI's ``--json`` prints."""
        eer, eer_threshold = self.analysis.eer()
        return {
            "dataset": self.name,
            "engine": self.engine_label,
            "positives": self.analysis.positives,
            "negatives": self.analysis.negatives,
            "auc": self.analysis.roc().auc,
            "eer": eer,
            "eer_threshold": eer_threshold,
            "suggestions": [
                {
                    "name": s.name,
                    "label": s.label,
                    "threshold": s.threshold,
                    "precision": s.metrics.precision,
                    "recall": s.metrics.recall,
                    "f1": s.metrics.f1,
                    "accuracy": s.metrics.accuracy,
                    "far": s.metrics.far,
                    "frr": s.metrics.frr,
                }
                for s in self.analysis.suggestions(target_far)
            ],
            "failed_images": [{"file": f, "reason": why} for f, why in self.failed_images],
            "embedded_now": self.embedded_now,
            "embedded_before": self.embedded_before,
            "seconds": self.seconds,
        }


def pair_distances(embeddings: np.ndarray, pairs: Pairs, metric: str) -> np.ndarray:
    """Distances of every pair, chunked so LFW-size pair lists fit in memory."""
    out = np.empty(len(pairs), dtype=np.float32)
    for start in range(0, len(pairs), DISTANCE_CHUNK):
        stop = start + DISTANCE_CHUNK
        out[start:stop] = faces.distances(
            embeddings[pairs.first[start:stop]], embeddings[pairs.second[start:stop]], metric
        )
    return out


def study_dataset(
    dataset: IdentityDataset,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    store: EmbeddingStore | None = None,
    progress: Progress | None = None,
    max_negatives: int | None = None,
    seed: int = 0,
) -> PairStudy:
    """Embed each image once (reusing the store), form the pairs, measure their distances.

    Images without a usable face are listed in ``failed_images`` and left out of the pairs.
    """
    started = time.perf_counter()
    store = store or EmbeddingStore()
    embedded = store.embed_paths(dataset.paths, engine, progress)
    ok = embedded.ok_indices
    usable = IdentityDataset(
        dataset.name,
        dataset.root,
        tuple(dataset.paths[i] for i in ok),
        tuple(dataset.identities[i] for i in ok),
    )
    failed = tuple((_relative(dataset, dataset.paths[i]), why) for i, why in embedded.failures)
    if len(usable) < 2:
        raise DatasetError(
            f"Only {len(usable)} of {len(dataset)} images gave a face: nothing to pair. "
            "Try another detector."
        )
    pairs = make_pairs(usable, max_negatives=max_negatives, seed=seed)
    if pairs.positives == 0 or pairs.negatives == 0:
        raise DatasetError(
            "The data set needs at least one person with two photos and two different people "
            "to form same-person and different-person pairs."
        )
    distances = pair_distances(embedded.embeddings, pairs, engine.metric)
    files = np.array([_relative(dataset, path) for path in usable.paths], dtype=object)
    identities = np.array(usable.identities, dtype=object)
    return PairStudy(
        name=dataset.name,
        engine_label=engine.label,
        analysis=thresholds.analyse(distances, pairs.same),
        file_x=files[pairs.first],
        file_y=files[pairs.second],
        identity_x=identities[pairs.first],
        identity_y=identities[pairs.second],
        same=np.asarray(pairs.same, dtype=bool),
        distances=distances,
        failed_images=failed,
        embedded_now=embedded.computed,
        embedded_before=embedded.reused,
        seconds=time.perf_counter() - started,
    )


def study_pairs_table(table: PairsTable, column: str) -> PairStudy:
    """The same study from precomputed distances (a pairs CSV), no images needed."""
    if column not in table.distance_columns:
        raise DatasetError(
            f"The pairs file has no distance column '{column}'. "
            f"Choose one of: {', '.join(table.distance_columns)}."
        )
    distances = table.distances(column)
    keep = np.isfinite(distances)
    files_x = np.array(table.file_x, dtype=object)[keep]
    files_y = np.array(table.file_y, dtype=object)[keep]
    same = np.asarray(table.same, dtype=bool)[keep]
    unknown = np.full(len(files_x), "", dtype=object)
    return PairStudy(
        name=column,
        engine_label=f"precomputed · {column}",
        analysis=thresholds.analyse(distances[keep], same),
        file_x=files_x,
        file_y=files_y,
        identity_x=unknown,
        identity_y=unknown,
        same=same,
        distances=distances[keep],
    )


def compare_engines(
    dataset: IdentityDataset,
    engines: Sequence[faces.Engine],
    store: EmbeddingStore | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """AUC, EER and best accuracy of several engine settings on one data set."""
    rows = []
    for engine in engines:
        study = study_dataset(dataset, engine, store, progress)
        eer, _ = study.analysis.eer()
        best = next(s for s in study.analysis.suggestions() if s.name == "max_accuracy")
        rows.append(
            {
                "setting": engine.label,
                "auc": study.analysis.roc().auc,
                "eer": eer,
                "best_accuracy": best.metrics.accuracy,
                "best_threshold": best.threshold,
                "failed_images": len(study.failed_images),
            }
        )
    return pd.DataFrame(rows)


def _relative(dataset: IdentityDataset, path: Path) -> str:
    """A path as the user knows it: relative to the data set's folder when inside it."""
    try:
        return str(Path(path).relative_to(dataset.root))
    except ValueError:
        return str(path)
