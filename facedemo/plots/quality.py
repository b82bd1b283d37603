"""Why errors happen, drawn: the Error-versus-Discard Characteristic of a quality measure
and the cross-group FMR heat map, each with the two sentences a newcomer reads under it.

The FNMR curve is drawn in the same-person colour and the FMR curve (on its own right-hand
axis, FMR being much smaller) in the different-person colour; each perfect line is dotted
in its curve's colour, each band a light fill. The heat map's scale diverges at the global
FMR, blue below and vermilion above (Okabe-Ito, apart for colour-blind readers).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from facedemo.plots.style import (
    CHANCE_COLOUR,
    DIFFERENT_PERSON_COLOUR,
    FIGURE_HEIGHT,
    SAME_PERSON_COLOUR,
    THRESHOLD_COLOUR,
    percent,
)
from facedemo.quality import CrossGroupFmr, Differentials, Edc, EdcCurve

#: How far the EDC's x axis runs by default (discarding more than half is rarely asked).
EDC_X_RANGE = (0.0, 0.5)

#: The heat map's diverging scale: blue (rarer false matches than overall), white (the
#: overall FMR), vermilion (more often); log10 ratios beyond ±``HEATMAP_REACH`` saturate.
HEATMAP_COLOURS = [[0.0, "#0072B2"], [0.5, "#FFFFFF"], [1.0, "#D55E00"]]
HEATMAP_REACH = 1.0

_CURVE_STYLE = {
    "fnmr": ("FNMR", SAME_PERSON_COLOUR, "y"),
    "fmr": ("FMR", DIFFERENT_PERSON_COLOUR, "y2"),
}


def edc_figure(edc: Edc, x_range: tuple[float, float] = EDC_X_RANGE) -> go.Figure:
    """Both EDCs of one measure: the error left against the share of pairs discarded,
    lowest quality first, with bands, perfect lines, FNMR's halving point and the discard
    limit of the partial area."""
    figure = go.Figure()
    for curve in (edc.fnmr, edc.fmr):
        _add_curve(figure, curve)
    halving = edc.fnmr.halving_fraction()
    if halving is not None:
        rates = edc.fnmr.error_rates[edc.fnmr.discard_fractions == halving]
        figure.add_scatter(
            x=[halving],
            y=[float(rates[0])],
            mode="markers+text",
            marker={"symbol": "diamond", "size": 10, "color": SAME_PERSON_COLOUR},
            text=[f"halved at {percent(halving, 1)}"],
            textposition="top right",
            name="FNMR halved",
            hovertemplate="discarding %{x:.1%} halves FNMR<extra></extra>",
        )
    figure.add_vline(
        x=edc.discard_limit,
        line={"color": THRESHOLD_COLOUR, "dash": "dash", "width": 1},
        annotation_text=f"{percent(edc.discard_limit, 0)} limit",
        annotation_position="top right",
    )
    fnmr, seen = edc.fnmr, edc.fnmr.discard_fractions <= x_range[1]
    in_view = fnmr.band_high[fnmr.band_fractions <= x_range[1]]
    top = max(float(fnmr.error_rates[seen].max()), float(np.nanmax(in_view, initial=0.0)))
    figure.update_layout(
        height=FIGURE_HEIGHT,
        title=f"Error versus discard: {edc.measure} at threshold {edc.threshold:.4f}",
        xaxis={"title": "share of pairs discarded, lowest quality first", "range": x_range},
        yaxis={"title": "FNMR (same-person pairs rejected)", "rangemode": "tozero"},
        yaxis2={
            "title": "FMR (different-person pairs accepted)",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        xaxis_tickformat=".0%",
        yaxis_tickformat=".1%",
        yaxis2_tickformat=".2%",
        legend={"orientation": "h", "y": -0.25},
    )
    if top > 0:
        figure.update_layout(yaxis_range=[0, top * 1.1])
    return figure


def _add_curve(figure: go.Figure, curve: EdcCurve) -> None:
    name, colour, axis = _CURVE_STYLE[curve.kind]
    shown = ~np.isnan(curve.band_low)  # a cut where some resample leaves no pair has none
    if shown.any():
        x = curve.band_fractions[shown]
        figure.add_scatter(
            x=np.concatenate([x, x[::-1]]),
            y=np.concatenate([curve.band_high[shown], curve.band_low[shown][::-1]]),
            fill="toself",
            fillcolor=_translucent(colour),
            line={"width": 0},
            mode="lines",
            name=f"{name} 95 % band (resampling people)",
            hoverinfo="skip",
            yaxis=axis,
        )
    figure.add_scatter(
        x=curve.discard_fractions,
        y=curve.error_rates,
        mode="lines",
        line={"color": colour, "shape": "hv", "width": 2},
        name=f"{name}-EDC",
        customdata=np.stack([curve.discard_counts, curve.error_counts], axis=1),
        hovertemplate=f"%{{x:.1%}} discarded (%{{customdata[0]:,}} pairs): {name} %{{y:.2%}} "
        "(%{customdata[1]:,} errors left)<extra></extra>",
        yaxis=axis,
    )
    ideal_x = np.unique(np.concatenate([np.linspace(0.0, 1.0, 201), [curve.start]]))
    figure.add_scatter(
        x=ideal_x,
        y=curve.ideal(ideal_x),
        mode="lines",
        line={"color": colour, "dash": "dot", "width": 1},
        name=f"{name} perfect measure",
        hoverinfo="skip",
        yaxis=axis,
    )


def edc_caption(edc: Edc) -> str:
    """Two sentences under the EDC: what a good and a bad curve look like, and this one."""
    halving = edc.fnmr.halving_fraction()
    if edc.fnmr.error_counts[0] == 0:
        here = "here there is no false non-match to remove at this threshold"
    elif halving is None:
        here = f"here no share discarded halves FNMR, so {edc.measure} does not explain them"
    else:
        here = f"here discarding the worst {percent(halving, 1)} of pairs halves FNMR"
    return (
        f"Each curve is the error rate left at threshold {edc.threshold:.4f} after setting "
        f"aside the pairs whose worse photo scores lowest on {edc.measure}; a good measure "
        "drops FNMR steeply, close to the dotted line of a perfect one that sets aside only "
        "the errors. A flat curve, or one that rises, means the low scores are not where "
        f"the errors are ({here})."
    )


def cross_group_figure(cross: CrossGroupFmr, attribute: str = "group") -> go.Figure:
    """The cross-group FMR heat map: each cell's FMR as log10 of its ratio to the global
    FMR (0 white, above vermilion, below blue), the rate and pair counts written in it."""
    rates, relative = cross.fmr, cross.log10_relative
    text = [
        [
            _cell_text(rates[i, j], int(cross.false_matches[i, j]), int(cross.pairs[i, j]))
            for j in range(len(cross.values))
        ]
        for i in range(len(cross.values))
    ]
    labels = list(cross.values)
    figure = go.Figure(
        go.Heatmap(
            z=relative,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale=HEATMAP_COLOURS,
            zmid=0.0,
            zmin=-HEATMAP_REACH,
            zmax=HEATMAP_REACH,
            colorbar={
                "title": "log10 FMR / global",
                "tickvals": [-1, -0.5, 0, 0.5, 1],
                "ticktext": ["÷10", "÷3", "global", "×3", "×10"],
            },
            hovertemplate="%{y} × %{x}: %{text}<extra></extra>",
        )
    )
    figure.update_layout(
        height=FIGURE_HEIGHT,
        title=f"False matches across {attribute} groups (global FMR {percent(cross.global_fmr)})",
        xaxis={"title": attribute, "type": "category"},
        yaxis={"title": attribute, "type": "category", "autorange": "reversed"},
        plot_bgcolor=CHANCE_COLOUR,
    )
    return figure


def cross_group_caption(cross: CrossGroupFmr, summary: Differentials | None = None) -> str:
    """Two sentences under the heat map: how to read a cell, and what a ratio of 3 means."""
    ratio = "" if summary is None else _ratio_clause(summary.max_min_ratio_fmr)
    return (
        "Each cell is the false match rate among different-person pairs with one photo in "
        "the row's group and one in the column's, against the overall FMR of "
        f"{percent(cross.global_fmr)}: white is the overall rate, vermilion more false "
        "matches (the colour bar marks ×3 and ×10) and blue fewer; grey cells have no false "
        "match or no pair. A max/min FMR ratio of 3 means strangers in the worst group are matched "
        f"three times as often as in the best at the same threshold{ratio}."
    )


def _ratio_clause(ratio: float) -> str:
    if math.isnan(ratio):
        return ""
    if math.isinf(ratio):
        return "; here one group has no false match at all while another has some"
    return f"; here the ratio is {ratio:.1f}"


def _cell_text(rate: float, wrong: int, pairs: int) -> str:
    if pairs == 0:
        return "no pair"
    return f"{percent(rate)}<br>{wrong:,} of {pairs:,}"


def _translucent(colour: str, alpha: float = 0.2) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"
