"""What the model sees: the occlusion map over the aligned faces, and where faces live.

Plain data in (crops and grids, points and names), Plotly figures out. The occlusion map
uses ColorBrewer's PuOr, a diverging scale that stays readable for colour-blind readers:
purple where a patch pulled the two faces together, orange where it pushed them apart,
white where greying it changed nothing. One scale, symmetric around 0, for both faces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from facedemo.plots.style import FIGURE_HEIGHT, THRESHOLD_COLOUR

#: Diverging and colour-blind safe: orange (pushed apart) · white (no effect) · purple
#: (pulled together).
MAP_COLOURSCALE = "PuOr"
#: How opaque the map is over the face.
MAP_OPACITY = 0.55
PULLED_TOGETHER = "pulled together"
PUSHED_APART = "pushed apart"


def map_scale(maps: np.ndarray) -> float:
    """The colour scale's reach: the largest change of either map (a flat map: 1e-6)."""
    return max(float(np.max(np.abs(maps))), 1e-6)


def occlusion_figure(
    crops: Sequence[np.ndarray], maps: np.ndarray, titles: Sequence[str] = ("Face A", "Face B")
) -> go.Figure:
    """Each aligned face with its occlusion map over it (``maps``: (faces, fine, fine), the
    distance change when a cell is greyed; above 0 the cell pulled the faces together)."""
    reach = map_scale(maps)
    figure = make_subplots(rows=1, cols=len(crops), subplot_titles=list(titles))
    for column, (crop, face_map) in enumerate(zip(crops, maps, strict=True), start=1):
        height, width = crop.shape[:2]
        cells = face_map.shape[0]
        figure.add_trace(go.Image(z=crop, hoverinfo="skip"), row=1, col=column)
        figure.add_trace(
            go.Heatmap(
                z=face_map,
                x0=width / cells / 2,
                dx=width / cells,
                y0=height / cells / 2,
                dy=height / cells,
                colorscale=MAP_COLOURSCALE,
                zmin=-reach,
                zmax=reach,
                zmid=0,
                opacity=MAP_OPACITY,
                showscale=column == len(crops),
                colorbar={
                    "title": {"text": "distance change<br>when greyed"},
                    "tickvals": [-reach, 0, reach],
                    "ticktext": [
                        f"{PUSHED_APART}<br>{-reach:+.3f}",
                        "0",
                        f"{PULLED_TOGETHER}<br>{reach:+.3f}",
                    ],
                },
                hovertemplate="greyed: distance %{z:+.4f}<extra></extra>",
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(visible=False, range=[0, width], row=1, col=column)
        figure.update_yaxes(
            visible=False,
            range=[height, 0],
            scaleanchor=f"x{column if column > 1 else ''}",
            row=1,
            col=column,
        )
    figure.update_layout(height=FIGURE_HEIGHT, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def map_colours(values: np.ndarray, reach: float) -> np.ndarray:
    """RGB uint8 colours of ``values`` on the map's scale (−reach … reach), shape + (3,)."""
    from plotly.colors import sample_colorscale, unlabel_rgb

    shares = np.clip((np.asarray(values, dtype=np.float64) / reach + 1) / 2, 0, 1)
    colours = sample_colorscale(MAP_COLOURSCALE, shares.ravel().tolist())
    rgb = np.array([unlabel_rgb(colour) for colour in colours], dtype=np.float64)
    return rgb.round().astype(np.uint8).reshape(*shares.shape, 3)


#: Marker symbols cycled with colours, so people stay apart without telling colours apart.
PERSON_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star")


def gallery_map_figure(
    x: np.ndarray,
    y: np.ndarray,
    people: Sequence[str],
    files: Sequence[str],
    probe: tuple[float, float] | None = None,
    within_threshold: np.ndarray | None = None,
    title: str = "Where faces live",
) -> go.Figure:
    """Each gallery photo a point, coloured (and shaped) by person; the probe a large star,
    the photos within the threshold of it ringed."""
    figure = go.Figure()
    names = list(dict.fromkeys(people))
    people_array, files_array = np.asarray(people), np.asarray(files)
    for k, person in enumerate(names):
        rows = np.flatnonzero(people_array == person)
        figure.add_trace(
            go.Scatter(
                x=x[rows],
                y=y[rows],
                mode="markers",
                name=person.replace("_", " "),
                marker={"size": 10, "symbol": PERSON_SYMBOLS[k % len(PERSON_SYMBOLS)]},
                customdata=files_array[rows],
                hovertemplate=f"{person.replace('_', ' ')}<br>%{{customdata}}<extra></extra>",
            )
        )
    if probe is not None:
        if within_threshold is not None and within_threshold.any():
            near = np.flatnonzero(within_threshold)
            figure.add_trace(
                go.Scatter(
                    x=x[near],
                    y=y[near],
                    mode="markers",
                    name="within the threshold of the probe",
                    marker={
                        "size": 20,
                        "color": "rgba(0,0,0,0)",
                        "line": {"width": 2, "color": THRESHOLD_COLOUR},
                    },
                    hoverinfo="skip",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=[probe[0]],
                y=[probe[1]],
                mode="markers",
                name="the probe",
                marker={
                    "size": 22,
                    "symbol": "star",
                    "color": "black",
                    "line": {"width": 1, "color": "white"},
                },
                hovertemplate="the probe<extra></extra>",
            )
        )
    figure.update_layout(
        title=title,
        height=FIGURE_HEIGHT + 100,
        xaxis={"showticklabels": False, "title": ""},
        yaxis={"showticklabels": False, "title": ""},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return figure
