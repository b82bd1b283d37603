"""Plotly figures of a training run: learning curves, ROC curve, confusion matrix.

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

from facedemo import plots
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
