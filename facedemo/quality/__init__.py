"""Why errors happen: photo quality and groups of people, the way ISO and NIST report them.

- ``measures``: each photo's quality, measured beside its embedding (:data:`MEASURES`:
  face size, sharpness, exposure, head pose, the detector's score, each named after its
  ISO/IEC 29794-5 / OFIQ counterpart; :func:`measure_face`); the embedding store keeps
  them and ``PairStudy.photo_quality`` holds them per photo
- ``edc``: the Error-versus-Discard Characteristic of a quality measure (ISO/IEC
  29794-1:2024): :func:`quality_study` → :class:`QualityStudy`, asked at any threshold for
  an :class:`Edc` (FNMR- and FMR-EDC, bands, halving fraction, partial area) and the
  :class:`QualityCulprit` photos behind the wrong pairs
- ``groups``: error rates per group at one threshold (NIST FRTE 1:1 report cards, ISO/IEC
  19795-10): :func:`group_report` → :class:`GroupReport` (per group FMR and FNMR with
  intervals, the cross-group FMR matrix, max/min ratios and the Fairness Discrepancy
  Rate); groups from an attributes table
  (``facedemo.datasets.AttributesTable.photo_labels``) or from quality bands
  (:func:`quality_bands`)

Nothing here runs a model: the inputs are a study's pairs, distances and per-photo numbers
(``measures`` reads a face the detector already found).
"""

from __future__ import annotations

from facedemo.quality.edc import (
    BAND_POINTS,
    CURVES,
    DEFAULT_DISCARD_LIMIT,
    MAX_BAND_WORK,
    Edc,
    EdcCurve,
    QualityCulprit,
    QualityStudy,
    edc,
    pair_quality,
    quality_study,
    worse_photo,
)
from facedemo.quality.groups import (
    DEFAULT_BAND_LABELS,
    DEFAULT_FDR_ALPHA,
    MIN_GROUP_DIFFERENT_PAIRS,
    MIN_GROUP_PEOPLE,
    MIN_GROUP_SAME_PAIRS,
    CrossGroupFmr,
    Differentials,
    GroupRates,
    GroupReport,
    differentials,
    group_report,
    quality_bands,
)
from facedemo.quality.measures import (
    MEASURES,
    MEASURES_VERSION,
    Measure,
    measure_face,
    unmeasured,
)

__all__ = [
    "BAND_POINTS",
    "CURVES",
    "DEFAULT_BAND_LABELS",
    "DEFAULT_DISCARD_LIMIT",
    "DEFAULT_FDR_ALPHA",
    "MAX_BAND_WORK",
    "MEASURES",
    "MEASURES_VERSION",
    "MIN_GROUP_DIFFERENT_PAIRS",
    "MIN_GROUP_PEOPLE",
    "MIN_GROUP_SAME_PAIRS",
    "CrossGroupFmr",
    "Differentials",
    "Edc",
    "EdcCurve",
    "GroupRates",
    "GroupReport",
    "Measure",
    "QualityCulprit",
    "QualityStudy",
    "differentials",
    "edc",
    "group_report",
    "measure_face",
    "pair_quality",
    "quality_bands",
    "quality_study",
    "unmeasured",
    "worse_photo",
]
