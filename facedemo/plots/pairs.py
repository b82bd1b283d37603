"""Figures of pair distances at one threshold: the two kinds' histograms, the confusion
matrix, and one pair's distance on a gauge (the Verify page)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from facedemo.plots.style import (
    DIFFERENT_PERSON,
    DIFFERENT_PERSON_COLOUR,
    FIGURE_HEIGHT,
    SAME_PERSON,
    SAME_PERSON_COLOUR,
    THRESHOLD_COLOUR,
    _threshold_line,
    percent,
)
from facedemo.thresholds import Analysis, Metrics

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
