"""What a page or the command line lists from an analysis: the notebook's results table,
one row per threshold or suggestion, and the pairs decided most confidently wrong."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from facedemo.thresholds.core import Analysis
from facedemo.thresholds.results import Suggestion


def most_wrong(wrong: np.ndarray, margin: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the wrong decisions (``wrong``, a mask) with the largest ``margin`` (how
    confidently wrong each pair is), most confident first, at most ``limit``; ties keep
    pair order."""
    indices = np.flatnonzero(wrong)
    margin = margin[indices]
    if len(indices) > limit:
        keep = np.sort(np.argpartition(-margin, limit - 1)[:limit])
        indices, margin = indices[keep], margin[keep]
    return indices[np.argsort(-margin, kind="stable")]


def results_table(
    analysis: Analysis, thresholds: Iterable[float | Suggestion]
) -> list[dict[str, str | float]]:
    """The notebook's results table, one row per threshold or suggestion, rates as fractions."""
    rows = []
    for item in thresholds:
        if isinstance(item, Suggestion):
            name, metrics = item.label, item.metrics
        else:
            name, metrics = f"{item:.4g}", analysis.at(item)
        rows.append({"name": name, "threshold": metrics.threshold, **metrics.rates()})
    return rows
