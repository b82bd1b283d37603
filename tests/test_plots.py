"""facedemo.plots: figures built from real analyses show what the numbers say."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from facedemo import plots
from facedemo.thresholds import analyse

THRESHOLD = 0.47


@pytest.fixture(scope="module")
def analysis():
    rng = np.random.default_rng(11)
    labels = rng.random(3000) < 0.2
    distances = np.where(labels, rng.normal(0.35, 0.1, 3000), rng.normal(0.7, 0.12, 3000))
    return analyse(distances, labels)


@pytest.fixture(scope="module")
def large_analysis():
    rng = np.random.default_rng(12)
    labels = rng.random(50_000) < 0.05
    distances = np.where(labels, rng.normal(0.3, 0.1, 50_000), rng.normal(0.7, 0.1, 50_000))
    return analyse(distances, labels)


def trace(figure, name):
    (found,) = [data for data in figure.data if data.name == name]
    return found


def threshold_lines(figure):
    return [shape for shape in figure.layout.shapes if shape.type == "line"]


def test_histogram_overlays_both_kinds_on_the_same_bins(analysis):
    figure = plots.distance_histogram(analysis, THRESHOLD, bins=40)
    same, different = trace(figure, plots.SAME_PERSON), trace(figure, plots.DIFFERENT_PERSON)
    assert figure.layout.barmode == "overlay"
    assert same.marker.color == plots.SAME_PERSON_COLOUR
    assert different.marker.color == plots.DIFFERENT_PERSON_COLOUR
    assert same.opacity < 1 and different.opacity < 1
    np.testing.assert_array_equal(same.x, different.x)
    assert len(same.x) == 40
    for bars, values in (
        (same, analysis.positive_distances),
        (different, analysis.negative_distances),
    ):
        low = min(analysis.positive_distances[0], analysis.negative_distances[0])
        high = max(analysis.positive_distances[-1], analysis.negative_distances[-1])
        counts, _ = np.histogram(values, bins=np.linspace(low, high, 41, dtype=np.float32))
        np.testing.assert_array_equal(bars.customdata, counts)
        assert sum(bars.y) == pytest.approx(100.0)


def test_histogram_draws_the_threshold_line_where_it_is(analysis):
    figure = plots.distance_histogram(analysis, THRESHOLD)
    (line,) = threshold_lines(figure)
    assert line.x0 == line.x1 == THRESHOLD
    assert any(f"{THRESHOLD:.3f}" in note.text for note in figure.layout.annotations)
    assert not threshold_lines(plots.distance_histogram(analysis))


def test_histogram_from_arrays_equals_histogram_from_analysis(analysis):
    rng = np.random.default_rng(0)
    arrays = (
        rng.permutation(analysis.positive_distances),
        rng.permutation(analysis.negative_distances),
    )
    from_arrays = plots.distance_histogram(arrays, THRESHOLD)
    from_analysis = plots.distance_histogram(analysis, THRESHOLD)
    for name in (plots.SAME_PERSON, plots.DIFFERENT_PERSON):
        np.testing.assert_array_equal(
            trace(from_arrays, name).customdata, trace(from_analysis, name).customdata
        )


def marked_point(figure):
    (point,) = [data for data in figure.data if data.name.startswith("threshold ")]
    assert point.mode == "markers"  # no label: its rates are on the axes
    return point.x[0], point.y[0]


def test_roc_marks_the_rates_at_the_threshold(analysis):
    metrics = analysis.at(THRESHOLD)
    curve = analysis.roc()
    figure = plots.roc_figure(curve, metrics)
    assert marked_point(figure) == pytest.approx((metrics.far, metrics.recall))
    line = figure.data[0]
    assert (line.x[0], line.y[0], line.x[-1], line.y[-1]) == (0, 0, 1, 1)
    assert f"{curve.auc:.3f}" in line.name
    assert len([data for data in plots.roc_figure(curve).data if data.mode == "markers"]) == 0


def test_long_curves_are_thinned_to_points_of_the_curve(large_analysis):
    curve = large_analysis.roc()
    line = plots.roc_figure(curve).data[0]
    assert len(line.x) <= plots.CURVE_POINTS + 1 < curve.fpr.size
    assert (line.x[0], line.y[-1]) == (0, 1)
    # Every drawn point is the curve at the threshold its hover names.
    thresholds = np.asarray(line.customdata)[:, 0].astype(np.float32)
    rows = np.searchsorted(curve.thresholds, thresholds)
    np.testing.assert_array_equal(line.x, curve.fpr[rows])
    np.testing.assert_array_equal(line.y, curve.tpr[rows])
    # Spread along the drawn line, not over thresholds: the steep start, about half the
    # line's length but a tenth of the thresholds, keeps about half the points.
    assert np.count_nonzero(np.asarray(line.x) < 0.05) > plots.CURVE_POINTS // 3


def test_det_uses_probit_axes_labelled_in_percent(analysis):
    metrics = analysis.at(THRESHOLD)
    figure = plots.det_figure(analysis.det(), metrics)
    assert marked_point(figure) == pytest.approx((norm.ppf(metrics.far), norm.ppf(metrics.frr)))
    np.testing.assert_allclose(figure.layout.xaxis.tickvals, norm.ppf(plots.DET_TICKS))
    assert figure.layout.xaxis.ticktext[:3] == ("0.1 %", "0.2 %", "0.5 %")
    assert figure.layout.yaxis.ticktext == figure.layout.xaxis.ticktext
    line = figure.data[0]
    assert np.isfinite(line.x).all() and np.isfinite(line.y).all()


SHOWN = plots.DET_RANGE


def test_det_marks_the_operating_points_a_pair_count_can_resolve(analysis):
    points = analysis.operating_points()
    figure = plots.det_figure(analysis.det(), analysis.at(THRESHOLD), points)
    (marks,) = [trace for trace in figure.data if trace.name == "operating points"]
    resolvable = [p for p in points if p.resolvable]
    assert list(marks.hovertext) == [p.name for p in resolvable]
    labels = " ".join(marks.text)
    assert all(p.name in labels for p in resolvable)
    # Drawn on the shown axes, at their floor or top when a rate lies off them.
    np.testing.assert_allclose(marks.x, norm.ppf(np.clip([p.fmr for p in resolvable], *SHOWN)))
    np.testing.assert_allclose(marks.y, norm.ppf(np.clip([p.fnmr for p in resolvable], *SHOWN)))
    assert not [t for t in plots.det_figure(analysis.det()).data if t.name == "operating points"]


def test_pr_marks_the_point_and_the_precision_of_accepting_everyone(analysis):
    metrics = analysis.at(THRESHOLD)
    figure = plots.pr_figure(analysis.pr(), metrics)
    assert marked_point(figure) == pytest.approx((metrics.recall, metrics.precision))
    everyone = trace(figure, "accept everyone")
    share = analysis.positives / (analysis.positives + analysis.negatives)
    assert everyone.y == pytest.approx((share, share))


def test_confusion_matrix_puts_each_count_in_its_cell():
    analysis = analyse([0.1, 0.2, 0.6, 0.3, 0.7, 0.8, 0.9], [1, 1, 1, 0, 0, 0, 0])
    metrics = analysis.at(0.5)  # tp 2, fn 1, fp 1, tn 3
    heatmap = plots.confusion_matrix_figure(metrics).data[0]
    assert heatmap.x == heatmap.y == (plots.DIFFERENT_PERSON, plots.SAME_PERSON)
    text = [[cell.split("<br>")[:2] for cell in row] for row in heatmap.text]
    assert text == [
        [["<b>3</b>", "true reject"], ["<b>1</b>", "false accept"]],
        [["<b>1</b>", "false reject"], ["<b>2</b>", "true accept"]],
    ]
    np.testing.assert_allclose(heatmap.z, [[0.75, 0.25], [1 / 3, 2 / 3]])


@pytest.mark.parametrize(("distance", "verdict"), [(0.31, "Same person"), (0.52, "Different")])
def test_gauge_shows_the_distance_against_the_zones(distance, verdict):
    figure = plots.distance_gauge(distance, 0.4)
    assert figure.layout.title.text.startswith(verdict)
    assert figure.data[0].x == (distance,)
    same, different = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert (same.x0, same.x1, same.fillcolor) == (0.0, 0.4, plots.SAME_PERSON_COLOUR)
    assert (different.x0, different.fillcolor) == (0.4, plots.DIFFERENT_PERSON_COLOUR)
    (line,) = threshold_lines(figure)
    assert line.x0 == 0.4


def test_gauge_axis_reaches_a_distance_beyond_the_maximum():
    figure = plots.distance_gauge(1.3, 0.4, max_distance=1.0)
    low, high = figure.layout.xaxis.range
    assert low <= 1.3 < high


def test_comparison_gives_each_metric_a_panel_and_each_setting_a_bar():
    rows = [
        {"setting": "Facenet512 / cosine", "auc": 0.99, "eer": 0.03, "best_accuracy": 0.97},
        {"setting": "VGG-Face / cosine", "auc": 0.95, "eer": 0.08, "best_accuracy": 0.91},
    ]
    figure = plots.comparison_figure(rows)
    assert [bars.name for bars in figure.data] == list(plots.COMPARISON_METRICS.values())
    for bars, key in zip(figure.data, plots.COMPARISON_METRICS, strict=True):
        assert bars.y == tuple(row["setting"] for row in rows)
        assert bars.x == tuple(row[key] for row in rows)


def test_percent_rounds_half_up_like_the_tables() -> None:
    assert plots.percent(0.90625) == "90.63%"  # Python's own format says 90.62 %
    assert plots.percent(0.0017751479) == "0.18%"
    assert plots.percent(float("nan")) == "–"


def test_reliability_figure_draws_one_point_per_bin_and_the_diagonal() -> None:
    from facedemo.calibration import ReliabilityBin

    bins = [ReliabilityBin(0.0, 0.1, 90, 0.02, 0.01), ReliabilityBin(0.9, 1.0, 10, 0.95, 0.9)]
    figure = plots.reliability_figure(bins)
    diagonal, points = figure.data
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]
    assert list(points.x) == [0.02, 0.95] and list(points.y) == [0.01, 0.9]
    assert points.marker.size[0] > points.marker.size[1]  # more pairs, bigger marker


def test_the_distance_gauge_marks_even_odds_and_p_same_at_the_threshold() -> None:
    figure = plots.distance_gauge(
        0.0757, 0.07, even_odds=0.0896, prior=0.5, p_same_at_threshold="92.5%"
    )
    texts = [shape.text for shape in figure.layout.annotations]
    assert "threshold 0.0700 · P(same) 92.5%" in texts
    assert "even odds at prior 50%" in texts
    assert figure.layout.xaxis.range[1] >= 0.0896  # even odds is on the axis
    plain = plots.distance_gauge(0.0757, 0.07)
    assert not any("even odds" in (shape.text or "") for shape in plain.layout.annotations)
