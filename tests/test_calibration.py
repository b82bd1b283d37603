"""P(same person): out of fold, stated prior, saved per engine; scores read either way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from facedemo import calibration, datasets, evaluation
from facedemo.__main__ import main
from facedemo.errors import DatasetError, SettingError


def test_platt_on_the_shared_set_is_far_better_than_the_prior(
    shared_study: evaluation.PairStudy,
) -> None:
    fitted = shared_study.calibration
    assert fitted.method == "platt"  # 140 same-person pairs: too few for isotonic
    assert fitted.pairs == 1830 and fitted.folds == 5
    assert fitted.brier < fitted.brier_of_prior / 10
    assert sum(b.pairs for b in fitted.reliability) == 1830
    probability = fitted.probability(np.linspace(0.0, 0.3, 31), prior=0.5)
    assert np.all(np.diff(probability) < 0)  # farther apart, less likely one person
    assert probability[0] > 0.99 and probability[-1] < 0.01


def test_the_prior_moves_the_odds_and_nothing_else(shared_study: evaluation.PairStudy) -> None:
    fitted = shared_study.calibration
    distances = np.array([0.05, 0.07, 0.09])
    at_study = fitted.probability(distances)
    at_half = fitted.probability(distances, prior=0.5)
    odds = lambda p: p / (1 - p)  # noqa: E731
    prior_odds = odds(0.5) / odds(fitted.study_prior)
    np.testing.assert_allclose(odds(at_half) / odds(at_study), prior_odds, rtol=1e-9)
    with pytest.raises(SettingError, match="between 0 and 1"):
        fitted.probability(distances, prior=1.0)


def test_out_of_fold_brier_does_not_reward_fitting_noise() -> None:
    # Distances that say nothing about the labels: an isotonic fit on all pairs "learns"
    # the noise (its in-sample Brier beats the prior's); out of fold it cannot.
    rng = np.random.default_rng(1)
    same = rng.random(300) < 0.3
    distances = rng.random(300)
    fitted = calibration.fit(distances, same, method="isotonic")
    predict, *_ = calibration._fitted("isotonic", distances, same)
    in_sample = np.mean((predict(distances) - same) ** 2)
    assert in_sample < fitted.brier_of_prior < fitted.brier


def test_pairs_are_predicted_by_fits_that_never_saw_their_first_person() -> None:
    rng = np.random.default_rng(1)
    first_person, second_person = rng.integers(0, 20, 500), rng.integers(0, 20, 500)
    rows = np.arange(500)
    first_fold, second_fold, folds = calibration._folds_of_pairs(
        rows, first_person, second_person, 5, seed=0
    )
    assert folds == 5
    for fold in range(folds):
        tested_people = set(first_person[first_fold == fold])
        train = (first_fold != fold) & (second_fold != fold)
        seen = set(first_person[train]) | set(second_person[train])
        assert tested_people and not tested_people & seen


def test_isotonic_when_pairs_are_plentiful_and_saved_per_engine(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    same = np.repeat([True, False], [800, 3000])
    distances = np.where(same, rng.normal(0.3, 0.1, same.size), rng.normal(0.7, 0.1, same.size))
    fitted = calibration.fit(distances, same, engine="test engine", dataset="synthetic")
    assert fitted.method == "isotonic"
    assert fitted.brier < fitted.brier_of_prior / 5
    assert calibration.load("test engine") is None
    calibration.save(fitted)
    loaded = calibration.load("test engine")
    assert loaded == fitted
    np.testing.assert_array_equal(loaded.probability([0.2, 0.5]), fitted.probability([0.2, 0.5]))
    assert 0 < fitted.probability(0.0) < 1  # never a certainty
    assert fitted.describe(0.5) == "calibrated on synthetic (isotonic, 3,800 pairs), prior 50%"


def similarity_table(shared_study: evaluation.PairStudy) -> datasets.PairsTable:
    """The shared study's pairs as a CSV of cosine similarities (higher: same person)."""
    frame = shared_study.pairs_frame(0.07)
    csv = pd.DataFrame(
        {
            "file_x": frame.file_x,
            "file_y": frame.file_y,
            "decision": np.where(frame.same_person, "Yes", "No"),
            "similarity": 1 - frame.distance,
        }
    ).to_csv(index=False)
    return datasets.load_pairs_csv(csv.encode())


def test_lfw_proportions_calibrate_past_the_sample_cap() -> None:
    """LFW's 300,714 same-person pairs beside 100,000 sampled others: more pairs than the fit
    takes, with fewer others than its sample of them would want."""
    rng = np.random.default_rng(0)
    same = np.arange(400_714) < 300_714
    distances = np.where(same, rng.normal(0.3, 0.1, len(same)), rng.normal(0.7, 0.1, len(same)))
    fitted = calibration.fit(distances, same)
    assert fitted.pairs == 400_714 and fitted.method == "isotonic"
    assert fitted.brier < fitted.brier_of_prior / 10


def test_similarity_scores_are_detected_and_read_the_right_way(
    shared_study: evaluation.PairStudy,
) -> None:
    table = similarity_table(shared_study)
    study = evaluation.study_pairs_table(table, "similarity")
    assert study.score_note.startswith("higher means same person (detected")
    assert study.curves[0].auc == pytest.approx(shared_study.curves[0].auc, abs=1e-6)
    assert study.engine_label == "precomputed · 1 − similarity"
    backwards = evaluation.study_pairs_table(table, "similarity", scores="lower")
    assert backwards.score_note == "lower means same person (as chosen)"
    assert backwards.curves[0].auc < 0.01  # chosen wrongly: the page shows it, loudly
    with pytest.raises(DatasetError, match="'lower' or 'higher'"):
        evaluation.study_pairs_table(table, "similarity", scores="sideways")


def test_thresholds_cli_similarity_csv_with_prior(
    shared_study: evaluation.PairStudy, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "similarities.csv"
    frame = shared_study.pairs_frame(0.07)
    pd.DataFrame(
        {
            "file_x": frame.file_x,
            "file_y": frame.file_y,
            "decision": np.where(frame.same_person, "Yes", "No"),
            "similarity": 1 - frame.distance,
        }
    ).to_csv(path, index=False)
    assert main(["thresholds", str(path), "--scores", "higher", "--prior", "0.5", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["scores"] == "higher means same person (as chosen)"
    assert answer["auc"] > 0.999
    assert answer["calibration"]["prior"] == 0.5
    eer_rule = next(s for s in answer["suggestions"] if s["name"] == "eer")
    assert answer["eer_threshold"] == eer_rule["threshold"]  # one EER for similarities too
    assert (
        answer["eer_threshold"]
        == evaluation.study_pairs_table(
            similarity_table(shared_study), "similarity", "higher"
        ).eer.threshold
    )
    assert answer["intervals"] is None and answer["per_identity"] is None  # no people known


def test_a_probability_never_reads_as_a_certainty() -> None:
    assert calibration.probability_text(0.97312) == "97.3%"
    assert calibration.probability_text(0.99998) == "> 99.9%"
    assert calibration.probability_text(2e-9) == "< 0.1%"


def test_two_people_calibrate_but_cannot_be_judged_out_of_fold() -> None:
    # Found through the CLI on a two-person folder: no fold keeps a person unseen, and the
    # Brier score of no pair raised ValueError.
    # Ann's two photos, Bob's two photos: two same-person pairs, four between them.
    same = np.array([True, True, False, False, False, False])
    fitted = calibration.fit(
        [0.1, 0.2, 0.8, 0.7, 0.9, 0.6], same, [0, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1]
    )
    assert fitted.brier is None and "could not be judged out of fold" in fitted.judged()
    assert float(fitted.probability(0.1)) > float(fitted.probability(0.9))


def test_a_rare_share_still_starts_the_prior_slider_inside_its_range() -> None:
    # 300 students × 2 photos: 0.17 % same-person pairs rounded to a prior of 0 (refused).
    assert calibration.slider_prior(0.0017) == calibration.PRIOR_RANGE[0]
    assert calibration.slider_prior(0.9996) == calibration.PRIOR_RANGE[1]
    assert calibration.slider_prior(0.0765) == 0.08


def test_a_study_too_small_to_calibrate_says_so_everywhere(tmp_path: Path, capsys) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "file_x,file_y,decision,distance\na,b,Yes,0.1\na,c,No,0.8\nb,c,No,0.7\nc,d,No,0.9\n"
    )
    study = evaluation.study_pairs_table(datasets.load_pairs_csv(path), "distance")
    assert "at least two same-person" in study.calibration_or_why
    assert main(["thresholds", str(path), "--json"]) == 0  # the rest of the study stands
    answer = json.loads(capsys.readouterr().out)
    assert answer["calibration"] is None and "at least two" in answer["calibration_note"]
    assert main(["thresholds", str(path)]) == 0
    assert "P(same) calibration: none." in capsys.readouterr().out
