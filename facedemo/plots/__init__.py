"""Plotly figures for the pages: plain data or an ``Analysis`` in, ``go.Figure`` out.

Same-person pairs are always drawn in ``SAME_PERSON_COLOUR`` and different-person pairs in
``DIFFERENT_PERSON_COLOUR`` (a green and a red from the Okabe-Ito palette, which stay apart
for colour-blind readers); the threshold is always a dashed ``THRESHOLD_COLOUR`` line.

One module per job, every public name importable from here:

- ``style``: the kinds of pair and their colours, the threshold and chance lines,
  :func:`percent`
- ``pairs``: :func:`distance_histogram`, :func:`confusion_matrix_figure`,
  :func:`distance_gauge`
- ``curves``: :func:`roc_figure`, :func:`det_figure` (with operating points),
  :func:`pr_figure`
- ``studies``: :func:`comparison_figure`, :func:`reliability_figure`,
  :func:`images_per_identity_figure`
- ``quality``: :func:`edc_figure`, :func:`cross_group_figure` and their captions
"""

from __future__ import annotations

from facedemo.plots.curves import (
    CURVE_POINTS,
    DET_CLIP,
    DET_RANGE,
    DET_TICKS,
    LABEL_REACH,
    det_figure,
    pr_figure,
    roc_figure,
)
from facedemo.plots.pairs import (
    CONFUSION_FONT_SIZE,
    EVEN_ODDS_COLOUR,
    confusion_matrix_figure,
    distance_gauge,
    distance_histogram,
)
from facedemo.plots.quality import (
    EDC_X_RANGE,
    HEATMAP_COLOURS,
    HEATMAP_REACH,
    cross_group_caption,
    cross_group_figure,
    edc_caption,
    edc_figure,
)
from facedemo.plots.studies import (
    COMPARISON_HEIGHT,
    COMPARISON_METRICS,
    COMPARISON_ROW_HEIGHT,
    SETTING_COLOURS,
    comparison_figure,
    images_per_identity_figure,
    reliability_figure,
)
from facedemo.plots.style import (
    CHANCE_COLOUR,
    CURVE_COLOUR,
    DIFFERENT_PERSON,
    DIFFERENT_PERSON_COLOUR,
    FIGURE_HEIGHT,
    SAME_PERSON,
    SAME_PERSON_COLOUR,
    THRESHOLD_COLOUR,
    percent,
)

__all__ = [
    "CHANCE_COLOUR",
    "COMPARISON_HEIGHT",
    "COMPARISON_METRICS",
    "COMPARISON_ROW_HEIGHT",
    "CONFUSION_FONT_SIZE",
    "CURVE_COLOUR",
    "CURVE_POINTS",
    "DET_CLIP",
    "DET_RANGE",
    "DET_TICKS",
    "DIFFERENT_PERSON",
    "DIFFERENT_PERSON_COLOUR",
    "EDC_X_RANGE",
    "EVEN_ODDS_COLOUR",
    "FIGURE_HEIGHT",
    "HEATMAP_COLOURS",
    "HEATMAP_REACH",
    "LABEL_REACH",
    "SAME_PERSON",
    "SAME_PERSON_COLOUR",
    "SETTING_COLOURS",
    "THRESHOLD_COLOUR",
    "comparison_figure",
    "confusion_matrix_figure",
    "cross_group_caption",
    "cross_group_figure",
    "det_figure",
    "distance_gauge",
    "distance_histogram",
    "edc_caption",
    "edc_figure",
    "images_per_identity_figure",
    "percent",
    "pr_figure",
    "reliability_figure",
    "roc_figure",
]
