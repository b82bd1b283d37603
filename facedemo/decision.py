"""One decision rule: how a verdict, its threshold, the prior and P(same person) relate.

The **verdict is the threshold's**: same person when the distance is at most the threshold
(DeepFace's, one carried from the explorer, or your own). **P(same person) answers another
question**: how likely the two faces are one person, given the distance and the *prior* (the
share of comparisons you expect to be one person), read from a calibration fitted on a study
of the engine. The two agree when the threshold sits at **even odds**, the distance where
P(same) is 50 % at that prior. A threshold chosen to let few strangers in sits closer than
even odds, so a pair between the two is rejected although it is more likely one person than
not: that is the price of keeping strangers out, and such a pair is marked and explained,
never left silent. The Verify page, identify and the CLI all ask ``decide``.
"""

from __future__ import annotations

from dataclasses import dataclass

from facedemo import calibration
from facedemo.calibration import Calibration, probability_text

#: The rule in a student's words: the page, the CLI's help and the README say it.
RULE = (
    "The verdict comes from the threshold: same person when the distance is at most the "
    "threshold. P(same person) is how likely the faces are one person, from a study of this "
    "engine and the prior you state. They agree when the threshold sits at even odds (P(same) "
    "= 50 %); a stricter threshold rejects some pairs that are more likely one person than "
    "not, to let fewer strangers in."
)


@dataclass(frozen=True)
class Decision:
    """A verdict at a threshold and, where a study calibrated the engine, P(same) at the
    prior, even odds and P(same) at the threshold itself."""

    distance: float
    threshold: float
    verified: bool
    prior: float
    fitted: Calibration | None
    deepface_confidence: float | None = None

    @property
    def p_same(self) -> float | None:
        """P(same person) of this distance at the prior; None without a calibration."""
        return None if self.fitted is None else self._probability(self.distance)

    @property
    def p_same_at_threshold(self) -> float | None:
        """P(same person) of a pair exactly at the threshold: what the verdict's edge means."""
        return None if self.fitted is None else self._probability(self.threshold)

    @property
    def p_same_at_threshold_text(self) -> str | None:
        """``p_same_at_threshold`` as the page writes it (None without a calibration)."""
        at = self.p_same_at_threshold
        return None if at is None else probability_text(at)

    @property
    def even_odds_distance(self) -> float | None:
        """The distance where P(same) is 50 % at the prior (None without one)."""
        return None if self.fitted is None else self.fitted.even_odds_distance(self.prior)

    @property
    def agrees(self) -> bool | None:
        """Whether the probability backs the verdict (P(same) ≥ 50 % exactly when the verdict
        is "same person"); None without a calibration."""
        p_same = self.p_same
        return None if p_same is None else (p_same >= 0.5) == self.verified

    def _probability(self, distance: float) -> float:
        return float(self.fitted.probability(distance, self.prior))

    @property
    def label(self) -> str:
        """What the figure beside the verdict is: a calibrated P(same), or DeepFace's number."""
        return "DeepFace confidence" if self.fitted is None else "P(same person)"

    @property
    def value(self) -> str:
        """The figure beside the verdict: P(same) as text, or DeepFace's confidence."""
        if self.fitted is None:
            return "—" if self.deepface_confidence is None else f"{self.deepface_confidence:.1f} %"
        return probability_text(self.p_same)

    def explanation(self) -> str:
        """Where the figure comes from and how it relates to the verdict, in words."""
        if self.fitted is None:
            return (
                "DeepFace's confidence that the two faces are one person: a curve DeepFace "
                "fitted to its own verdicts on a few test photos, not a probability, so the "
                "prior has nothing to act on. Study a data set with this engine (Threshold "
                "explorer or `python -m facedemo thresholds`) for a calibrated P(same)."
            )
        even = self.even_odds_distance
        where = (
            f"even odds (50 %) lie at distance {even:.4f}"
            if even is not None
            else f"P(same) stays {'above' if self.p_same >= 0.5 else 'below'} 50 % over the "
            "distances studied"
        )
        return (
            f"P(same person) {probability_text(self.p_same)}, {self.fitted.describe(self.prior)}"
            f"; {where}, and at the threshold {self.threshold:.4f} P(same) is "
            f"{self.p_same_at_threshold_text}. {RULE}"
        )

    def conflict(self) -> str | None:
        """A sentence when the probability does not back the verdict, else None."""
        if self.agrees is not False:
            return None
        even, odds = self.even_odds_distance, probability_text(self.p_same)
        edge = "" if even is None else f" (even odds at {even:.4f})"
        if not self.verified:
            return (
                f"The verdict and the probability disagree, and both are right: the distance "
                f"{self.distance:.4f} is beyond the threshold {self.threshold:.4f}, so the "
                f"verdict is different people, yet at a {self.prior:.0%} prior it is more "
                f"likely one person than not ({odds}){edge}. The threshold is stricter than "
                "even odds, to let fewer strangers in. Raise it to decide by the odds, or "
                "lower the prior if most comparisons are strangers."
            )
        return (
            f"The verdict and the probability disagree: the distance {self.distance:.4f} is "
            f"within the threshold {self.threshold:.4f}, so the verdict is same person, yet "
            f"at a {self.prior:.0%} prior it is more likely two people ({odds}){edge}. The "
            "threshold is more lenient than even odds at this prior: lower it to decide by "
            "the odds, or raise the prior if most comparisons are one person."
        )

    def as_dict(self) -> dict:
        """The CLI's JSON: the same figures the page shows."""
        fitted = self.fitted
        return {
            "threshold": self.threshold,
            "prior": self.prior,
            "p_same": self.p_same,
            "p_same_at_threshold": self.p_same_at_threshold,
            "even_odds_distance": self.even_odds_distance,
            "agrees": self.agrees,
            "calibration": None
            if fitted is None
            else {
                "dataset": fitted.dataset,
                "engine": fitted.engine,
                "method": fitted.method,
                "pairs": fitted.pairs,
            },
        }


def decide(
    distance: float,
    threshold: float,
    verified: bool,
    engine_label: str,
    prior: float = calibration.VERIFY_PRIOR,
    deepface_confidence: float | None = None,
) -> Decision:
    """The verdict at ``threshold`` with the engine's saved calibration (if a study made
    one) read at ``prior``."""
    return Decision(
        float(distance),
        float(threshold),
        bool(verified),
        calibration.checked_prior(prior),
        calibration.load(engine_label),
        deepface_confidence,
    )
