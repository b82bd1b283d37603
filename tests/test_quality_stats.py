"""facedemo.quality and its figures: the EDC against a sort-discard-recount reference, group
rates against counts by hand, the attributes table's errors in words."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from facedemo import plots, quality, thresholds
from facedemo.datasets import load_attributes_csv
from facedemo.datasets.attributes import MAX_ATTRIBUTE_COLUMNS, MAX_LABEL_CHARS
from facedemo.errors import DatasetError, SettingError
from facedemo.people import PeoplePairs


def synthetic_study(people: int = 30, seed: int = 0):
    """People with 1-5 photos, every pair, overlapping distances, integer qualities (ties)
    with a few unmeasured (NaN); low quality makes same-person pairs look further apart."""
    rng = np.random.default_rng(seed)
    photo_person = np.repeat(np.arange(people), rng.integers(1, 6, size=people))
    photo_quality = rng.integers(0, 8, size=photo_person.size).astype(np.float64)
    photo_quality[rng.random(photo_person.size) < 0.05] = np.nan
    first, second = np.triu_indices(photo_person.size, k=1)
    same = photo_person[first] == photo_person[second]
    worse = np.fmin(photo_quality[first], photo_quality[second])
    shift = 0.04 * (7 - np.nan_to_num(worse, nan=0.0))
    distances = np.where(
        same, rng.normal(0.3, 0.08, same.size) + shift, rng.normal(0.6, 0.08, same.size)
    )
    return photo_person, photo_quality, first, second, same, distances.astype(np.float32)


@pytest.fixture(scope="module")
def study():
    return synthetic_study()


def reference_edc(quality_of_pairs, is_error):
    """Sort by pair quality, discard everything below each distinct quality, recount."""
    order = np.argsort(quality_of_pairs, kind="stable")
    ordered, errors = quality_of_pairs[order], is_error[order]
    fractions, rates = [], []
    for level in np.unique(ordered):  # -inf (unmeasured) first
        kept = ordered >= level
        fractions.append(1 - kept.mean())
        rates.append(errors[kept].mean())
    return np.array(fractions), np.array(rates)


def test_edc_points_equal_the_sort_discard_recount_reference(study) -> None:
    _photo_person, photo_quality, first, second, same, distances = study
    threshold = 0.45
    curves = quality.edc(distances, same, first, second, photo_quality, threshold, resamples=0)
    oriented = np.where(np.isnan(photo_quality), -np.inf, photo_quality)  # unmeasured: lowest
    pair_quality = np.minimum(oriented[first], oriented[second])
    accepted = distances <= np.float32(threshold)
    for curve, rows, errors in (
        (curves.fnmr, same, ~accepted),
        (curves.fmr, ~same, accepted),
    ):
        fractions, rates = reference_edc(pair_quality[rows], errors[rows])
        assert len(curve.discard_fractions) == len(np.unique(pair_quality[rows])) > 5
        np.testing.assert_allclose(curve.discard_fractions, fractions, rtol=0, atol=1e-12)
        np.testing.assert_allclose(curve.error_rates, rates, rtol=0, atol=1e-12)
    assert curves.unmeasured == int(np.isneginf(pair_quality).sum()) > 0


def test_figures_of_merit_follow_their_definitions(study) -> None:
    _photo_person, photo_quality, first, second, same, distances = study
    curve = quality.edc(distances, same, first, second, photo_quality, 0.45, resamples=0).fnmr
    x, y = curve.discard_fractions, curve.error_rates
    assert curve.start > 0
    halved = np.flatnonzero(y <= curve.start / 2)
    assert curve.halving_fraction() == pytest.approx(x[halved[0]])
    # the reference's compute_edc_pauc, step by step
    area, limit = 0.0, 0.2
    for i in range(len(x)):
        if i == len(x) - 1 or x[i + 1] >= limit:
            area += y[i] * (limit - x[i])
            break
        area += y[i] * (x[i + 1] - x[i])
    assert curve.partial_area(limit) == pytest.approx(area)
    # the perfect measure discards only errors: max(E - k, 0) / (N - k)
    errors, pairs = int(curve.error_counts[0]), curve.pairs
    counts = np.arange(pairs)
    exact = np.maximum(errors - counts, 0) / (pairs - counts)
    np.testing.assert_allclose(curve.ideal(counts / pairs), exact, atol=1e-12)
    grid = np.linspace(0, limit, 200_001)
    assert curve.ideal_partial_area(limit) == pytest.approx(
        np.trapezoid(curve.ideal(grid), grid), rel=1e-6
    )
    assert curve.partial_area(limit) >= curve.ideal_partial_area(limit)


@pytest.mark.parametrize("threshold", [0.3, 0.45, 0.6])
def test_zero_discard_is_the_explorers_frr_and_far(study, threshold) -> None:
    _photo_person, photo_quality, first, second, same, distances = study
    for limit in (threshold, float(distances[7]), float(distances[7]) + 1e-9):
        curves = quality.edc(distances, same, first, second, photo_quality, limit, resamples=0)
        explorer = thresholds.analyse(distances, same).at(limit)
        assert curves.fnmr.error_rates[0] == explorer.frr
        assert curves.fmr.error_rates[0] == explorer.far
        assert curves.at_zero == explorer


def test_bands_resample_people_as_the_explorer_does(study) -> None:
    photo_person, photo_quality, first, second, same, distances = study
    threshold = 0.45
    curves = quality.edc(
        distances, same, first, second, photo_quality, threshold, photo_person, seed=3
    )
    by_people = PeoplePairs.from_pairs(
        np.arange(photo_person.max() + 1).astype(str), photo_person, first, second, same, distances
    ).intervals(threshold, seed=3)
    assert curves.fnmr.band_fractions[0] == 0
    assert (curves.fnmr.band_low[0], curves.fnmr.band_high[0]) == pytest.approx(
        by_people["frr"].bootstrap
    )
    assert (curves.fmr.band_low[0], curves.fmr.band_high[0]) == pytest.approx(
        by_people["far"].bootstrap
    )
    for curve in (curves.fnmr, curves.fmr):
        at = np.searchsorted(curve.discard_fractions, curve.band_fractions)
        assert np.array_equal(curve.discard_fractions[at], curve.band_fractions)
        shown = ~np.isnan(curve.band_low)
        rates = curve.error_rates[at][shown]
        assert (curve.band_low[shown] <= rates + 1e-12).all()
        assert (rates <= curve.band_high[shown] + 1e-12).all()
        assert curve.resamples == 1000
    again = quality.edc(
        distances, same, first, second, photo_quality, threshold, photo_person, seed=3
    )
    assert np.array_equal(again.fmr.band_high, curves.fmr.band_high)
    json.dumps(curves.as_dict(), allow_nan=False)


def test_culprits_are_the_worse_photos_of_the_wrong_pairs(study) -> None:
    photo_person, photo_quality, first, second, same, distances = study
    threshold = 0.45
    found = quality.quality_study(
        distances, same, first, second, photo_quality, photo_person
    ).culprits(threshold, limit=1000)
    accepted = distances <= np.float32(threshold)
    oriented = np.where(np.isnan(photo_quality), -np.inf, photo_quality)
    worse = np.where(oriented[second] < oriented[first], second, first)
    expected = {}
    for pair in np.flatnonzero(same != accepted):
        fnm, fm = expected.get(int(worse[pair]), (0, 0))
        expected[int(worse[pair])] = (fnm + bool(same[pair]), fm + (not same[pair]))
    assert {c.photo: (c.false_non_matches, c.false_matches) for c in found} == expected
    order = [oriented[c.photo] for c in found]
    assert order == sorted(order)  # the lowest quality first
    assert math.isnan(found[0].quality)  # unmeasured photos are the lowest of all


def test_a_measure_where_lower_is_better_is_turned_round(study) -> None:
    _photo_person, photo_quality, first, second, same, distances = study
    upright = quality.edc(distances, same, first, second, photo_quality, 0.45, resamples=0)
    turned = quality.edc(
        distances, same, first, second, -photo_quality, 0.45, resamples=0, higher_is_better=False
    )
    np.testing.assert_array_equal(upright.fnmr.error_rates, turned.fnmr.error_rates)


def test_edc_refuses_what_it_cannot_use(study) -> None:
    _photo_person, photo_quality, first, second, same, distances = study
    with pytest.raises(DatasetError, match="one value for every photo"):
        quality.edc(distances, same, first, second, photo_quality[:3], 0.4)
    with pytest.raises(DatasetError, match="at least one same-person"):
        quality.edc(distances[~same], same[~same], first[~same], second[~same], photo_quality, 0.4)
    with pytest.raises(SettingError, match="discard limit"):
        quality.edc(distances, same, first, second, photo_quality, 0.4, discard_limit=0)
    with pytest.raises(SettingError, match="must be a number"):
        quality.edc(distances, same, first, second, photo_quality, math.nan)


def camera_of(photo_person):
    """A synthetic attribute: camera A for even person numbers, B for odd, C for every fifth."""
    person_camera = np.array(["C" if p % 5 == 0 else "AB"[p % 2] for p in range(200)], dtype=object)
    return person_camera[photo_person]


def test_group_counts_add_up_to_the_study(study) -> None:
    photo_person, _photo_quality, first, second, same, distances = study
    threshold = 0.45
    labels = camera_of(photo_person)
    labels[photo_person == 1] = None  # one person without a label
    report = quality.group_report(
        labels, photo_person, first, second, same, distances, threshold, "camera", resamples=200
    )
    assert [g.value for g in report.groups] == ["A", "B", "C"]
    cross = report.cross
    within = np.diag(cross.pairs)
    assert [g.negatives for g in report.groups] == within.tolist()
    upper = np.triu(cross.pairs).sum()
    assert upper + cross.unlabelled_pairs == (~same).sum()
    assert cross.global_fmr == thresholds.analyse(distances, same).at(threshold).far
    accepted = distances <= np.float32(threshold)
    for group in report.groups:
        inside = (labels[first] == group.value) & (labels[second] == group.value)
        assert group.positives == (inside & same).sum()
        assert group.fnmr.errors == (inside & same & ~accepted).sum()
        assert group.fmr.errors == (inside & ~same & accepted).sum()
        assert group.people == len(set(photo_person[labels == group.value]))
    a, b = (
        (labels[first] == "A") & (labels[second] == "B"),
        (labels[first] == "B") & (labels[second] == "A"),
    )
    assert cross.pairs[0, 1] == cross.pairs[1, 0] == ((a | b) & ~same).sum()
    assert cross.false_matches[0, 1] == ((a | b) & ~same & accepted).sum()
    assert report.unlabelled_same_pairs == (same & (photo_person[first] == 1)).sum()
    assert not report.per_photo and report.mixed_same_pairs == 0
    json.dumps(report.as_dict(), allow_nan=False)


def test_group_intervals_contain_their_estimates(study) -> None:
    photo_person, _photo_quality, first, second, same, distances = study
    report = quality.group_report(
        camera_of(photo_person), photo_person, first, second, same, distances, 0.45, "camera"
    )
    for group in report.groups:
        for rate in (group.fmr, group.fnmr):
            low, high = rate.pairs
            assert low <= rate.value <= high
            if not math.isnan(rate.bootstrap[0]):
                assert rate.bootstrap[0] <= rate.value <= rate.bootstrap[1]


def test_ratios_and_fdr_match_a_hand_computation() -> None:
    # FMR 0.01, 0.02, 0.04; FNMR 0.10, 0.05, 0.20
    summary = quality.differentials([0.01, 0.02, 0.04], [0.10, 0.05, 0.20], ["a", "b", "c"])
    assert summary.max_min_ratio_fmr == pytest.approx(4.0)
    assert summary.max_min_ratio_fnmr == pytest.approx(4.0)
    assert summary.fmr_gap == pytest.approx(0.03)
    assert summary.fnmr_gap == pytest.approx(0.15)
    assert summary.fdr == pytest.approx(1 - (0.5 * 0.03 + 0.5 * 0.15))
    weighted = quality.differentials([0.01, 0.02, 0.04], [0.10, 0.05, 0.20], "abc", alpha=0.8)
    assert weighted.fdr == pytest.approx(1 - (0.8 * 0.03 + 0.2 * 0.15))
    assert math.isinf(quality.differentials([0, 0.1], [0.1, 0.1], "ab").max_min_ratio_fmr)
    assert math.isnan(quality.differentials([0.1], [0.1], "a").fdr)


def test_a_small_table_by_hand() -> None:
    # four people, two photos each; people 0, 1 in group X, 2, 3 in group Y
    photo_person = np.repeat(np.arange(4), 2)
    first, second = np.triu_indices(8, k=1)
    same = photo_person[first] == photo_person[second]
    distances = np.full(first.size, 0.9, dtype=np.float32)
    distances[same] = 0.1
    distances[np.flatnonzero(same)[0]] = 0.8  # person 0's pair rejected: FNMR X = 1/2
    x_pairs = np.flatnonzero((photo_person[first] < 2) & (photo_person[second] < 2) & ~same)
    distances[x_pairs[0]] = 0.2  # one of X's 4 different-person pairs accepted: FMR 1/4
    labels = np.where(photo_person < 2, "X", "Y").astype(object)
    report = quality.group_report(
        labels, photo_person, first, second, same, distances, 0.5, "site",
        min_people=2, min_same_pairs=2, min_different_pairs=4,
    )  # fmt: skip
    x, y = report["X"], report["Y"]
    assert (x.positives, x.negatives, x.people) == (2, 4, 2)
    assert (x.fnmr.value, x.fmr.value, y.fnmr.value, y.fmr.value) == (0.5, 0.25, 0.0, 0.0)
    assert report.cross.pairs.tolist() == [[4, 16], [16, 4]]
    assert report.cross.global_fmr == 1 / 24
    assert report.cross.log10_relative[0, 0] == pytest.approx(math.log10(0.25 * 24))
    assert math.isnan(report.cross.log10_relative[1, 1])
    assert report.differentials.fdr == pytest.approx(1 - (0.5 * 0.25 + 0.5 * 0.5))
    assert math.isinf(report.differentials.max_min_ratio_fmr)
    small = quality.group_report(labels, photo_person, first, second, same, distances, 0.5)
    assert "too few to say anything" in small["X"].warning
    assert small.differentials.compared == ()
    assert "Fewer than two groups" in small.differentials.sentence


def test_quality_bands_per_photo_and_per_person(study) -> None:
    photo_person, photo_quality, first, second, same, distances = study
    bands = quality.quality_bands(photo_quality, ("small", "medium", "large"))
    assert set(bands[~np.isnan(photo_quality)]) == {"small", "medium", "large"}
    assert (bands[np.isnan(photo_quality)] == None).all()  # noqa: E711
    for low, high in (("small", "medium"), ("medium", "large")):
        assert np.nanmax(photo_quality[bands == low]) < np.nanmin(photo_quality[bands == high])
    report = quality.group_report(
        bands, photo_person, first, second, same, distances, 0.45, "face size",
        values=("small", "medium", "large"), resamples=100,
    )  # fmt: skip
    assert [g.value for g in report.groups] == ["small", "medium", "large"]
    assert report.per_photo
    code = {"small": 0, "medium": 1, "large": 2}
    a = np.array([code.get(b, -1) for b in bands[first]])
    b = np.array([code.get(b, -1) for b in bands[second]])
    crossing = same & (a >= 0) & (b >= 0) & (a != b)
    assert report.mixed_same_pairs == crossing.sum() > 0
    assert (
        sum(g.positives for g in report.groups) + crossing.sum() + (report.unlabelled_same_pairs)
        == same.sum()
    )
    per_person = quality.quality_bands(photo_quality, photo_person=photo_person)
    for person in np.unique(photo_person):
        assert len(set(per_person[photo_person == person])) == 1


def test_figures_and_captions(study) -> None:
    photo_person, photo_quality, first, second, same, distances = study
    curves = quality.edc(
        distances, same, first, second, photo_quality, 0.45, photo_person, "face size",
        resamples=100,
    )  # fmt: skip
    figure = plots.edc_figure(curves)
    names = {trace.name for trace in figure.data}
    assert {"FNMR-EDC", "FMR-EDC", "FNMR perfect measure", "FNMR halved"} <= names
    assert any("20% limit" in a.text for a in figure.layout.annotations)
    caption = plots.edc_caption(curves)
    assert caption.count(". ") + 1 == 2 and "face size" in caption
    report = quality.group_report(
        camera_of(photo_person), photo_person, first, second, same, distances, 0.45, "camera",
        resamples=100,
    )  # fmt: skip
    heat = plots.cross_group_figure(report.cross, "camera")
    assert heat.data[0].zmid == 0 and list(heat.data[0].x) == ["A", "B", "C"]
    text = plots.cross_group_caption(report.cross, report.differentials)
    assert "ratio of 3" in text and text.count(". ") + 1 == 2


def write(tmp_path, text: str | bytes):
    path = tmp_path / "attributes.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_attributes_table_reads_labels_and_notes(tmp_path) -> None:
    path = write(tmp_path, "Identity,camera,site\nann,A,north\nbob,B,\nzed,A,south\n")
    table = load_attributes_csv(path, known_identities=["ann", "bob", "cid"])
    assert table.columns == ("camera", "site")
    assert table.labels["camera"] == {"ann": "A", "bob": "B"}
    assert table.labels["site"] == {"ann": "north"}  # an empty cell: no label
    assert table.values("camera") == ("A", "B")
    assert table.notes == (
        "1 identity in attributes.csv is not in the data set (zed); its rows are ignored.",
        "1 identity of the data set has no row in attributes.csv (cid) and is left out of "
        "the groups.",
    )
    labels = table.photo_labels("camera", ["ann", "bob", "cid"], [0, 0, 1, 2])
    assert labels.tolist() == ["A", "A", "B", None]
    assert load_attributes_csv(path.read_bytes()).identities == ("ann", "bob", "zed")
    with pytest.raises(DatasetError, match="does not exist"):
        load_attributes_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        ("", "attributes.csv is empty"),
        ("name,camera\nann,A\n", "needs an 'identity' column"),
        ("identity\nann\n", "has only the identity column"),
        ("identity,camera\n", "has a header but no rows"),
        (
            "identity," + ",".join(f"c{i}" for i in range(MAX_ATTRIBUTE_COLUMNS + 1)) + "\n",
            f"has {MAX_ATTRIBUTE_COLUMNS + 1} label columns",
        ),
        (f"identity,camera\nann,{'x' * (MAX_LABEL_CHARS + 1)}\n", "longer than 64 characters"),
        (b"identity,camera\nann,\xe9\n", "is not UTF-8 text"),
        ("identity,camera\n,A\n", "Line 2 of attributes.csv has no identity"),
        ("identity,camera\nann,A\nann,B\n", "gives ann two different rows"),
    ],
)
def test_attributes_table_errors_are_sentences(tmp_path, content, sentence) -> None:
    with pytest.raises(DatasetError, match=sentence):
        load_attributes_csv(write(tmp_path, content))


def test_bands_hold_when_the_last_person_makes_no_error() -> None:
    """The people-resampling bands once failed ("dimension mismatch") whenever the
    highest-numbered person had no false non-match: the one error here is person 0's."""
    photo_person = np.array([0, 0, 1, 1, 2, 2])
    first, second = np.triu_indices(6, k=1)
    same = photo_person[first] == photo_person[second]
    distances = np.where(same, 0.2, 0.9).astype(np.float32)
    distances[(first == 0) & (second == 1)] = 0.8  # person 0's pair is the only error
    found = quality.edc(distances, same, first, second, np.arange(6.0), 0.5, photo_person)
    assert found.fnmr.start == pytest.approx(1 / 3)
    assert np.nanmin(found.fnmr.band_low) <= found.fnmr.start <= np.nanmax(found.fnmr.band_high)
