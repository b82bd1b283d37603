"""Every pair of the shared set: counts, accuracy, suggestions, failures, CSV and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facedemo import datasets, evaluation, faces
from facedemo.__main__ import main

REPO = Path(__file__).resolve().parents[1]


def test_every_pair_of_the_shared_set(shared_study: evaluation.PairStudy) -> None:
    assert (shared_study.analysis.positives, shared_study.analysis.negatives) == (140, 1690)
    assert shared_study.failed_images == ()
    assert len(shared_study.distances) == 1830
    np.testing.assert_array_equal(
        shared_study.same,
        shared_study.identities[shared_study.first] == shared_study.identities[shared_study.second],
    )


def test_default_engine_is_as_accurate_as_measured(shared_study: evaluation.PairStudy) -> None:
    # Measured here: dlib chips give AUC 0.9999 and 99.9 % best accuracy on this set.
    assert shared_study.analysis.roc().auc > 0.999
    best = {s.name: s for s in shared_study.analysis.suggestions()}["max_accuracy"]
    assert best.metrics.accuracy > 0.995


def test_suggestions_reproduce_the_notebook_study(shared_study: evaluation.PairStudy) -> None:
    analysis = shared_study.analysis
    positive = shared_study.distances[shared_study.same].astype(np.float64)
    by_name = {s.name: s for s in analysis.suggestions()}
    for k in (1, 2, 3):
        expected = positive.mean() + k * positive.std()
        assert by_name[f"sigma{k}"].threshold == pytest.approx(expected, rel=1e-5)
    # Higher sigma: more same-person pairs accepted, never fewer.
    recalls = [by_name[f"sigma{k}"].metrics.recall for k in (1, 2, 3)]
    assert recalls == sorted(recalls)
    assert by_name["sigma2"].metrics.precision == 1.0


def test_misclassified_pairs_are_really_wrong(shared_study: evaluation.PairStudy) -> None:
    threshold = 0.05
    wrong = shared_study.misclassified(threshold, limit=1000)
    metrics = shared_study.analysis.at(threshold)
    assert len(wrong) == metrics.fp + metrics.fn > 0
    assert ((wrong.distance <= threshold) != wrong.same_person).all()
    assert list(wrong.margin) == sorted(wrong.margin, reverse=True)


def test_pairs_csv_export_round_trips(shared_study: evaluation.PairStudy, tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    shared_study.pairs_frame(0.07).to_csv(path, index=False)
    frame = pd.read_csv(path)
    assert len(frame) == 1830 and frame.same_person.sum() == 140
    assert (frame.decision_same == (frame.distance <= 0.07)).all()


def test_images_without_a_face_are_listed_not_dropped(shared_images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "people"
    for person, names in {"Angelina": ["img1.jpg", "img2.jpg"], "Jennifer": ["img3.jpg"]}.items():
        (folder / person).mkdir(parents=True)
        for name in names:
            (folder / person / name).symlink_to(shared_images / name)
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "Jennifer" / "noise.png")
    study = evaluation.study_dataset(datasets.load_identity_dataset(folder))
    assert [file for file, _ in study.failed_images] == ["Jennifer/noise.png"]
    assert "No face" in study.failed_images[0][1]
    assert (study.analysis.positives, study.analysis.negatives) == (1, 2)


def test_pivot_csv_study_reproduces_its_columns(shared_data: Path) -> None:
    raw = pd.read_csv(shared_data / "face-recognition-pivot.csv")
    table = datasets.load_pairs_csv(shared_data / "face-recognition-pivot.csv")
    study = evaluation.study_pairs_table(table, "Facenet_cosine")
    yes = raw.loc[raw.decision == "Yes", "Facenet_cosine"]
    assert study.analysis.positives == len(yes)
    assert study.analysis.positive_mean == pytest.approx(yes.mean(), rel=1e-5)


def three_people(shared_data: Path) -> datasets.IdentityDataset:
    """The shared set's first three people: too few to split for held-out thresholds."""
    full = datasets.load_identity_dataset(shared_data)
    keep = [i for i, who in enumerate(full.identities) if who in set(full.identity_names[:3])]
    return datasets.IdentityDataset(
        "three people",
        full.root,
        tuple(full.paths[i] for i in keep),
        tuple(full.identities[i] for i in keep),
    )


def test_a_set_too_small_to_split_is_still_studied(shared_data: Path) -> None:
    summary = evaluation.study_dataset(three_people(shared_data)).summary()
    assert summary["auc"] > 0.5 and summary["per_identity"]  # the in-sample study stands
    assert summary["heldout"] is None
    assert summary["heldout_note"].startswith("Held-out thresholds need at least 4 people")


def test_engines_compared_on_a_small_set(shared_data: Path) -> None:
    small = three_people(shared_data)
    engines = [faces.DEFAULT_ENGINE, faces.Engine(alignment="detector")]
    table = evaluation.compare_engines(small, engines)
    assert list(table.setting) == [engine.label for engine in engines]
    every = table.different_pairs[0]
    capped = evaluation.compare_engines(small, engines[:1], max_negatives=every // 2)
    assert (every, capped.different_pairs[0]) == (every, every // 2)  # the explorer's cap
    assert table.auc.between(0.5, 1.0).all() and table.best_accuracy.between(0.5, 1.0).all()
    assert table.auc[0] >= table.auc[1]  # dlib chips separate these people at least as well


def test_thresholds_cli_json(
    shared_study: evaluation.PairStudy, shared_data: Path, tmp_path, run_facedemo
) -> None:
    out = tmp_path / "pairs.csv"
    completed = run_facedemo("thresholds", str(shared_data), "--json", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert (answer["positives"], answer["negatives"]) == (140, 1690)
    assert answer["auc"] == pytest.approx(shared_study.analysis.roc().auc)
    assert 0 <= answer["eer"] < 0.02
    assert answer["failed_images"] == []
    names = {s["name"] for s in answer["suggestions"]}
    assert {"sigma1", "sigma2", "sigma3", "c45", "max_f1", "eer"} <= names
    for suggestion in answer["suggestions"]:
        assert {"threshold", "precision", "recall", "f1", "accuracy"} <= set(suggestion)
    assert len(pd.read_csv(out)) == 1830
    assert answer["embedded_now"] == 0  # the session's store was already warm
    points = {p["name"]: p for p in answer["operating_points"]}
    assert set(points) == {"FMR100", "FMR1000", "ZeroFMR", "ZeroFNMR"}
    assert points["ZeroFMR"]["fmr"] == 0 and points["ZeroFNMR"]["fnmr"] == 0
    assert points["FMR1000"]["resolvable"]  # 0.1 % of 1,690 pairs is 1.7 pairs: countable
    low, high = answer["eer_interval"]
    assert low <= high and answer["d_prime"] > 3  # well separated people
    eer_rule = next(s for s in answer["suggestions"] if s["name"] == "eer")
    assert answer["eer_threshold"] == eer_rule["threshold"]  # one EER everywhere
    assert sorted((eer_rule["far"], eer_rule["frr"])) == answer["eer_interval"]
    assert answer["eer"] == pytest.approx(sum(answer["eer_interval"]) / 2)
    held_out = {h["name"]: h for h in answer["heldout"]}
    assert set(held_out) == names
    share = 140 / 1830
    for rule in held_out.values():  # F1 and accuracy at the study's mix, from FAR and FRR
        assert rule["same_share"] == pytest.approx(share)
        assert rule["accuracy"] == pytest.approx(
            share * (1 - rule["frr"]) + (1 - share) * (1 - rule["far"])
        )
        accepted = share * (1 - rule["frr"]) + (1 - share) * rule["far"]
        if accepted:
            assert rule["precision"] == pytest.approx(share * (1 - rule["frr"]) / accepted)
    for rule in held_out.values():
        assert len(rule["thresholds"]) == 5  # 13 people: five folds
        assert rule["positives"] == 140  # every same-person pair is scored, once
        assert 0 < rule["negatives"] < 1690  # different people of one fold only
        assert 0 <= rule["far"] <= 1 and 0 <= rule["frr"] <= 1
        assert min(rule["thresholds"]) <= rule["threshold"] <= max(rule["thresholds"])
    max_f1 = next(s["threshold"] for s in answer["suggestions"] if s["name"] == "max_f1")
    intervals = answer["intervals"]
    assert answer["threshold"] == intervals["threshold"] == max_f1
    for rate in ("far", "frr", "precision", "recall"):
        low, high = intervals[rate]["pairs_interval"]
        assert low <= intervals[rate]["value"] <= high
        if intervals[rate]["errors"]:
            low, high = intervals[rate]["bootstrap_people"]
            assert low <= intervals[rate]["value"] <= high
        else:  # nothing to resample: said, not a zero-width interval
            assert intervals[rate]["bootstrap_people"] is None
    assert intervals["far"]["count"] == sum(
        not r.correct for r in pd.read_csv(out).itertuples() if not r.same_person
    )
    people = answer["per_identity"]
    assert (
        len(people) == 13 and sum(p["false_rejects"] for p in people) == intervals["frr"]["count"]
    )
    fitted = answer["calibration"]
    assert fitted["method"] == "platt" and fitted["prior"] == pytest.approx(140 / 1830)
    assert fitted["brier"] < fitted["brier_of_prior"]


def test_thresholds_cli_on_a_pairs_csv(shared_data: Path, capsys) -> None:
    pivot = str(shared_data / "face-recognition-pivot.csv")
    assert main(["thresholds", pivot, "--column", "VGG-Face_cosine", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["positives"], answer["negatives"]) == (140, 140)
    assert answer["heldout"] is None  # a pairs CSV does not say who is in each photo


def test_embed_cli_and_bad_dataset(shared_study, shared_data: Path, tmp_path: Path, capsys) -> None:
    assert main(["embed", str(shared_data)]) == 0
    assert "0 embedded now, 61 from the store" in capsys.readouterr().out
    assert main(["thresholds", str(tmp_path / "nowhere")]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_embed_cli_recompute_in_a_fresh_store(
    shared_images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("FACEDEMO_HOME", str(tmp_path / "home"))
    folder = tmp_path / "people"
    for person, name in [("Angelina", "img1.jpg"), ("Angelina", "img2.jpg"), ("Jen", "img3.jpg")]:
        (folder / person).mkdir(parents=True, exist_ok=True)
        (folder / person / name).symlink_to(shared_images / name)
    assert main(["embed", str(folder)]) == 0
    first = capsys.readouterr().out
    assert "3 embedded now, 0 from the store" in first and "holds 3 embeddings" in first
    assert main(["embed", str(folder)]) == 0
    assert "0 embedded now, 3 from the store" in capsys.readouterr().out
    assert main(["embed", str(folder), "--recompute"]) == 0
    assert "3 embedded now, 0 from the store" in capsys.readouterr().out


def synthetic_set(people: int = 60, photos: int = 400, seed: int = 0):
    """A labelled set of random 128-value embeddings, a few photos per person."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, people, photos)
    identities = tuple(f"p{label:03d}" for label in labels)
    dataset = datasets.IdentityDataset(
        "synthetic", Path("."), tuple(Path(f"{i}.jpg") for i in range(photos)), identities
    )
    centres = rng.normal(size=(people, 128))
    return dataset, (centres[dataset.labels] + rng.normal(size=(photos, 128))).astype(np.float32)


@pytest.mark.parametrize("metric", faces.METRICS)
def test_pair_distances_by_matrix_blocks_equal_the_pair_by_pair_gather(
    metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The LFW-size path (one matrix product per block of rows) gives the distances that
    gathering both embeddings of every pair gives, in the pairs' own order, for every metric,
    all pairs or a sample, listed row by row or not."""
    dataset, embeddings = synthetic_set()
    every = datasets.make_pairs(dataset)
    sampled = datasets.make_pairs(dataset, max_negatives=5000, seed=3)
    shuffled = np.random.default_rng(1).permutation(len(every))
    scrambled = datasets.Pairs(every.first[shuffled], every.second[shuffled], every.same[shuffled])
    monkeypatch.setattr(faces.DistanceTable, "MAX_ROWS", 37)  # many small blocks
    for pairs in (every, sampled, scrambled):
        expected = faces.distances(embeddings[pairs.first], embeddings[pairs.second], metric)
        got = evaluation.pair_distances(embeddings, pairs, metric)
        assert got.dtype == np.float32 and got.shape == expected.shape
        assert np.allclose(got, expected, rtol=0, atol=2e-6)


def test_all_different_person_pairs_come_row_by_row() -> None:
    dataset, _ = synthetic_set()
    pairs = datasets.make_pairs(dataset)
    first, second = np.triu_indices(len(dataset), 1)
    labels = dataset.labels
    different = labels[first] != labels[second]
    assert np.array_equal(pairs.first[pairs.positives :], first[different])
    assert np.array_equal(pairs.second[pairs.positives :], second[different])
    assert pairs.positives == int((~different).sum()) and pairs.same.sum() == pairs.positives


def test_pairs_that_skip_a_whole_block_of_rows_lfw_layout() -> None:
    """Issue 18: with LFW's 4,069 one-photo people listed first, the same-person pairs' first
    photos skip more than a block of rows, and the lookup raised IndexError."""
    rng = np.random.default_rng(5)
    embeddings = rng.random((3000, 8))
    first, second = np.array([0, 2500]), np.array([1, 2])
    got = faces.DistanceTable(embeddings, "cosine").lookup(first, second)
    assert np.allclose(got, faces.distances(embeddings[first], embeddings[second], "cosine"))
    # The layout itself: 2,500 one-photo people, then 100 people with 5 photos each.
    identities = tuple(f"single_{i}" for i in range(2500)) + tuple(
        f"person_{i // 5}" for i in range(500)
    )
    dataset = datasets.IdentityDataset(
        "lfw-shaped", Path("."), tuple(Path(f"{i}.jpg") for i in range(3000)), identities
    )
    pairs = datasets.make_pairs(dataset, max_negatives=20_000, seed=0)
    distances = evaluation.pair_distances(embeddings.astype(np.float32), pairs, "cosine")
    expected = faces.distances(embeddings[pairs.first], embeddings[pairs.second], "cosine")
    assert np.allclose(distances, expected, atol=2e-6)


def test_every_suggestion_lies_on_the_slider() -> None:
    # Review: with the closest pair a stranger pair, "FAR ≤ 0.1 %" lies just below the closest
    # distance, and clicking it reset the slider without a word.
    rows = ["file_x,file_y,decision,distance", "a,b,No,0.01"]
    rows += [f"s{k},t{k},Yes,{0.2 + k / 100:.2f}" for k in range(5)]
    rows += [f"u{k},v{k},No,{0.5 + k / 100:.2f}" for k in range(20)]
    study = evaluation.study_pairs_table(
        datasets.load_pairs_csv("\n".join(rows).encode()), "distance"
    )
    low, high = study.slider_range
    below = [s for s in study.suggestions if s.threshold < study.analysis.distance_range()[0]]
    assert below  # the case the review found is here
    assert all(low <= s.threshold <= high for s in study.suggestions)
