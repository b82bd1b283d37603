"""Plotly figures of a training run: learning curves, the tower's space, ROC, confusion matrix.

Plain data in (the metrics table of ``runs.read_metrics``, numbers from
eval.json), ``go.Figure`` out; nothing here knows about Streamlit. The ROC curve
and the confusion matrix are the threshold explorer's figures
(``facedemo.plots``), worded for the monitor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from facedemo import plots
from facedemo.siamese.space import SpaceMap
from facedemo.thresholds import Metrics, RocCurve

#: Axis titles of the metrics the trainer logs.
METRIC_TITLES = {"loss": "Loss (lower is better)", "accuracy": "Accuracy", "auc": "AUC"}

TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"
SEEN_PEOPLE_COLOUR = "#2ca02c"

#: The per-epoch lines: column prefix, legend name, colour.
EPOCH_LINES = (
    ("", "training", TRAIN_COLOUR),
    ("seen_val_", "seen people, new photos", SEEN_PEOPLE_COLOUR),
    ("val_", "new people (validation)", VALIDATION_COLOUR),
)

#: Most batch points drawn per learning curve (the notebook preset logs 25,000 batches),
#: of which the latest ``RECENT_BATCH_POINTS`` are all drawn and the older ones thinned.
MAX_BATCH_POINTS = 2000
RECENT_BATCH_POINTS = 500


def thinned_batches(batches: pd.DataFrame) -> pd.DataFrame:
    """At most about ``MAX_BATCH_POINTS`` rows: the latest ones all, older ones evenly spaced."""
    if len(batches) <= MAX_BATCH_POINTS:
        return batches
    older, recent = batches.iloc[:-RECENT_BATCH_POINTS], batches.iloc[-RECENT_BATCH_POINTS:]
    step = math.ceil(len(older) / (MAX_BATCH_POINTS - RECENT_BATCH_POINTS))
    return pd.concat([older.iloc[::step], recent])


def learning_curve(
    metrics: pd.DataFrame, metric: str, steps_per_epoch: int, best_epoch: int | None = None
) -> go.Figure:
    """``metric`` per epoch: training, new photos of the training people (when some were held
    out) and validation on new people, with every batch as a faint line.

    Batch values are the running average over their epoch so far, placed at
    fractional epochs (older ones thinned, see ``thinned_batches``); the best
    epoch (the kept one, ``TrainConfig.best_by``) is marked.
    """
    figure = go.Figure()
    batches = thinned_batches(metrics[metrics["kind"] == "batch"])
    if not batches.empty and metric in batches:
        figure.add_scatter(
            x=batches["epoch"] - 1 + batches["step"] / steps_per_epoch,
            y=batches[metric],
            mode="lines",
            name="training, each batch",
            line={"color": TRAIN_COLOUR, "width": 1},
            opacity=0.3,
        )
    epochs = metrics[metrics["kind"] == "epoch"]
    for prefix, name, colour in EPOCH_LINES:
        column = prefix + metric
        if column in epochs:
            figure.add_scatter(
                x=epochs["epoch"],
                y=epochs[column],
                mode="lines+markers",
                name=name,
                line={"color": colour},
            )
    if best_epoch is not None:
        figure.add_vline(
            x=best_epoch, line_dash="dash", line_color="grey", annotation_text="best epoch"
        )
    figure.update_layout(
        xaxis_title="epoch",
        yaxis_title=METRIC_TITLES.get(metric, metric),
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 30},
    )
    return figure


def roc_figure(roc: Mapping[str, Sequence[float]], auc: float) -> go.Figure:
    """The test pairs' ROC curve (eval.json's ``roc``) against the diagonal of guessing."""
    curve = RocCurve(
        np.asarray(roc["false_positive_rate"], dtype=np.float32),
        np.asarray(roc["true_positive_rate"], dtype=np.float32),
        np.asarray(roc["thresholds"], dtype=np.float32),
        auc,
    )
    figure = plots.roc_figure(curve)
    figure.data[0].name = f"the network (AUC {auc:.3f})"
    figure.data[-1].name = "guessing"
    figure.update_layout(
        xaxis_title="different people taken for the same person (false positive rate)",
        yaxis_title="same person recognised (true positive rate)",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 30},
    )
    return figure


def confusion_figure(matrix: Sequence[Sequence[int]], threshold: float) -> go.Figure:
    """Test pairs by truth (rows) and verdict (columns), ``[[tn, fp], [fn, tp]]`` as eval.json
    holds them; both kinds of pair must occur."""
    (tn, fp), (fn, tp) = matrix
    verdicts = Metrics.from_counts(threshold, tp, fp, positives=tp + fn, negatives=tn + fp)
    figure = plots.confusion_matrix_figure(verdicts)
    figure.update_layout(
        title=f'Said "same person" from {threshold:.0%} probability',
        xaxis_title="what the network said",
        yaxis_title="the truth",
        margin={"t": 50},
    )
    return figure


#: Okabe and Ito's colour-blind-safe palette, one colour per person of the space map.
PERSON_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

#: Milliseconds per epoch when the space map plays.
FRAME_MS = 600

#: What the space map's separation axis shows.
SEPARATION_TITLE = "within ÷ between distance"


def _padded(values: np.ndarray, share: float = 0.08) -> list[float]:
    """An axis range around ``values`` with ``share`` of their span on each side."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = share * (high - low) or 1.0
    return [low - pad, high + pad]


def _space_title(space: SpaceMap, k: int) -> str:
    ratio = space.separation[k]
    said = "-" if np.isnan(ratio) else f"{ratio:.2f}"
    return f"Epoch {space.epochs[k]}: {SEPARATION_TITLE} {said}"


def space_figure(space: SpaceMap) -> go.Figure:
    """The validation faces on the space map's one PCA plane, an animation frame per epoch
    (slider and play button), coloured by person; beside it the separation per epoch with
    the shown epoch marked. Every axis range is set once, from all epochs, so nothing but the
    faces moves from frame to frame. Shows the last epoch until played."""
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.68, 0.32],
        horizontal_spacing=0.1,
        subplot_titles=("Validation faces, PCA of the tower's outputs", "Separation"),
    )
    people = list(dict.fromkeys(space.people))  # in the file's order, each once
    members = [np.flatnonzero(space.people == person) for person in people]
    last = len(space.epochs) - 1

    def face_traces(k: int) -> list[go.Scatter]:
        return [
            go.Scatter(
                x=space.points[k, faces, 0],
                y=space.points[k, faces, 1],
                text=space.files[faces],
                customdata=space.epochs[k].repeat(len(faces)),
                hovertemplate=f"{person}<br>%{{text}}<br>epoch %{{customdata}}<extra></extra>",
            )
            for person, faces in zip(people, members, strict=True)
        ]

    def marker(k: int) -> go.Scatter:
        return go.Scatter(x=[space.epochs[k]], y=[space.separation[k]])

    for index, (person, trace) in enumerate(zip(people, face_traces(last), strict=True)):
        colour = PERSON_COLOURS[index % len(PERSON_COLOURS)]
        trace.update(name=person, mode="markers", marker={"color": colour, "size": 11})
        figure.add_trace(trace, row=1, col=1)
    figure.add_trace(
        go.Scatter(
            x=space.epochs,
            y=space.separation,
            mode="lines+markers",
            name=SEPARATION_TITLE,
            line={"color": "grey"},
            marker={"size": 5},
            showlegend=False,
            hovertemplate="epoch %{x}: %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    shown = marker(last)
    shown.update(
        mode="markers",
        marker={"color": "black", "size": 13, "symbol": "circle-open", "line": {"width": 3}},
        showlegend=False,
        hoverinfo="skip",
    )
    figure.add_trace(shown, row=1, col=2)
    moving = [*range(len(people)), len(people) + 1]  # the faces and the marker
    names = [str(epoch) for epoch in space.epochs]
    figure.frames = [
        go.Frame(
            name=name,
            data=[*face_traces(k), marker(k)],
            traces=moving,
            layout={"title": {"text": _space_title(space, k)}},
        )
        for k, name in enumerate(names)
    ]
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "transition": {"duration": 250}}
    jump = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}
    figure.update_layout(
        title={"text": _space_title(space, last)},
        xaxis={"range": _padded(space.points[..., 0]), "title": "PCA axis 1", "zeroline": False},
        yaxis={"range": _padded(space.points[..., 1]), "title": "PCA axis 2", "zeroline": False},
        xaxis2={"range": _padded(space.epochs, 0.05), "title": "epoch"},
        yaxis2={
            "range": _padded(np.nan_to_num(space.separation, nan=1.0)),
            "title": SEPARATION_TITLE,
        },
        legend={"orientation": "h", "y": -0.3},
        margin={"t": 80},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0,
                "y": -0.45,
                "xanchor": "left",
                "yanchor": "top",
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [names, play]},
                    {
                        "label": "❚❚ Pause",
                        "method": "animate",
                        "args": [[None], jump],
                    },
                ],
            }
        ],
        sliders=[
            {
                "active": last,
                "x": 0.2,
                "y": -0.45,
                "len": 0.8,
                "yanchor": "top",
                "currentvalue": {"prefix": "epoch ", "xanchor": "right"},
                "steps": [
                    {
                        "label": name,
                        "method": "animate",
                        "args": [[name], jump],
                    }
                    for name in names
                ],
            }
        ],
    )
    return figure
