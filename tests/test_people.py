"""Errors per person and intervals that resample people, against slow references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facedemo import evaluation, people
from facedemo.errors import DatasetError


def synthetic_people(count: int, seed: int, sample_negatives: int | None = None):
    """``count`` people with 1-5 photos each, every pair, distances that overlap a little."""
    rng = np.random.default_rng(seed)
    photo_person = np.repeat(np.arange(count), rng.integers(1, 6, size=count))
    first, second = np.triu_indices(len(photo_person), k=1)
    same = photo_person[first] == photo_person[second]
    distances = np.where(same, rng.normal(0.3, 0.08, same.size), rng.normal(0.6, 0.08, same.size))
    if sample_negatives is not None:
        negatives = rng.choice(np.flatnonzero(~same), sample_negatives, replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(same), negatives]))
        first, second, same, distances = first[keep], second[keep], same[keep], distances[keep]
    names = np.array([f"person_{i:03d}" for i in range(count)])
    return names, photo_person, first, second, same, distances.astype(np.float32)


def slow_rates(weights: np.ndarray, photo_person, first, second, same, distances, threshold):
    """The bootstrap written pair by pair: each pair weighted by the draws of its people."""
    limit = np.float32(threshold)
    rows = []
    for w in weights:
        positives = negatives = true_accepts = false_accepts = 0.0
        for a, b, is_same, distance in zip(first, second, same, distances, strict=True):
            weight = w[photo_person[a]] if is_same else w[photo_person[a]] * w[photo_person[b]]
            accepted = distance <= limit
            if is_same:
                positives += weight
                true_accepts += weight * accepted
            else:
                negatives += weight
                false_accepts += weight * accepted
        if positives == 0 or negatives == 0:
            rows.append((math.nan,) * 4)
            continue
        accepted = true_accepts + false_accepts
        rows.append(
            (
                false_accepts / negatives,
                1 - true_accepts / positives,
                true_accepts / accepted if accepted else 1.0,
                true_accepts / positives,
            )
        )
    return np.array(rows)


@pytest.mark.parametrize("sample_negatives", [None, 150])
def test_bootstrap_equals_the_pair_by_pair_reference(sample_negatives) -> None:
    names, photo_person, first, second, same, distances = synthetic_people(
        9, seed=3, sample_negatives=sample_negatives
    )
    pairs = people.PeoplePairs.from_pairs(names, photo_person, first, second, same, distances)
    assert (pairs.negatives_between is None) == (sample_negatives is None)
    weights = people.resample_people(len(names), 40, seed=5).astype(float)
    threshold = 0.45
    true_accepts, false_accepts = pairs._accepted(threshold)
    accepts = people._person_pairs(
        pairs.different_first[:false_accepts], pairs.different_second[:false_accepts]
    )
    fast = pairs.weighted_rates(weights, true_accepts, accepts)
    slow = slow_rates(weights, photo_person, first, second, same, distances, threshold)
    for column, name in enumerate(("far", "frr", "precision", "recall")):
        np.testing.assert_allclose(fast[name], slow[:, column], rtol=1e-9, equal_nan=True)


def test_intervals_contain_the_estimate_and_shrink_as_people_are_added() -> None:
    widths = []
    for count in (12, 60, 300):
        names, photo_person, first, second, same, distances = synthetic_people(count, seed=1)
        pairs = people.PeoplePairs.from_pairs(names, photo_person, first, second, same, distances)
        intervals = {r.name: r for r in pairs.intervals(0.45, resamples=400).rates}
        for rate in intervals.values():
            assert rate.errors > 0, rate  # 0.45 leaves errors of every kind to resample
            low, high = rate.bootstrap
            assert low <= rate.value <= high, rate
            assert rate.pairs[0] <= rate.value <= rate.pairs[1], rate
        widths.append(np.diff(intervals["frr"].bootstrap)[0])
    assert widths[0] > widths[1] > widths[2]


def test_resampling_people_is_wider_than_counting_pairs_on_the_shared_set(
    shared_study: evaluation.PairStudy,
) -> None:
    # At 0.1 the demo set has 35 false accepts out of 1,690, but from a few people only.
    intervals = {r.name: r for r in shared_study.intervals(0.1).rates}
    far = intervals["far"]
    assert far.count == shared_study.analysis.at(0.1).fp
    assert far.bootstrap[0] <= far.value <= far.bootstrap[1]
    assert np.diff(far.bootstrap)[0] > 2 * np.diff(far.pairs)[0]


def test_no_errors_gives_the_same_exact_bound_everywhere(
    shared_study: evaluation.PairStudy,
) -> None:
    threshold = float(shared_study.distances[~shared_study.same].min()) * 0.99
    far = shared_study.intervals(threshold)["far"]
    assert far.count == 0 and far.trials == 1690
    assert far.pairs == (0.0, people.zero_error_bound(1690))
    assert math.isnan(far.bootstrap[0])  # no zero-width interval from resampling no errors
    assert far.sentence.startswith(
        "FAR 0.00% (0 of 1,690 different-person pairs): no false accepts, so FAR is below 0.18%"
    )
    assert "cannot see beyond the errors observed" in far.sentence


def test_recall_interval_is_one_minus_the_frr_interval(
    shared_study: evaluation.PairStudy,
) -> None:
    # The walk saw FRR "below 2.14 %", recall "100.00 %–100.00 %" and Wilson's 2.67 % at
    # once. With no false reject, recall's bound is FRR's, mirrored; with some, the same.
    no_rejects = float(shared_study.distances[shared_study.same].max())
    some_rejects = float(np.median(shared_study.distances[shared_study.same]))
    for threshold in (no_rejects, some_rejects):
        intervals = shared_study.intervals(threshold)
        frr, recall = intervals["frr"], intervals["recall"]
        assert recall.value == pytest.approx(1 - frr.value)
        assert recall.pairs == pytest.approx((1 - frr.pairs[1], 1 - frr.pairs[0]))
        assert recall.bootstrap == pytest.approx(
            (1 - frr.bootstrap[1], 1 - frr.bootstrap[0]), nan_ok=True
        )
    assert frr.errors > 0 and not math.isnan(recall.bootstrap[0])
    none = shared_study.intervals(no_rejects)
    assert none["frr"].pairs[1] == pytest.approx(people.zero_error_bound(140))
    assert "Recall is above 97.88%" in none["recall"].sentence
    assert "FRR is below 2.12%" in none["frr"].sentence


def test_errors_per_person_add_up_to_the_confusion_matrix(
    shared_study: evaluation.PairStudy,
) -> None:
    threshold = 0.1
    table = shared_study.per_identity(threshold)
    metrics = shared_study.analysis.at(threshold)
    assert table["false_rejects"].sum() == metrics.fn
    assert table["false_accepts"].sum() == 2 * metrics.fp  # each counts for both people
    assert table["errors"].is_monotonic_decreasing
    pairs = shared_study.pairs_frame(threshold)
    wrong = pairs[~pairs.correct]
    for row in table.head(3).itertuples():
        involved = wrong[(wrong.identity_x == row.identity) | (wrong.identity_y == row.identity)]
        assert row.errors == len(involved)
        assert row.photos == int(np.sum(shared_study.identities == row.identity))


def test_the_wrong_pairs_of_a_few_people_are_counted_once_each(
    shared_study: evaluation.PairStudy,
) -> None:
    threshold = 0.1
    few = shared_study.per_identity(threshold).identity.head(3)
    involving, wrong = shared_study.by_person.wrong_pairs_involving(threshold, few)
    pairs = shared_study.pairs_frame(threshold)
    errors = pairs[~pairs.correct]
    metrics = shared_study.analysis.at(threshold)
    assert wrong == len(errors) == metrics.fn + metrics.fp
    assert involving == int((errors.identity_x.isin(few) | errors.identity_y.isin(few)).sum())
    assert 0 < involving <= wrong


def test_a_pairs_csv_cannot_be_resampled_by_person(shared_study: evaluation.PairStudy) -> None:
    anonymous = evaluation.PairStudy(
        **{
            **{f: getattr(shared_study, f) for f in ("name", "engine_label", "analysis")},
            **{f: getattr(shared_study, f) for f in ("files", "first", "second", "same")},
            "identities": np.full(len(shared_study.files), ""),
            "distances": shared_study.distances,
        }
    )
    with pytest.raises(DatasetError, match="who is in each photo"):
        anonymous.intervals(0.07)


def test_every_pair_of_people_is_listed_once() -> None:
    first = np.array([0, 0, 2, 1, 0])
    second = np.array([1, 1, 3, 2, 1])
    low, high, counts = people._person_pairs(first, second)
    assert list(zip(low, high, counts, strict=True)) == [(0, 1, 3), (1, 2, 1), (2, 3, 1)]
