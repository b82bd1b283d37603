"""Plotly figures for the pages: plain data or an ``Analysis`` in, ``go.Figure`` out.

Same-person pairs are always drawn in ``SAME_PERSON_COLOUR`` and different-person pairs in
``DIFFERENT_PERSON_COLOUR`` (a green and a red from the Okabe-Ito palette, which stay apart
for colour-blind readers); the threshold is always a dashed ``THRESHOLD_COLOUR`` line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from plotly.subplots import make_subplots
from scipy.stats import norm

from facedemo.calibration import ReliabilityBin
from facedemo.thresholds import (
    Analysis,
    DetCurve,
    Metrics,
    OperatingPoint,
    PrCurve,
    RocCurve,
)

SAME_PERSON = "same person"
DIFFERENT_PERSON = "different person"
SAME_PERSON_COLOUR = "#009E73"
DIFFERENT_PERSON_COLOUR = "#D55E00"
THRESHOLD_COLOUR = "#333333"
CURVE_COLOUR = "#0072B2"
CHANCE_COLOUR = "#999999"

# Probit axes of the DET figure, showing the rates of useful operating points (DET_RANGE,
# ticks in %); the curve's rates of 0 or 1 are drawn at DET_CLIP, off the shown range, not at
# infinity. A marked point (the threshold's, an operating point) with a rate off DET_RANGE,
# a rate of 0 above all, is drawn at the axis' floor (or top) and labelled so: it is never lost.
DET_RANGE = (0.0005, 0.5)
DET_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
DET_CLIP = 1e-6

#: Marked points drawn closer than these shares of the x and the y axis share one label (a
#: label runs sideways, so it reaches further across than up).
LABEL_REACH = (0.4, 0.15)

# Bars of the settings compared: Okabe-Ito colours other than the two kinds of pair.
SETTING_COLOURS = ("#0072B2", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")

# Columns of a comparison row (besides "setting") and how the figure names them.
COMPARISON_METRICS = {"auc": "AUC", "eer": "EER", "best_accuracy": "best accuracy"}
#: Height of the comparison figure: titles and axes, and each setting's (two-line) bar.
COMPARISON_HEIGHT = 110
COMPARISON_ROW_HEIGHT = 48

CURVE_POINTS = 2000
#: Height of the explorer's side-by-side figures, so a row lines up.
FIGURE_HEIGHT = 400
#: Text size in the confusion matrix's cells: three lines of at most 12 characters fit a cell
#: of a matrix about 300 px wide.
CONFUSION_FONT_SIZE = 13


def distance_histogram(
    distances: Analysis | tuple[ArrayLike, ArrayLike],
    threshold: float | None = None,
    bins: int = 60,
) -> go.Figure:
    """Overlaid histograms of same-person and different-person distances on shared bins,
    each as a % of its own kind (the kinds differ wildly in size), with the threshold line.

    ``distances`` is an ``Analysis`` or a pair ``(same_person, different_person)``. Counts
    come from ``searchsorted`` on the sorted distances, so the cost does not grow with the
    number of pairs once they are sorted.
    """
    if isinstance(distances, Analysis):
        positive, negative = distances.positive_distances, distances.negative_distances
    else:
        positive, negative = (np.sort(np.asarray(d, dtype=np.float32)) for d in distances)
    low = min(float(d[0]) for d in (positive, negative) if d.size)
    high = max(float(d[-1]) for d in (positive, negative) if d.size)
    if high == low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1, dtype=np.float32)
    centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    figure = go.Figure()
    for name, colour, values in (
        (SAME_PERSON, SAME_PERSON_COLOUR, positive),
        (DIFFERENT_PERSON, DIFFERENT_PERSON_COLOUR, negative),
    ):
        cuts = values.searchsorted(edges, side="left")
        cuts[-1] = values.size  # the last bin includes its right edge, as np.histogram
        counts = np.diff(cuts)
        figure.add_bar(
            x=centres,
            y=100 * counts / max(values.size, 1),
            width=widths,
            customdata=counts,
            name=name,
            marker_color=colour,
            opacity=0.6,
            hovertemplate=f"%{{customdata:,}} {name} pairs<br>distance %{{x:.3f}}<extra></extra>",
        )
    figure.update_layout(
        barmode="overlay",
        bargap=0,
        xaxis_title="distance",
        yaxis_title="% of pairs of that kind",
        legend_title_text="pairs",
        height=FIGURE_HEIGHT,
        margin={"t": 50, "b": 40},
    )
    if threshold is not None:
        _threshold_line(figure, threshold)
    return figure


def roc_figure(curve: RocCurve, point: Metrics | None = None) -> go.Figure:
    """ROC curve with the chance diagonal and, if given, the point of the current threshold."""
    figure = _curve_figure(
        curve.fpr,
        curve.tpr,
        curve.thresholds,
        names=("FAR", "TAR"),
        trace_name=f"ROC, AUC {curve.auc:.3f}",
        point=None if point is None else (point.far, point.recall, point.threshold),
    )
    figure.add_scatter(x=[0, 1], y=[0, 1], **_chance_line("chance"))
    figure.update_layout(
        xaxis_title="false accept rate (FAR, FPR)",
        yaxis_title="true accept rate (TAR, TPR, recall)",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
    )
    return figure


def det_figure(
    curve: DetCurve,
    point: Metrics | None = None,
    operating_points: Sequence[OperatingPoint] = (),
) -> go.Figure:
    """DET curve on probit axes (normal deviates, ticks in %), where a good engine is a
    straight line near the origin; the diagonal marks equal error rates, diamonds the
    ``operating_points`` (FMR100, ZeroFMR, ...) that a pair count can resolve."""
    figure = _curve_figure(
        curve.far,
        curve.frr,
        curve.thresholds,
        names=("FAR", "FRR"),
        trace_name="DET",
        point=None if point is None else (point.far, point.frr, point.threshold),
        transform=_probit,
        marked_range=DET_RANGE,
    )
    ends = _probit(np.array(DET_RANGE))
    figure.add_scatter(x=ends, y=ends, **_chance_line("FAR = FRR"))
    shown = [p for p in operating_points if p.resolvable]
    if shown:
        marks = [_marked((p.fmr, p.fnmr), ("FAR", "FRR"), DET_RANGE, _probit) for p in shown]
        names = [p.name for p in shown]
        places = [place for _, _, _, place in marks]
        clipped = [rates for _, rates, _, _ in marks]
        if point is not None:  # the threshold's point joins a cluster it is drawn in
            _, rates, _, place = _marked((point.far, point.frr), ("FAR", "FRR"), DET_RANGE, _probit)
            name = f"threshold {point.threshold:.4f}" if rates else ""  # the legend names it
            names, places, clipped = (
                [name, *names],
                [place, *places],
                [rates, *clipped],
            )
        texts = _shared_labels(names, places, clipped)
        if point is not None:
            threshold_text, texts = texts[0], texts[1:]
            figure.update_traces(
                text=[threshold_text] if threshold_text else None,
                mode="markers+text" if threshold_text else "markers",
                selector={"name": f"threshold {point.threshold:.4f}"},
            )
        figure.add_scatter(
            x=_probit(np.array([drawn[0] for drawn, _, _, _ in marks])),
            y=_probit(np.array([drawn[1] for drawn, _, _, _ in marks])),
            mode="markers+text",
            marker={"symbol": "diamond", "size": 9, "color": "#444"},
            text=texts,
            textposition=[position for _, _, position, _ in marks],
            cliponaxis=False,
            name="operating points",
            customdata=[[p.fmr, p.fnmr, p.threshold] for p in shown],
            hovertext=[p.name for p in shown],
            hovertemplate="%{hovertext}: FAR %{customdata[0]:.2%}, FRR %{customdata[1]:.2%} "
            "at %{customdata[2]:.4f}<extra></extra>",
        )
    ticks = {
        "tickvals": _probit(np.array(DET_TICKS)),
        "ticktext": [f"{tick * 100:g} %" for tick in DET_TICKS],
        "tickangle": 0,
        "range": list(ends),
    }
    figure.update_layout(
        xaxis={"title": "false accept rate (FAR)", **ticks},
        yaxis={"title": "false reject rate (FRR)", **ticks},
    )
    return figure


def pr_figure(curve: PrCurve, point: Metrics | None = None) -> go.Figure:
    """Precision-recall curve; the dotted line is the precision of accepting every pair."""
    figure = _curve_figure(
        curve.recall,
        curve.precision,
        curve.thresholds,
        names=("recall", "precision"),
        trace_name=f"PR, AP {curve.average_precision:.3f}",
        point=None if point is None else (point.recall, point.precision, point.threshold),
    )
    everyone = float(curve.precision[-1])
    figure.add_scatter(x=[0, 1], y=[everyone, everyone], **_chance_line("accept everyone"))
    figure.update_layout(
        xaxis_title="recall (TAR)",
        yaxis_title="precision",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
    )
    return figure


def confusion_matrix_figure(metrics: Metrics) -> go.Figure:
    """The confusion matrix as an annotated heatmap: truth in rows, verdict in columns, cells
    shaded by their share of the row so the rarer kind of pair stays readable.

    Built to stay whole in a third of a 1280 px page (about 300 px): each cell is three short
    lines (count, outcome, share of its row), the tick labels two short lines each, and the
    margins only as wide as the labels need; the hover says each cell in a sentence.
    """
    counts = metrics.confusion_matrix
    totals = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(totals, 1)
    kinds = [DIFFERENT_PERSON, SAME_PERSON]
    outcomes = [["true reject", "false accept"], ["false reject", "true accept"]]
    text = [
        [
            f"<b>{counts[row, column]:,}</b><br>{outcomes[row][column]}<br>"
            f"{percent(share[row, column], 1)}"
            for column in range(2)
        ]
        for row in range(2)
    ]
    hover = [
        [
            f"{outcomes[row][column]}: {counts[row, column]:,} of {totals[row, 0]:,} "
            f"{kinds[row].replace(' ', '-')} pairs ({percent(share[row, column], 1)})"
            for column in range(2)
        ]
        for row in range(2)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=share,
            x=kinds,
            y=kinds,
            text=text,
            texttemplate="%{text}",
            textfont={"size": CONFUSION_FONT_SIZE, "color": "#111111"},
            colorscale=[[0.0, "#f7fbff"], [1.0, "#6baed6"]],  # light enough for dark text
            zmin=0,
            zmax=1,
            showscale=False,
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    ticks = {
        "tickmode": "array",
        "tickvals": kinds,
        "ticktext": [kind.replace(" ", "<br>") for kind in kinds],
        "tickangle": 0,
        "automargin": True,
    }
    figure.update_layout(
        title=f"Threshold {metrics.threshold:.4f}",
        xaxis={"title": "verdict", **ticks},
        yaxis={"title": "truth (rows add to 100%)", "autorange": "reversed", **ticks},
        height=FIGURE_HEIGHT,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
    )
    return figure


#: The even-odds mark on the distance gauge (P(same) = 50 %).
EVEN_ODDS_COLOUR = "#6a3d9a"


def distance_gauge(
    distance: float,
    threshold: float,
    max_distance: float | None = None,
    even_odds: float | None = None,
    prior: float | None = None,
    p_same_at_threshold: str | None = None,
) -> go.Figure:
    """One pair's distance as a marker on a distance axis: the green zone up to the threshold
    means "same person", the red zone beyond it "different person"; ``even_odds``, where
    given, marks the distance where P(same) is 50 % at ``prior``, and the threshold's label
    says ``p_same_at_threshold`` (P(same) there, as text)."""
    same = distance <= threshold
    low = min(0.0, distance)
    high = max(max_distance or 2 * threshold, 1.1 * distance, threshold)
    if even_odds is not None and even_odds > low:
        high = max(high, 1.1 * even_odds)
    if high <= low:
        high = low + 1.0
    figure = go.Figure()
    for name, colour, start, end in (
        (SAME_PERSON, SAME_PERSON_COLOUR, low, threshold),
        (DIFFERENT_PERSON, DIFFERENT_PERSON_COLOUR, threshold, high),
    ):
        figure.add_vrect(
            x0=start,
            x1=end,
            fillcolor=colour,
            opacity=0.35,
            line_width=0,
            annotation_text=name,
            annotation_position="bottom left" if name == SAME_PERSON else "bottom right",
        )
    _threshold_line(
        figure, threshold, None if p_same_at_threshold is None else f"P(same) {p_same_at_threshold}"
    )
    if even_odds is not None and even_odds > low:
        figure.add_vline(
            x=even_odds,
            line={"dash": "dot", "color": EVEN_ODDS_COLOUR, "width": 2},
            annotation_text=f"even odds{'' if prior is None else f' at prior {prior:.0%}'}",
            annotation_position="bottom left" if even_odds < threshold else "bottom right",
        )
    figure.add_scatter(
        x=[distance],
        y=[0],
        mode="markers+text",
        marker={"symbol": "diamond", "size": 18, "color": THRESHOLD_COLOUR},
        text=[f"distance {distance:.3f}"],
        textposition="top center",
        name="this pair",
        showlegend=False,
        hoverinfo="skip",
    )
    verdict, sign = ("same person", "≤") if same else ("different people", ">")
    figure.update_layout(
        title=f"{verdict.capitalize()}: distance {distance:.3f} {sign} threshold {threshold:.3f}",
        xaxis={"title": "distance", "range": [low, high]},
        yaxis={"visible": False, "range": [-1, 1.5]},
        height=200,
        margin={"t": 50, "b": 40, "l": 20, "r": 20},
    )
    return figure


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


def _curve_figure(
    x: np.ndarray,
    y: np.ndarray,
    thresholds: np.ndarray,
    *,
    names: tuple[str, str],
    trace_name: str,
    point: tuple[float, float, float] | None,
    transform: Callable[[np.ndarray], np.ndarray] = np.asarray,
    marked_range: tuple[float, float] = (0.0, 1.0),
) -> go.Figure:
    """A curve of two rates (drawn through ``transform``), thinned for the browser, with a
    hover naming the threshold and both rates, and the current threshold's point: whole on
    the plot's edge, and drawn at the edge of ``marked_range`` (labelled so) when a rate
    lies off it."""
    shown_x, shown_y = transform(x), transform(y)
    keep = _thinned(shown_x, shown_y)
    hover = (
        f"threshold %{{customdata[0]:.4f}}<br>{names[0]} %{{customdata[1]:.2%}}"
        f"<br>{names[1]} %{{customdata[2]:.2%}}<extra></extra>"
    )
    figure = go.Figure()
    figure.add_scatter(
        x=shown_x[keep],
        y=shown_y[keep],
        customdata=np.column_stack([thresholds[keep], x[keep], y[keep]]),
        mode="lines",
        name=trace_name,
        line={"color": CURVE_COLOUR, "width": 2},
        hovertemplate=hover,
    )
    if point is not None:
        rate_x, rate_y, threshold = point
        (drawn_x, drawn_y), clipped, position, _ = _marked(
            (rate_x, rate_y), names, marked_range, transform
        )
        figure.add_scatter(
            x=transform(np.array([drawn_x])),
            y=transform(np.array([drawn_y])),
            customdata=[[threshold, rate_x, rate_y]],
            mode="markers+text" if clipped else "markers",
            text=[f"{', '.join(rate for rate, _ in clipped)} {_edges(clipped)}"]
            if clipped
            else None,
            textposition=position,
            cliponaxis=False,
            name=f"threshold {threshold:.4f}",
            marker={"color": THRESHOLD_COLOUR, "size": 12, "symbol": "circle"},
            hovertemplate=hover,
        )
    return figure


def _marked(
    rates: tuple[float, float],
    names: tuple[str, str],
    shown: tuple[float, float],
    transform: Callable[[np.ndarray], np.ndarray] = np.asarray,
) -> tuple[tuple[float, float], list[tuple[str, str]], str, tuple[float, float]]:
    """Where a marked point of two rates is drawn: each rate clipped into ``shown`` (a rate
    of 0 on a log or probit axis is off it), ``("FRR = 0", "floor")`` for each clipped rate,
    the side of the point its label goes to stay on the plot, and its place as a share of
    each drawn axis."""
    low, high = shown
    drawn, clipped = [], []
    for rate, name in zip(rates, names, strict=True):
        if rate < low:
            clipped.append((f"{name} = {'0' if rate == 0 else percent(rate, 3)}", "floor"))
        elif rate > high:
            clipped.append((f"{name} = {percent(rate, 1)}", "top"))
        drawn.append(float(np.clip(rate, low, high)))
    bottom, top = transform(np.array(shown, dtype=float))
    across, up = ((transform(np.array([rate]))[0] - bottom) / (top - bottom) for rate in drawn)
    position = f"{'bottom' if up > 0.8 else 'top'} {'left' if across > 0.6 else 'right'}"
    return (drawn[0], drawn[1]), clipped, position, (across, up)


def _edges(clipped: Sequence[tuple[str, str]]) -> str:
    """Which edges clipped rates were drawn at: "(drawn at the floor)" and the like."""
    edges = dict.fromkeys(edge for _, edge in clipped)
    return f"(drawn at the {' and the '.join(edges)})"


def _shared_labels(
    names: Sequence[str],
    places: Sequence[tuple[float, float]],
    clipped: Sequence[Sequence[tuple[str, str]]],
) -> list[str]:
    """One label per cluster of marked points drawn within ``LABEL_REACH`` of its first point
    (as a share of each axis), on that point: each name with its clipped rates (a point
    named ``""`` only with them), then the edges they were drawn at; the other points of a
    cluster get ``""``."""
    clusters: list[list[int]] = []
    for index, (across, up) in enumerate(places):
        for members in clusters:
            first_across, first_up = places[members[0]]
            reach_across, reach_up = LABEL_REACH
            if abs(across - first_across) < reach_across and abs(up - first_up) < reach_up:
                members.append(index)
                break
        else:
            clusters.append([index])
    texts = [""] * len(names)
    for members in clusters:
        lines = [
            ": ".join(filter(None, [names[i], ", ".join(rate for rate, _ in clipped[i])]))
            for i in members
            if names[i] or clipped[i]
        ]
        notes = [note for i in members for note in clipped[i]]
        texts[members[0]] = "<br>".join(lines + ([_edges(notes)] if notes else []))
    return texts


def _thinned(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of about ``CURVE_POINTS`` points spread evenly along the drawn line, so long
    curves stay light in the browser but keep their bends."""
    if x.size <= CURVE_POINTS:
        return np.arange(x.size)
    steps = np.hypot(np.diff(x.astype(np.float64)), np.diff(y.astype(np.float64)))
    along = np.concatenate([[0.0], np.cumsum(steps)])
    keep = along.searchsorted(np.linspace(0.0, along[-1], CURVE_POINTS))
    return np.unique(np.append(keep, x.size - 1))


def _probit(rates: np.ndarray) -> np.ndarray:
    """Normal deviate of each rate; 0 and 1 become finite deviates just off the axes."""
    return norm.ppf(np.clip(rates, DET_CLIP, 1 - DET_CLIP))


def _chance_line(name: str) -> dict[str, Any]:
    return {
        "mode": "lines",
        "name": name,
        "line": {"color": CHANCE_COLOUR, "dash": "dot"},
        "hoverinfo": "skip",
    }


def _threshold_line(figure: go.Figure, threshold: float, note: str | None = None) -> None:
    """The threshold as a dashed line, labelled with its value (and ``note``, if any)."""
    figure.add_vline(
        x=threshold,
        line={"color": THRESHOLD_COLOUR, "dash": "dash", "width": 2},
        annotation_text=f"threshold {threshold:.4f}" + (f" · {note}" if note else ""),
        annotation_position="top right",
    )


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


def percent(share: float, decimals: int = 2) -> str:
    """A share as a percentage rounded half up, as the browser's tables round it (Python's
    own format rounds 0.90625 to 90.62 %, the table's percent format to 90.63 %)."""
    if not np.isfinite(share):
        return "–"
    scaled = Decimal(repr(float(share))) * 100
    return f"{scaled.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)}%"


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
