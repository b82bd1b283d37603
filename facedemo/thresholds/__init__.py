"""Threshold analysis of labelled pair distances: metrics at any threshold, curves, suggestions.

A pair is accepted as "same person" when its distance is at most the threshold. ``analyse``
sorts the distances once and, like scikit-learn's ``confusion_matrix_at_thresholds`` (the former
``_binary_clf_curve``), turns the labels into cumulative counts of accepted same-person pairs
(true accepts) and accepted different-person pairs (false accepts) at every distinct distance.
Every curve and suggestion is a few lines on those counts; a slider move is two
``searchsorted`` calls on the sorted positive and negative distances.

Distances are kept as float32 and a threshold is rounded to the nearest float32 before the
comparison, as numpy's ``distances <= threshold`` does; rounding to nearest keeps order, so a
pair whose original (float64) distance is within the threshold is always accepted.

One module per job, every public name importable from here:

- ``results``: the frozen answers (:class:`Metrics`, the curves, :class:`Suggestion`,
  :class:`EqualErrorRate`, :class:`OperatingPoint`) and the suggestion rules' words
- ``core``: :func:`analyse` → :class:`Analysis`, the sorted core every number comes from
- ``held_out``: :func:`held_out_suggestions`, rules chosen on some people, scored on others
- ``reports``: :func:`results_table`, :func:`most_wrong`

A name replaced here (a test's monkeypatch) is what code outside the package calls as
``thresholds.<name>``; the package's own modules call each other directly
(``held_out_suggestions`` calls ``held_out.analyse``).
"""

from __future__ import annotations

from facedemo.thresholds.core import DEFAULT_TARGET_FAR, SPREAD_CHUNK, Analysis, analyse
from facedemo.thresholds.held_out import (
    DEFAULT_FOLDS,
    MIN_PEOPLE_PER_FOLD,
    HeldOutSuggestion,
    held_out_suggestions,
    person_folds,
)
from facedemo.thresholds.reports import most_wrong, results_table
from facedemo.thresholds.results import (
    FMR_TARGETS,
    PRECISION_WHEN_NOTHING_ACCEPTED,
    RATE_NAMES,
    SUGGESTION_RULES,
    SUGGESTION_SHORT_NAMES,
    DetCurve,
    EqualErrorRate,
    Metrics,
    OperatingPoint,
    PrCurve,
    RocCurve,
    Suggestion,
    accuracy_of,
    f1_of,
    short_name,
)

__all__ = [
    "DEFAULT_FOLDS",
    "DEFAULT_TARGET_FAR",
    "FMR_TARGETS",
    "MIN_PEOPLE_PER_FOLD",
    "PRECISION_WHEN_NOTHING_ACCEPTED",
    "RATE_NAMES",
    "SPREAD_CHUNK",
    "SUGGESTION_RULES",
    "SUGGESTION_SHORT_NAMES",
    "Analysis",
    "DetCurve",
    "EqualErrorRate",
    "HeldOutSuggestion",
    "Metrics",
    "OperatingPoint",
    "PrCurve",
    "RocCurve",
    "Suggestion",
    "accuracy_of",
    "analyse",
    "f1_of",
    "held_out_suggestions",
    "most_wrong",
    "person_folds",
    "results_table",
    "short_name",
]
