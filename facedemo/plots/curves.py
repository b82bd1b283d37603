"""The ROC, DET and precision-recall curves, each with the current threshold's point;
the DET on probit axes with a report's operating points. Curves are thinned for the
browser, and a marked point whose rate lies off the axes is drawn at its edge, labelled so."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from scipy.stats import norm

from facedemo.plots.style import CURVE_COLOUR, THRESHOLD_COLOUR, _chance_line, percent
from facedemo.thresholds import DetCurve, Metrics, OperatingPoint, PrCurve, RocCurve

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

CURVE_POINTS = 2000


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
