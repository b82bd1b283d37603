"""The Error-versus-Discard Characteristic (EDC) of a photo quality measure, as ISO/IEC
29794-1:2024 (clause 11) and the dasec ``edc.py`` reference compute it.

A pair's quality is the lower of its two photos' (a pair is only as good as its worse
photo). The pairs of one kind are sorted by that quality once (:func:`quality_study`); at a
*fixed* threshold each is an error or not, and discarding the lowest-quality fraction of
them leaves an error rate among the rest: the FNMR-EDC over same-person pairs, the FMR-EDC
over different-person pairs, each with its own discard fraction (discarded pairs of that
kind over all pairs of that kind), as the reference does. Pairs of equal quality are
discarded together, so the curve has one point per distinct quality. A quality the engine
could not measure (NaN) counts as the lowest of all.

The "perfect" measure discards exactly the errors first. Discarding ``k`` of ``N`` pairs
that all were errors leaves ``E - k`` errors in ``N - k`` pairs, so the ideal curve is
``max(E - k, 0) / (N - k)``: in fractions ``max(e0 - x, 0) / (1 - x)``, relative to the pairs
*left*, a little above the straight line ``max(e0 - x, 0)`` that the reference's "area under
theoretical best" integrates; both reach zero at ``x = e0``. Figures of merit: the smallest
discard fraction that halves the starting error, and the partial area under the curve up to
a discard limit (step-wise, as the reference's ``compute_edc_pauc``).

The bands resample *people* (``facedemo.people.resample_people``, seeded): at each of the
curve's quality cuts (thinned to ``BAND_POINTS``) a same-person pair weighs its person's
draws and a different-person pair the product of its two people's, as the explorer's
intervals do; the quality cut stays where the study put it.

A pair is an error by the explorer's one rule, ``distance <= threshold`` with both rounded
to float32 (``facedemo.thresholds``), so at zero discard FNMR and FMR are the explorer's
FRR and FAR at that threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from facedemo.errors import DatasetError, SettingError
from facedemo.people import DEFAULT_RESAMPLES, resample_people
from facedemo.thresholds import Metrics

# The explorer's own rounding of a threshold (float32, NaN refused): one rule for "accepted".
from facedemo.thresholds.core import as_float32

#: The discard fraction the partial area runs to, as the reference's example and NIST's
#: quality reports use.
DEFAULT_DISCARD_LIMIT = 0.20

#: Quality cuts (evenly spread over the discard fraction) where the bands are computed.
BAND_POINTS = 41

#: Most (resample × distinct person pair) products one band may take, as the explorer's
#: ``people.MAX_BOOTSTRAP_WORK``; beyond it, fewer resamples are drawn (the band says how
#: many), so the first curve of a big study stays within a second or two.
MAX_BAND_WORK = 200_000_000

#: The two curves: which pairs each runs over, and what an error among them is.
CURVES = {
    "fnmr": ("FNMR", "same-person pairs", "false non-matches"),
    "fmr": ("FMR", "different-person pairs", "false matches"),
}


def worse_photo(
    photo_quality: ArrayLike, first: ArrayLike, second: ArrayLike, higher_is_better: bool = True
) -> np.ndarray:
    """Each pair's lower-quality photo (an index, ``first`` on a tie; an unmeasured photo is
    the lowest of all): the one photo a pair's quality is read from, everywhere."""
    oriented = _oriented(photo_quality, higher_is_better)
    first, second = np.asarray(first), np.asarray(second)
    return np.where(oriented[second] < oriented[first], second, first)


def pair_quality(
    photo_quality: ArrayLike, first: ArrayLike, second: ArrayLike, higher_is_better: bool = True
) -> np.ndarray:
    """Each pair's quality, the lower of its two photos' (float64; NaN, unmeasured, as
    ``-inf``); with ``higher_is_better`` False the measure is negated first."""
    oriented = _oriented(photo_quality, higher_is_better)
    return oriented[worse_photo(photo_quality, first, second, higher_is_better)]


@dataclass(frozen=True, eq=False)
class EdcCurve:
    """One EDC: after discarding ``discard_counts[i]`` of the ``pairs`` pairs of one kind
    (the lowest-quality first, ties together), ``error_counts[i]`` errors remain, a rate
    ``error_rates[i]`` of the pairs left. ``band_*``: the 95 % people-resampling band at
    some of the same cuts (NaN where a resample leaves no pair), from ``resamples`` draws."""

    kind: str  # "fnmr" or "fmr"
    pairs: int
    discard_counts: np.ndarray
    error_counts: np.ndarray
    band_fractions: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    resamples: int

    @property
    def discard_fractions(self) -> np.ndarray:
        """Discarded share of this kind's pairs at each point (the x axis)."""
        return self.discard_counts / self.pairs

    @property
    def error_rates(self) -> np.ndarray:
        """Errors over the pairs left at each point (the y axis)."""
        return self.error_counts / (self.pairs - self.discard_counts)

    @property
    def start(self) -> float:
        """The error rate with nothing discarded: the explorer's FRR or FAR."""
        return float(self.error_counts[0] / self.pairs)

    def ideal(self, fractions: ArrayLike) -> np.ndarray:
        """The perfect measure's error rate at these discard fractions,
        ``max(e0 - x, 0) / (1 - x)`` (0 where everything is discarded)."""
        x = np.asarray(fractions, dtype=np.float64)
        left = 1.0 - x
        ideal = np.zeros_like(x)
        np.divide(np.maximum(self.start - x, 0.0), left, out=ideal, where=left > 0)
        return ideal

    def halving_fraction(self) -> float | None:
        """The smallest discard fraction that at least halves the starting error; None with
        no error to halve or when no cut halves it."""
        if self.error_counts[0] == 0:
            return None
        halved = np.flatnonzero(self.error_rates <= self.start / 2)
        return float(self.discard_fractions[halved[0]]) if halved.size else None

    def partial_area(self, limit: float = DEFAULT_DISCARD_LIMIT) -> float:
        """Area under the curve from 0 to ``limit`` discarded, each point's rate held until
        the next point (the reference's ``compute_edc_pauc``)."""
        edges = np.append(self.discard_fractions, np.inf)
        widths = np.clip(np.minimum(edges[1:], limit) - edges[:-1], 0.0, None)
        return float(widths @ self.error_rates)

    def ideal_partial_area(self, limit: float = DEFAULT_DISCARD_LIMIT) -> float:
        """Area under the ideal curve from 0 to ``limit``: with ``m = min(limit, e0)``,
        ``m + (1 - e0) · ln(1 - m)``."""
        reach = min(limit, self.start)
        if reach >= 1.0:
            return 1.0
        return reach + (1.0 - self.start) * math.log1p(-reach)

    def as_dict(self, limit: float = DEFAULT_DISCARD_LIMIT) -> dict:
        """The JSON form: points, figures of merit and the band (NaN as null)."""
        halving = self.halving_fraction()
        return {
            "pairs": self.pairs,
            "start": self.start,
            "discard_fractions": self.discard_fractions.tolist(),
            "error_rates": self.error_rates.tolist(),
            "discard_counts": self.discard_counts.tolist(),
            "error_counts": self.error_counts.tolist(),
            "halving_fraction": halving,
            "partial_area": self.partial_area(limit),
            "ideal_partial_area": self.ideal_partial_area(limit),
            "band": {
                "resamples": self.resamples,
                "discard_fractions": self.band_fractions.tolist(),
                "low": _json_list(self.band_low),
                "high": _json_list(self.band_high),
            },
        }


@dataclass(frozen=True)
class QualityCulprit:
    """A photo that is the lower-quality one of some wrong pairs at the threshold."""

    photo: int  # index into the data set's photos
    quality: float  # the measure as given (NaN: not measured)
    false_non_matches: int
    false_matches: int

    def as_dict(self) -> dict:
        return {
            "photo": self.photo,
            "quality": None if math.isnan(self.quality) else self.quality,
            "false_non_matches": self.false_non_matches,
            "false_matches": self.false_matches,
        }


@dataclass(frozen=True)
class Edc:
    """Both EDCs of one quality measure at one threshold, with ``at_zero`` the explorer's
    metrics at that threshold (no discard) and ``unmeasured`` the pairs with a photo the
    measure could not rate (discarded first)."""

    measure: str
    threshold: float
    higher_is_better: bool
    discard_limit: float
    fnmr: EdcCurve
    fmr: EdcCurve
    at_zero: Metrics
    unmeasured: int

    def as_dict(self) -> dict:
        """The CLI's ``quality`` entry for this measure."""
        return {
            "measure": self.measure,
            "threshold": self.threshold,
            "higher_is_better": self.higher_is_better,
            "discard_limit": self.discard_limit,
            "unmeasured_pairs": self.unmeasured,
            "fnmr": self.fnmr.as_dict(self.discard_limit),
            "fmr": self.fmr.as_dict(self.discard_limit),
        }


@dataclass(frozen=True, eq=False)
class _Kind:
    """One kind of pair sorted by rising pair quality (ties keep pair order)."""

    quality: np.ndarray  # oriented: higher is better, -inf unmeasured
    distances: np.ndarray  # float32
    first_person: np.ndarray | None
    second_person: np.ndarray | None  # None for same-person pairs
    worse_photo: np.ndarray  # the photo whose quality is the pair's
    cuts: np.ndarray  # where each run of equal quality starts: the discard counts

    @classmethod
    def build(cls, quality, distances, worse_photo, first_person, second_person) -> _Kind:
        order = np.argsort(quality, kind="stable")
        quality = quality[order]
        cuts = np.concatenate([[0], np.flatnonzero(quality[1:] != quality[:-1]) + 1])
        return cls(
            quality,
            distances[order],
            None if first_person is None else first_person[order],
            None if second_person is None else second_person[order],
            worse_photo[order],
            cuts,
        )

    def errors(self, limit: np.float32, same: bool) -> np.ndarray:
        accepted = self.distances <= limit
        return ~accepted if same else accepted


@dataclass(frozen=True, eq=False)
class QualityStudy:
    """A study's pairs sorted by one measure's pair quality, once; asked at any threshold
    (:meth:`edc`, :meth:`culprits`). Built by :func:`quality_study`."""

    measure: str
    higher_is_better: bool
    photo_quality: np.ndarray  # as given
    same: _Kind
    different: _Kind
    people: int  # 0 without people: no bands
    _bands: dict = field(default_factory=dict, repr=False)  # per (kind, resamples, seed)

    def edc(
        self,
        threshold: float,
        discard_limit: float = DEFAULT_DISCARD_LIMIT,
        resamples: int = DEFAULT_RESAMPLES,
        seed: int = 0,
    ) -> Edc:
        """FNMR- and FMR-EDC at the fixed ``threshold``, with people-resampling bands
        (``resamples`` 0, or a study without people: none)."""
        if not 0.0 < discard_limit <= 1.0:
            raise SettingError(
                f"The discard limit must be a fraction above 0 and at most 1, not {discard_limit}."
            )
        if resamples < 0:
            raise SettingError(f"The number of resamples cannot be negative ({resamples}).")
        limit = as_float32(threshold)
        curves = {}
        for kind, pairs, same in (("fnmr", self.same, True), ("fmr", self.different, False)):
            errors = pairs.errors(limit, same)
            remaining = np.cumsum(errors[::-1])[::-1]
            band = self._band(pairs, errors, resamples, seed) if self.people else None
            nothing = _frozen(np.empty(0))
            curves[kind] = EdcCurve(
                kind,
                len(errors),
                _frozen(pairs.cuts),
                _frozen(remaining[pairs.cuts]),
                *(band or (nothing, nothing, nothing, 0)),
            )
        fnmr, fmr = curves["fnmr"], curves["fmr"]
        at_zero = Metrics.from_counts(
            float(threshold),
            fnmr.pairs - int(fnmr.error_counts[0]),
            int(fmr.error_counts[0]),
            fnmr.pairs,
            fmr.pairs,
        )
        unmeasured = int(
            np.isneginf(self.same.quality).sum() + np.isneginf(self.different.quality).sum()
        )
        return Edc(
            self.measure,
            float(threshold),
            self.higher_is_better,
            discard_limit,
            fnmr,
            fmr,
            at_zero,
            unmeasured,
        )

    def culprits(self, threshold: float, limit: int = 12) -> tuple[QualityCulprit, ...]:
        """The photos that drag the wrong pairs down: of every false non-match and false
        match at ``threshold``, the photo whose quality is the pair's (the lower), lowest
        quality first (then most wrong pairs), at most ``limit``."""
        cut = as_float32(threshold)
        photos = len(self.photo_quality)
        counts = [
            np.bincount(pairs.worse_photo[pairs.errors(cut, same)], minlength=photos)
            for pairs, same in ((self.same, True), (self.different, False))
        ]
        wrong = np.flatnonzero(counts[0] + counts[1])
        oriented = _oriented(self.photo_quality, self.higher_is_better)[wrong]
        order = np.lexsort((wrong, -(counts[0] + counts[1])[wrong], oriented))[:limit]
        return tuple(
            QualityCulprit(
                int(wrong[i]),
                float(self.photo_quality[wrong[i]]),
                int(counts[0][wrong[i]]),
                int(counts[1][wrong[i]]),
            )
            for i in order
        )

    def _band(
        self, pairs: _Kind, errors: np.ndarray, resamples: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
        """The 2.5 and 97.5 percentiles of the error rate under people resamples at up to
        ``BAND_POINTS`` of the curve's cuts, and the resamples drawn. What does not depend
        on the threshold (the cuts, the draws, the weight of the pairs left) is kept, so a
        slider move only weighs the errors."""
        if resamples == 0:
            return None
        kind = "fnmr" if pairs is self.same else "fmr"
        if (kind, resamples, seed) not in self._bands:
            self._bands[kind, resamples, seed] = self._band_setup(pairs, resamples, seed)
        chosen, keys, weights, left = self._bands[kind, resamples, seed]
        two_people = pairs.second_person is not None
        wrong = _remaining_weight(keys[errors], chosen.size, self.people, weights, two_people)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(left > 0, wrong / left, np.nan)
        low_band = np.full(chosen.size, np.nan)
        high_band = np.full(chosen.size, np.nan)
        seen = ~np.isnan(rates).all(axis=1)
        if seen.any():
            low_band[seen], high_band[seen] = np.nanpercentile(rates[seen], [2.5, 97.5], axis=1)
        fractions = _frozen(chosen / len(errors))
        return fractions, _frozen(low_band), _frozen(high_band), weights.shape[1]

    def _band_setup(self, pairs: _Kind, resamples: int, seed: int) -> tuple:
        """The band's cuts, each pair's key (its segment between cuts and its person or
        people), the draws (people × resamples) and the weight of the pairs left at each
        cut (cuts × resamples)."""
        total = len(pairs.distances)
        targets = np.linspace(0.0, 1.0, BAND_POINTS) * total
        nearest = np.searchsorted(pairs.cuts, targets, side="left").clip(0, len(pairs.cuts) - 1)
        chosen = np.unique(pairs.cuts[nearest])
        segment = np.searchsorted(chosen, np.arange(total), side="right") - 1
        two_people = pairs.second_person is not None
        keys = segment.astype(np.int64) * self.people + pairs.first_person
        if two_people:  # (segment, lower person, higher person) as one number
            low = np.minimum(pairs.first_person, pairs.second_person).astype(np.int64)
            high = np.maximum(pairs.first_person, pairs.second_person).astype(np.int64)
            keys = (segment.astype(np.int64) * self.people + low) * self.people + high
        work = np.unique(keys).size if two_people else self.people
        resamples = max(1, min(resamples, MAX_BAND_WORK // max(1, work)))
        weights = np.ascontiguousarray(resample_people(self.people, resamples, seed).T)
        weights = weights.astype(np.float64)
        left = _remaining_weight(keys, chosen.size, self.people, weights, two_people)
        return chosen, keys, weights, left


def _remaining_weight(
    keys: np.ndarray, segments: int, people: int, weights: np.ndarray, two_people: bool
) -> np.ndarray:
    """Σ of the pairs' weights from each segment on (segments × resamples), ``weights``
    being people × resamples: a key is ``segment·P + person`` (weight ``w_person``) or,
    ``two_people``, ``(segment·P + a)·P + b`` (weight ``w_a·w_b``, summed per segment as
    ``wᵀ C w`` with ``C`` the segment's sparse person-pair counts)."""
    per_segment = np.zeros((segments, weights.shape[1]))
    unique, counts = np.unique(keys, return_counts=True)
    if two_people and unique.size:
        rest, second = np.divmod(unique, people)
        shape = (segments * people, people)
        pairs_between = sparse.csr_matrix((counts.astype(np.float64), (rest, second)), shape)
        for segment in np.unique(rest // people):
            block = pairs_between[segment * people : (segment + 1) * people] @ weights
            per_segment[segment] = np.einsum("pr,pr->r", weights, block)
    elif unique.size:
        segment, person = np.divmod(unique, people)
        shape = (segments, people)  # whatever the highest person or segment with an error
        per_person = sparse.csr_matrix((counts.astype(np.float64), (segment, person)), shape)
        per_segment[:] = per_person @ weights
    return np.cumsum(per_segment[::-1], axis=0)[::-1]


def quality_study(
    distances: ArrayLike,
    same: ArrayLike,
    first: ArrayLike,
    second: ArrayLike,
    photo_quality: ArrayLike,
    photo_person: ArrayLike | None = None,
    measure: str = "quality",
    higher_is_better: bool = True,
) -> QualityStudy:
    """Sort a study's pairs (photo indices ``first``/``second``, ``same`` person or not,
    their ``distances``) by the pair quality of ``photo_quality`` (one value per photo,
    NaN where unmeasured); with ``photo_person`` (each photo's person index) the EDCs get
    people-resampling bands."""
    distances = np.asarray(distances)
    same, first, second = np.asarray(same), np.asarray(first), np.asarray(second)
    photo_quality = np.asarray(photo_quality, dtype=np.float64)
    if not distances.ndim == same.ndim == first.ndim == second.ndim == 1 or not (
        distances.size == same.size == first.size == second.size
    ):
        raise DatasetError("Distances, labels and both photo indices need one value per pair.")
    if photo_quality.ndim != 1 or (
        first.size and max(first.max(), second.max()) >= photo_quality.size
    ):
        raise DatasetError("The quality measure needs one value for every photo of the pairs.")
    if np.isinf(photo_quality).any():
        raise DatasetError("Quality values must be finite numbers, or NaN where unmeasured.")
    with np.errstate(over="ignore"):
        distances = distances.astype(np.float32)
    if not np.isfinite(distances).all():
        raise DatasetError("Some distances are missing or infinite; remove those pairs first.")
    same = same == 1
    if same.all() or not same.any():
        raise DatasetError(
            "A quality curve needs at least one same-person and one different-person pair."
        )
    worse = worse_photo(photo_quality, first, second, higher_is_better)
    quality = _oriented(photo_quality, higher_is_better)[worse]
    people = 0
    person_a = person_b = None
    if photo_person is not None:
        photo_person = np.asarray(photo_person, dtype=np.int64)
        if photo_person.shape != photo_quality.shape:
            raise DatasetError("Each photo needs one person, as it needs one quality.")
        people = int(photo_person.max()) + 1
        person_a, person_b = photo_person[first], photo_person[second]
    return QualityStudy(
        measure,
        higher_is_better,
        _frozen(photo_quality.copy()),
        _Kind.build(quality[same], distances[same], worse[same], _part(person_a, same), None),
        _Kind.build(
            quality[~same],
            distances[~same],
            worse[~same],
            _part(person_a, ~same),
            _part(person_b, ~same),
        ),
        people,
    )


def edc(
    distances: ArrayLike,
    same: ArrayLike,
    first: ArrayLike,
    second: ArrayLike,
    photo_quality: ArrayLike,
    threshold: float,
    photo_person: ArrayLike | None = None,
    measure: str = "quality",
    higher_is_better: bool = True,
    discard_limit: float = DEFAULT_DISCARD_LIMIT,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Edc:
    """:func:`quality_study` and its :meth:`QualityStudy.edc` at ``threshold`` in one call."""
    study = quality_study(
        distances, same, first, second, photo_quality, photo_person, measure, higher_is_better
    )
    return study.edc(threshold, discard_limit, resamples, seed)


def _oriented(photo_quality: ArrayLike, higher_is_better: bool) -> np.ndarray:
    """The measure as float64 with higher better and NaN (unmeasured) as ``-inf``."""
    values = np.asarray(photo_quality, dtype=np.float64)
    values = values if higher_is_better else -values
    return np.where(np.isnan(values), -np.inf, values)


def _part(values: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[rows]


def _json_list(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values]


def _frozen(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    values.setflags(write=False)
    return values
