"""The sorted core: labelled pair distances sorted once, every number derived from them.

:func:`analyse` sorts the distances and builds the cumulative true and false accept counts
at every distinct distance (an :class:`Analysis`); the metrics at a threshold are two
``searchsorted`` calls, and the curves, the equal error rate, the operating points and the
suggestions are a few lines on the same counts. Inputs are checked here, at the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import entr
from sklearn.metrics import auc

from facedemo.errors import DatasetError, SettingError
from facedemo.thresholds.results import (
    FMR_TARGETS,
    PRECISION_WHEN_NOTHING_ACCEPTED,
    DetCurve,
    EqualErrorRate,
    Metrics,
    OperatingPoint,
    PrCurve,
    RocCurve,
    Suggestion,
    accuracy_of,
    f1_of,
)

DEFAULT_TARGET_FAR = 0.001


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
        limit = as_float32(threshold)
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


def as_float32(threshold: float) -> np.float32:
    """The threshold rounded to float32 (beyond float32's range: an infinity): distances are
    float32, so a pair is accepted when ``distance <= as_float32(threshold)``, everywhere a
    threshold decides (the explorer, held-out rules, the EDC, groups)."""
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
