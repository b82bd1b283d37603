"""A calibrated probability that two photos show one person, fitted on a pair study.

A distance is not a probability, and DeepFace's "confidence" is a logistic fit to its own
thresholded decisions, not to who really is who. Here the probability is fitted on a
labelled study: Platt's logistic on the distance (with his smoothed targets, so a
separable set does not give certainties), or isotonic regression when both kinds of pair
are plentiful. Its Brier score and reliability diagram are measured out of fold: each pair
is predicted by a fit that saw neither the pair nor the first of its people.

The probability depends on the prior, the share of comparisons that are one person: the
fit learns the study's share, and ``probability(distance, prior)`` moves it to any other
(Bayes' rule on the odds), so "P(same) at a 50 % prior" is stated, never implied.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from facedemo import config, files
from facedemo.errors import SettingError
from facedemo.thresholds import DEFAULT_FOLDS, MIN_PEOPLE_PER_FOLD, person_folds

METHODS = ("auto", "platt", "isotonic")

#: Isotonic regression overfits on few pairs (scikit-learn's guide: under ~1,000); "auto"
#: uses it when each kind of pair has at least this many.
ISOTONIC_MIN_PER_CLASS = 500

#: Most pairs a fit uses; beyond, a seeded sample of different-person pairs (the study's
#: own share is restored through the prior).
MAX_FIT_PAIRS = 400_000

#: Bins of the reliability diagram (equal width in predicted probability).
RELIABILITY_BINS = 10

#: The prior the Verify page states by default: one comparison, no reason to expect either.
VERIFY_PRIOR = 0.5

#: The priors a page lets the analyst state: never a certainty either way.
PRIOR_RANGE = (0.01, 0.99)


def slider_prior(share: float) -> float:
    """Where a prior slider starts for a study whose share of same-person pairs is ``share``:
    that share to two decimals, kept within ``PRIOR_RANGE`` (a rare share rounds to 0)."""
    low, high = PRIOR_RANGE
    return min(max(round(share, 2), low), high)


#: Each method as a parenthesis names it.
METHOD_SHORT_NAMES = {"platt": "Platt", "isotonic": "isotonic"}

#: Each method as a sentence names it.
METHOD_NAMES = {"platt": "Platt's logistic", "isotonic": "isotonic regression"}

#: Distances at which ``Calibration.probability_table`` says P(same).
TABLE_POINTS = 5


@dataclass(frozen=True)
class ReliabilityBin:
    """Pairs whose predicted probability fell in [low, high): mean prediction, truth share."""

    low: float
    high: float
    pairs: int
    mean_predicted: float
    observed: float


@dataclass(frozen=True)
class Calibration:
    """P(same person | distance) fitted on one study of one engine.

    ``fit_prior`` is the share of same-person pairs the fit saw, ``study_prior`` the study's
    own share (they differ when different-person pairs were sampled). Platt: P = σ(intercept
    + slope · distance). Isotonic: P interpolated between ``knots`` (distance, probability).
    """

    engine: str
    dataset: str
    method: str
    fit_prior: float
    study_prior: float
    pairs: int
    slope: float | None
    intercept: float | None
    knots: tuple[tuple[float, float], ...]
    brier: float | None  # out of fold, at the fit's prior; None when no pair could be
    brier_of_prior: float | None  # the Brier score of always answering the prior, for scale
    reliability: tuple[ReliabilityBin, ...]
    folds: int
    folds_of: str  # "people", or "pairs" when the study does not know who is who

    def probability(self, distance: ArrayLike, prior: float | None = None) -> np.ndarray:
        """P(same person) of each distance when a share ``prior`` of comparisons are one
        person (default: the study's share)."""
        prior = self.study_prior if prior is None else checked_prior(prior)
        distance = np.asarray(distance, dtype=np.float64)
        if self.method == "platt":
            log_odds = self.intercept + self.slope * distance
        else:
            knots = np.array(self.knots)
            floor = 1.0 / (self.pairs + 2)  # Platt's smoothing: never a certainty
            fitted = np.clip(np.interp(distance, knots[:, 0], knots[:, 1]), floor, 1 - floor)
            log_odds = np.log(fitted) - np.log1p(-fitted)
        shifted = log_odds - _logit(self.fit_prior) + _logit(prior)
        return 1.0 / (1.0 + np.exp(-shifted))

    def even_odds_distance(self, prior: float | None = None) -> float | None:
        """The distance where P(same) is 50 % at ``prior``: closer pairs are more likely one
        person than not. None when the probability stays on one side of 50 % over the
        distances the fit saw (isotonic)."""
        prior = self.study_prior if prior is None else checked_prior(prior)
        log_odds = _logit(self.fit_prior) - _logit(prior)  # the fit's own log-odds at 50 %
        if self.method == "platt":
            return None if self.slope == 0 else (log_odds - self.intercept) / self.slope
        knots = np.array(self.knots)
        floor = 1.0 / (self.pairs + 2)  # ``probability`` interpolates, then clips to these
        target = 1.0 / (1.0 + math.exp(-log_odds))
        if not floor < target < 1 - floor:
            return None  # the clipped probability never reaches 50 % at this prior
        fitted = knots[:, 1]  # non-increasing with distance
        below = np.flatnonzero(fitted < target)
        if not below.size or below[0] == 0:
            return None
        i = int(below[0])
        share = (fitted[i - 1] - target) / (fitted[i - 1] - fitted[i])
        return float(knots[i - 1, 0] + share * (knots[i, 0] - knots[i - 1, 0]))

    def judged(self) -> str:
        """How the fit did out of fold, as a sentence (the explorer and the CLI say it)."""
        if self.brier is None:
            return (
                "It could not be judged out of fold: too few people to predict a pair with a "
                "fit that never saw its people."
            )
        return (
            f"Out of fold, its Brier score is {self.brier:.4f} (0 is perfect; always "
            f"answering the prior scores {self.brier_of_prior:.4f})."
        )

    def describe(self, prior: float) -> str:
        """Where the probability comes from, e.g. "calibrated on the demo set (Platt,
        1,830 pairs), prior 50 %"."""
        method = METHOD_SHORT_NAMES[self.method]
        return f"calibrated on {self.dataset} ({method}, {self.pairs:,} pairs), prior {prior:.0%}"

    def probability_table(self, low: float, high: float, prior: float) -> pd.DataFrame:
        """P(same) as text at ``TABLE_POINTS`` evenly spaced distances from ``low`` to
        ``high``: the few numbers a page lists beside the reliability diagram."""
        distances = np.linspace(low, high, TABLE_POINTS)
        said = [probability_text(p) for p in self.probability(distances, prior)]
        return pd.DataFrame({"distance": distances, "P(same)": said})

    def as_dict(self) -> dict:
        """Everything, as JSON-ready values (the CLI's ``calibration``, the saved file)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(
            **{
                **data,
                "knots": tuple(tuple(k) for k in data["knots"]),
                "reliability": tuple(ReliabilityBin(**b) for b in data["reliability"]),
            }
        )


def fit(
    distances: ArrayLike,
    same: ArrayLike,
    first_person: ArrayLike | None = None,
    second_person: ArrayLike | None = None,
    *,
    engine: str = "",
    dataset: str = "",
    method: str = "auto",
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> Calibration:
    """Fit P(same | distance) on every pair, and measure it out of fold.

    With people (``first_person``/``second_person``, integers), folds are of people: a
    pair is predicted by the fit on pairs with no person of its first person's fold. Without
    (a pairs CSV), folds are of pairs.
    """
    if method not in METHODS:
        raise SettingError(f"Unknown calibration '{method}'. Choose one of: {', '.join(METHODS)}.")
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    study_prior = float(same.mean())
    rows = _fit_rows(same, seed)
    distances, same = distances[rows], same[rows]
    positives, negatives = int(same.sum()), int((~same).sum())
    if min(positives, negatives) < 2:
        raise SettingError(
            "A calibration needs at least two same-person and two different-person pairs."
        )
    if method == "auto":
        method = "isotonic" if min(positives, negatives) >= ISOTONIC_MIN_PER_CLASS else "platt"
    first_fold, second_fold, used_folds = _folds_of_pairs(
        rows, first_person, second_person, folds, seed
    )
    predicted = np.full(len(distances), np.nan)
    for fold in range(used_folds):
        test = first_fold == fold
        train = (first_fold != fold) & (second_fold != fold)
        if test.any() and same[train].any() and not same[train].all():
            predict, *_ = _fitted(method, distances[train], same[train])
            predicted[test] = predict(distances[test])
    scored = np.isfinite(predicted)
    _, slope, intercept, knots = _fitted(method, distances, same)
    fit_prior = positives / len(same)
    truth, guess = same[scored], predicted[scored]
    judged = bool(scored.any())
    return Calibration(
        engine=engine,
        dataset=dataset,
        method=method,
        fit_prior=fit_prior,
        study_prior=study_prior,
        pairs=len(same),
        slope=slope,
        intercept=intercept,
        knots=knots,
        brier=float(brier_score_loss(truth, guess)) if judged else None,
        brier_of_prior=float(brier_score_loss(truth, np.full(len(truth), truth.mean())))
        if judged
        else None,
        reliability=reliability(truth, guess),
        folds=used_folds,
        folds_of="pairs" if first_person is None else "people",
    )


def probability_text(probability: float) -> str:
    """A probability as a percentage that never reads as a certainty: "97.3%", "> 99.9%",
    "< 0.1%" (a calibration fitted on a few thousand pairs cannot know more)."""
    if probability > 0.999:
        return "> 99.9%"
    if probability < 0.001:
        return "< 0.1%"
    return f"{probability:.1%}"


def saved_path(engine: str) -> Path:
    """Where the calibration of the engine labelled ``engine`` is kept."""
    digest = hashlib.sha256(engine.encode("utf-8")).hexdigest()[:16]
    return config.calibrations_dir() / f"{digest}.json"


def save(calibration: Calibration) -> Path:
    """Keep ``calibration`` as its engine's (the latest study of an engine wins)."""
    path = saved_path(calibration.engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_json_atomic(path, calibration.as_dict())
    return path


def load(engine: str) -> Calibration | None:
    """The saved calibration of the engine labelled ``engine``, if a study made one."""
    path = saved_path(engine)
    try:
        return Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError, TypeError, KeyError):
        return None  # none yet, or written by an older facedemo: the study makes a new one


def reliability(truth: np.ndarray, predicted: np.ndarray) -> tuple[ReliabilityBin, ...]:
    """The reliability diagram's points: per non-empty bin of predicted probability, the
    mean prediction against the share that really were one person."""
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    bins = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, RELIABILITY_BINS - 1)
    pairs = np.bincount(bins, minlength=RELIABILITY_BINS)
    predicted_sum = np.bincount(bins, weights=predicted, minlength=RELIABILITY_BINS)
    same_sum = np.bincount(bins, weights=truth.astype(float), minlength=RELIABILITY_BINS)
    return tuple(
        ReliabilityBin(
            float(edges[b]),
            float(edges[b + 1]),
            int(pairs[b]),
            float(predicted_sum[b] / pairs[b]),
            float(same_sum[b] / pairs[b]),
        )
        for b in np.flatnonzero(pairs)
    )


Predictor = Callable[[np.ndarray], np.ndarray]


def _fitted(
    method: str, distances: np.ndarray, same: np.ndarray
) -> tuple[Predictor, float | None, float | None, tuple[tuple[float, float], ...]]:
    """A fitted mapping from distance to probability and its parameters (slope, intercept,
    knots) to save."""
    if method == "isotonic":
        model = IsotonicRegression(increasing=False, y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(distances, same.astype(float))
        knots = tuple(
            (float(x), float(y))
            for x, y in zip(model.X_thresholds_, model.y_thresholds_, strict=True)
        )
        return model.predict, None, None, knots
    # Platt's targets: (N+ + 1) / (N+ + 2) and 1 / (N- + 2), as soft labels (each pair once
    # as "same" with weight t and once as "different" with weight 1 - t).
    positives, negatives = int(same.sum()), int((~same).sum())
    target = np.where(same, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    features = np.concatenate([distances, distances])[:, None]
    labels = np.concatenate([np.ones(len(same)), np.zeros(len(same))])
    model = LogisticRegression(C=np.inf, max_iter=1000)  # no penalty: the targets smooth
    model.fit(features, labels, sample_weight=np.concatenate([target, 1 - target]))
    slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
    return lambda d: 1.0 / (1.0 + np.exp(-(intercept + slope * d))), slope, intercept, ()


def _fit_rows(same: np.ndarray, seed: int) -> np.ndarray:
    """Every pair, or every same-person pair and a seeded sample of the others (at least half
    the cap of them, or all there are)."""
    if len(same) <= MAX_FIT_PAIRS:
        return np.arange(len(same))
    positives, others = np.flatnonzero(same), np.flatnonzero(~same)
    kept = min(len(others), max(MAX_FIT_PAIRS - len(positives), MAX_FIT_PAIRS // 2))
    negatives = np.random.default_rng(seed).choice(others, kept, replace=False)
    return np.sort(np.concatenate([positives, negatives]))


def _folds_of_pairs(
    rows: np.ndarray,
    first_person: ArrayLike | None,
    second_person: ArrayLike | None,
    folds: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The folds of each pair's first and second person (without people, the pair's own
    fold twice) and how many folds there are."""
    if first_person is None or second_person is None:
        order = np.random.default_rng(seed).permutation(len(rows))
        fold_of = np.empty(len(rows), dtype=np.int32)
        fold_of[order] = np.arange(len(rows)) % folds
        return fold_of, fold_of, folds
    first, second = np.asarray(first_person), np.asarray(second_person)
    people = int(max(first.max(), second.max())) + 1
    folds = max(2, min(folds, people // MIN_PEOPLE_PER_FOLD))
    fold_of_person = person_folds(people, folds, seed)
    return fold_of_person[first[rows]], fold_of_person[second[rows]], folds


def _logit(share: float) -> float:
    return math.log(share) - math.log1p(-share)


def checked_prior(prior: float) -> float:
    """``prior`` as a float, or a SettingError unless it is strictly between 0 and 1."""
    if not 0.0 < prior < 1.0:
        raise SettingError(
            f"The prior (share of comparisons that are one person) must be between 0 and 1, "
            f"not {prior}."
        )
    return float(prior)
