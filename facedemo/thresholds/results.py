"""The frozen answers a threshold analysis gives, and the words that go with them.

:class:`Metrics` (counts and rates at one threshold), the ROC, DET and precision-recall
curves, a :class:`Suggestion` and the sentence and short name of each suggestion rule, the
:class:`EqualErrorRate` and a biometric report's :class:`OperatingPoint`; each is plain
numbers and read-only arrays, built by :mod:`facedemo.thresholds.core`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Precision when nothing is accepted (no true and no false accepts). scikit-learn's
# precision_recall_curve starts its curve at precision 1 for recall 0; we use the same value
# for the metrics at a single threshold so the marked point always lies on the PR curve.
PRECISION_WHEN_NOTHING_ACCEPTED = 1.0


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
