"""Error rates group by group at one global threshold, as NIST's FRTE 1:1 report cards
(NIST IR 8280) and ISO/IEC 19795-10 state them.

Every photo may carry a group label (a person's camera, site or age band from an
attributes table; or a photo's own quality band). At the one threshold the study uses:

- a group's **FNMR** is over the same-person pairs whose two photos are both in it, its
  **FMR** over the different-person pairs whose two photos are both in it; each with the
  explorer's intervals (``facedemo.people``: resampling the group's people, and Wilson's on
  the pair counts) and its counts (``positives``, ``negatives``, ``people``);
- the **cross-group FMR matrix**: cell (i, j) the false matches among different-person
  pairs with one photo in group i and the other in j (the diagonal is each group's FMR),
  and its log10 relative to the global FMR (all different-person pairs), the heat map NIST
  draws. Within-group pairs plus cross-group pairs plus pairs with an unlabelled photo are
  all the different-person pairs;
- one-number summaries over the groups with enough data: the max/min ratio of FMR and of
  FNMR, and the Fairness Discrepancy Rate of Pereira & Marcel (2021),
  ``FDR = 1 - (α·A + (1 - α)·B)`` with ``A`` the largest gap between two groups' FMR and
  ``B`` between two groups' FNMR (1 is fair, lower is less fair; α = 0.5 weighs both alike).

Labels from people (an attributes table) put both photos of a same-person pair in one
group. Labels from photos (quality bands) need not: a person's photos may fall in
different bands. Then a pair counts for a band only when both its photos are in it; a
same-person pair across two bands counts for no band's FNMR (``mixed_same_pairs`` says how
many), a different-person pair across two bands lands off the diagonal of the matrix. (The
EDC, by contrast, gives a pair the quality of its worse photo.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from facedemo.errors import DatasetError, SettingError
from facedemo.people import DEFAULT_RESAMPLES, PeoplePairs, RateInterval

# The explorer's own rounding of a threshold (float32, NaN refused): one rule for "accepted".
from facedemo.thresholds.core import as_float32

#: Below these a group's rates are shown with a warning and left out of the summaries: too
#: few people to resample, too few pairs for a rate (30 error-free pairs still only bound
#: the rate below 10 %).
MIN_GROUP_PEOPLE = 5
MIN_GROUP_SAME_PAIRS = 30
MIN_GROUP_DIFFERENT_PAIRS = 30

#: The Fairness Discrepancy Rate's weight of the FMR gap against the FNMR gap.
DEFAULT_FDR_ALPHA = 0.5

#: Quality bands by tertiles, worst first.
DEFAULT_BAND_LABELS = ("low", "medium", "high")


@dataclass(frozen=True)
class GroupRates:
    """One group's FMR and FNMR at the threshold, with intervals and counts, and a warning
    when it has too few people or pairs to say anything."""

    value: str
    people: int
    photos: int
    fmr: RateInterval  # named "far" as in the explorer
    fnmr: RateInterval  # named "frr"
    warning: str | None

    @property
    def positives(self) -> int:
        return self.fnmr.trials

    @property
    def negatives(self) -> int:
        return self.fmr.trials

    def as_dict(self) -> dict:
        return {
            "value": self.value,
            "people": self.people,
            "photos": self.photos,
            "positives": self.positives,
            "negatives": self.negatives,
            "fmr": self.fmr.value,
            "fnmr": self.fnmr.value,
            "false_matches": self.fmr.errors,
            "false_non_matches": self.fnmr.errors,
            "fmr_interval": _bounds(self.fmr),
            "fnmr_interval": _bounds(self.fnmr),
            "warning": self.warning,
        }


@dataclass(frozen=True, eq=False)
class CrossGroupFmr:
    """Different-person pairs and their false matches between every two groups (symmetric,
    the diagonal within each group), and the global FMR over all of them."""

    values: tuple[str, ...]
    pairs: np.ndarray  # groups × groups, int64
    false_matches: np.ndarray
    global_fmr: float
    unlabelled_pairs: int  # different-person pairs with a photo in no group

    @property
    def fmr(self) -> np.ndarray:
        """FMR of each cell (NaN where no pair)."""
        rates = np.full(self.pairs.shape, np.nan)
        np.divide(self.false_matches, self.pairs, out=rates, where=self.pairs > 0)
        return rates

    @property
    def log10_relative(self) -> np.ndarray:
        """log10(cell FMR / global FMR): +1 is ten times the global FMR; NaN where the cell
        has no pair or no false match, or the study none at all."""
        rates = self.fmr
        relative = np.full(rates.shape, np.nan)
        if self.global_fmr > 0:
            seen = np.nan_to_num(rates) > 0
            relative[seen] = np.log10(rates[seen] / self.global_fmr)
        return relative

    def as_dict(self) -> dict:
        return {
            "values": list(self.values),
            "pairs": self.pairs.tolist(),
            "false_matches": self.false_matches.tolist(),
            "fmr": _nested(self.fmr),
            "log10_relative_fmr": _nested(self.log10_relative),
            "global_fmr": self.global_fmr,
            "unlabelled_pairs": self.unlabelled_pairs,
        }


@dataclass(frozen=True)
class Differentials:
    """One-number summaries over the groups ``compared`` (those with enough data)."""

    max_min_ratio_fmr: float  # inf when the lowest is 0 and the highest not; NaN: undefined
    max_min_ratio_fnmr: float
    fdr: float
    fmr_gap: float  # A: the largest |FMR_i - FMR_j|
    fnmr_gap: float  # B
    alpha: float
    compared: tuple[str, ...]

    def as_dict(self) -> dict:
        return {
            "max_min_ratio_fmr": _finite(self.max_min_ratio_fmr),
            "max_min_ratio_fnmr": _finite(self.max_min_ratio_fnmr),
            "fdr": _finite(self.fdr),
            "fmr_gap": _finite(self.fmr_gap),
            "fnmr_gap": _finite(self.fnmr_gap),
            "alpha": self.alpha,
            "compared": list(self.compared),
            "in_words": self.sentence,
        }

    @property
    def sentence(self) -> str:
        """The summaries in words."""
        if len(self.compared) < 2:
            return (
                "Fewer than two groups have enough people and pairs, so no group is compared "
                "with another."
            )
        return (
            f"Across {len(self.compared)} groups the highest FMR is "
            f"{_ratio_text(self.max_min_ratio_fmr)} the lowest and the highest FNMR "
            f"{_ratio_text(self.max_min_ratio_fnmr)} the lowest; Fairness Discrepancy Rate "
            f"{self.fdr:.4f} (1 is equal error rates in every group)."
        )


@dataclass(frozen=True)
class GroupReport:
    """One attribute's groups at one threshold: rates per group, the cross-group FMR
    matrix and the summaries. ``per_photo`` when some person's photos are in two groups."""

    attribute: str
    threshold: float
    groups: tuple[GroupRates, ...]
    cross: CrossGroupFmr
    differentials: Differentials
    per_photo: bool
    mixed_same_pairs: int  # same-person pairs whose photos are in two groups
    unlabelled_same_pairs: int  # same-person pairs with a photo in no group

    def __getitem__(self, value: str) -> GroupRates:
        return next(group for group in self.groups if group.value == value)

    def as_dict(self) -> dict:
        """The CLI's ``groups`` entry of this attribute (``differentials`` beside it)."""
        return {
            "attribute": self.attribute,
            "threshold": self.threshold,
            "per_photo": self.per_photo,
            "groups": {group.value: group.as_dict() for group in self.groups},
            "cross_group_fmr": self.cross.as_dict(),
            "differentials": self.differentials.as_dict(),
            "mixed_same_pairs": self.mixed_same_pairs,
            "unlabelled_same_pairs": self.unlabelled_same_pairs,
        }


def differentials(
    fmr: Sequence[float],
    fnmr: Sequence[float],
    values: Sequence[str],
    alpha: float = DEFAULT_FDR_ALPHA,
) -> Differentials:
    """Max/min ratios and the Fairness Discrepancy Rate of these groups' rates."""
    if not 0.0 <= alpha <= 1.0:
        raise SettingError(f"The FDR weight alpha must be within 0 and 1, not {alpha}.")
    fmr, fnmr = np.asarray(fmr, dtype=np.float64), np.asarray(fnmr, dtype=np.float64)
    if len(values) < 2:
        nan = math.nan
        return Differentials(nan, nan, nan, nan, nan, alpha, tuple(values))
    fmr_gap = float(fmr.max() - fmr.min())  # the largest pairwise |difference|
    fnmr_gap = float(fnmr.max() - fnmr.min())
    return Differentials(
        _max_min_ratio(fmr),
        _max_min_ratio(fnmr),
        1.0 - (alpha * fmr_gap + (1.0 - alpha) * fnmr_gap),
        fmr_gap,
        fnmr_gap,
        alpha,
        tuple(values),
    )


def group_report(
    photo_group: ArrayLike,
    photo_person: ArrayLike,
    first: ArrayLike,
    second: ArrayLike,
    same: ArrayLike,
    distances: ArrayLike,
    threshold: float,
    attribute: str = "group",
    values: Sequence[str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    min_people: int = MIN_GROUP_PEOPLE,
    min_same_pairs: int = MIN_GROUP_SAME_PAIRS,
    min_different_pairs: int = MIN_GROUP_DIFFERENT_PAIRS,
    alpha: float = DEFAULT_FDR_ALPHA,
) -> GroupReport:
    """Rates per group of ``photo_group`` (each photo's label; None or "" for none), the
    cross-group FMR matrix and the summaries at ``threshold``; ``values`` orders the groups
    (default: sorted labels)."""
    labels = np.asarray(photo_group, dtype=object)
    photo_person = np.asarray(photo_person, dtype=np.int64)
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    same = np.asarray(same) == 1
    distances = np.asarray(distances, dtype=np.float32)
    if labels.shape != photo_person.shape:
        raise DatasetError("Each photo needs one group label and one person.")
    if not first.shape == second.shape == same.shape == distances.shape:
        raise DatasetError("Both photo indices, labels and distances need one value per pair.")
    present = sorted({str(v) for v in labels if v is not None and v != ""})
    values = tuple(present if values is None else (v for v in values if v in present))
    if not values:
        raise DatasetError(f"No photo of the study has a label for {attribute}.")
    code = np.full(len(labels), -1, dtype=np.int64)
    for index, value in enumerate(values):
        code[np.array([v is not None and str(v) == value for v in labels], dtype=bool)] = index
    limit = as_float32(threshold)
    groups = tuple(
        _group_rates(
            value,
            code == index,
            (photo_person, first, second, same, distances),
            threshold,
            resamples,
            seed,
            (min_people, min_same_pairs, min_different_pairs),
        )
        for index, value in enumerate(values)
    )
    cross = _cross_group(code, len(values), first[~same], second[~same], distances[~same] <= limit)
    cross = CrossGroupFmr(values, *cross)
    code_a, code_b = code[first[same]], code[second[same]]
    compared = [g for g in groups if g.warning is None]
    people_per_label = {
        (p, c) for p, c in zip(photo_person.tolist(), code.tolist(), strict=True) if c >= 0
    }
    return GroupReport(
        attribute,
        float(threshold),
        groups,
        cross,
        differentials(
            [g.fmr.value for g in compared],
            [g.fnmr.value for g in compared],
            [g.value for g in compared],
            alpha,
        ),
        per_photo=len(people_per_label) > len({p for p, _ in people_per_label}),
        mixed_same_pairs=int(((code_a != code_b) & (code_a >= 0) & (code_b >= 0)).sum()),
        unlabelled_same_pairs=int(((code_a < 0) | (code_b < 0)).sum()),
    )


def quality_bands(
    photo_measure: ArrayLike,
    labels: Sequence[str] = DEFAULT_BAND_LABELS,
    photo_person: ArrayLike | None = None,
    higher_is_better: bool = True,
) -> np.ndarray:
    """Each photo's band of a measure, cut at its quantiles (tertiles for three labels,
    worst band first; equal values share a band; NaN: no band). Per photo by default; with
    ``photo_person``, per person: each person's median measure puts all their photos in
    one band (as demographic labels do), so that no same-person pair straddles two bands."""
    measure = np.asarray(photo_measure, dtype=np.float64)
    if not higher_is_better:
        measure = -measure
    if len(labels) < 2:
        raise SettingError("Quality bands need at least two labels.")
    if photo_person is not None:
        photo_person = np.asarray(photo_person, dtype=np.int64)
        medians = np.full(int(photo_person.max()) + 1, np.nan)
        for person in np.unique(photo_person):
            rated = measure[photo_person == person]
            if not np.isnan(rated).all():
                medians[person] = np.nanmedian(rated)
        measure = medians[photo_person]
    measured = ~np.isnan(measure)
    bands = np.full(measure.shape, None, dtype=object)
    if not measured.any():
        return bands
    edges = np.quantile(measure[measured], np.arange(1, len(labels)) / len(labels))
    index = np.searchsorted(edges, measure[measured], side="right")
    bands[measured] = np.asarray(labels, dtype=object)[index]
    return bands


def _group_rates(value, in_group, study, threshold, resamples, seed, minimum) -> GroupRates:
    """One group's rates through the explorer's ``PeoplePairs`` on the pairs whose two
    photos are in the group, its people renumbered so that only they are resampled."""
    photo_person, first, second, same, distances = study
    pairs = in_group[first] & in_group[second]
    photos = np.flatnonzero(in_group)
    people, person = np.unique(photo_person[photos], return_inverse=True)
    renumbered = np.full(len(in_group), -1, dtype=np.int64)
    renumbered[photos] = np.arange(len(photos))
    by_people = PeoplePairs.from_pairs(
        people.astype(str),
        person,
        renumbered[first[pairs]],
        renumbered[second[pairs]],
        same[pairs],
        distances[pairs],
    )
    intervals = by_people.intervals(threshold, max(1, resamples), seed)
    fmr, fnmr = intervals["far"], intervals["frr"]
    return GroupRates(
        value,
        len(people),
        len(photos),
        fmr,
        fnmr,
        _warning(value, len(people), fnmr.trials, fmr.trials, minimum),
    )


def _warning(value: str, people: int, positives: int, negatives: int, minimum) -> str | None:
    min_people, min_same, min_different = minimum
    short = []
    if people < min_people:
        short.append(f"{people} {'person' if people == 1 else 'people'}")
    if positives < min_same:
        short.append(f"{positives:,} same-person pairs")
    if negatives < min_different:
        short.append(f"{negatives:,} different-person pairs")
    if not short:
        return None
    return (
        f"{value}: only {', '.join(short)}, too few to say anything about this group (it "
        f"needs {min_people} people, {min_same} same-person and {min_different} "
        "different-person pairs); it is left out of the summaries."
    )


def _cross_group(
    code, groups, first, second, accepted
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Pairs and false matches between every two groups, the global FMR and the pairs with
    an unlabelled photo."""
    a, b = code[first], code[second]
    labelled = (a >= 0) & (b >= 0)
    low, high = np.minimum(a, b)[labelled], np.maximum(a, b)[labelled]
    cell = low * groups + high
    pairs = np.bincount(cell, minlength=groups * groups).reshape(groups, groups)
    wrong = np.bincount(cell[accepted[labelled]], minlength=groups * groups)
    wrong = wrong.reshape(groups, groups)
    symmetric = [m + m.T - np.diag(np.diag(m)) for m in (pairs, wrong)]
    global_fmr = float(accepted.sum() / accepted.size) if accepted.size else math.nan
    return (*symmetric, global_fmr, int((~labelled).sum()))


def _max_min_ratio(rates: np.ndarray) -> float:
    highest, lowest = float(rates.max()), float(rates.min())
    if lowest > 0:
        return highest / lowest
    return math.inf if highest > 0 else math.nan


def _ratio_text(ratio: float) -> str:
    if math.isnan(ratio):
        return "equal to (no error in any group)"
    if math.isinf(ratio):
        return "infinitely many times (one group has none)"
    return f"{ratio:.1f} times"


def _bounds(rate: RateInterval) -> dict:
    def finite(pair):
        return None if math.isnan(pair[0]) else [float(pair[0]), float(pair[1])]

    return {"bootstrap_people": finite(rate.bootstrap), "pairs_interval": finite(rate.pairs)}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _nested(matrix: np.ndarray) -> list[list[float | None]]:
    return [[_finite(float(v)) for v in row] for row in matrix]
