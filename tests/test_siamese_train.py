"""Real training runs on the shared photos at 64 px: run directory, stop, kill and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from siamese_support import (
    SHARED_DATA,
    TINY,
    TINY_EPOCHS,
    TINY_STEPS,
    cli,
    cli_env,
    fake_run,
    tiny_flags,
    tiny_run,
)

from facedemo.errors import DatasetError, RunError
from facedemo.files import write_json_atomic
from facedemo.siamese import TrainConfig, preset_config
from facedemo.siamese.data import fixed_pairs, load_faces, load_split
from facedemo.siamese.runs import (
    RunLayout,
    available_test_pairs,
    find_run,
    read_checkpoint,
    read_config,
    read_eval,
    read_log_tail,
    read_metrics,
    read_pairs,
    read_settings,
    read_split,
    read_status,
    resume_run,
    resume_would,
    start_run,
    stop_run,
    trained_people,
)
from facedemo.siamese.runs import (
    test_pair_counts as counted_test_pairs,
)


@pytest.fixture(scope="session")
def tiny_run_dir() -> Path:
    return tiny_run()[0]


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def batch_lines(run_dir: Path, epoch: int) -> int:
    metrics = read_metrics(run_dir)
    if metrics.empty:
        return 0
    return int(((metrics["kind"] == "batch") & (metrics["epoch"] == epoch)).sum())


def resume_from_a_terminal(run_id: str, runs_dir: Path) -> subprocess.CompletedProcess:
    """``python -m facedemo train --resume RUN_ID``, as a user types it."""
    return subprocess.run(
        cli("train", "--resume", run_id, "--runs-dir", str(runs_dir)),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def parsed_lines(run_dir: Path) -> list[dict]:
    """Every line of the metrics log, each required to be whole JSON."""
    return [json.loads(line) for line in RunLayout(run_dir).metrics.read_text().splitlines()]


def assert_complete_log(run_dir: Path, epochs: int, steps: int) -> None:
    """Each batch and epoch logged exactly once, in order, then one eval line."""
    lines = parsed_lines(run_dir)
    expected = []
    for epoch in range(1, epochs + 1):
        expected += [("batch", epoch, step) for step in range(1, steps + 1)]
        expected.append(("epoch", epoch, steps))
    logged = [(line["kind"], line["epoch"], line.get("step")) for line in lines[:-1]]
    assert logged == expected
    assert lines[-1]["kind"] == "eval"


def test_a_short_cpu_run_finishes_well_under_a_minute(tiny_run_dir: Path) -> None:
    assert tiny_run()[1] < 60
    status = read_status(tiny_run_dir)
    assert (status.state, status.epoch, status.error) == ("finished", TINY_EPOCHS, None)
    assert status.best_epoch in (1, 2) and 0 <= status.best_val_auc <= 1


def test_the_run_directory_is_well_formed(tiny_run_dir: Path) -> None:
    assert_complete_log(tiny_run_dir, TINY_EPOCHS, TINY_STEPS)
    lines = parsed_lines(tiny_run_dir)
    epoch_keys = {"time", "loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc", "lr"}
    for line in lines:
        if line["kind"] == "epoch":
            assert epoch_keys | {"pairs_per_s"} <= set(line)
        if line["kind"] == "batch":
            assert {"time", "loss", "accuracy", "auc", "pairs_per_s", "lr"} <= set(line)
    recorded = read_config(tiny_run_dir)
    assert recorded["settings"]["image_size"] == 64 and recorded["device"]["kind"] == "CPU"
    assert {"tensorflow", "keras", "python"} <= set(recorded["versions"])
    parts = [set(part["people"]) for part in recorded["dataset"]["split"].values()]
    assert sum(len(p) for p in parts) == len(set.union(*parts)) == 13


def test_the_run_is_tested_on_its_test_pairs(tiny_run_dir: Path) -> None:
    evaluation = read_eval(tiny_run_dir)
    assert 0 <= evaluation["auc"] <= 1 and 0 <= evaluation["accuracy"] <= 1
    matrix = np.array(evaluation["confusion_matrix"])
    assert matrix.shape == (2, 2) and matrix.sum() == TINY["test_pairs"]
    assert evaluation["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    roc = evaluation["roc"]
    assert roc["false_positive_rate"][0] == 0 and roc["true_positive_rate"][-1] == 1
    wrong = read_pairs(RunLayout(tiny_run_dir).misclassified)
    assert len(wrong.same) == len(evaluation["misclassified"]) > 0
    assert np.all((wrong.probability >= 0.5) != wrong.same)


def unordered_pairs(rows: list[tuple[str, str]]) -> list[frozenset[str]]:
    return [frozenset(row) for row in rows]


def test_the_test_pairs_are_distinct_and_counted_once_everywhere(tiny_run_dir: Path) -> None:
    """Every test pair once (no repeat, no mirror): test_pairs.csv, eval.json's count and
    confusion matrix, the misclassified list and the evaluate CLI say the same number."""
    evaluation = read_eval(tiny_run_dir)
    table = pd.read_csv(RunLayout(tiny_run_dir).test_pairs)
    pairs = unordered_pairs(list(zip(table.file_x, table.file_y, strict=True)))
    assert all(len(pair) == 2 for pair in pairs) and len(set(pairs)) == len(pairs)
    assert len(pairs) == evaluation["pairs"] == np.sum(evaluation["confusion_matrix"])
    assert "distinct_pairs" not in evaluation  # the count itself is the distinct count
    same, different = counted_test_pairs(evaluation)
    assert (same, different) == ((table.decision == "Yes").sum(), (table.decision == "No").sum())
    # 78 distinct pairs of the 13 test photos, above TINY's cap of 64: a sample of 64.
    assert available_test_pairs(evaluation) == 78 and len(pairs) == TINY["test_pairs"]
    wrong = unordered_pairs([(m["face_a"], m["face_b"]) for m in evaluation["misclassified"]])
    assert len(set(wrong)) == len(wrong) and set(wrong) <= set(pairs)
    shown = subprocess.run(
        cli("evaluate", "tiny", "--runs-dir", str(tiny_run_dir.parent)),
        env=cli_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"tiny on {len(pairs)} test pairs:" in shown.stdout


def test_the_people_it_trained_on_are_its_training_and_validation_people(
    tiny_run_dir: Path,
) -> None:
    parts = {part.part: part for part in read_split(tiny_run_dir)}
    assert list(parts) == ["train", "validation", "test"]
    assert sum(part.images for part in parts.values()) == len(
        pd.read_csv(SHARED_DATA / "identities.csv")
    )
    trained = trained_people(tiny_run_dir)
    assert trained == set(parts["train"].people) | set(parts["validation"].people)
    assert len(trained) == 10 and not trained & set(parts["test"].people)
    assert "Angelina_Jolie" in trained | set(parts["test"].people)  # as the data set names them


def test_the_test_pairs_open_in_the_threshold_explorer(tiny_run_dir: Path) -> None:
    from facedemo import datasets
    from facedemo.evaluation import study_pairs_table
    from facedemo.siamese.runs import runs_with_test_pairs

    path = RunLayout(tiny_run_dir).test_pairs
    assert path in runs_with_test_pairs(tiny_run_dir.parent)
    study = study_pairs_table(datasets.load_pairs_csv(path), "probability", scores="higher")
    saved = read_eval(tiny_run_dir)
    assert study.analysis.positives + study.analysis.negatives == saved["pairs"]
    assert study.curves[0].auc == pytest.approx(saved["auc"], abs=1e-6)
    assert study.analysis.at(0.5).confusion_matrix.tolist() == saved["confusion_matrix"]


def test_checkpoints_hold_the_last_and_best_model(tiny_run_dir: Path) -> None:
    state = read_checkpoint(tiny_run_dir)
    assert state.epoch == TINY_EPOCHS
    assert state.last == f"epoch-{TINY_EPOCHS:04d}.keras"
    checkpoints = RunLayout(tiny_run_dir).checkpoints
    assert (checkpoints / state.last).is_file() and (checkpoints / state.best).is_file()
    assert state.log_bytes <= RunLayout(tiny_run_dir).metrics.stat().st_size


def test_the_preview_shows_real_training_pairs(tiny_run_dir: Path) -> None:
    preview = read_pairs(RunLayout(tiny_run_dir).preview)
    assert preview.first.shape == (16, 64, 64, 3) and preview.first.dtype == np.uint8
    assert preview.same.dtype == bool and 0 < preview.same.sum() < 16
    assert preview.first.std() > 10


def test_evaluating_again_gives_the_same_scores(tiny_run_dir: Path) -> None:
    from facedemo.siamese.scoring import evaluate_run

    again = evaluate_run(tiny_run_dir).to_json()
    saved = read_eval(tiny_run_dir)
    assert again["auc"] == pytest.approx(saved["auc"], abs=1e-5)
    assert again["confusion_matrix"] == saved["confusion_matrix"]


def test_the_verifier_agrees_with_the_evaluation(tiny_run_dir: Path) -> None:
    from facedemo.siamese.scoring import evaluate_model, load_model, load_verifier

    settings = TrainConfig.from_dict(read_config(tiny_run_dir)["settings"])
    faces = load_faces(load_split(settings).test, settings.image_size)
    pairs = fixed_pairs(faces, 8, settings.seed, 0.5)
    expected = evaluate_model(load_model(tiny_run_dir), faces, pairs, 8).probability
    verifier = load_verifier(tiny_run_dir)
    images = faces.images
    got = [
        verifier.probability(images[a], images[b])
        for a, b in zip(pairs.first, pairs.second, strict=True)
    ]
    assert np.allclose(got, expected, atol=1e-5)
    big = np.full((300, 200, 3), 128, np.uint8)  # any size is squashed to the run's
    assert 0 <= verifier.probability(big, images[0]) <= 1


def test_a_run_stopped_while_testing_resumes_to_the_test_alone(
    tiny_run_dir: Path, tmp_path: Path
) -> None:
    from facedemo.siamese.scoring import evaluate_model, load_model
    from facedemo.siamese.train import StopRequested, _StopTesting

    settings = TrainConfig.from_dict(read_config(tiny_run_dir)["settings"])
    faces = load_faces(load_split(settings).test, settings.image_size)
    pairs = fixed_pairs(faces, 16, settings.seed, 0.5)
    with pytest.raises(StopRequested):  # a stop request is answered between test batches
        evaluate_model(load_model(tiny_run_dir), faces, pairs, 8, [_StopTesting(lambda: True)])

    copy = tmp_path / "tiny"
    shutil.copytree(tiny_run_dir, copy)
    saved = read_eval(copy)
    RunLayout(copy).eval.unlink()
    status = json.loads(RunLayout(copy).status.read_text())
    write_json_atomic(RunLayout(copy).status, {**status, "state": "stopped"})
    lines_before = RunLayout(copy).metrics.read_text().splitlines()[:-1]  # without its eval line
    RunLayout(copy).metrics.write_text("".join(line + "\n" for line in lines_before))
    assert resume_would(copy, settings) == "training is over, so resume runs the test again"
    resumed = resume_from_a_terminal("tiny", tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "; training is over (epoch " in resumed.stdout  # not "epoch 3 of 2"
    assert "Testing epoch" in resumed.stdout and "epoch 3/" not in resumed.stdout
    assert read_status(copy).state == "finished"
    assert read_eval(copy)["confusion_matrix"] == saved["confusion_matrix"]
    assert_complete_log(copy, TINY_EPOCHS, TINY_STEPS)  # no batch trained again


def test_runs_cli_lists_the_run_with_its_best_validation_scores(tiny_run_dir: Path) -> None:
    listed = subprocess.run(
        cli("runs", "--runs-dir", str(tiny_run_dir.parent), "--json"),
        env=cli_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    (run,) = json.loads(listed.stdout)
    status = read_status(tiny_run_dir)
    assert (run["id"], run["state"], run["best_val_auc"]) == (
        "tiny",
        "finished",
        status.best_val_auc,
    )


def test_evaluate_cli_names_an_unknown_run(tmp_path: Path) -> None:
    failed = subprocess.run(
        cli("evaluate", "ghost", "--runs-dir", str(tmp_path)),
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.strip() == f"error: No run named ghost in {tmp_path}."


def test_a_finished_run_cannot_be_resumed(tiny_run_dir: Path) -> None:
    with pytest.raises(RunError, match="has finished"):
        resume_run(tiny_run_dir)


def test_a_killed_run_resumes_without_torn_or_lost_lines(tmp_path: Path) -> None:
    epochs, steps = 3, 15
    process = subprocess.Popen(
        cli("train", *tiny_flags("killed", tmp_path, epochs, steps)),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    run_dir = tmp_path / "killed"
    wait_for(lambda: batch_lines(run_dir, 2) >= 2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = time.time()
    assert read_status(run_dir).state == "interrupted"
    assert 2 <= batch_lines(run_dir, 2) < steps  # killed in the middle of epoch 2
    with RunLayout(run_dir).metrics.open("a") as log:
        log.write('{"kind": "batch", "epoch": 2, "st')  # what a kill mid-write leaves
    RunLayout(run_dir).stop.touch()  # a stop request its end left unanswered
    resumed = resume_from_a_terminal("killed", tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert read_status(run_dir).state == "finished"
    assert_complete_log(run_dir, epochs, steps)
    second = [line for line in parsed_lines(run_dir) if line["epoch"] == 2]
    assert all(line["time"] > killed_at for line in second)  # the unfinished epoch was redone


def test_the_stop_file_stops_the_run(tmp_path: Path) -> None:
    settings = TrainConfig(str(SHARED_DATA), "stopped", epochs=50, steps_per_epoch=5, **TINY)
    process = start_run(settings, tmp_path)
    run_dir = find_run(tmp_path, "stopped")
    assert read_status(run_dir).state == "queued"
    wait_for(lambda: batch_lines(run_dir, 1) >= 1)
    stop_run(run_dir)
    assert process.wait(timeout=120) == 0
    status = read_status(run_dir)
    assert status.state == "stopped" and read_eval(run_dir) is None
    assert epochs_logged(run_dir) < 50


def test_a_stop_asked_for_while_a_resume_is_queued_stops_it(tmp_path: Path) -> None:
    settings = TrainConfig(str(SHARED_DATA), "requeued", epochs=2, steps_per_epoch=3, **TINY)
    run_dir = fake_run(tmp_path, "requeued", settings, state="stopped", pid=None)
    RunLayout(run_dir).stop.touch()  # the request that stopped it
    process = resume_run(run_dir)
    assert not RunLayout(run_dir).stop.exists()
    assert read_status(run_dir).state == "queued"
    stop_run(run_dir)  # long before the trainer has loaded TensorFlow
    assert read_status(run_dir).stopping
    assert process.wait(timeout=120) == 0
    assert read_status(run_dir).state == "stopped"
    assert epochs_logged(run_dir) == 0


def epochs_logged(run_dir: Path) -> int:
    metrics = read_metrics(run_dir)
    return int((metrics["kind"] == "epoch").sum())


def test_sigterm_stops_the_run(tmp_path: Path) -> None:
    process = subprocess.Popen(
        cli("train", *tiny_flags("terminated", tmp_path, 50, 5)),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    run_dir = tmp_path / "terminated"
    wait_for(lambda: batch_lines(run_dir, 1) >= 1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    assert read_status(run_dir).state == "stopped"
    assert epochs_logged(run_dir) < 50


def test_a_crash_leaves_the_run_failed_with_the_error(tmp_path: Path) -> None:
    from facedemo.siamese.train import train

    # Six people, enough to split, each with one real photo and one that is no photo at all:
    # the folder opens, and the trainer fails once it decodes the faces.
    broken = tmp_path / "broken-photos"
    for person in range(6):
        (broken / f"p{person}").mkdir(parents=True)
        photo = SHARED_DATA / "images" / f"img{person + 1}.jpg"
        (broken / f"p{person}" / "a.jpg").write_bytes(photo.read_bytes())
        (broken / f"p{person}" / "b.jpg").write_bytes(b"not a photo")
    settings = TrainConfig(str(broken), "crashed", **TINY)
    with pytest.raises(DatasetError):
        train(settings, tmp_path / "runs")
    status = read_status(tmp_path / "runs" / "crashed")
    assert status.state == "failed" and "cannot be used" in status.error


def test_a_run_saved_before_the_rescaling_moved_inside_still_scores(tmp_path: Path) -> None:
    """Runs of the earlier trainer hold a network taking floats in [-1, 1]: they evaluate
    and verify on uint8 faces as before, and resuming one is refused with a sentence."""
    import keras

    from facedemo.siamese.scoring import load_model

    face_a, face_b = (keras.Input((64, 64, 3), name=name) for name in ("face_a", "face_b"))
    tower = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4)])
    joined = keras.layers.Concatenate()([tower(face_a), tower(face_b)])
    old = keras.Model([face_a, face_b], keras.layers.Dense(1, activation="sigmoid")(joined))
    old.compile(optimizer="adam", loss="binary_crossentropy")
    settings = TrainConfig(str(SHARED_DATA), "old", epochs=3, **TINY)
    run_dir = fake_run(tmp_path, "old", settings, state="stopped", pid=None)
    layout = RunLayout(run_dir)
    layout.checkpoints.mkdir()
    old.save(layout.checkpoints / "epoch-0001.keras")
    state = {"epoch": 1, "last": "epoch-0001.keras", "best": "epoch-0001.keras", "best_epoch": 1}
    write_json_atomic(layout.checkpoint_state, state)

    faces = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    scaled = faces.astype(np.float32) / 127.5 - 1
    expected = keras.ops.convert_to_numpy(old([scaled, scaled[::-1]]))
    got = keras.ops.convert_to_numpy(load_model(run_dir)([faces, faces[::-1]]))
    assert np.allclose(got, expected, atol=1e-6)

    resumed = resume_from_a_terminal("old", tmp_path)
    assert resumed.returncode == 1
    assert "saved by an earlier facedemo whose network takes rescaled pixels" in resumed.stderr
    assert read_status(run_dir).state == "failed"


def test_the_cpu_demo_visibly_learns_its_people(tmp_path: Path) -> None:
    """The Monitor's CPU demo preset on the shared photos: faces framed by the detector, one
    photo of each training person held out. Training AUC climbs near 1 and the held-out
    photos of those people are recognised well above chance, while nothing is promised about
    new people (13 people are too few for that)."""
    settings = preset_config("CPU demo, 64 px", SHARED_DATA, "demo-preset")
    process = start_run(settings, tmp_path)
    assert process.wait(timeout=600) == 0, read_log_tail(tmp_path / "demo-preset")
    run_dir = tmp_path / "demo-preset"
    assert read_status(run_dir).state == "finished"
    assert read_config(run_dir)["settings"]["framing"] == "face"
    epochs = read_metrics(run_dir).query("kind == 'epoch'")
    assert len(epochs) == settings.epochs  # no early stop: the class watches it memorise
    assert epochs["auc"].iloc[0] < 0.7 and epochs["auc"].tail(5).mean() > 0.9  # it learns
    # Every epoch is also scored on new photos of its people and on new people.
    assert epochs[["seen_val_auc", "val_auc"]].notna().all().all()
    best = epochs.loc[epochs["val_auc"].idxmax()]  # the demo keeps the best-ranking epoch
    status = read_status(run_dir)
    assert (status.best_epoch, status.best_val_auc) == (best["epoch"], best["val_auc"])
    assert read_eval(run_dir)["best_epoch"] == best["epoch"]
    preview = read_pairs(RunLayout(run_dir).preview)
    assert preview.first.shape == (16, 64, 64, 3)


@pytest.mark.parametrize(
    ("best_by", "logs", "improves"),
    [
        ("val_loss", {"val_loss": 0.5, "val_auc": 0.6}, True),
        ("val_loss", {"val_loss": 0.7, "val_auc": 0.9}, False),
        ("val_auc", {"val_loss": 0.7, "val_auc": 0.9}, True),
        ("val_auc", {"val_loss": 0.5, "val_auc": 0.7}, False),  # a tie is no improvement
    ],
)
def test_the_best_epoch_follows_the_runs_choice(best_by: str, logs: dict, improves: bool) -> None:
    from facedemo.siamese.runs import Checkpoint
    from facedemo.siamese.train import _improves

    best = Checkpoint(epoch=3, best_epoch=2, best_val_loss=0.6, best_val_auc=0.7)
    assert _improves(best, logs, best_by) is improves
    assert _improves(Checkpoint(), logs, best_by)  # the first epoch is the best so far


def test_several_steps_per_execution_log_one_line_per_call(tmp_path: Path) -> None:
    """Keras runs 2 batches per call of its compiled step: the log gets each call's last
    batch, with the pairs per second of both."""
    flags = [*tiny_flags("calls", tmp_path, 1, 4), "--steps-per-execution", "2"]
    done = subprocess.run(
        cli("train", *flags), env=cli_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = tmp_path / "calls"
    assert read_settings(run_dir).steps_per_execution == 2
    lines = parsed_lines(run_dir)
    assert [line["step"] for line in lines if line["kind"] == "batch"] == [2, 4]
    assert all(line["pairs_per_s"] > 0 for line in lines if line["kind"] == "batch")
    assert read_status(run_dir).state == "finished"


def test_steps_per_execution_cannot_exceed_an_epoch() -> None:
    from facedemo.errors import SettingError

    with pytest.raises(SettingError, match="cannot exceed the batches of an epoch"):
        TrainConfig("demo", "x", steps_per_epoch=4, steps_per_execution=8)
