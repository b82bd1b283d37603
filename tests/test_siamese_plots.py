"""Figures of a run from plain data."""

from __future__ import annotations

import pandas as pd
from siamese_support import training_log

from facedemo.siamese.plots import (
    MAX_BATCH_POINTS,
    RECENT_BATCH_POINTS,
    confusion_figure,
    learning_curve,
    roc_figure,
)


def metrics_table() -> pd.DataFrame:
    rows = [
        {"kind": "batch", "epoch": 1, "step": 1, "loss": 0.9},
        {"kind": "batch", "epoch": 1, "step": 2, "loss": 0.8},
        {
            "kind": "epoch",
            "epoch": 1,
            "step": 2,
            "loss": 0.8,
            "val_loss": 0.85,
            "seen_val_loss": 0.8,
        },
        {"kind": "batch", "epoch": 2, "step": 1, "loss": 0.7},
        {"kind": "batch", "epoch": 2, "step": 2, "loss": 0.6},
        {
            "kind": "epoch",
            "epoch": 2,
            "step": 2,
            "loss": 0.6,
            "val_loss": 0.7,
            "seen_val_loss": 0.6,
        },
        {"kind": "eval", "epoch": 2, "loss": 0.72},
    ]
    return pd.DataFrame(rows)


def test_learning_curve_shows_batches_training_and_validation() -> None:
    figure = learning_curve(metrics_table(), "loss", steps_per_epoch=2, best_epoch=2)
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces) == [
        "training, each batch",
        "training",
        "seen people, new photos",
        "new people (validation)",
    ]
    assert list(traces["training, each batch"].x) == [0.5, 1.0, 1.5, 2.0]
    assert list(traces["new people (validation)"].y) == [0.85, 0.7]
    assert list(traces["seen people, new photos"].y) == [0.8, 0.6]
    without_held_out = metrics_table().drop(columns="seen_val_loss")
    names = [trace.name for trace in learning_curve(without_held_out, "loss", 2).data]
    assert "seen people, new photos" not in names
    assert figure.layout.shapes[0].x0 == 2  # the best epoch's marker


def test_learning_curve_of_an_empty_log_is_an_empty_figure() -> None:
    empty = pd.DataFrame(columns=["kind", "epoch"])
    assert learning_curve(empty, "auc", steps_per_epoch=5).data == ()


def test_a_long_run_draws_its_older_batches_thinned() -> None:
    steps = 250  # the notebook preset: 100 epochs of 250 batches
    metrics = pd.DataFrame(training_log(steps, 99, steps))
    figure = learning_curve(metrics, "loss", steps_per_epoch=steps)
    batches = figure.data[0]
    assert len(batches.x) <= MAX_BATCH_POINTS + 1
    every = metrics[metrics["kind"] == "batch"]
    recent = every.tail(RECENT_BATCH_POINTS)
    assert list(batches.x[-RECENT_BATCH_POINTS:]) == list(
        recent["epoch"] - 1 + recent["step"] / steps
    )
    assert batches.x[0] == 1 / steps  # the start is still there
    assert len(figure.data[1].x) == 99  # every epoch


def test_roc_figure_names_the_auc() -> None:
    roc = {
        "false_positive_rate": [0.0, 0.2, 1.0],
        "true_positive_rate": [0.0, 0.8, 1.0],
        "thresholds": [1.0, 0.6, 0.1],
    }
    figure = roc_figure(roc, auc=0.9)
    assert figure.data[0].name == "the network (AUC 0.900)"
    assert list(figure.data[0].y) == [0.0, 0.8, 1.0]
    assert figure.data[-1].name == "guessing"
    assert figure.layout.xaxis.title.text.startswith("different people taken for the same")


def test_confusion_figure_shows_the_counts() -> None:
    figure = confusion_figure([[40, 10], [5, 45]], threshold=0.5)
    heatmap = figure.data[0]
    assert [list(row) for row in heatmap.z] == [[0.8, 0.2], [0.1, 0.9]]
    assert heatmap.text[0][1].startswith("<b>10</b><br>false accept")
    assert heatmap.text[1][1].startswith("<b>45</b><br>true accept")
    assert figure.layout.title.text == 'Said "same person" from 50% probability'
