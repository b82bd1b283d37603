"""Cost of one threshold-slider move on a million pairs: ``Analysis.at`` against the naive way.

Run: ``.venv/bin/python bench/bench_slider.py``. Exits 1 if a move (p99) misses the target.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from facedemo import evaluation, plots
from facedemo.thresholds import Analysis, analyse

PAIRS = 1_000_000
SAME_PERSON_SHARE = 0.02
MOVES = 20_000
NUMPY_MOVES = 40
SKLEARN_MOVES = 5
PAGE_MOVES = 40
TARGET_MS = 5.0


def synthetic_pairs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cosine-like distances: same person around 0.3, different person around 0.7."""
    labels = rng.random(PAIRS) < SAME_PERSON_SHARE
    same, different = rng.normal(0.3, 0.08, PAIRS), rng.normal(0.7, 0.1, PAIRS)
    return np.where(labels, same, different).astype(np.float32), labels


def per_call_ms(move: Callable[[float], tuple[int, int]], thresholds: np.ndarray) -> np.ndarray:
    """Wall time of each call in milliseconds."""
    times = np.empty(thresholds.size)
    for i, threshold in enumerate(thresholds.tolist()):
        start = time.perf_counter_ns()
        move(threshold)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    return times


def report(name: str, times: np.ndarray) -> float:
    median, p99 = np.median(times), np.percentile(times, 99)
    print(f"  {name:<48} median {median:9.4f} ms   p99 {p99:9.4f} ms   ({times.size:,} moves)")
    return float(median)


def synthetic_study(
    analysis: Analysis, distances: np.ndarray, labels: np.ndarray
) -> evaluation.PairStudy:
    """A pair study over the synthetic pairs: 2,000 made-up images, pairs by random index."""
    rng = np.random.default_rng(1)
    images = 2_000
    return evaluation.PairStudy(
        name="synthetic",
        engine_label="synthetic",
        analysis=analysis,
        files=np.array([f"img{i}.jpg" for i in range(images)]),
        identities=np.array([f"person{i // 4}" for i in range(images)]),
        first=rng.integers(0, images, distances.size, dtype=np.int32),
        second=rng.integers(0, images, distances.size, dtype=np.int32),
        same=labels,
        distances=distances,
    )


def main() -> int:
    rng = np.random.default_rng(0)
    distances, labels = synthetic_pairs(rng)
    print(f"pairs: {PAIRS:,} ({labels.sum():,} same person, {(~labels).sum():,} different person)")

    start = time.perf_counter()
    analysis = analyse(distances, labels)
    print(
        f"analyse():                         {1e3 * (time.perf_counter() - start):8.1f} ms (once)"
    )
    start = time.perf_counter()
    analysis.roc(), analysis.det(), analysis.pr(), analysis.suggestions()
    print(
        f"roc + det + pr + suggestions():    {1e3 * (time.perf_counter() - start):8.1f} ms (once)"
    )

    def ours(threshold: float) -> tuple[int, int]:
        metrics = analysis.at(threshold)
        return metrics.tp, metrics.fp

    def numpy_mask(threshold: float) -> tuple[int, int]:
        accepted = distances <= threshold
        tp = int(np.count_nonzero(accepted & labels))
        return tp, int(np.count_nonzero(accepted)) - tp

    def sklearn_matrix(threshold: float) -> tuple[int, int]:
        (_, fp), (_, tp) = confusion_matrix(labels, distances <= threshold, labels=[False, True])
        return int(tp), int(fp)

    low, high = float(distances.min()), float(distances.max())
    thresholds = rng.uniform(low, high, MOVES)
    for threshold in thresholds[:SKLEARN_MOVES].tolist():
        assert ours(threshold) == numpy_mask(threshold) == sklearn_matrix(threshold)

    print("one slider move (metrics at a threshold):")
    ours_times = per_call_ms(ours, thresholds)
    ours_median = report("ours: Analysis.at (2 x searchsorted)", ours_times)
    numpy_median = report(
        "naive: (d <= t) mask + numpy counting", per_call_ms(numpy_mask, thresholds[:NUMPY_MOVES])
    )
    sklearn_median = report(
        "naive: (d <= t) mask + sklearn confusion_matrix",
        per_call_ms(sklearn_matrix, thresholds[:SKLEARN_MOVES]),
    )
    print(
        f"speed-up, median: {numpy_median / ours_median:,.0f}x over numpy counting, "
        f"{sklearn_median / ours_median:,.0f}x over sklearn confusion_matrix"
    )

    study = synthetic_study(analysis, distances, labels)

    def page_move(threshold: float) -> tuple[int, int]:
        """What the explorer computes on a move: metrics, histogram, the 12 worst pairs."""
        metrics = analysis.at(threshold)
        plots.distance_histogram(analysis, threshold)
        study.misclassified(threshold, limit=12)
        return metrics.tp, metrics.fp

    print("the explorer's whole computation per move (metrics, histogram, misclassified):")
    report("page move", per_call_ms(page_move, thresholds[:PAGE_MOVES]))

    p99 = float(np.percentile(ours_times, 99))
    met = p99 < TARGET_MS
    print(
        f"target: slider move under {TARGET_MS:g} ms of compute (p99) -> "
        f"{'met' if met else 'MISSED'} at {p99:.4f} ms"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
