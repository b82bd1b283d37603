"""facedemo.thresholds against scikit-learn's own metrics, and suggestions on known answers."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    det_curve,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.tree import DecisionTreeClassifier

from facedemo import thresholds
from facedemo.errors import DatasetError, SettingError
from facedemo.thresholds import (
    PRECISION_WHEN_NOTHING_ACCEPTED,
    Suggestion,
    analyse,
    results_table,
)

SUGGESTION_NAMES = [
    "sigma1",
    "sigma2",
    "sigma3",
    "c45",
    "max_f1",
    "max_accuracy",
    "eer",
    "far_target",
]


def labelled_pairs(seed: int, size: int, decimals: int | None = None):
    """Overlapping same-person (label 1) and different-person distances, as float32."""
    rng = np.random.default_rng(seed)
    labels = rng.random(size) < 0.3
    distances = np.where(labels, rng.normal(0.35, 0.12, size), rng.normal(0.65, 0.12, size))
    if decimals is not None:
        distances = np.round(distances, decimals)
    return distances.astype(np.float32), labels.astype(int)


DATASETS = {
    "continuous": labelled_pairs(0, 500),
    "tied to 1 decimal": labelled_pairs(1, 500, decimals=1),
    "tied to 2 decimals": labelled_pairs(2, 3000, decimals=2),
}


@pytest.fixture(params=list(DATASETS), ids=list(DATASETS))
def pairs(request):
    distances, labels = DATASETS[request.param]
    return distances, labels, analyse(distances, labels)


def probe_thresholds(distances: np.ndarray) -> list[float]:
    """Exact ties, midpoints, doubles just around stored float32 values and the far outside."""
    values = np.unique(distances).astype(np.float64)
    values = values[:: max(1, values.size // 100)]
    just_below = [math.nextafter(v, -math.inf) for v in values[::7]]
    just_above = [math.nextafter(v, math.inf) for v in values[::7]]
    midpoints = list((values[:-1] + values[1:]) / 2)[::5]
    outside = [-math.inf, -1.0, values[0] - 1e-3, values[-1] + 1e-3, 5.0, math.inf, 1e300]
    return [*values, *just_below, *just_above, *midpoints, *outside]


def verdicts(distances: np.ndarray, threshold: float) -> np.ndarray:
    """numpy's own comparison of float32 distances with a Python float: 1 = same person."""
    with np.errstate(over="ignore"):
        return (distances <= threshold).astype(int)


def test_at_matches_sklearn_at_every_kind_of_threshold(pairs):
    distances, labels, analysis = pairs
    for threshold in probe_thresholds(distances):
        verdict = verdicts(distances, threshold)
        metrics = analysis.at(threshold)
        np.testing.assert_array_equal(
            metrics.confusion_matrix, confusion_matrix(labels, verdict, labels=[0, 1])
        )
        expected = {
            "precision": precision_score(
                labels, verdict, zero_division=PRECISION_WHEN_NOTHING_ACCEPTED
            ),
            "recall": recall_score(labels, verdict),
            "f1": f1_score(labels, verdict),
            "accuracy": accuracy_score(labels, verdict),
            "specificity": recall_score(labels, verdict, pos_label=0),
            "far": 1 - recall_score(labels, verdict, pos_label=0),
            "frr": 1 - recall_score(labels, verdict),
        }
        for name, value in expected.items():
            assert getattr(metrics, name) == pytest.approx(value, abs=1e-12), (name, threshold)
        assert metrics.threshold == threshold


def test_storing_float32_never_rejects_a_pair_within_the_threshold():
    rng = np.random.default_rng(7)
    distances = np.concatenate([rng.uniform(0, 1, 2000), np.round(rng.uniform(0, 1, 2000), 2)])
    labels = rng.integers(0, 2, distances.size)
    analysis = analyse(distances, labels)
    for threshold in [*distances[::37], *np.linspace(0, 1, 101)]:
        within = distances <= threshold  # float64, as computed before storing
        metrics = analysis.at(float(threshold))
        assert metrics.tp >= np.count_nonzero(within & (labels == 1))
        assert metrics.fp >= np.count_nonzero(within & (labels == 0))
        # Anything more is a pair within float32 rounding of the threshold.
        extra = ~within & (distances <= threshold * (1 + 2**-23))
        assert metrics.tp + metrics.fp <= np.count_nonzero(within | extra)


def test_ties_are_all_accepted_or_all_rejected_together():
    analysis = analyse([0.4, 0.4, 0.4, 0.4, 0.7], [1, 1, 0, 0, 0])
    on_tie = analysis.at(0.4)
    assert (on_tie.tp, on_tie.fp, on_tie.tn, on_tie.fn) == (2, 2, 1, 0)
    below = analysis.at(0.39)
    assert (below.tp, below.fp, below.precision) == (0, 0, PRECISION_WHEN_NOTHING_ACCEPTED)
    np.testing.assert_array_equal(analysis.thresholds[1:], np.float32([0.4, 0.7]))
    np.testing.assert_array_equal(analysis.true_accepts, [0, 2, 2])
    np.testing.assert_array_equal(analysis.false_accepts, [0, 2, 3])


def test_roc_matches_sklearn(pairs):
    distances, labels, analysis = pairs
    fpr, tpr, thresholds = roc_curve(labels, -distances, drop_intermediate=False)
    curve = analysis.roc()
    np.testing.assert_allclose(curve.fpr, fpr, rtol=1e-6)
    np.testing.assert_allclose(curve.tpr, tpr, rtol=1e-6)
    np.testing.assert_array_equal(curve.thresholds, -thresholds.astype(np.float32))
    assert curve.auc == pytest.approx(roc_auc_score(labels, -distances), abs=1e-12)


def test_pr_matches_sklearn(pairs):
    distances, labels, analysis = pairs
    precision, recall, thresholds = precision_recall_curve(labels, -distances)
    curve = analysis.pr()
    np.testing.assert_allclose(curve.precision, precision[::-1], rtol=1e-6)
    np.testing.assert_allclose(curve.recall, recall[::-1], rtol=1e-6)
    assert curve.thresholds[0] == -np.inf
    np.testing.assert_array_equal(curve.thresholds[1:], -thresholds[::-1])
    ap = average_precision_score(labels, -distances)
    assert curve.average_precision == pytest.approx(ap, abs=1e-12)


def test_det_matches_sklearn(pairs):
    distances, labels, analysis = pairs
    far, frr, thresholds = det_curve(labels, -distances)
    curve = analysis.det()
    np.testing.assert_allclose(curve.far, far[::-1], rtol=1e-6)
    np.testing.assert_allclose(curve.frr, frr[::-1], rtol=1e-6)
    np.testing.assert_array_equal(curve.thresholds, -thresholds[::-1].astype(np.float32))


def test_curve_points_are_the_metrics_at_their_thresholds(pairs):
    _, _, analysis = pairs
    roc, pr = analysis.roc(), analysis.pr()
    for i in range(0, roc.thresholds.size, 13):
        metrics = analysis.at(float(roc.thresholds[i]))
        assert (roc.fpr[i], roc.tpr[i]) == pytest.approx((metrics.far, metrics.recall), rel=1e-6)
        assert (pr.recall[i], pr.precision[i]) == pytest.approx(
            (metrics.recall, metrics.precision), rel=1e-6
        )


def test_analysis_keeps_sorted_read_only_float32_distances():
    distances, labels = DATASETS["continuous"]
    analysis = analyse(distances.astype(np.float64), labels.astype(bool))
    np.testing.assert_array_equal(analysis.positive_distances, np.sort(distances[labels == 1]))
    np.testing.assert_array_equal(analysis.negative_distances, np.sort(distances[labels == 0]))
    assert analysis.positive_distances.dtype == np.float32
    assert analysis.thresholds.dtype == np.float32
    with pytest.raises(ValueError):
        analysis.positive_distances[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        analysis.positive_mean = 0.0  # type: ignore[misc]


def test_eer_where_the_rates_meet_at_a_curve_point():
    analysis = analyse([0.1, 0.2, 0.3, 0.4, 0.35, 0.5, 0.6, 0.7], [1, 1, 1, 1, 0, 0, 0, 0])
    eer = analysis.eer()
    assert (eer.rate, eer.low, eer.high) == pytest.approx((0.25, 0.25, 0.25))
    assert 0.35 <= eer.threshold < 0.4  # a threshold that gets exactly those counts
    assert (analysis.at(eer.threshold).far, analysis.at(eer.threshold).frr) == (0.25, 0.25)


def test_eer_is_fvc2000s_midpoint_where_the_rates_do_not_meet():
    # thresholds 0.1, 0.2, 0.4: (FAR, FRR) = (0, 1/2), (1/3, 1/2), (1/3, 0). FVC2000 takes the
    # step whose rates sum less, 0.4: the interval [0, 1/3] and its midpoint 1/6.
    analysis = analyse([0.1, 0.4, 0.2, 0.5, 0.6], [1, 1, 0, 0, 0])
    eer = analysis.eer()
    assert (eer.low, eer.high, eer.rate) == pytest.approx((0.0, 1 / 3, 1 / 6))
    metrics = analysis.at(eer.threshold)
    assert (metrics.frr, metrics.far) == pytest.approx((eer.low, eer.high))
    assert "16.67%" in eer.sentence() and f"{eer.threshold:.4f}" in eer.sentence()


def test_eer_of_two_unit_normals_two_apart():
    rng = np.random.default_rng(3)
    distances = np.concatenate([rng.normal(0.0, 1.0, 100_000), rng.normal(2.0, 1.0, 100_000)])
    labels = np.repeat([1, 0], 100_000)
    eer = analyse(distances, labels).eer()
    assert eer.rate == pytest.approx(norm.cdf(-1.0), abs=0.005)
    assert eer.high - eer.low < 1e-4  # 100,000 pairs a side: the rates nearly meet
    assert eer.threshold == pytest.approx(1.0, abs=0.02)


def by_name(suggestions: list[Suggestion]) -> dict[str, Suggestion]:
    return {suggestion.name: suggestion for suggestion in suggestions}


def test_suggestions_have_the_documented_names_labels_and_metrics(pairs):
    _, _, analysis = pairs
    suggestions = analysis.suggestions()
    assert [s.name for s in suggestions] == SUGGESTION_NAMES
    assert all(s.label for s in suggestions)
    assert "2σ" in by_name(suggestions)["sigma2"].label
    for suggestion in suggestions:
        assert suggestion.metrics == analysis.at(suggestion.threshold)


def test_sigma_suggestions_are_mean_plus_k_std_of_same_person_distances():
    rng = np.random.default_rng(4)
    positive = rng.normal(0.3, 0.05, 5000).astype(np.float32)
    negative = rng.normal(0.7, 0.1, 20000).astype(np.float32)
    analysis = analyse(np.concatenate([positive, negative]), np.repeat([1, 0], [5000, 20000]))
    mean, std = positive.astype(np.float64).mean(), positive.astype(np.float64).std()
    suggestions = by_name(analysis.suggestions())
    for k in (1, 2, 3):
        assert suggestions[f"sigma{k}"].threshold == pytest.approx(mean + k * std, rel=1e-12)
    assert analysis.negative_mean == pytest.approx(negative.astype(np.float64).mean(), rel=1e-12)
    assert analysis.negative_std == pytest.approx(negative.astype(np.float64).std(), rel=1e-12)


def test_separable_pairs_get_thresholds_in_the_gap():
    rng = np.random.default_rng(5)
    positive, negative = rng.uniform(0.1, 0.3, 300), rng.uniform(0.5, 0.9, 700)
    analysis = analyse(np.concatenate([positive, negative]), np.repeat([1, 0], [300, 700]))
    top, bottom = float(np.float32(positive.max())), float(np.float32(negative.min()))
    suggestions = by_name(analysis.suggestions())
    for name in ("c45", "max_f1", "max_accuracy"):
        assert top < suggestions[name].threshold < bottom, name
        assert suggestions[name].metrics.accuracy == 1.0
        assert suggestions[name].metrics.f1 == 1.0
    assert suggestions["c45"].threshold == pytest.approx((top + bottom) / 2, abs=1e-7)
    assert suggestions["eer"].metrics.far == 0.0
    assert suggestions["eer"].metrics.frr == 0.0


@pytest.mark.parametrize("start", [0.5, 0.7])
def test_a_gap_of_one_float32_step_still_separates(start):
    # Whichever way the midpoint of two neighbouring float32 values rounds, the suggestion
    # must stay below the different-person distance.
    same = np.float32(start)
    for _ in range(2):
        different = np.nextafter(same, np.float32(np.inf))
        analysis = analyse([same, different], [1, 0])
        suggestions = by_name(analysis.suggestions())
        for name in ("c45", "max_f1", "max_accuracy"):
            assert suggestions[name].metrics.accuracy == 1.0, (name, same)
        same = different


def information_gain(distances: list[float], labels: list[int], threshold: float) -> float:
    def entropy(group: list[int]) -> float:
        if not group:
            return 0.0
        share = sum(group) / len(group)
        return -sum(p * math.log2(p) for p in (share, 1 - share) if p > 0)

    left = [y for d, y in zip(distances, labels, strict=True) if d <= threshold]
    right = [y for d, y in zip(distances, labels, strict=True) if d > threshold]
    size = len(labels)
    return entropy(labels) - len(left) / size * entropy(left) - len(right) / size * entropy(right)


@pytest.mark.parametrize("seed", range(6))
def test_c45_split_is_the_brute_force_information_gain_maximum(seed):
    distances, labels = labelled_pairs(seed, 40, decimals=2 if seed % 2 else None)
    values = sorted({float(d) for d in distances})
    candidates = [(low + high) / 2 for low, high in itertools.pairwise(values)]
    gains = [information_gain(list(map(float, distances)), list(labels), t) for t in candidates]
    best = candidates[int(np.argmax(gains))]
    c45 = by_name(analyse(distances, labels).suggestions())["c45"].threshold
    assert c45 == pytest.approx(best, abs=1e-7)  # a float32 midpoint
    tree = DecisionTreeClassifier(criterion="entropy", max_depth=1, random_state=0)
    tree.fit(distances.reshape(-1, 1), labels)
    assert c45 == pytest.approx(tree.tree_.threshold[0], abs=1e-7)


def test_best_f1_and_accuracy_beat_every_distinct_threshold(pairs):
    distances, labels, analysis = pairs
    candidates = [-math.inf, *np.unique(distances).astype(np.float64)]
    every_verdict = [verdicts(distances, t) for t in candidates]
    best_f1 = max(f1_score(labels, verdict) for verdict in every_verdict)
    best_accuracy = max(accuracy_score(labels, verdict) for verdict in every_verdict)
    suggestions = by_name(analysis.suggestions())
    assert suggestions["max_f1"].metrics.f1 == pytest.approx(best_f1, abs=1e-12)
    assert suggestions["max_accuracy"].metrics.accuracy == pytest.approx(best_accuracy, abs=1e-12)


def test_max_accuracy_may_accept_nobody():
    analysis = analyse([0.5, 0.1, 0.2, 0.3], [1, 0, 0, 0])
    best = by_name(analysis.suggestions())["max_accuracy"]
    assert best.threshold < 0.1
    assert (best.metrics.tp, best.metrics.fp, best.metrics.accuracy) == (0, 0, 0.75)


@pytest.mark.parametrize("target_far", [0.0, 0.001, 0.01, 0.05, 0.2, 0.5])
def test_far_target_is_the_highest_threshold_within_the_budget(pairs, target_far):
    _, _, analysis = pairs
    suggestion = by_name(analysis.suggestions(target_far=target_far))["far_target"]
    assert suggestion.metrics.far <= target_far
    assert f"{target_far * 100:g} %" in suggestion.label
    negatives = analysis.negative_distances
    breaking = negatives[negatives > suggestion.threshold].min()
    assert analysis.at(float(breaking)).far > target_far
    # No same-person pair lies between the suggestion and the first distance over budget.
    just_below = np.nextafter(breaking, np.float32(-np.inf))
    assert analysis.at(float(just_below)).tp == suggestion.metrics.tp


def test_far_target_of_one_accepts_everybody():
    distances, labels = DATASETS["continuous"]
    analysis = analyse(distances, labels)
    suggestion = by_name(analysis.suggestions(target_far=1.0))["far_target"]
    assert suggestion.threshold == float(distances.max())
    assert (suggestion.metrics.far, suggestion.metrics.frr) == (1.0, 0.0)


@pytest.mark.parametrize("target_far", [-0.1, 1.5, math.nan])
def test_impossible_far_target_is_refused(target_far):
    analysis = analyse(*DATASETS["continuous"])
    with pytest.raises(SettingError, match="target false accept rate"):
        analysis.suggestions(target_far=target_far)


def test_results_table_rows_are_the_metrics_at_each_threshold(pairs):
    _, _, analysis = pairs
    sigma2 = by_name(analysis.suggestions())["sigma2"]
    rows = results_table(analysis, [0.4, sigma2])
    assert [row["name"] for row in rows] == ["0.4", sigma2.label]
    assert list(rows[0]) == [
        "name",
        "threshold",
        "precision",
        "recall",
        "f1",
        "accuracy",
        "far",
        "frr",
    ]
    for row, metrics in zip(rows, [analysis.at(0.4), sigma2.metrics], strict=True):
        for column in ("threshold", "precision", "recall", "f1", "accuracy", "far", "frr"):
            assert row[column] == getattr(metrics, column)


@pytest.mark.parametrize(
    ("distances", "labels", "message"),
    [
        ([0.1, 0.2], [1], "2 distances but 1 labels"),
        ([[0.1, 0.2]], [[1, 0]], "flat list"),
        ([0.1, math.nan], [1, 0], "missing or infinite"),
        ([0.1, math.inf], [1, 0], "missing or infinite"),
        ([0.1, 1e39], [1, 0], "missing or infinite"),
        ([0.1, 0.2], [1, 2], "1 \\(same person\\) or 0"),
        ([0.1, 0.2], ["a", "b"], "must be numbers"),
        (["0.1", "0.2"], [1, 0], "must be numbers"),
        ([0.1, 0.2], [1, 1], "at least one same-person and one different-person"),
        ([0.1, 0.2], [False, False], "at least one same-person and one different-person"),
        ([], [], "at least one same-person and one different-person"),
    ],
)
def test_unusable_pairs_are_refused_with_a_sentence(distances, labels, message):
    with pytest.raises(DatasetError, match=message):
        analyse(distances, labels)


def test_a_missing_threshold_is_refused():
    analysis = analyse(*DATASETS["continuous"])
    with pytest.raises(SettingError, match="threshold must be a number"):
        analysis.at(math.nan)


def test_distance_range_spans_both_kinds_and_is_never_empty() -> None:
    analysis = analyse([0.2, 0.5, 0.9, 0.3], [1, 0, 0, 1])
    assert analysis.distance_range() == pytest.approx((0.2, 0.9))
    tied = analyse([0.4, 0.4], [1, 0])
    low, high = tied.distance_range()
    assert low == pytest.approx(0.4) and high > low


def people_pairs(people: int = 12, photos: int = 4, seed: int = 0):
    """Every pair of ``people`` × ``photos`` images: distances (unique, same-person ones
    smaller on the whole), labels, and each pair's two people."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(people), photos)
    first, second = np.triu_indices(len(person), 1)
    same = person[first] == person[second]
    distances = np.where(same, rng.normal(0.3, 0.1, same.size), rng.normal(0.7, 0.1, same.size))
    distances += np.arange(same.size) * 1e-7  # every distance its own: pairs can be traced
    return distances.astype(np.float32), same, person[first], person[second]


def test_held_out_thresholds_are_never_chosen_on_the_people_they_are_scored_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    distances, same, person_a, person_b = people_pairs()
    chosen_on = []
    real_analyse = thresholds.analyse

    def recording_analyse(values, labels):
        chosen_on.append(np.asarray(values))
        return real_analyse(values, labels)

    monkeypatch.setattr(thresholds.held_out, "analyse", recording_analyse)  # the one it calls
    held = thresholds.held_out_suggestions(distances, same, person_a, person_b, folds=4, seed=5)
    fold_of = thresholds.person_folds(12, 4, seed=5)
    assert len(chosen_on) == 4  # one choice per fold
    for fold, values in enumerate(chosen_on):
        outside = (fold_of[person_a] != fold) & (fold_of[person_b] != fold)
        assert np.array_equal(np.sort(values), np.sort(distances[outside]))  # those, no other
    within = fold_of[person_a] == fold_of[person_b]
    for rule in held:
        assert rule.metrics.tp + rule.metrics.fn == int(same[within].sum())  # each scored once
        assert rule.metrics.tn + rule.metrics.fp == int((~same & within).sum())
        assert len(rule.thresholds) == 4 and rule.threshold_spread >= 0
    assert {rule.name for rule in held} == {
        s.name for s in real_analyse(distances, same).suggestions()
    }


def test_people_not_pairs_are_split_into_even_folds() -> None:
    fold_of = thresholds.person_folds(13, 5, seed=0)
    assert sorted(np.bincount(fold_of)) == [2, 2, 3, 3, 3]
    assert not np.array_equal(fold_of, thresholds.person_folds(13, 5, seed=1))


def test_held_out_needs_enough_people() -> None:
    distances, same, person_a, person_b = people_pairs(people=3)
    with pytest.raises(DatasetError, match="at least 4 people"):
        thresholds.held_out_suggestions(distances, same, person_a, person_b)


def test_a_rule_that_fits_its_own_pairs_does_worse_on_new_people() -> None:
    """Held out, a threshold meets people it was not tuned on: on this set (same-person
    distances that differ a lot from person to person) it makes more errors than in-sample."""
    rng = np.random.default_rng(2)
    distances, same, person_a, person_b = people_pairs(people=20, seed=2)
    shift = rng.normal(0, 0.12, 20)[person_a]  # each person's photos vary by their own amount
    distances = np.where(same, distances + shift, distances).astype(np.float32)
    in_sample = {s.name: s.metrics for s in thresholds.analyse(distances, same).suggestions()}
    held = {
        h.name: h.metrics
        for h in thresholds.held_out_suggestions(distances, same, person_a, person_b)
    }
    assert held["max_accuracy"].accuracy < in_sample["max_accuracy"].accuracy


def hand_worked() -> thresholds.Analysis:
    """Same person at 0.1, 0.2, 0.3, 0.4; different people at 0.35, 0.5, 0.6, 0.7."""
    return analyse([0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7], [1, 1, 1, 0, 1, 0, 0, 0])


def test_operating_points_on_a_hand_worked_table() -> None:
    points = {p.name: p for p in hand_worked().operating_points()}
    # No false match: accept up to 0.3 (0.35 is the first different-person distance), placed
    # midway; then 0.4 is rejected, 1 of 4 same-person pairs.
    zero_fmr = points["ZeroFMR"]
    assert (zero_fmr.fmr, zero_fmr.fnmr) == (0.0, 0.25)
    assert zero_fmr.threshold == pytest.approx(0.325)
    # Every same-person pair accepted needs 0.4, which lets 0.35 in: FMR 1 of 4.
    zero_fnmr = points["ZeroFNMR"]
    assert (zero_fnmr.fmr, zero_fnmr.fnmr) == (0.25, 0.0)
    assert zero_fnmr.threshold == pytest.approx(0.45)
    # 1 % and 0.1 % of 4 different-person pairs cannot be told from zero.
    assert not points["FMR100"].resolvable and not points["FMR1000"].resolvable
    assert points["FMR100"].fnmr == 0.25 and points["ZeroFMR"].resolvable


def test_fmr100_is_the_highest_threshold_within_one_percent() -> None:
    rng = np.random.default_rng(4)
    same = np.r_[np.ones(300, bool), np.zeros(1000, bool)]
    distances = np.where(same, rng.normal(0.3, 0.1, 1300), rng.normal(0.7, 0.1, 1300))
    analysis = analyse(distances, same)
    point = {p.name: p for p in analysis.operating_points()}["FMR100"]
    negatives = np.sort(distances[~same])
    assert point.resolvable and point.fmr <= 0.01
    assert negatives[9] <= point.threshold < negatives[10]  # 10 of 1,000 accepted, not 11
    assert point.fnmr == pytest.approx(np.mean(distances[same] > point.threshold))


def test_d_prime_and_the_eer_interval_by_hand() -> None:
    analysis = hand_worked()
    same_sd = math.sqrt((0.15**2 + 0.05**2 + 0.05**2 + 0.15**2) / 4)
    different = np.array([0.35, 0.5, 0.6, 0.7])
    pooled = math.sqrt((same_sd**2 + different.var()) / 2)
    assert analysis.d_prime() == pytest.approx((different.mean() - 0.25) / pooled, rel=1e-5)
    # At 0.35 one pair of each kind is wrong: FMR = FNMR = 25 %, an interval of one point.
    eer = analysis.eer()
    assert (eer.low, eer.high) == pytest.approx((0.25, 0.25))
    eer = analyse([0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0]).eer()
    assert eer.low <= eer.rate <= eer.high


def test_the_eer_suggestion_shows_the_rates_of_the_eer_interval() -> None:
    # The walk found "EER 0.18 % at 0.0750" while at 0.0750 FAR was 0.18 % and FRR 0.71 %.
    rng = np.random.default_rng(11)
    distances = np.concatenate([rng.normal(0.3, 0.1, 140), rng.normal(0.6, 0.1, 1690)])
    analysis = analyse(distances, np.repeat([1, 0], [140, 1690]))
    suggestion, eer = by_name(analysis.suggestions())["eer"], analysis.eer()
    assert suggestion.threshold == eer.threshold  # one EER: the button is the summary's
    assert sorted((suggestion.metrics.far, suggestion.metrics.frr)) == [eer.low, eer.high]
    assert set(thresholds.SUGGESTION_RULES) == set(by_name(analysis.suggestions()))
