"""A pair study seen person by person: who causes the errors, and how sure each rate is.

Pairs that share a person are not independent: 1,690 different-person pairs of 13 people
carry far less information than 1,690 pairs of 3,380 strangers. So the intervals here
resample *people* (with replacement) and weight each pair by the draws of its people, as
biometric evaluations do, and the textbook Wilson interval on the pair counts is given
beside them to show how much narrower it is.

Everything is per-person counts, so a resample is a few matrix-vector products: with
``w`` the number of times each person is drawn, same-person pairs weigh ``w_i``,
different-person pairs ``w_i · w_j``. The number of different-person pairs between two
people is ``n_i · n_j`` when every such pair is in the study (rank one); only the person
pairs with a false accept at the threshold need listing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from facedemo.errors import SettingError
from facedemo.thresholds import PRECISION_WHEN_NOTHING_ACCEPTED

#: Two-sided 95 % normal quantile.
Z_95 = 1.959963984540054

#: People resamples behind each bootstrap interval.
DEFAULT_RESAMPLES = 1000

#: Most (resample × person pair) products one bootstrap may take; beyond it, fewer resamples
#: are drawn (and the interval says how many), so a slider move on a big sampled study
#: stays under a second.
MAX_BOOTSTRAP_WORK = 200_000_000

#: The rates given an interval, how each reads, what its trials are, and its errors: FAR
#: and FRR count errors; recall (1 − FRR) and precision count what went right.
RATES = {
    "far": ("FAR", "different-person pairs", "false accepts"),
    "frr": ("FRR", "same-person pairs", "false rejects"),
    "precision": ("Precision", "accepted pairs", "strangers among them"),
    "recall": ("Recall", "same-person pairs", "false rejects"),
}

#: One-sided confidence of the bound on a rate with no error seen.
ZERO_ERROR_CONFIDENCE = 0.95


@dataclass(frozen=True)
class RateInterval:
    """One rate at a threshold with its two 95 % intervals.

    ``count`` of ``trials`` is the rate as pair counts (e.g. false accepts of all
    different-person pairs) and ``errors`` the wrong decisions behind it. ``pairs`` treats
    the pairs as independent: Wilson's interval, or with no error seen the exact one-sided
    bound (``zero_error_bound``), the same wherever such a rate is shown. ``bootstrap``
    resamples people: NaN when every resample was degenerate, or when there is no error to
    resample (it cannot see beyond the errors observed). Recall's intervals are 1 − FRR's by
    construction.
    """

    name: str
    value: float
    count: int
    trials: int
    errors: int
    pairs: tuple[float, float]
    bootstrap: tuple[float, float]

    @property
    def sentence(self) -> str:
        """What the interval says, in words."""
        label, of, errors = RATES[self.name]
        said = f"{label} {self.value:.2%} ({self.count:,} of {self.trials:,} {of})"
        if not self.trials:
            return f"{label}: no {of}, nothing to measure"
        low, high = self.pairs
        if self.errors == 0:
            bound = f"below {high:.2%}" if low == 0 else f"above {low:.2%}"
            return (
                f"{said}: no {errors}, so {label} is {bound} at 95 % (exact, ≈ the rule of "
                "three); resampling people cannot see beyond the errors observed"
            )
        people = (
            "not enough people"
            if math.isnan(self.bootstrap[0])
            else f"{self.bootstrap[0]:.2%}–{self.bootstrap[1]:.2%}"
        )
        return (
            f"{said}: {people} resampling people, {low:.2%}–{high:.2%} counting pairs as "
            "independent (Wilson)"
        )

    def complement(self, name: str) -> RateInterval:
        """The interval of 1 − this rate (recall from FRR), under the name ``name``."""
        return RateInterval(
            name,
            1.0 - self.value,
            self.trials - self.count,
            self.trials,
            self.errors,
            (1.0 - self.pairs[1], 1.0 - self.pairs[0]),
            (1.0 - self.bootstrap[1], 1.0 - self.bootstrap[0]),
        )


@dataclass(frozen=True)
class Intervals:
    """The 95 % intervals of FAR, FRR, precision and recall at one threshold."""

    threshold: float
    rates: tuple[RateInterval, ...]
    resamples: int
    degenerate: int  # resamples without a same-person or a different-person pair

    def __getitem__(self, name: str) -> RateInterval:
        return next(rate for rate in self.rates if rate.name == name)

    def as_dict(self) -> dict:
        """The CLI's ``intervals`` entry (NaN bounds as null)."""
        return {
            "threshold": self.threshold,
            "resamples": self.resamples,
            "degenerate_resamples": self.degenerate,
            **{
                r.name: {
                    "value": r.value,
                    "count": r.count,
                    "trials": r.trials,
                    "errors": r.errors,
                    "bootstrap_people": _json_bounds(r.bootstrap),
                    "pairs_interval": _json_bounds(r.pairs),
                    "pairs_method": "exact" if r.errors == 0 else "Wilson",
                    "in_words": r.sentence,
                }
                for r in self.rates
            },
        }


def wilson_interval(count: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for ``count`` successes in ``trials`` independent trials."""
    if trials == 0:
        return math.nan, math.nan
    share = count / trials
    scale = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / scale
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def zero_error_bound(trials: int) -> float:
    """The exact 95 % upper bound on a rate never seen in ``trials`` independent trials,
    1 − 0.05^(1/trials) (Clopper-Pearson, one-sided): about 3 / trials, the rule of three,
    but never above 100 % on a few trials."""
    return 1.0 - (1.0 - ZERO_ERROR_CONFIDENCE) ** (1.0 / trials)


def error_rate_interval(name: str, errors: int, trials: int, resampled: np.ndarray) -> RateInterval:
    """An error rate (``errors`` of ``trials``) with its intervals: Wilson's on the pairs,
    or the exact bound with no error seen; the percentiles of ``resampled`` (the rate under
    each people resample, NaN where degenerate) where there are errors to resample."""
    if not trials:
        nothing = (math.nan, math.nan)
        return RateInterval(name, 0.0, 0, 0, 0, nothing, nothing)
    if errors == 0:
        pairs, bootstrap = (0.0, zero_error_bound(trials)), (math.nan, math.nan)
    else:
        pairs, bootstrap = wilson_interval(errors, trials), (math.nan, math.nan)
        if not np.isnan(resampled).all():
            low, high = np.nanpercentile(resampled, [2.5, 97.5])
            bootstrap = (float(low), float(high))
    return RateInterval(name, errors / trials, errors, trials, errors, pairs, bootstrap)


def _json_bounds(bounds: tuple[float, float]) -> list[float] | None:
    return None if math.isnan(bounds[0]) else list(bounds)


def resample_people(people: int, resamples: int, seed: int) -> np.ndarray:
    """How often each person is drawn in each resample (``resamples`` × ``people``): ``people``
    draws with replacement, as a multinomial count per resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(people, np.full(people, 1.0 / people), size=resamples)


@dataclass(frozen=True, eq=False)
class PeoplePairs:
    """A study's pairs by person, sorted by distance: built once, asked at any threshold.

    Same-person pairs keep their person and distance; different-person pairs their two
    people and distance. ``negatives_between`` is None when every different-person pair of
    the photos is present (then pairs between people i and j number ``photos[i] ·
    photos[j]``), else the (first, second, count) of each person pair present.
    """

    names: np.ndarray
    photos: np.ndarray  # photos per person (those in the study)
    same_person: np.ndarray  # person of each same-person pair, by rising distance
    same_distances: np.ndarray
    different_first: np.ndarray  # the two people of each different-person pair, by distance
    different_second: np.ndarray
    different_distances: np.ndarray
    negatives_between: tuple[np.ndarray, np.ndarray, np.ndarray] | None

    @classmethod
    def from_pairs(
        cls,
        names: ArrayLike,
        photo_person: ArrayLike,
        first: ArrayLike,
        second: ArrayLike,
        same: ArrayLike,
        distances: ArrayLike,
    ) -> PeoplePairs:
        """Group pairs (image indices ``first``/``second``) by the person of each image
        (``photo_person``, indices into ``names``)."""
        # int32 people: on LFW's 87.5 M pairs each per-pair array is 350 MB, not 700 MB.
        names, photo_person = np.asarray(names), np.asarray(photo_person, dtype=np.int32)
        same, distances = np.asarray(same, dtype=bool), np.asarray(distances, dtype=np.float32)
        person_a, person_b = photo_person[np.asarray(first)], photo_person[np.asarray(second)]
        photos = np.bincount(photo_person, minlength=len(names))
        order = np.argsort(distances[same], kind="stable")
        different = np.flatnonzero(~same)
        by_distance = different[np.argsort(distances[different], kind="stable")]
        low = np.minimum(person_a[by_distance], person_b[by_distance])
        high = np.maximum(person_a[by_distance], person_b[by_distance])
        every_pair = (int(photos.sum()) ** 2 - int(photos @ photos)) // 2
        between = None if every_pair == len(different) else _person_pairs(low, high)
        return cls(
            names=names,
            photos=photos,
            same_person=person_a[same][order],
            same_distances=distances[same][order],
            different_first=low,
            different_second=high,
            different_distances=distances[by_distance],
            negatives_between=between,
        )

    @property
    def people(self) -> int:
        return len(self.names)

    def _accepted(self, threshold: float) -> tuple[int, int]:
        """How many same-person and different-person pairs lie at or below ``threshold``."""
        limit = np.float32(threshold)
        return (
            int(self.same_distances.searchsorted(limit, side="right")),
            int(self.different_distances.searchsorted(limit, side="right")),
        )

    def per_person(self, threshold: float) -> pd.DataFrame:
        """Each person's errors at ``threshold``: same-person pairs rejected and
        different-person pairs accepted (a false accept counts for both its people), the
        people behind most errors first."""
        true_accepts, false_accepts = self._accepted(threshold)
        count = self.people
        same_pairs = np.bincount(self.same_person, minlength=count)
        rejected = np.bincount(self.same_person[true_accepts:], minlength=count)
        different_pairs = np.bincount(self.different_first, minlength=count) + np.bincount(
            self.different_second, minlength=count
        )
        accepted = np.bincount(self.different_first[:false_accepts], minlength=count) + np.bincount(
            self.different_second[:false_accepts], minlength=count
        )
        frame = pd.DataFrame(
            {
                "identity": self.names,
                "photos": self.photos,
                "same_pairs": same_pairs,
                "false_rejects": rejected,
                "different_pairs": different_pairs,
                "false_accepts": accepted,
                "errors": rejected + accepted,
            }
        )
        return frame.sort_values(
            ["errors", "identity"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)

    def wrong_pairs_involving(self, threshold: float, identities: ArrayLike) -> tuple[int, int]:
        """How many wrong decisions at ``threshold`` have one of ``identities`` in their pair
        (a false accept once, whichever of its people it is), and how many there are in all."""
        true_accepts, false_accepts = self._accepted(threshold)
        chosen = np.flatnonzero(np.isin(self.names, np.asarray(identities)))
        rejected = np.isin(self.same_person[true_accepts:], chosen)
        accepted = np.isin(self.different_first[:false_accepts], chosen) | np.isin(
            self.different_second[:false_accepts], chosen
        )
        wrong = len(self.same_person) - true_accepts + false_accepts
        return int(rejected.sum() + accepted.sum()), wrong

    def intervals(
        self, threshold: float, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
    ) -> Intervals:
        """95 % intervals of FAR, FRR, precision and recall at ``threshold``: by resampling
        people (percentiles of ``resamples`` draws) and by Wilson on the pair counts."""
        if resamples < 1:
            raise SettingError(f"The bootstrap needs at least one resample, not {resamples}.")
        true_accepts, false_accepts = self._accepted(threshold)
        positives, negatives = len(self.same_distances), len(self.different_distances)
        accepts = _person_pairs(
            self.different_first[:false_accepts], self.different_second[:false_accepts]
        )
        listed = 0 if self.negatives_between is None else len(self.negatives_between[0])
        resamples = max(1, min(resamples, MAX_BOOTSTRAP_WORK // max(1, len(accepts[0]) + listed)))
        weights = resample_people(self.people, resamples, seed).astype(np.float64)
        people_rates = self.weighted_rates(weights, true_accepts, accepts)
        degenerate = int(np.isnan(people_rates["far"]).sum())
        accepted = true_accepts + false_accepts
        far = error_rate_interval("far", false_accepts, negatives, people_rates["far"])
        frr = error_rate_interval("frr", positives - true_accepts, positives, people_rates["frr"])
        strangers = error_rate_interval(
            "precision", false_accepts, accepted, 1.0 - people_rates["precision"]
        )
        precision = (
            strangers.complement("precision")
            if accepted
            else dataclasses.replace(strangers, value=PRECISION_WHEN_NOTHING_ACCEPTED)
        )
        rates = (far, frr, precision, frr.complement("recall"))
        return Intervals(float(threshold), rates, resamples, degenerate)

    def weighted_rates(
        self,
        weights: np.ndarray,
        true_accepts: int,
        accepts: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> dict[str, np.ndarray]:
        """FAR, FRR, precision and recall under each row of person ``weights`` (NaN where a
        resample has no same-person or no different-person pair), given the first
        ``true_accepts`` same-person pairs accepted and the person pairs of the false
        accepts with their counts."""
        same_pairs = np.bincount(self.same_person, minlength=self.people)
        kept = np.bincount(self.same_person[:true_accepts], minlength=self.people)
        positives, true_weight = weights @ same_pairs, weights @ kept
        false_weight = _pair_weight(weights, *accepts)
        if self.negatives_between is None:
            spread = weights @ self.photos
            negatives = (spread * spread - (weights * weights) @ (self.photos**2)) / 2
        else:
            negatives = _pair_weight(weights, *self.negatives_between)
        with np.errstate(invalid="ignore", divide="ignore"):
            usable = (positives > 0) & (negatives > 0)
            recall = np.where(usable, true_weight / positives, np.nan)
            accepted = true_weight + false_weight
            precision = np.where(
                accepted > 0, true_weight / accepted, PRECISION_WHEN_NOTHING_ACCEPTED
            )
            return {
                "far": np.where(usable, false_weight / negatives, np.nan),
                "frr": 1.0 - recall,
                "precision": np.where(usable, precision, np.nan),
                "recall": recall,
            }


def _person_pairs(
    first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (first, second) person pairs among these pairs, with their counts."""
    codes = first.astype(np.int64) << 32 | second.astype(np.int64)
    unique, counts = np.unique(codes, return_counts=True)
    return (unique >> 32).astype(np.intp), (unique & 0xFFFFFFFF).astype(np.intp), counts


def _pair_weight(
    weights: np.ndarray, first: np.ndarray, second: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Σ counts · w_first · w_second for each row of ``weights``."""
    if not len(counts):
        return np.zeros(len(weights))
    return (weights[:, first] * weights[:, second]) @ counts
