"""facedemo.plots at 1280 × 720 and on a projector: every figure stays whole in the column a
page gives it (issue 16, item 8). What a browser walk found cut or lost, asserted on the
figure itself."""

from __future__ import annotations

import re

import numpy as np

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
