"""Why errors happen, for one pair study: what the explorer's quality and group panels,
``thresholds --json`` and the pairs CSV show, computed in one place.

- :func:`measures`: the quality measures a study holds (``PairStudy.photo_quality``), with
  their labels and direction; :func:`no_measures_reason` says why a study has none.
- :func:`study_quality` → :class:`StudyQuality`: per measure one :class:`QualityStudy`,
  built once per study and kept (a slider move only asks it for an EDC at a threshold);
  the culprit photos by file; groups from an attributes table or from quality bands.
- :func:`quality_summary`: the CLI's ``quality``, ``groups`` and ``differentials``.
- :func:`pairs_export`: the pairs CSV with each pair's quality per measure (the lower of
  its two photos') and, with an attributes table, each photo's group.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from facedemo.cache import LruCache
from facedemo.datasets.attributes import AttributesTable
from facedemo.errors import DatasetError
from facedemo.people import DEFAULT_RESAMPLES, RateInterval
from facedemo.plots.style import percent
from facedemo.quality.edc import (
    DEFAULT_DISCARD_LIMIT,
    Edc,
    QualityStudy,
    quality_study,
    worse_photo,
)
from facedemo.quality.groups import (
    DEFAULT_BAND_LABELS,
    Differentials,
    GroupReport,
    group_report,
    quality_bands,
)
from facedemo.quality.measures import MEASURES, Measure

if TYPE_CHECKING:  # a study comes from evaluation, which loads the face models' modules
    from facedemo.evaluation import PairStudy

#: Studies whose per-measure sorting is kept (as many as the explorer keeps studies).
STUDIES_KEPT = 8

#: Wrong-pair photos the explorer shows under "which photos drag it down".
CULPRITS_SHOWN = 6

#: Where groups come from when no attributes table is given: the photos' own bands of a
#: measure, so a set without labels still shows the panel.
BANDS_ATTRIBUTE = "quality band"

#: The pairs CSV's column of a measure and of an attribute's group per photo.
QUALITY_COLUMN = "quality_{measure}"
GROUP_COLUMNS = ("group_{attribute}_x", "group_{attribute}_y")


@dataclass(frozen=True)
class NamedMeasure:
    """A measure the catalogue does not describe: read by its ``name``, higher better, the
    EDC ranking the values themselves. A catalogue entry answers the same questions
    (``name``, ``label``, ``unit``, ``higher_is_better``, ``ranked``)."""

    name: str
    label: str
    unit: str = ""
    higher_is_better: bool = True

    def ranked(self, values: np.ndarray) -> np.ndarray:
        """The numbers the EDC ranks: the values themselves (float64)."""
        return np.asarray(values, dtype=np.float64).copy()


def _catalogue() -> dict[str, Measure]:
    """The measures facedemo knows by name (``quality.MEASURES``): label, unit, direction
    and what the EDC ranks (the value, or its distance from a preferred one)."""
    return dict(MEASURES)


def measures(study: PairStudy) -> tuple[NamedMeasure, ...]:
    """The quality measures ``study`` holds (some photo rated), known ones in catalogue
    order first, then the rest by name; a name the catalogue lacks is its own label."""
    known = _catalogue()
    present = [name for name, values in study.photo_quality.items() if not np.isnan(values).all()]
    ordered = [name for name in known if name in present] + sorted(set(present) - set(known))
    return tuple(known.get(name, NamedMeasure(name, name)) for name in ordered)


def no_measures_reason(study: PairStudy) -> str | None:
    """Why ``study`` has no quality measure to show, in one sentence; None when it has one."""
    if measures(study):
        return None
    if study.engine is None:
        return (
            "Scores measured elsewhere (a pairs CSV) come without their photos, so there is "
            "no photo quality to relate the errors to; study an identity data set instead."
        )
    return (
        "No photo of this study has a quality measure yet: the embedding store measures "
        "each photo when it embeds it, and photos embedded before that get their measures "
        "on the next study."
    )


class StudyQuality:
    """One study's quality and group statistics: each measure's :class:`QualityStudy` is
    built on first use and kept, so asking for an EDC at a new threshold only weighs that
    threshold's errors."""

    def __init__(self, study: PairStudy) -> None:
        self.study = study
        self.measures = measures(study)
        self._by_measure: dict[str, QualityStudy] = {}
        self._lock = threading.Lock()

    def measure(self, name: str) -> NamedMeasure:
        return next(m for m in self.measures if m.name == name)

    @property
    def photo_person(self) -> np.ndarray | None:
        """Each photo's person index; None when the study does not know its people."""
        return self.study.person_index[1] if self.study.knows_people else None

    def sorted_by(self, name: str) -> QualityStudy:
        """The study's pairs sorted by ``name``'s pair quality, built once."""
        with self._lock:
            found = self._by_measure.get(name)
        if found is None:
            measure, study = self.measure(name), self.study
            found = quality_study(
                study.distances,
                study.same,
                study.first,
                study.second,
                measure.ranked(study.photo_quality[name]),
                self.photo_person,
                measure.label,
                measure.higher_is_better,
            )
            with self._lock:
                found = self._by_measure.setdefault(name, found)
        return found

    def edc(
        self,
        name: str,
        threshold: float,
        discard_limit: float = DEFAULT_DISCARD_LIMIT,
        resamples: int = DEFAULT_RESAMPLES,
    ) -> Edc:
        """Both EDCs of ``name`` at ``threshold`` with people-resampling bands."""
        return self.sorted_by(name).edc(threshold, discard_limit, resamples)

    def culprits(self, name: str, threshold: float, limit: int = CULPRITS_SHOWN) -> pd.DataFrame:
        """The photos that drag the wrong pairs down (``QualityStudy.culprits``), with
        ``file``, ``identity``, ``quality`` (the measure's value, NaN unmeasured),
        ``false_non_matches`` and ``false_matches``."""
        rows = self.sorted_by(name).culprits(threshold, limit)
        photos = np.array([row.photo for row in rows], dtype=np.int64)
        return pd.DataFrame(
            {
                "file": self.study.files[photos],
                "identity": self.study.identities[photos],
                "quality": self.study.photo_quality[name][photos].astype(np.float64),
                "false_non_matches": [row.false_non_matches for row in rows],
                "false_matches": [row.false_matches for row in rows],
            }
        )

    def bands(self, name: str) -> np.ndarray:
        """Each photo's band of ``name`` (worst first: low, medium, high; None unmeasured)."""
        measure = self.measure(name)
        return quality_bands(
            measure.ranked(self.study.photo_quality[name]),
            higher_is_better=measure.higher_is_better,
        )

    def groups(
        self,
        threshold: float,
        attributes: AttributesTable | None = None,
        band_measure: str | None = None,
        resamples: int = DEFAULT_RESAMPLES,
    ) -> list[GroupReport]:
        """One report per column of ``attributes`` at ``threshold``; without a table, one of
        the photos' bands of ``band_measure`` (default: the first measure). Empty when the
        study does not know its people, or has neither a table nor a measure."""
        photo_person = self.photo_person
        if photo_person is None:
            return []
        study = self.study
        common = (photo_person, study.first, study.second, study.same, study.distances)
        if attributes is not None:
            names = study.person_index[0]
            return [
                group_report(
                    attributes.photo_labels(column, names, photo_person),
                    *common,
                    threshold,
                    attribute=column,
                    resamples=resamples,
                )
                for column in attributes.columns
                if any(attributes.labels[column].get(name) for name in names)
            ]
        if not self.measures:
            return []
        name = band_measure or self.measures[0].name
        return [
            group_report(
                self.bands(name),
                *common,
                threshold,
                attribute=f"{BANDS_ATTRIBUTE} of {self.measure(name).label}",
                values=DEFAULT_BAND_LABELS,
                resamples=resamples,
            )
        ]


def group_table(report: GroupReport) -> pd.DataFrame:
    """One row per group of ``report``: its people, photos and pairs, FMR and FNMR with
    their 95 % intervals as text (resampling the group's people, and counting pairs), and
    whether it has too few to say anything."""
    return pd.DataFrame(
        [
            {
                "group": group.value,
                "people": group.people,
                "photos": group.photos,
                "positives": group.positives,
                "negatives": group.negatives,
                "fmr": group.fmr.value,
                "fmr_people": _interval_text(group.fmr, "bootstrap"),
                "fmr_pairs": _interval_text(group.fmr, "pairs"),
                "fnmr": group.fnmr.value,
                "fnmr_people": _interval_text(group.fnmr, "bootstrap"),
                "fnmr_pairs": _interval_text(group.fnmr, "pairs"),
                "too_few": group.warning is not None,
            }
            for group in report.groups
        ]
    )


def differential_figures(summary: Differentials) -> dict[str, str]:
    """The one-number summaries as the page shows them: ratios as "3.0×" ("∞" when the
    best group has no error and another has some, "—" when no group has any or fewer than
    two groups are compared), the FDR to four decimals."""

    def ratio(value: float) -> str:
        if math.isnan(value):
            return "—"
        return "∞" if math.isinf(value) else f"{value:.1f}×"

    return {
        "Max/min FMR": ratio(summary.max_min_ratio_fmr),
        "Max/min FNMR": ratio(summary.max_min_ratio_fnmr),
        "Fairness discrepancy rate": "—" if math.isnan(summary.fdr) else f"{summary.fdr:.4f}",
    }


def _interval_text(rate: RateInterval, kind: str) -> str:
    """``low–high`` in percent; "—" where there is none (no pair, or resampling people
    with no error to resample)."""
    low, high = getattr(rate, kind)
    if not rate.trials or np.isnan(low):
        return "—"
    return f"{percent(low)}–{percent(high)}"


_KEPT: LruCache[int, StudyQuality] = LruCache(STUDIES_KEPT)


def study_quality(study: PairStudy) -> StudyQuality:
    """``study``'s :class:`StudyQuality`, the same object for the same study while it is
    among the last few asked for (a study without measures is not kept: nothing in it
    is costly)."""
    found = _KEPT.get(id(study))
    if found is not None and found.study is study:
        return found
    made = StudyQuality(study)
    return _KEPT.put(id(study), made) if made.measures else made


def groups_note(study: PairStudy, attributes: AttributesTable | None) -> str | None:
    """Why no group is reported for ``study``, in one sentence; None when some are."""
    if not study.knows_people:
        return (
            "Groups need to know who is in each photo, and a pairs CSV does not say; use an "
            "identity data set."
        )
    if attributes is None and not measures(study):
        return (
            "No attributes table (attributes.csv in the data set's folder, or --attributes "
            "FILE) and no quality measure to band the photos by."
        )
    return None


def quality_summary(
    study: PairStudy,
    threshold: float,
    attributes: AttributesTable | None = None,
    resamples: int = DEFAULT_RESAMPLES,
) -> dict:
    """``thresholds --json``'s ``quality`` (per measure: ``Edc.as_dict``), ``groups`` and
    ``differentials`` (per attribute) at ``threshold``, each null with a ``*_note`` saying
    why where there is none. Without ``attributes`` the groups are the photos' bands of the
    first measure."""
    analysed = study_quality(study)
    quality = {
        m.name: {
            **analysed.edc(m.name, threshold, resamples=resamples).as_dict(),
            "measure": m.name,
            "label": m.label,
        }
        for m in analysed.measures
    }
    reason = groups_note(study, attributes)
    reports = [] if reason else analysed.groups(threshold, attributes, resamples=resamples)
    return {
        "quality": quality or None,
        "quality_note": no_measures_reason(study),
        "groups": {r.attribute: r.as_dict() for r in reports} or None,
        "differentials": {r.attribute: r.differentials.as_dict() for r in reports} or None,
        "groups_note": reason,
        "attributes_notes": list(attributes.notes) if attributes is not None else [],
    }


def pairs_export(
    study: PairStudy, threshold: float, attributes: AttributesTable | None = None
) -> pd.DataFrame:
    """``study.pairs_frame(threshold)`` with ``quality_<measure>``, each pair's quality (the
    measure of its lower-quality photo; empty where unmeasured), and with ``attributes``
    ``group_<attribute>_x`` / ``_y``, each photo's label."""
    frame = study.pairs_frame(threshold)
    for measure in measures(study):
        values = study.photo_quality[measure.name]
        ranked = measure.ranked(values)  # what the EDC ranks: the same worse photo as its curve
        worse = worse_photo(ranked, study.first, study.second, measure.higher_is_better)
        frame[QUALITY_COLUMN.format(measure=measure.name)] = values[worse]
    if attributes is not None:
        if not study.knows_people:
            raise DatasetError(
                "A pairs CSV does not say who is in each photo, so an attributes table cannot "
                "label its photos; use an identity data set."
            )
        names, photo_person = study.person_index
        for column in attributes.columns:
            labels = attributes.photo_labels(column, names, photo_person)
            for name, photos in zip(GROUP_COLUMNS, (study.first, study.second), strict=True):
                frame[name.format(attribute=column)] = labels[photos]
    return frame
