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
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import entr
from sklearn.metrics import auc

from facedemo.errors import DatasetError, SettingError

# Precision when nothing is accepted (no true and no false accepts). scikit-learn's
# precision_recall_curve starts its curve at precision 1 for recall 0; we use the same value
# for the metrics at a single threshold so the marked point always lies on the PR curve.
PRECISION_WHEN_NOTHING_ACCEPTED = 1.0

DEFAULT_TARGET_FAR = 0.001


#: The rates every table and JSON answer gives, in this order.
RATE_NAMES = ("precision", "recall", "f1", "accuracy", "far", "frr")


def f1_of(true_accepts, false_accepts, positives):
    """F1 from accepted counts (numbers or arrays): 2·TP / (TP + accepted + FN)."""
    return 2 * true_accepts / (true_accepts + false_accepts + positives)


def accuracy_of(true_accepts, false_accepts, positives, negatives):
    """Share of pairs decided right (numbers or arrays): (TP + TN) / all pairs."""
    return (true_accepts + negatives - false_accepts) / (positives + negatives)


@dataclass(frozen=True)
class Metrics:
    """Counts and rates at one threshold; "positive" means a same-person pair.

    ``recall`` is the true accept rate (TPR), ``far`` the false accept rate (FPR), ``frr`` the
    false reject rate (FNR). ``precision`` is ``PRECISION_WHEN_NOTHING_ACCEPTED`` when nothing
    is accepted.
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    far: float
    frr: float
    specificity: float

    @classmethod
    def from_counts(
        cls, threshold: float, tp: int, fp: int, positives: int, negatives: int
    ) -> Metrics:
        """Metrics from the accepted counts and the class sizes (both at least one)."""
        accepted = tp + fp
        return cls(
            threshold=threshold,
            tp=tp,
            fp=fp,
            tn=negatives - fp,
            fn=positives - tp,
            precision=tp / accepted if accepted else PRECISION_WHEN_NOTHING_ACCEPTED,
            recall=tp / positives,
            f1=f1_of(tp, fp, positives),
            accuracy=accuracy_of(tp, fp, positives, negatives),
            far=fp / negatives,
            frr=(positives - tp) / positives,
            specificity=(negatives - fp) / negatives,
        )

    def rates(self) -> dict[str, float]:
        """Precision, recall, F1, accuracy, FAR and FRR by name (tables and JSON)."""
        return {name: getattr(self, name) for name in RATE_NAMES}

    def rates_at_mix(self, same_share: float) -> dict[str, float]:
        """The rates these FAR and FRR give when a share ``same_share`` of the pairs are one
        person. FAR and FRR do not depend on the mix; precision, F1 and accuracy do, so
        figures scored on another mix (held-out folds) are made comparable this way."""
        true_accepts = same_share * self.recall
        false_accepts = (1.0 - same_share) * self.far
        accepted = true_accepts + false_accepts
        return {
            "precision": true_accepts / accepted if accepted else PRECISION_WHEN_NOTHING_ACCEPTED,
            "recall": self.recall,
            "f1": f1_of(true_accepts, false_accepts, same_share),
            "accuracy": accuracy_of(true_accepts, false_accepts, same_share, 1.0 - same_share),
            "far": self.far,
            "frr": self.frr,
        }

    @property
    def confusion_matrix(self) -> np.ndarray:
        """scikit-learn's layout: rows are the truth, columns the verdict, different person
        first: ``[[tn, fp], [fn, tp]]``."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])


@dataclass(frozen=True, eq=False)
class RocCurve:
    """False accept rate against true accept rate, thresholds ascending from ``-inf``."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float


@dataclass(frozen=True, eq=False)
class DetCurve:
    """False accept rate against false reject rate, trimmed as scikit-learn's ``det_curve``:
    from the last threshold with no false accept to the first with no false reject."""

    far: np.ndarray
    frr: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True, eq=False)
class PrCurve:
    """Precision against recall; the first point (threshold ``-inf``) is recall 0, precision 1."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float


#: How each suggestion rule chooses its threshold, in a sentence (the page's tooltips).
SUGGESTION_RULES = {
    "sigma1": "The same-person distances' mean plus one standard deviation (the notebook's "
    "rule): accepts most same-person pairs if their distances are roughly normal.",
    "sigma2": "The same-person mean plus two standard deviations: stricter on strangers "
    "than 1σ, still blind to where the different-person distances lie.",
    "sigma3": "The same-person mean plus three standard deviations: accepts nearly every "
    "same-person pair, whatever it costs in false accepts.",
    "c45": "The split a C4.5 decision tree would make on the distance alone: the one that "
    "gains the most information about same vs different.",
    "max_f1": "The threshold with the best F1, the balance of precision and recall; it "
    "ignores the true rejects, so it favours the rarer same-person pairs.",
    "max_accuracy": "The threshold that decides the most pairs right; with many more "
    "different-person pairs, it is mostly about rejecting strangers.",
    "eer": "Where false accepts and false rejects come closest to equal (the equal error "
    "rate, at a real step of the counts).",
    "far_target": "The most lenient threshold whose false accept rate stays within the "
    "target: as many same-person pairs as that budget of accepted strangers allows.",
}

#: Short names for buttons and tables.
SUGGESTION_SHORT_NAMES = {
    "sigma1": "1σ",
    "sigma2": "2σ",
    "sigma3": "3σ",
    "c45": "C4.5",
    "max_f1": "best F1",
    "max_accuracy": "best accuracy",
    "eer": "EER",
}


def short_name(suggestion: Suggestion) -> str:
    """A suggestion's name on a button: "best F1", "FAR ≤ 0.1 %", ..."""
    if suggestion.name == "far_target":
        return suggestion.label.removeprefix("Highest threshold with ")
    return SUGGESTION_SHORT_NAMES.get(suggestion.name, suggestion.name)


@dataclass(frozen=True)
class Suggestion:
    """A threshold worth trying, why (``name``, ``label``) and how it does (``metrics``)."""

    name: str
    label: str
    threshold: float
    metrics: Metrics


@dataclass(frozen=True)
class EqualErrorRate:
    """FVC2000's equal error rate: ``rate`` is the midpoint of [``low``, ``high``], the FAR
    and FRR (smaller first) at ``threshold``, the step of the counts where they meet."""

    rate: float
    low: float
    high: float
    threshold: float

    def sentence(self) -> str:
        """The EER in words, as the explorer and the CLI say it."""
        return (
            f"EER {self.rate:.2%} at {self.threshold:.4f} (FVC2000: the midpoint of FAR and "
            f"FRR there, {self.low:.2%} and {self.high:.2%}, where they come closest)"
        )


@dataclass(frozen=True)
class OperatingPoint:
    """A biometric report's fixed point: the false non-match rate (FNMR, same-person pairs
    rejected) and false match rate (FMR, different-person pairs accepted) at a threshold.

    ``resolvable`` is False when the target FMR is below one different-person pair in all
    of them (1 / negatives): the count cannot tell such a rate from zero.
    """

    name: str
    target_fmr: float | None
    threshold: float
    fmr: float
    fnmr: float
    resolvable: bool = True


#: The FMR targets biometric reports quote (FMR100, FMR1000) and the zero-error points.
FMR_TARGETS = {"FMR100": 0.01, "FMR1000": 0.001, "ZeroFMR": 0.0}


@dataclass(frozen=True, eq=False)
class Analysis:
    """Sorted distances of one labelled pair set and the cumulative counts built from them.

    ``thresholds`` starts with ``-inf`` (nobody accepted), then every distinct distance in
    ascending order; ``true_accepts[i]`` / ``false_accepts[i]`` count the same-person /
    different-person pairs with distance ``<= thresholds[i]``. Built by ``analyse``.
    """

    positive_distances: np.ndarray
    negative_distances: np.ndarray
    thresholds: np.ndarray
    true_accepts: np.ndarray
    false_accepts: np.ndarray
    positive_mean: float
    positive_std: float
    negative_mean: float
    negative_std: float

    @property
    def positives(self) -> int:
        """Number of same-person pairs."""
        return self.positive_distances.size

    @property
    def negatives(self) -> int:
        """Number of different-person pairs."""
        return self.negative_distances.size

    def distance_range(self) -> tuple[float, float]:
        """The smallest and largest distance (a slider's ends), never an empty range."""
        low = float(min(self.positive_distances[0], self.negative_distances[0]))
        high = float(max(self.positive_distances[-1], self.negative_distances[-1]))
        return low, max(high, low + 1e-6)

    def at(self, threshold: float) -> Metrics:
        """Metrics when pairs with distance ``<= threshold`` are accepted; O(log n)."""
        limit = _as_float32(threshold)
        tp = int(self.positive_distances.searchsorted(limit, side="right"))
        fp = int(self.negative_distances.searchsorted(limit, side="right"))
        return Metrics.from_counts(float(threshold), tp, fp, self.positives, self.negatives)

    def _rates(self) -> tuple[np.ndarray, np.ndarray]:
        """True and false accept rates at every threshold, in float64."""
        return self.true_accepts / self.positives, self.false_accepts / self.negatives

    def roc(self) -> RocCurve:
        """The ROC curve at every distinct distance (no points dropped) and its area."""
        tpr, fpr = self._rates()
        return RocCurve(_f32(fpr), _f32(tpr), self.thresholds, auc(fpr, tpr))

    def det(self) -> DetCurve:
        """The DET curve as rates; drawing it on probit axes is the plot's job."""
        tpr, fpr = self._rates()
        first = int(self.false_accepts.searchsorted(0, side="right")) - 1
        last = int(self.true_accepts.searchsorted(self.positives, side="left"))
        rows = slice(first, last + 1)
        return DetCurve(_f32(fpr[rows]), _f32(1.0 - tpr[rows]), self.thresholds[rows])

    def pr(self) -> PrCurve:
        """The precision-recall curve and its average precision (step integral, as sklearn)."""
        tp, accepted = self.true_accepts, self.true_accepts + self.false_accepts
        precision = np.full(tp.shape, PRECISION_WHEN_NOTHING_ACCEPTED)
        np.divide(tp, accepted, out=precision, where=accepted > 0)
        recall = tp / self.positives
        average_precision = float(np.sum(np.diff(recall) * precision[1:]))
        return PrCurve(_f32(precision), _f32(recall), self.thresholds, average_precision)

    def eer(self) -> EqualErrorRate:
        """The equal error rate as FVC2000 defines it, the one every page, table and JSON
        shows: at the step of the counts where FAR and FRR come closest (see
        ``_eer_index``), the interval [low, high] of the two rates and its midpoint. Its
        threshold gets exactly those counts, so at it the slider shows the interval's ends."""
        threshold = float(self._step_thresholds()[self._eer_index()])
        far, frr = self.at(threshold).far, self.at(threshold).frr
        return EqualErrorRate((far + frr) / 2, min(far, frr), max(far, frr), threshold)

    def operating_points(self) -> list[OperatingPoint]:
        """FNMR at FMR 1 % and 0.1 % and at no false match (each at the highest threshold
        whose FMR is at most the target), and the FMR at no false non-match (the lowest
        threshold that accepts every same-person pair), thresholds as the suggestions place
        them (midway to the next distance)."""
        tpr, fpr = self._rates()
        steps = self._step_thresholds()
        points = []
        for name, target in FMR_TARGETS.items():
            index = int(np.searchsorted(fpr, target, side="right")) - 1
            resolvable = target == 0 or target * self.negatives >= 1
            points.append(
                OperatingPoint(
                    name,
                    target,
                    float(steps[index]),
                    float(fpr[index]),
                    float(1.0 - tpr[index]),
                    resolvable,
                )
            )
        index = int(np.searchsorted(self.true_accepts, self.positives, side="left"))
        zero_fnmr = float(steps[index]), float(fpr[index]), float(1.0 - tpr[index])
        points.append(OperatingPoint("ZeroFNMR", None, *zero_fnmr))
        return points

    def d_prime(self) -> float:
        """Decidability: how many pooled standard deviations apart the two distance means lie,
        |mean_different - mean_same| / sqrt((sd_same² + sd_different²) / 2)."""
        pooled = math.sqrt((self.positive_std**2 + self.negative_std**2) / 2)
        gap = abs(self.negative_mean - self.positive_mean)
        return gap / pooled if pooled > 0 else math.inf

    def _eer_index(self) -> int:
        """The entry of ``thresholds`` FVC2000 reads the EER at: of the last where FMR <=
        FNMR and the first where FMR >= FNMR, the one whose two rates sum less."""
        tpr, fpr = self._rates()
        fnmr = 1.0 - tpr
        below = int(np.flatnonzero(fpr <= fnmr)[-1])
        above = int(np.flatnonzero(fpr >= fnmr)[0])
        return below if fpr[below] + fnmr[below] <= fpr[above] + fnmr[above] else above

    def _step_thresholds(self) -> np.ndarray:
        """One float32 threshold per entry of ``thresholds`` that gets exactly that entry's
        counts: just below the smallest distance for ``-inf``, the midpoint to the next distinct
        distance (kept below it when the two are neighbouring float32 values), and the largest
        distance itself for the last entry."""
        edges = self.thresholds
        below = np.nextafter(edges[1:], np.float32(-np.inf))
        middle = ((edges[1:-1].astype(np.float64) + edges[2:]) / 2).astype(np.float32)
        return np.concatenate([below[:1], np.minimum(middle, below[1:]), edges[-1:]])

    def _information_gain(self) -> np.ndarray:
        """Information gain (bits) of splitting the pairs at each entry of ``thresholds``."""
        tp, fp = self.true_accepts, self.false_accepts
        left, total = tp + fp, self.positives + self.negatives
        right = total - left
        entropy_left = _entropy(tp, left)
        entropy_right = _entropy(self.positives - tp, right)
        entropy_all = _entropy(np.array(self.positives), np.array(total))
        return entropy_all - (left * entropy_left + right * entropy_right) / total

    def suggestions(self, target_far: float = DEFAULT_TARGET_FAR) -> list[Suggestion]:
        """The notebook's thresholds and a few optimal ones, each with its metrics.

        ``sigma1..3``: same-person mean plus k population standard deviations (ddof=0).
        ``c45``: the split a C4.5 tree would put at its root on the distance alone: the midpoint
        between neighbouring distinct distances with the largest information gain (C4.5's gain
        ratio only chooses between attributes; its MDL correction is the same for every split
        of one attribute, so it does not move the split).
        ``max_f1``, ``max_accuracy``: the best of every distinct outcome, placed midway to the
        next distance; the lowest threshold wins a tie.
        ``eer``: where false accepts and false rejects come closest to equal, at a real step
        of the counts: ``eer()``'s threshold, so its FAR and FRR are the EER interval's ends.
        ``far_target``: the highest threshold whose false accept rate is at most
        ``target_far``, i.e. the most same-person pairs accepted within that budget; placed
        midway between the last distance it accepts and the different-person distance that
        would break the budget.
        """
        if not 0.0 <= target_far <= 1.0:
            raise SettingError(
                f"The target false accept rate must be within 0 and 1, not {target_far}."
            )
        steps = self._step_thresholds()
        tp, fp = self.true_accepts, self.false_accepts
        gain = self._information_gain()
        c45 = 1 + int(np.argmax(gain[1:-1])) if gain.size > 2 else gain.size - 1
        f1 = f1_of(tp, fp, self.positives)
        right = accuracy_of(tp, fp, self.positives, self.negatives)
        within_budget = int(np.searchsorted(self._rates()[1], target_far, side="right")) - 1
        chosen = [
            *(
                (
                    f"sigma{k}",
                    f"{k}σ above same-person mean",
                    self.positive_mean + k * self.positive_std,
                )
                for k in (1, 2, 3)
            ),
            ("c45", "C4.5 entropy split", steps[c45]),
            ("max_f1", "Best F1", steps[int(np.argmax(f1))]),
            ("max_accuracy", "Best accuracy", steps[int(np.argmax(right))]),
            ("eer", "Equal error rate", self.eer().threshold),
            (
                "far_target",
                f"Highest threshold with FAR ≤ {target_far * 100:g} %",
                steps[within_budget],
            ),
        ]
        return [
            Suggestion(name, label, float(threshold), self.at(float(threshold)))
            for name, label, threshold in chosen
        ]


def analyse(distances: ArrayLike, labels: ArrayLike) -> Analysis:
    """Sort labelled pair distances once (label 1 or True: same person) into an ``Analysis``."""
    distances, is_same = _checked(distances, labels)
    positive, negative = np.sort(distances[is_same]), np.sort(distances[~is_same])
    # Merge the two sorted arrays: each same-person distance goes before the different-person
    # ones equal to it, so where it lands is its rank plus the different-person distances
    # below it. No argsort of all pairs (87.5 M on LFW): a few linear passes instead.
    is_same = np.zeros(positive.size + negative.size, dtype=bool)
    is_same[np.arange(positive.size) + np.searchsorted(negative, positive, side="left")] = True
    distances = np.empty(is_same.size, dtype=np.float32)
    distances[is_same], distances[~is_same] = positive, negative
    # int32 counts while they cannot overflow: int64 doubles the memory LFW's pairs need.
    counts = np.int32 if is_same.size < 2**30 else np.int64
    accepted = np.flatnonzero(distances[1:] != distances[:-1]).astype(counts)
    distinct = accepted.size + 1  # the last pair ends the last group of equal distances
    accepted += 1  # pairs at or below each distinct distance but the largest
    # Each array starts with the "-inf" threshold that accepts nothing, then one entry per
    # distinct distance; written in place, as LFW-size arrays cost a second each to copy.
    thresholds = np.empty(distinct + 1, dtype=np.float32)
    thresholds[0], thresholds[1:-1], thresholds[-1] = (
        -np.inf,
        distances[accepted - 1],
        distances[-1],
    )
    true_accepts = np.zeros(distinct + 1, dtype=counts)
    running = np.cumsum(is_same, dtype=counts)
    true_accepts[1:-1], true_accepts[-1] = running[accepted - 1], running[-1]
    false_accepts = np.zeros(distinct + 1, dtype=counts)
    false_accepts[1:-1], false_accepts[-1] = accepted, is_same.size
    false_accepts -= true_accepts
    return Analysis(
        positive_distances=_frozen(positive),
        negative_distances=_frozen(negative),
        thresholds=_frozen(thresholds),
        true_accepts=_frozen(true_accepts),
        false_accepts=_frozen(false_accepts),
        positive_mean=float(positive.mean(dtype=np.float64)),
        positive_std=_spread(positive),
        negative_mean=float(negative.mean(dtype=np.float64)),
        negative_std=_spread(negative),
    )


#: Values per step of ``_spread``: float64 copies of this size stay in the cache.
SPREAD_CHUNK = 1 << 20


def _spread(values: np.ndarray) -> float:
    """Population standard deviation in float64, a chunk at a time (no full-size copies)."""
    mean = values.mean(dtype=np.float64)
    squares = 0.0
    for start in range(0, values.size, SPREAD_CHUNK):
        centred = values[start : start + SPREAD_CHUNK].astype(np.float64) - mean
        squares += float(centred @ centred)
    return math.sqrt(squares / values.size)


#: Folds of people for held-out thresholds; fewer when the set has fewer people than
#: ``MIN_PEOPLE_PER_FOLD`` per fold.
DEFAULT_FOLDS = 5
MIN_PEOPLE_PER_FOLD = 2


@dataclass(frozen=True)
class HeldOutSuggestion:
    """A suggestion rule judged on people it was not chosen on.

    For each fold of people, the rule chooses its threshold on the pairs of the other folds'
    people and is scored on the pairs within that fold; ``metrics`` pools those counts over
    the folds (its ``threshold`` is the median of the ``thresholds`` chosen per fold). Pairs
    that join people of two folds are never scored, so the scored pairs hold far fewer
    different-person pairs than the study: compare ``rates_at_mix(study's share)``, not
    ``metrics``' own precision, F1 and accuracy, with the in-sample figures.
    """

    name: str
    label: str
    thresholds: tuple[float, ...]
    metrics: Metrics

    @property
    def threshold_spread(self) -> float:
        """Largest minus smallest threshold chosen over the folds."""
        return max(self.thresholds) - min(self.thresholds)

    def rates_at_mix(self, same_share: float) -> dict[str, float]:
        """The held-out FAR and FRR, and the precision, F1 and accuracy they give at
        ``same_share`` (``Metrics.rates_at_mix``)."""
        return self.metrics.rates_at_mix(same_share)


def person_folds(people: int, folds: int, seed: int) -> np.ndarray:
    """The fold (0 .. ``folds`` - 1) of each of ``people`` people: shuffled (seeded), the
    folds' sizes within one of each other."""
    fold_of = np.empty(people, dtype=np.int32)
    fold_of[np.random.default_rng(seed).permutation(people)] = np.arange(people) % folds
    return fold_of


def held_out_suggestions(
    distances: ArrayLike,
    labels: ArrayLike,
    first_person: ArrayLike,
    second_person: ArrayLike,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    target_far: float = DEFAULT_TARGET_FAR,
) -> list[HeldOutSuggestion]:
    """Every suggestion rule chosen on some people and scored on others (see
    ``HeldOutSuggestion``). ``first_person``/``second_person`` name each pair's two people
    as integers 0 .. P-1; ``folds`` drops to P // ``MIN_PEOPLE_PER_FOLD`` on small sets."""
    distances, is_same = _checked(distances, labels)
    first, second = np.asarray(first_person), np.asarray(second_person)
    people = int(max(first.max(), second.max())) + 1
    folds = min(folds, people // MIN_PEOPLE_PER_FOLD)
    if folds < 2:
        raise DatasetError(
            f"Held-out thresholds need at least {2 * MIN_PEOPLE_PER_FOLD} people, to choose on "
            f"some and test on others; this set has {people}."
        )
    fold_of = person_folds(people, folds, seed)
    fold_a, fold_b = fold_of[first], fold_of[second]
    chosen: dict[str, list[float]] = {}
    labels_of: dict[str, str] = {}
    accepted: dict[str, np.ndarray] = {}  # true and false accepts per rule, summed over folds
    tested = np.zeros(2, dtype=np.int64)  # same-person and different-person pairs scored
    for fold in range(folds):
        choose = (fold_a != fold) & (fold_b != fold)
        score = (fold_a == fold) & (fold_b == fold)
        if not score.any() or is_same[choose].all() or not is_same[choose].any():
            continue  # nothing to score here, or nothing to choose a threshold from
        rules = analyse(distances[choose], is_same[choose]).suggestions(target_far)
        scored, scored_same = distances[score], is_same[score]
        tested += (int(scored_same.sum()), int((~scored_same).sum()))
        for rule in rules:
            chosen.setdefault(rule.name, []).append(rule.threshold)
            labels_of[rule.name] = rule.label
            accept = scored <= _as_float32(rule.threshold)
            counts = np.array([np.sum(accept & scored_same), np.sum(accept & ~scored_same)])
            accepted[rule.name] = accepted.get(rule.name, 0) + counts
    if not (tested > 0).all():
        raise DatasetError(
            "The folds held out no same-person or no different-person pair to score; the set "
            "needs more people with two or more photos."
        )
    return [
        HeldOutSuggestion(
            name,
            labels_of[name],
            tuple(values),
            Metrics.from_counts(
                float(np.median(values)), *map(int, accepted[name]), *map(int, tested)
            ),
        )
        for name, values in chosen.items()
    ]


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


def _checked(distances: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Distances as float32 and labels as bool, or a DatasetError saying what is wrong."""
    distances, labels = np.asarray(distances), np.asarray(labels)
    if distances.ndim != 1 or labels.ndim != 1:
        raise DatasetError("Distances and labels must each be a flat list, one value per pair.")
    if distances.size != labels.size:
        raise DatasetError(
            f"There are {distances.size} distances but {labels.size} labels; "
            "each pair needs exactly one of each."
        )
    if distances.dtype.kind not in "iuf" or labels.dtype.kind not in "biuf":
        raise DatasetError("Distances and labels must be numbers.")
    with np.errstate(over="ignore"):
        distances = distances.astype(np.float32)
    if not np.isfinite(distances).all():
        raise DatasetError("Some distances are missing or infinite; remove those pairs first.")
    is_same = labels == 1
    if not (is_same | (labels == 0)).all():
        raise DatasetError("Labels must be 1 (same person) or 0 (different person).")
    if is_same.all() or not is_same.any():
        raise DatasetError(
            "The pairs need at least one same-person and one different-person pair "
            "to choose a threshold."
        )
    return distances, is_same


def _as_float32(threshold: float) -> np.float32:
    """The threshold rounded to float32 (beyond float32's range: an infinity)."""
    if math.isnan(threshold):
        raise SettingError("The threshold must be a number.")
    with np.errstate(over="ignore"):
        return np.float32(threshold)


def _entropy(positives: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Binary entropy in bits of groups with these sizes; 0 for an empty group."""
    share = np.divide(positives, total, out=np.zeros(np.shape(total)), where=total > 0)
    return (entr(share) + entr(1.0 - share)) / math.log(2)


def _f32(values: np.ndarray) -> np.ndarray:
    return _frozen(values.astype(np.float32))


def _frozen(values: np.ndarray) -> np.ndarray:
    """The array made read-only, so a frozen dataclass holding it is really frozen."""
    values.setflags(write=False)
    return values
