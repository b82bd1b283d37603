"""Figures of a run from plain data."""

from __future__ import annotations

import pandas as pd

from facedemo.siamese.plots import confusion_figure, learning_curve, roc_figure


def metrics_table() -> pd.DataFrame:
    rows = [
        {"kind": "batch", "epoch": 1, "step": 1, "loss": 0.9},
        {"kind": "batch", "epoch": 1, "step": 2, "loss": 0.8},
        {"kind": "epoch", "epoch": 1, "step": 2, "loss": 0.8, "val_loss": 0.85},
        {"kind": "batch", "epoch": 2, "step": 1, "loss": 0.7},
        {"kind": "batch", "epoch": 2, "step": 2, "loss": 0.6},
        {"kind": "epoch", "epoch": 2, "step": 2, "loss": 0.6, "val_loss": 0.7},
        {"kind": "eval", "epoch": 2, "loss": 0.72},
    ]
    return pd.DataFrame(rows)


def test_learning_curve_shows_batches_training_and_validation() -> None:
    figure = learning_curve(metrics_table(), "loss", steps_per_epoch=2, best_epoch=2)
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces) == ["training, each batch", "training", "validation"]
    assert list(traces["training, each batch"].x) == [0.5, 1.0, 1.5, 2.0]
    assert list(traces["validation"].y) == [0.85, 0.7]
    assert figure.layout.shapes[0].x0 == 2  # the best epoch's marker


def test_learning_curve_of_an_empty_log_is_an_empty_figure() -> None:
    empty = pd.DataFrame(columns=["kind", "epoch"])
    assert learning_curve(empty, "auc", steps_per_epoch=5).data == ()


def test_roc_figure_names_the_auc() -> None:
    figure = roc_figure([0.0, 0.2, 1.0], [0.0, 0.8, 1.0], auc=0.9)
    assert figure.data[1].name == "model (AUC 0.900)"
    assert list(figure.data[1].y) == [0.0, 0.8, 1.0]


def test_confusion_figure_shows_the_counts() -> None:
    figure = confusion_figure([[40, 10], [5, 45]])
    heatmap = figure.data[0]
    assert [list(row) for row in heatmap.z] == [[40, 10], [5, 45]]
    assert list(heatmap.y) == ["truly: different people", "truly: same person"]
