"""Reading run directories: torn logs, vanished processes, progress, and clear refusals."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from siamese_support import ended_pid, fake_run, training_log, write_log

import facedemo
from facedemo.errors import DatasetError, RunError, SettingError
from facedemo.files import write_json_atomic
from facedemo.siamese import TrainConfig, cli, runs
from facedemo.siamese.runs import (
    PairImages,
    RunLayout,
    check_devices,
    dataset_source,
    describe_device,
    describe_engine,
    epoch_table,
    find_run,
    list_runs,
    no_better_than_chance,
    output_tells_why,
    process_start_time,
    progress,
    read_config,
    read_log_tail,
    read_metrics,
    read_pairs,
    read_status,
    resume_run,
    start_run,
    stop_run,
)
from facedemo.siamese.runs.lifecycle import trainer_environment

STEPS, EPOCHS = 10, 4


def make_run(runs_dir: Path, run_id: str, **status: object) -> Path:
    """A run of STEPS batches an epoch and EPOCHS epochs, alive in this process by default."""
    settings = TrainConfig("data", run_id, steps_per_epoch=STEPS, epochs=EPOCHS)
    return fake_run(runs_dir, run_id, settings, **status)


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "torn")
    write_log(run_dir, training_log(STEPS, 1, 2), tail='{"kind": "batch", "epo')
    metrics = read_metrics(run_dir)
    assert len(metrics) == STEPS + 1 + 2
    assert list(metrics["kind"].unique()) == ["batch", "epoch"]


def test_no_metrics_yet_reads_as_an_empty_table(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "fresh")
    metrics = read_metrics(run_dir)
    assert metrics.empty
    status = read_status(run_dir)
    assert progress(status, TrainConfig("d", "fresh"), metrics).eta_seconds is None
    assert epoch_table(metrics, None).empty


def test_progress_and_time_left_follow_the_pace(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "paced")
    write_log(run_dir, training_log(STEPS, 1, 5))
    status = read_status(run_dir)
    assert status.state == "running"  # this very process
    now = progress(
        status,
        TrainConfig("d", "paced", steps_per_epoch=STEPS, epochs=EPOCHS),
        read_metrics(run_dir),
    )
    assert (now.epoch, now.step, now.pairs_per_s) == (2, 5, 800.0)
    assert now.fraction == pytest.approx(15 / 40)
    # 25 batches of 0.5 s and 3 validations of 2 s are left.
    assert now.eta_seconds == pytest.approx(25 * 0.5 + 3 * 2.0)
    assert now.eta_text == "about 18 s"


def test_a_running_run_says_whether_it_prepares_trains_or_validates(tmp_path: Path) -> None:
    settings = TrainConfig("d", "phases", steps_per_epoch=STEPS, epochs=EPOCHS)

    def phase(log: list[dict], started: float) -> str:
        run_dir = tmp_path / "phases"
        shutil.rmtree(run_dir, ignore_errors=True)
        make_run(tmp_path, "phases", started=started)
        write_log(run_dir, log)
        return progress(read_status(run_dir), settings, read_metrics(run_dir)).phase

    assert phase([], started=0.0) == "preparing"  # no batch yet
    assert phase(training_log(STEPS, 1, 3), started=0.0) == "training"
    last_batch_of_epoch_2 = training_log(STEPS, 2, 0)[:-1]  # its epoch line not written yet
    assert phase(last_batch_of_epoch_2, started=0.0) == "validating"
    assert phase(training_log(STEPS, 2, 0), started=0.0) == "training"  # epoch 2 ended
    # Resumed: every batch logged comes from the process before, this one has not trained yet.
    assert phase(training_log(STEPS, 1, 3), started=1e12) == "preparing"


def test_a_run_stopped_within_an_epoch_is_at_its_last_finished_one(tmp_path: Path) -> None:
    """Stopped 5 batches into epoch 3: it shows epoch 2, after which a resume continues."""
    run_dir = make_run(tmp_path, "halted", state="stopped", pid=None, epoch=2)
    write_log(run_dir, training_log(STEPS, 2, 5))
    settings = TrainConfig("d", "halted", steps_per_epoch=STEPS, epochs=EPOCHS)
    stopped = progress(read_status(run_dir), settings, read_metrics(run_dir))
    assert (stopped.epoch, stopped.step, stopped.eta_seconds) == (2, STEPS, None)


def test_the_pace_is_the_epochs_after_the_first_as_the_table_and_benchmark_count_it(
    tmp_path: Path,
) -> None:
    """The Monitor's pairs/s: recent batches until an epoch after the first has finished,
    then the median of those epochs (the epoch table's column, and bench_train's figure)."""
    run_dir = make_run(tmp_path, "paced")
    settings = TrainConfig("d", "paced", steps_per_epoch=STEPS, epochs=EPOCHS)
    log = training_log(STEPS, 3, 2, pairs_per_s=800.0)
    epoch_pace = {1: 100.0, 2: 500.0, 3: 700.0}  # the first compiles
    log = [
        {**line, "pairs_per_s": epoch_pace[line["epoch"]]} if line["kind"] == "epoch" else line
        for line in log
    ]
    write_log(run_dir, log)
    metrics = read_metrics(run_dir)
    assert progress(read_status(run_dir), settings, metrics).pairs_per_s == 600.0
    assert epoch_table(metrics, None)["pairs_per_s"].tolist() == [100.0, 500.0, 700.0]
    write_log(run_dir, training_log(STEPS, 1, 2, pairs_per_s=800.0))
    assert progress(read_status(run_dir), settings, read_metrics(run_dir)).pairs_per_s == 800.0


def test_epoch_table_marks_the_best_epoch(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "table")
    write_log(run_dir, training_log(STEPS, 3, 0))
    table = epoch_table(read_metrics(run_dir), best_epoch=2)
    assert list(table["epoch"]) == [1, 2, 3]
    assert list(table["best"]) == [False, True, False]
    assert table["val_loss"].notna().all()
    assert "seen_val_auc" not in table  # no photos were held out in this run
    scores = {"seen_val_loss": 0.6, "seen_val_accuracy": 0.7, "seen_val_auc": 0.7}
    seen = [
        {**line, **scores} if line["kind"] == "epoch" else line
        for line in training_log(STEPS, 3, 0)
    ]
    write_log(run_dir, seen)
    table = epoch_table(read_metrics(run_dir), best_epoch=2)
    assert list(table.columns[4:7]) == ["seen_val_loss", "seen_val_accuracy", "seen_val_auc"]
    assert list(table["seen_val_auc"]) == [0.7] * 3


def test_a_vanished_process_reads_as_interrupted(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "gone", pid=ended_pid(), process_start=None)
    status = read_status(run_dir)
    assert status.state == "interrupted" and not status.alive
    assert "ended" in status.error


def test_a_recycled_pid_is_not_taken_for_the_run(tmp_path: Path) -> None:
    started = process_start_time(os.getpid())
    if started is None:
        pytest.skip("this system does not tell when a process started")
    # After a reboot the run's pid may belong to another process, started at another time.
    recycled = make_run(tmp_path, "recycled", process_start=started - 1)
    assert read_status(recycled).state == "interrupted"
    assert read_status(make_run(tmp_path, "mine", process_start=started)).state == "running"
    assert read_status(make_run(tmp_path, "older-run", process_start=None)).state == "running"


def write_launch(run_dir: Path, pid: int, at: float) -> None:
    """launch.json as the launcher writes it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    launch = {"pid": pid, "process_start": process_start_time(pid), "command": [], "time": at}
    write_json_atomic(RunLayout(run_dir).launch, launch)


def test_a_launch_reads_as_queued_until_the_trainer_writes(tmp_path: Path) -> None:
    me = {"pid": os.getpid(), "process_start": process_start_time(os.getpid())}
    fresh = tmp_path / "fresh"
    write_launch(fresh, os.getpid(), at=200.0)  # started, trainer not yet up
    assert find_run(tmp_path, "fresh") == fresh
    status = read_status(fresh)
    assert (status.state, status.pid, status.started) == ("queued", os.getpid(), 200.0)
    assert [run.run_id for run in list_runs(tmp_path)] == ["fresh"]
    write_json_atomic(RunLayout(fresh).status, {"state": "running", **me, "started": 201.0})
    assert read_status(fresh).state == "running"

    old_trainer = {"pid": ended_pid(), "process_start": None, "started": 100.0}
    resumed = make_run(tmp_path, "resumed", state="stopped", best_epoch=3, **old_trainer)
    write_launch(resumed, os.getpid(), at=200.0)
    status = read_status(resumed)
    assert (status.state, status.best_epoch, status.started) == ("queued", 3, 100.0)

    # The page launched it once; later it was resumed from a terminal (another process).
    by_hand = make_run(tmp_path, "by-hand", started=300.0)
    write_launch(by_hand, ended_pid(), at=200.0)
    assert read_status(by_hand).state == "running"

    died = tmp_path / "died"
    write_launch(died, ended_pid(), at=200.0)
    status = read_status(died)
    assert status.state == "interrupted" and "see its output" in status.error


def test_the_launcher_leaves_status_json_to_the_trainer(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(shared_data.parent)  # a relative folder is stored as an absolute path
    process = start_run(TrainConfig(shared_data.name, "launched"), tmp_path / "runs")
    try:
        layout = RunLayout(tmp_path / "runs" / "launched")
        assert not layout.status.exists()
        launch = json.loads(layout.launch.read_text())
        assert launch["pid"] == process.pid
        assert launch["process_start"] == process_start_time(process.pid)
        assert str(shared_data) in launch["command"] and shared_data.name not in launch["command"]
        status = read_status(layout.run_dir)
        assert (status.state, status.pid) == ("queued", process.pid)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_trainer_process_keeps_the_callers_import_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Packages carried aside (Keras unpacked to a folder on PYTHONPATH, as on a borrowed GPU
    machine) stay importable in the trainer and benchmark processes, after facedemo itself."""
    monkeypatch.setenv("PYTHONPATH", "/tmp/keras-site")
    entries = trainer_environment()["PYTHONPATH"].split(os.pathsep)
    assert entries == [str(Path(facedemo.__file__).resolve().parents[1]), "/tmp/keras-site"]


def test_named_data_sets_stay_names_and_folders_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert dataset_source("demo") == "demo" and dataset_source("lfw") == "lfw"
    assert dataset_source("photos") == str(tmp_path.resolve() / "photos")
    assert dataset_source(Path("faces.zip")) == str(tmp_path.resolve() / "faces.zip")


def test_a_run_that_died_before_saving_its_settings_is_not_resumed(tmp_path: Path) -> None:
    died = tmp_path / "died"
    write_launch(died, ended_pid(), at=200.0)
    RunLayout(died).log.write_text("Traceback ...\nImportError: no module named tensorflow\n")
    with pytest.raises(RunError, match="ended before it saved its settings"):
        resume_run(died)
    with pytest.raises(RunError, match="ended before it saved its settings"):
        read_config(died)
    assert not RunLayout(died).stop.exists() and read_status(died).state == "interrupted"
    starting = tmp_path / "starting"
    write_launch(starting, os.getpid(), at=200.0)
    with pytest.raises(RunError, match="has not written its settings yet"):
        read_config(starting)


def test_a_stop_request_shows_until_the_run_ends(tmp_path: Path) -> None:
    live = make_run(tmp_path, "live")
    assert not read_status(live).stopping
    stop_run(live)
    assert read_status(live).stopping
    write_json_atomic(RunLayout(live).status, {"state": "stopped"})
    assert not read_status(live).stopping


def test_the_output_is_shown_where_it_tells_why_and_resume_where_it_can(tmp_path: Path) -> None:
    live = read_status(make_run(tmp_path, "live"))
    assert not output_tells_why(live) and not live.resumable
    failed = read_status(make_run(tmp_path, "failed", state="failed", error="No photos."))
    assert output_tells_why(failed) and failed.resumable
    stopped = read_status(make_run(tmp_path, "stopped", state="stopped"))
    assert not output_tells_why(stopped) and stopped.resumable
    RunLayout(stopped.run_dir).config.unlink()  # as if it had ended before saving its settings
    assert output_tells_why(read_status(stopped.run_dir))
    assert not read_status(make_run(tmp_path, "done", state="finished")).resumable


def train_args(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(["train", *words])


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (["--resume", "r1", "--epochs", "200"], "--epochs"),
        (["photos", "--resume", "r1"], "a data set"),
        (["--resume", "r1", "--run-id", "r2", "--split", "0.5", "0.25", "0.25"], "--run-id"),
    ],
)
def test_resume_refuses_other_settings(tmp_path: Path, words: list[str], named: str) -> None:
    args = train_args(*words, "--runs-dir", str(tmp_path))
    with pytest.raises(RunError, match=f"continues run r1 with the settings.*{named}"):
        args.handler(args)


def test_the_output_shown_leaves_out_the_native_libraries_chatter(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "noisy", state="failed", pid=None)
    printed = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795874263.671708    7170 port.cc:153] oneDNN custom operations are on.",
        "E0000 00:00:1795873656.777420     320 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error",
        "Traceback (most recent call last):",
        "facedemo.errors.DatasetError: shots has 4 people with two or more photos",
    ]
    RunLayout(run_dir).log.write_text("\n".join(printed) + "\n", encoding="utf-8")
    assert read_log_tail(run_dir).splitlines() == printed[3:]
    assert RunLayout(run_dir).log.read_text().count("\n") == 5  # the file keeps every line


def test_runs_are_listed_newest_first(tmp_path: Path) -> None:
    make_run(tmp_path, "older", state="finished", started=1.0)
    make_run(tmp_path, "newer", state="stopped", started=2.0)
    (tmp_path / "not-a-run").mkdir()
    assert [(r.run_id, r.state) for r in list_runs(tmp_path)] == [
        ("newer", "stopped"),
        ("older", "finished"),
    ]
    assert list_runs(tmp_path / "missing") == []


def test_unknown_runs_are_refused_with_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=f"No run named nope in {tmp_path}"):
        find_run(tmp_path, "nope")
    with pytest.raises(RunError, match="No run named"):
        find_run(tmp_path, "../etc")


def test_only_a_live_run_can_be_stopped(tmp_path: Path) -> None:
    live = make_run(tmp_path, "live")
    stop_run(live)
    assert RunLayout(live).stop.exists()
    done = make_run(tmp_path, "done", state="finished")
    with pytest.raises(RunError, match="not running"):
        stop_run(done)


def test_starting_refuses_a_taken_name_or_a_missing_folder(tmp_path: Path, shared_data) -> None:
    make_run(tmp_path, "taken")
    with pytest.raises(RunError, match="already exists"):
        start_run(TrainConfig(str(shared_data), "taken"), tmp_path)
    with pytest.raises(DatasetError, match="is not a folder"):
        start_run(TrainConfig(str(tmp_path / "nowhere"), "fresh"), tmp_path)
    assert not (tmp_path / "fresh").exists()


def test_a_folder_with_too_few_people_is_refused_before_the_run_exists(
    tmp_path: Path, shared_data: Path
) -> None:
    """Four people with two photos each cannot give train, validation and test their own."""
    identities = pd.read_csv(shared_data / "identities.csv")
    folder = tmp_path / "four people"
    for person in sorted(identities["identity"].unique())[:4]:
        (folder / person).mkdir(parents=True)
        for file in identities[identities["identity"] == person]["file"][:2]:
            shutil.copy(shared_data / "images" / file, folder / person / file)
    runs_dir = tmp_path / "runs"
    with pytest.raises(DatasetError, match="has 4 people with two or more photos; training needs"):
        start_run(TrainConfig(str(folder), "too-few"), runs_dir)
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []


def test_devices_the_machine_lacks_are_refused_before_the_run_exists(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XLA_FLAGS", raising=False)  # JAX: one CPU device
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # the trainer's backend, asked in a process
    with pytest.raises(SettingError, match=r"^64 devices were asked for, but jax sees only "):
        start_run(TrainConfig(str(shared_data), "greedy", devices="64"), tmp_path)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # splits the CPU, up to 8 devices
    uneven = r"^A batch of 400 pairs cannot be shared evenly between 3 devices: ask for a "
    with pytest.raises(SettingError, match=uneven):
        start_run(TrainConfig(str(shared_data), "uneven", devices="3"), tmp_path)
    huge = r"^100,000,000,000 devices were asked for, but tensorflow splits a CPU into 8 devic"
    with pytest.raises(SettingError, match=huge):
        start_run(TrainConfig(str(shared_data), "huge", devices="100000000000"), tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing left behind


def test_a_device_check_that_cannot_answer_leaves_it_to_the_trainer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "no-such-backend")  # Keras itself fails to load
    check_devices(TrainConfig("photos", "unchecked", devices="2"))


def test_pair_pictures_read_back_with_captions(tmp_path: Path) -> None:
    faces = np.zeros((2, 8, 8, 3), np.uint8)
    path = tmp_path / "pairs.npz"
    np.savez(
        path,
        first=faces,
        second=faces + 255,
        same=np.array([True, False]),
        probability=np.array([0.9, 0.2]),
    )
    pairs = read_pairs(path)
    assert [p.shape for p in pairs.side_by_side()] == [(8, 16, 3)] * 2
    assert pairs.captions() == [
        "same person · model says 90% same",
        "different people · model says 20% same",
    ]
    assert PairImages(faces, faces, np.array([True, False])).captions()[1] == "different people"
    assert read_pairs(tmp_path / "absent.npz") is None
    named = tmp_path / "named.npz"
    people = np.array([["Angelina Jolie", "Angelina Jolie"], ["Jennifer Aniston", "Jack Dorsey"]])
    np.savez(named, first=faces, second=faces, same=np.array([True, False]), people=people)
    assert read_pairs(named).captions() == [  # written without pickling: no code in the file
        "same person: Angelina Jolie",
        "different people: Jennifer Aniston · Jack Dorsey",
    ]


def test_the_device_is_named_with_the_memory_used(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "gpu")
    settings = TrainConfig("data", "gpu").to_dict()
    device = {"kind": "GPU", "name": "NVIDIA T4"}
    write_json_atomic(RunLayout(run_dir).config, {"settings": settings, "device": device})
    write_log(run_dir, [{"kind": "batch", "epoch": 1, "step": 1, "gpu_memory_mb": 1234.4}])
    assert describe_device(run_dir, read_metrics(run_dir)) == "NVIDIA T4, 1,234 MB used"
    # Saved before facedemo recorded the backend: TensorFlow, with mixed precision on a GPU.
    legacy = {**device, "mixed_precision": True, "xla": True}
    versions = {"keras": "3.10.0", "tensorflow": "2.19.0"}
    record = {"settings": settings, "device": legacy, "versions": versions}
    write_json_atomic(RunLayout(run_dir).config, record)
    assert describe_engine(run_dir) == (
        "Keras 3.10.0 on tensorflow 2.19.0, mixed precision (float16), XLA-compiled"
    )
    cpu = make_run(tmp_path, "cpu")
    write_json_atomic(RunLayout(cpu).config, {"settings": settings, "device": {"kind": "CPU"}})
    assert describe_device(cpu, read_metrics(cpu)) == "CPU"


def test_the_engine_names_backend_precision_and_devices(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "h100")
    device = {
        "backend": "jax",
        "kind": "GPU",
        "name": "NVIDIA H100 80GB HBM3",
        "count": 2,
        "memory_mb": 81_559.0,
        "policy": "mixed_float16",
        "xla": True,
    }
    record = {
        "settings": TrainConfig("data", "h100").to_dict(),
        "device": device,
        "versions": {"keras": "3.15.1", "jax": "0.11.2"},
    }
    write_json_atomic(RunLayout(run_dir).config, record)
    write_log(run_dir, [{"kind": "batch", "epoch": 1, "step": 1, "gpu_memory_mb": 20_480.0}])
    assert describe_device(run_dir, read_metrics(run_dir)) == (
        "2 × NVIDIA H100 80GB HBM3, 20,480 MB used"
    )
    assert describe_engine(run_dir) == (
        "Keras 3.15.1 on jax 0.11.2, mixed precision (float16), XLA-compiled, "
        "data parallel over 2 devices, 80 GB of GPU memory"
    )


@pytest.mark.parametrize(
    ("auc", "matrix", "chance"),
    [
        (0.55, [[64, 64], [64, 64]], True),  # 256 pairs: two standard errors is 0.072
        (0.58, [[64, 64], [64, 64]], False),
        (0.55, [[640, 360], [400, 600]], False),  # 2,000 pairs: 0.026
        (0.40, [[64, 64], [64, 64]], True),  # worse than guessing is no better than it
        (None, [[0, 0], [10, 54]], False),  # one kind of pair: nothing to judge
    ],
)
def test_no_better_than_chance_uses_the_auc_standard_error(
    auc: float | None, matrix: list, chance: bool
) -> None:
    assert no_better_than_chance({"auc": auc, "confusion_matrix": matrix}) is chance


def test_repeated_test_pairs_are_no_extra_evidence() -> None:
    """0.62 beats guessing on 128 + 128 pairs, not on the 30 + 30 different ones among them."""
    drawn = {"auc": 0.62, "confusion_matrix": [[64, 64], [64, 64]]}
    assert not no_better_than_chance(drawn)
    assert no_better_than_chance({**drawn, "distinct_pairs": {"same": 30, "different": 30}})


def test_the_metrics_log_is_read_incrementally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = make_run(tmp_path, "growing")
    lines = training_log(STEPS, 2, 5)
    parsed = []
    parse = runs.logs._parse_log_lines
    monkeypatch.setattr(
        runs.logs, "_parse_log_lines", lambda chunk: parsed.append(chunk) or parse(chunk)
    )
    write_log(run_dir, lines[:12], tail=json.dumps(lines[12])[:20])  # a line being written
    assert len(read_metrics(run_dir)) == 12
    with RunLayout(run_dir).metrics.open("a") as log:
        log.write(json.dumps(lines[12])[20:] + "\n")
        log.write("".join(json.dumps(line) + "\n" for line in lines[13:]))
    assert_same_table(read_metrics(run_dir), lines)
    assert parsed[1].startswith(json.dumps(lines[12]).encode())  # only what was new
    assert len(read_metrics(run_dir)) == len(lines) and parsed[2] == b""


def test_a_log_cut_back_and_rewritten_is_read_afresh(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "resumed")
    write_log(run_dir, training_log(STEPS, 1, 5))
    read_metrics(run_dir)
    # A resumed run cuts the log back to its checkpoint and redoes the epoch, at other times.
    redone = training_log(STEPS, 1, 0) + training_log(STEPS, 2, 3, start=5000.0)[STEPS + 1 :]
    write_log(run_dir, redone)
    assert_same_table(read_metrics(run_dir), redone)
    replaced = RunLayout(run_dir).metrics.with_suffix(".new")
    replaced.write_text(json.dumps(redone[0]) + "\n")
    replaced.replace(RunLayout(run_dir).metrics)
    assert len(read_metrics(run_dir)) == 1


def assert_same_table(table: pd.DataFrame, lines: list[dict]) -> None:
    pd.testing.assert_frame_equal(table, pd.DataFrame.from_records(lines), check_dtype=False)


BROKEN_RECORDS = {
    "status of []": ("status.json", "[]", "holds list, not a record"),
    "empty status": ("status.json", "", "is empty"),
    "garbage status": ("status.json", "}{not json", "is not JSON"),
    "a start that is no time": (
        "status.json",
        '{"state": "stopped", "started": "yesterday"}',
        "'started' is 'yesterday', not a finite number",
    ),
    "an unknown state": ("status.json", '{"state": "dancing"}', "'dancing' is not one"),
    "launch without its fields": ("launch.json", '{"command": []}', "has no 'pid'"),
}


@pytest.mark.parametrize("case", list(BROKEN_RECORDS))
def test_a_run_with_a_damaged_record_is_listed_with_why_and_the_others_still_show(
    case: str, tmp_path: Path, capsys
) -> None:
    from facedemo.__main__ import main

    file, text, said = BROKEN_RECORDS[case]
    good = fake_run(tmp_path, "good", state="finished")
    broken = fake_run(tmp_path, "broken", state="stopped")
    (broken / file).write_text(text)
    listed = {run.run_id: run for run in runs.list_runs(tmp_path)}
    assert listed["good"].state == "finished"
    assert listed["broken"].state == runs.UNREADABLE
    assert said in listed["broken"].error and f"broken/{file}" in listed["broken"].error
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "good" in out and said in out
    with pytest.raises(RunError, match=r"cannot be resumed|not resumable|unreadable|damaged"):
        runs.resume_run(broken)
    assert good.is_dir()


def test_wrongly_typed_config_eval_and_metrics_are_named_not_tracebacks(tmp_path: Path) -> None:
    run_dir = fake_run(tmp_path, "typed", state="finished")
    layout = RunLayout(run_dir)
    layout.config.write_text('{"settings": {"epochs": "many"}}')
    with pytest.raises(RunError, match=r"typed/config.json: its settings cannot be read"):
        runs.read_settings(run_dir)
    layout.eval.write_text('{"pairs": 4, "accuracy": 0.5, "threshold": 0.5, "confusion_matrix": 7}')
    with pytest.raises(RunError, match=r"typed/eval.json: 'confusion_matrix' is 7"):
        runs.read_eval(run_dir)
    layout.eval.write_text(
        '{"pairs": 4, "accuracy": 0.5, "threshold": 0.5, "confusion_matrix": [[1, 2], [3]]}'
    )
    with pytest.raises(RunError, match=r"not 2 × 2 counts"):
        runs.read_eval(run_dir)
    write_log(
        run_dir,
        [
            {"kind": "epoch", "epoch": 1, "loss": 0.5},
            {"kind": "epoch", "epoch": "two", "loss": 0.4},  # hand-edited: skipped
            {"kind": "epoch", "epoch": 3, "loss": [0.3]},  # skipped
            {"kind": "party", "epoch": 4},  # skipped
        ],
    )
    table = runs.read_metrics(run_dir)
    assert list(table["epoch"]) == [1] and table["loss"].dtype.kind == "f"


def test_evaluate_on_a_damaged_run_says_which_file(tmp_path: Path, capsys) -> None:
    from facedemo.__main__ import main

    run_dir = fake_run(tmp_path, "bad", state="finished")
    RunLayout(run_dir).config.write_text("[1, 2]")
    assert main(["evaluate", "bad", "--runs-dir", str(tmp_path)]) == 1
    assert "bad/config.json holds list, not a record" in capsys.readouterr().err


def test_runs_dir_naming_a_file_is_argparse_s_error(tmp_path: Path, capsys) -> None:
    from facedemo.__main__ import main

    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(SystemExit) as stopped:
        main(["runs", "--runs-dir", str(tmp_path / "runs")])
    assert stopped.value.code == 2
    assert "is a file, not a folder of runs" in capsys.readouterr().err


REVIEWED_DAMAGE = {
    # Found by review: each crashed the runs list, the monitor or Verify.
    "a pid beyond any": ("status.json", {"state": "running", "pid": 10**20}, "not a process id"),
    "pid -1": ("status.json", {"state": "running", "pid": -1}, "not a process id"),
    "an empty ROC": (
        "eval.json",
        {
            "pairs": 4,
            "accuracy": 0.5,
            "threshold": 0.5,
            "confusion_matrix": [[1, 1], [1, 1]],
            "auc": 0.5,
            "roc": {},
        },
        "has no 'false_positive_rate'",
    ),
    "empty pair counts": (
        "eval.json",
        {
            "pairs": 4,
            "accuracy": 0.5,
            "threshold": 0.5,
            "confusion_matrix": [[1, 1], [1, 1]],
            "all_pairs": {},
        },
        "has no 'same'",
    ),
}


@pytest.mark.parametrize("case", list(REVIEWED_DAMAGE))
def test_reviewed_damage_is_named_not_a_crash(case: str, tmp_path: Path) -> None:
    file, record, said = REVIEWED_DAMAGE[case]
    run_dir = fake_run(tmp_path, "hurt", state="finished")
    write_json_atomic(run_dir / file, record)
    listed = runs.list_runs(tmp_path)  # never raises
    if file == "status.json":
        assert listed[0].state == runs.UNREADABLE and said in listed[0].error
    else:
        with pytest.raises(RunError, match=said):
            runs.read_eval(run_dir)


def test_nulls_and_non_finite_metrics_fall_back_instead_of_crashing(tmp_path: Path) -> None:
    run_dir = fake_run(tmp_path, "nulls", state="stopped")
    layout = RunLayout(run_dir)
    write_json_atomic(layout.config, {**read_config(run_dir), "dataset": None})
    assert runs.read_split(run_dir) == [] and runs.trained_people(run_dir) is None
    layout.checkpoint_state.parent.mkdir(exist_ok=True)
    write_json_atomic(layout.checkpoint_state, {"epoch": None, "last": None})
    assert runs.read_checkpoint(run_dir).epoch == 0  # the default, not None
    layout.metrics.write_text(
        '{"kind": "batch", "epoch": NaN, "step": 1, "time": 1.0}\n'
        '{"kind": "batch", "epoch": 1, "step": Infinity, "time": 1.0}\n'
        '{"kind": "batch", "epoch": 1.5, "step": 1, "time": 1.0}\n'
        '{"kind": "epoch", "epoch": 1, "step": 2, "time": 2.0, "loss": NaN}\n'
    )
    metrics = runs.read_metrics(run_dir)
    assert list(metrics["kind"]) == ["epoch"]  # a diverged loss is kept, broken counts are not
    runs.progress(runs.read_status(run_dir), runs.read_settings(run_dir), metrics)
