"""facedemo.plots at 1280 × 720 and on a projector: every figure stays whole in the column a
page gives it (issue 16, item 8). What a browser walk found cut or lost, asserted on the
figure itself."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.stats import norm

from facedemo import plots
from facedemo.thresholds import analyse

#: Characters in one line of a confusion-matrix cell that fit a cell of a matrix drawn in a
#: third of a 1280 px page (about 300 px, 140 px a cell at 13 px text).
CELL_LINE = 12


def lines(text):
    """The lines a label shows, without its markup."""
    return [re.sub(r"<[^>]+>", "", line) for line in text.split("<br>")]


def test_confusion_matrix_cells_are_short_lines_that_keep_every_number():
    analysis = analyse(
        np.r_[np.full(1_234, 0.2), np.full(7, 0.8), np.full(2, 0.3), np.full(98_765, 0.9)],
        np.r_[np.ones(1_241), np.zeros(98_767)],
    )
    figure = plots.confusion_matrix_figure(analysis.at(0.5))
    heatmap = figure.data[0]
    cells = [lines(cell) for row in heatmap.text for cell in row]
    assert all(len(line) <= CELL_LINE for cell in cells for line in cell), cells
    # Count, outcome and share of the row, as before: nothing was dropped to make it fit.
    assert cells == [
        ["98,765", "true reject", "100.0%"],
        ["2", "false accept", "0.0%"],
        ["7", "false reject", "0.6%"],
        ["1,234", "true accept", "99.4%"],
    ]
    assert heatmap.textfont.size == plots.CONFUSION_FONT_SIZE <= 14
    assert "2 of 98,767 different-person pairs" in heatmap.customdata[0][1]


def test_confusion_matrix_labels_are_split_and_its_margins_follow_them():
    figure = plots.confusion_matrix_figure(analyse([0.1, 0.9], [1, 0]).at(0.5))
    layout = figure.layout
    for axis in (layout.xaxis, layout.yaxis):
        assert list(axis.tickvals) == [plots.DIFFERENT_PERSON, plots.SAME_PERSON]
        assert all(len(line) <= 10 for label in axis.ticktext for line in lines(label))
        assert axis.automargin is True
        assert len(axis.title.text) <= 25
    assert layout.xaxis.tickangle == 0
    assert layout.height == plots.FIGURE_HEIGHT
    assert layout.margin.l <= 20 and layout.margin.r <= 20


def separated():
    """Every same-person pair closer than every different-person pair: FRR 0 at 0.5."""
    return analyse(
        np.r_[np.linspace(0.1, 0.3, 200), np.linspace(0.6, 0.9, 2000)],
        np.r_[np.ones(200), np.zeros(2000)],
    )


def test_det_draws_a_zero_rate_at_the_floor_and_says_so():
    analysis = separated()
    metrics = analysis.at(0.5)
    assert metrics.frr == 0 and metrics.far == 0
    figure = plots.det_figure(analysis.det(), metrics)
    (point,) = [data for data in figure.data if data.name == "threshold 0.5000"]
    floor = norm.ppf(plots.DET_RANGE[0])
    assert np.isfinite(point.x[0]) and np.isfinite(point.y[0])
    assert (point.x[0], point.y[0]) == pytest.approx((floor, floor))
    assert figure.layout.yaxis.range[0] == pytest.approx(floor)  # on the axis, not off it
    assert point.cliponaxis is False  # whole, not half cut by the axis' edge
    assert point.mode == "markers+text"
    assert point.text == ("FAR = 0, FRR = 0 (drawn at the floor)",)
    assert list(point.customdata[0][1:]) == [0, 0]  # the hover still says the true rates


def test_det_draws_a_rate_above_the_axis_at_its_top():
    analysis = separated()
    metrics = analysis.at(0.15)  # three quarters of same-person pairs rejected: off the top
    figure = plots.det_figure(analysis.det(), metrics)
    (point,) = [data for data in figure.data if data.name == "threshold 0.1500"]
    assert point.y[0] == pytest.approx(norm.ppf(plots.DET_RANGE[1]))
    assert point.text == ("FAR = 0, FRR = 75.0% (drawn at the floor and the top)",)


def test_det_operating_points_at_zero_keep_their_marker_and_share_a_label():
    analysis = separated()
    points = [p for p in analysis.operating_points() if p.resolvable]
    assert any(p.fmr == 0 for p in points) and any(p.fnmr == 0 for p in points)
    figure = plots.det_figure(analysis.det(), analysis.at(0.5), points)
    (marks,) = [trace for trace in figure.data if trace.name == "operating points"]
    floor, top = norm.ppf(plots.DET_RANGE)
    assert all(floor <= value <= top for value in (*marks.x, *marks.y))
    assert marks.cliponaxis is False
    # All drawn in one corner with the threshold's point: one label names every point and
    # its zero rates, on the threshold's point, and the diamonds' own labels stay empty.
    (point,) = [data for data in figure.data if data.name == "threshold 0.5000"]
    label = lines(point.text[0])
    assert label[0] == "threshold 0.5000: FAR = 0, FRR = 0"
    assert label[-1] == "(drawn at the floor)"
    assert {line.split(":")[0] for line in label[1:-1]} == {p.name for p in points}
    assert set(marks.text) == {""}


@pytest.mark.parametrize("figure_of", [plots.roc_figure, plots.pr_figure])
def test_linear_curves_keep_a_point_on_the_edge_whole(figure_of):
    analysis = separated()
    metrics = analysis.at(0.5)  # FAR 0, recall 1, precision 1: on the plot's edges
    curve = analysis.roc() if figure_of is plots.roc_figure else analysis.pr()
    (point,) = [data for data in figure_of(curve, metrics).data if data.mode == "markers"]
    assert point.cliponaxis is False


def test_comparison_puts_each_quantity_on_its_own_axis_in_its_own_unit():
    rows = [
        {
            "setting": "Facenet512 · retinaface · deepface · cosine · 640 px",
            "auc": 1.0,
            "eer": 0.004,
            "best_accuracy": 0.996,
        },
        {
            "setting": "VGG-Face · opencv · deepface · cosine · 640 px",
            "auc": 0.9512,
            "eer": 0.081,
            "best_accuracy": 0.912,
        },
    ]
    figure = plots.comparison_figure(rows)
    auc, eer, accuracy = figure.data
    # Three x axes: AUC 1.0000 and 99.6 % no longer share one 0-100 % scale.
    assert len({bars.xaxis for bars in figure.data}) == 3
    layout = figure.layout
    assert layout.xaxis.tickformat == ".2f" and layout.xaxis.range[1] == 1.0
    assert layout.xaxis2.tickformat.endswith("%") and layout.xaxis3.tickformat.endswith("%")
    assert layout.xaxis2.range[1] >= rows[1]["eer"]  # EER's own range, not 0-100 %
    assert layout.xaxis2.range[1] < 0.5
    # Values written on the bars, as the table beside the figure writes them.
    assert auc.text == ("1.0000", "0.9512")
    assert eer.text == ("0.40%", "8.10%")
    assert accuracy.text == ("99.60%", "91.20%")
    assert {bars.textangle for bars in figure.data} == {0}
    # Long setting names wrap between their parts instead of pushing the panels aside.
    assert all(len(line) <= 24 for name in auc.y for line in lines(name))
    assert lines(auc.y[0])[0].startswith("Facenet512")
