"""Figures of whole studies: engine settings compared side by side, the reliability
diagram of P(same person), and how many photos each person of a data set has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from facedemo.calibration import ReliabilityBin
from facedemo.plots.style import (
    CURVE_COLOUR,
    FIGURE_HEIGHT,
    SAME_PERSON_COLOUR,
    _chance_line,
    percent,
)

# Bars of the settings compared: Okabe-Ito colours other than the two kinds of pair.
SETTING_COLOURS = ("#0072B2", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")

# Columns of a comparison row (besides "setting") and how the figure names them.
COMPARISON_METRICS = {"auc": "AUC", "eer": "EER", "best_accuracy": "best accuracy"}
#: Height of the comparison figure: titles and axes, and each setting's (two-line) bar.
COMPARISON_HEIGHT = 110
COMPARISON_ROW_HEIGHT = 48


def comparison_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Engine settings side by side, one panel per quantity, each on its own axis and in its
    own unit: AUC as a number from 0.5 (chance) to 1, EER and best accuracy in percent. Each
    setting is a bar (its name on the left, wrapped), its value written on it as the table
    beside it writes it.

    Each row holds a ``"setting"`` name and the fractions named in ``COMPARISON_METRICS``
    (``auc``, ``eer``, ``best_accuracy``).
    """
    settings = [_wrapped(str(row["setting"])) for row in rows]
    figure = make_subplots(
        rows=1,
        cols=len(COMPARISON_METRICS),
        shared_yaxes=True,
        horizontal_spacing=0.08,
        subplot_titles=list(COMPARISON_METRICS.values()),
    )
    for column, key in enumerate(COMPARISON_METRICS, start=1):
        values = [float(row[key]) for row in rows]
        as_text = (lambda v: f"{v:.4f}") if key == "auc" else (lambda v: percent(v))
        figure.add_bar(
            x=values,
            y=settings,
            orientation="h",
            marker_color=[SETTING_COLOURS[i % len(SETTING_COLOURS)] for i in range(len(rows))],
            text=[as_text(value) for value in values],
            textposition="auto",
            textangle=0,
            insidetextanchor="end",
            cliponaxis=False,
            name=COMPARISON_METRICS[key],
            showlegend=False,
            hovertemplate="%{y}<br>%{text}<extra></extra>",
            row=1,
            col=column,
        )
        known = [value for value in values if np.isfinite(value)] or [0.0]
        if key == "auc":
            axis = {"range": [min(0.5, *known), 1.0], "tickformat": ".2f", "dtick": 0.25}
        elif key == "eer":  # room right of the longest bar for a value written beside it
            axis = {"range": [0.0, max(1.7 * max(known), 0.01)], "tickformat": ".1%", "nticks": 3}
        else:
            axis = {"range": [0.0, 1.0], "tickformat": ".0%", "dtick": 0.5}
        figure.update_xaxes(automargin=True, **axis, row=1, col=column)
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_layout(
        height=COMPARISON_HEIGHT + COMPARISON_ROW_HEIGHT * len(rows),
        margin={"t": 40, "b": 30, "l": 10, "r": 10},
        uniformtext={"minsize": 11, "mode": "show"},
    )
    return figure


def _wrapped(label: str, width: int = 24) -> str:
    """A long setting name (``Dlib · opencv · dlib_chip · cosine · 640 px``) on lines of
    about ``width`` characters, broken between its parts."""
    lines: list[str] = []
    for part in label.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += f" · {part}"
        else:
            lines.append(part)
    return "<br>".join(lines)


def images_per_identity_figure(images_per_identity: Mapping[str, int]) -> go.Figure:
    """How many people have 1, 2, 3 ... photos: what a data set's pairs are made of."""
    counts = np.bincount(np.fromiter(images_per_identity.values(), dtype=np.int64))
    photos = np.flatnonzero(counts)
    figure = go.Figure(go.Bar(x=photos, y=counts[photos], marker_color=SAME_PERSON_COLOUR))
    figure.update_layout(
        xaxis={"title": "photos per person", "dtick": 1},
        yaxis={"title": "people"},
        height=260,
        margin={"t": 10, "b": 40},
    )
    return figure


def reliability_figure(bins: Sequence[ReliabilityBin]) -> go.Figure:
    """Predicted P(same) against the share of pairs that really were one person, per bin
    (marker area ~ pairs); a calibrated probability lies on the diagonal. With no bin (no
    pair could be predicted out of fold) the diagonal alone, saying so."""
    pairs = np.array([b.pairs for b in bins] or [0], dtype=float)
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], **_chance_line("perfectly calibrated"))
    figure.add_scatter(
        x=[b.mean_predicted for b in bins],
        y=[b.observed for b in bins],
        mode="lines+markers",
        name="out of fold",
        line={"color": CURVE_COLOUR},
        marker={"size": 6 + 24 * np.sqrt(pairs / max(pairs.max(), 1))},
        customdata=pairs,
        hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}<br>%{customdata:,} pairs",
    )
    if not bins:
        figure.add_annotation(
            x=0.5, y=0.5, text="no pair could be predicted out of fold", showarrow=False
        )
    figure.update_layout(
        xaxis={"title": "predicted P(same person)", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "share that were one person", "tickformat": ".0%", "range": [0, 1]},
        height=FIGURE_HEIGHT,
    )
    return figure
