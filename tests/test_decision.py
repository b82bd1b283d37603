"""One decision rule: the verdict, P(same), even odds and the prior, the same on every screen."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facedemo import calibration, decision, evaluation, faces
from facedemo.__main__ import main

LABEL = faces.DEFAULT_ENGINE.label


@pytest.fixture
def calibrated(shared_study: evaluation.PairStudy) -> calibration.Calibration:
    """The shared study's calibration saved as the default engine's (as the explorer does)."""
    shared_study.keep_calibration()
    return calibration.load(LABEL)


@pytest.mark.parametrize("prior", [0.5, 0.1, 0.9])
def test_even_odds_is_where_p_same_is_one_half(calibrated, prior: float) -> None:
    even = calibrated.even_odds_distance(prior)
    assert float(calibrated.probability(even, prior)) == pytest.approx(0.5, abs=1e-9)
    assert float(calibrated.probability(even - 0.005, prior)) > 0.5
    assert float(calibrated.probability(even + 0.005, prior)) < 0.5


def test_a_rarer_same_person_moves_even_odds_closer(calibrated) -> None:
    assert calibrated.even_odds_distance(0.1) < calibrated.even_odds_distance(0.9)


def test_isotonic_even_odds_is_where_its_probability_crosses_one_half() -> None:
    rng = np.random.default_rng(2)
    same = np.repeat([True, False], [800, 3000])
    distances = np.where(same, rng.normal(0.3, 0.1, same.size), rng.normal(0.7, 0.1, same.size))
    fitted = calibration.fit(distances, same)
    assert fitted.method == "isotonic"
    even = fitted.even_odds_distance(0.5)
    assert 0.4 < even < 0.6
    assert float(fitted.probability(even, 0.5)) == pytest.approx(0.5, abs=1e-6)
    # Review: at a prior of 0.99 the crossing lies where a knot was clipped to its floor.
    rare = np.repeat([True, False], [1500, 20_000])
    spread = np.where(rare, rng.normal(0.3, 0.1, rare.size), rng.normal(0.7, 0.1, rare.size))
    skewed = calibration.fit(spread, rare)
    for prior in (0.01, 0.5, 0.99):
        at = skewed.even_odds_distance(prior)
        if at is not None:
            assert float(skewed.probability(at, prior)) == pytest.approx(0.5, abs=1e-6), prior


def test_a_verdict_on_each_side_of_even_odds(calibrated) -> None:
    """The walk's pair: 'Different people' beside P(same) 85.5 %, with nothing saying why."""
    even = calibrated.even_odds_distance(0.5)
    threshold = even - 0.01  # stricter than even odds, as a low-FAR threshold is
    between = decision.decide(even - 0.005, threshold, False, LABEL, 0.5)
    assert between.p_same > 0.5 and not between.verified
    assert between.agrees is False
    assert "both are right" in between.conflict()
    assert f"{threshold:.4f}" in between.conflict()
    assert between.p_same_at_threshold > between.p_same > 0.5
    assert between.even_odds_distance == pytest.approx(even)

    close = decision.decide(threshold - 0.01, threshold, True, LABEL, 0.5)
    far = decision.decide(even + 0.01, threshold, False, LABEL, 0.5)
    assert close.agrees and far.agrees
    assert close.conflict() is None and far.conflict() is None

    lenient = decision.decide(even + 0.005, even + 0.01, True, LABEL, 0.5)
    assert lenient.p_same < 0.5 and lenient.agrees is False
    assert "more likely two people" in lenient.conflict()


def test_without_a_calibration_the_prior_has_nothing_to_act_on(tmp_path: Path) -> None:
    answer = decision.decide(0.05, 0.07, True, "an engine nobody studied", 0.3, 71.5)
    assert answer.p_same is None and answer.agrees is None and answer.conflict() is None
    assert (answer.label, answer.value) == ("DeepFace confidence", "71.5 %")
    assert "prior has nothing to act on" in answer.explanation()
    assert answer.as_dict()["calibration"] is None and answer.as_dict()["p_same"] is None


def test_the_cli_gives_the_pages_figures_from_the_same_calibration(
    calibrated, shared_images: Path, capsys
) -> None:
    pair = [str(shared_images / "img1.jpg"), str(shared_images / "img3.jpg")]
    assert main(["verify", *pair, "--json", "--prior", "0.2"]) == 0
    answer = json.loads(capsys.readouterr().out)
    expected = decision.decide(
        answer["distance"], answer["threshold"], answer["verified"], LABEL, 0.2
    )
    assert answer["p_same"] == pytest.approx(float(calibrated.probability(answer["distance"], 0.2)))
    assert answer["p_same"] == expected.p_same
    assert answer["even_odds_distance"] == pytest.approx(calibrated.even_odds_distance(0.2))
    assert answer["p_same_at_threshold"] == expected.p_same_at_threshold
    assert answer["prior"] == 0.2 and answer["calibration"]["dataset"] == "deepface-testset"
    with pytest.raises(SystemExit):
        main(["verify", *pair, "--prior", "1.5"])
    assert "strictly between 0 and 1" in capsys.readouterr().err


def test_identify_json_gives_p_same_per_candidate(
    calibrated, shared_data: Path, shared_images: Path, shared_gallery, capsys
) -> None:
    photo = str(shared_images / "img1.jpg")
    assert main(["identify", photo, str(shared_data), "--json", "--top", "3"]) == 0
    answer = json.loads(capsys.readouterr().out)
    for candidate in answer["candidates"]:
        assert candidate["p_same"] == pytest.approx(
            float(calibrated.probability(candidate["distance"], calibration.VERIFY_PRIOR))
        )
        assert candidate["agrees"] is not None
    assert answer["candidates"][0]["p_same"] > 0.5 > answer["candidates"][-1]["p_same"]
