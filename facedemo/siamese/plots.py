"""Plotly figures of a training run: learning curves, ROC curve, confusion matrix.

Plain data in (the metrics table of ``runs.read_metrics``, numbers from
eval.json), ``go.Figure`` out; nothing here knows about Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

#: Axis titles of the metrics the trainer logs.
METRIC_TITLES = {"loss": "Loss (lower is better)", "accuracy": "Accuracy", "auc": "AUC"}

TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"

#: Verdict names of the two classes, in confusion-matrix order.
CLASSES = ("different people", "same person")


def learning_curve(
    metrics: pd.DataFrame, metric: str, steps_per_epoch: int, best_epoch: int | None = None
) -> go.Figure:
    """``metric`` per epoch, training vs validation, with every batch as a faint line.

    Batch values are the running average over their epoch so far, placed at
    fractional epochs; the best epoch (lowest validation loss) is marked.
    """
    figure = go.Figure()
    batches = metrics[metrics["kind"] == "batch"]
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
    for column, name, colour in (
        (metric, "training", TRAIN_COLOUR),
        (f"val_{metric}", "validation", VALIDATION_COLOUR),
    ):
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


def roc_figure(
    false_positive_rate: Sequence[float], true_positive_rate: Sequence[float], auc: float | None
) -> go.Figure:
    """The ROC curve of the test pairs, with the diagonal of guessing for comparison."""
    figure = go.Figure()
    figure.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="guessing", line={"dash": "dot", "color": "grey"}
    )
    label = "model" if auc is None else f"model (AUC {auc:.3f})"
    figure.add_scatter(
        x=list(false_positive_rate), y=list(true_positive_rate), mode="lines", name=label
    )
    figure.update_layout(
        xaxis_title="different people taken for the same person (false positive rate)",
        yaxis_title="same person recognised (true positive rate)",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        margin={"t": 30},
    )
    return figure


def confusion_figure(matrix: Sequence[Sequence[int]]) -> go.Figure:
    """Counts of test pairs by truth (rows) and verdict (columns)."""
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=[f"said: {name}" for name in CLASSES],
            y=[f"truly: {name}" for name in CLASSES],
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    figure.update_layout(yaxis_autorange="reversed", margin={"t": 30})
    return figure
