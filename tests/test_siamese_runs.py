"""Reading run directories: torn logs, vanished processes, progress, and clear refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facedemo.errors import DatasetError, RunError
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs import (
    PairImages,
    RunLayout,
    describe_device,
    epoch_table,
    find_run,
    list_runs,
    progress,
    read_metrics,
    read_pairs,
    read_status,
    start_run,
    stop_run,
    write_json_atomic,
)

STEPS, EPOCHS = 10, 4


def make_run(runs_dir: Path, run_id: str, **status: object) -> Path:
    """A run directory as the trainer leaves it: status and settings."""
    layout = RunLayout(runs_dir / run_id)
    layout.run_dir.mkdir(parents=True)
    write_json_atomic(layout.status, {"state": "running", "pid": os.getpid(), **status})
    settings = TrainConfig("data", run_id, steps_per_epoch=STEPS, epochs=EPOCHS)
    write_json_atomic(layout.config, {"settings": settings.to_dict()})
    return layout.run_dir


def write_metrics(run_dir: Path, lines: list[dict], tail: str = "") -> None:
    text = "".join(json.dumps(line) + "\n" for line in lines) + tail
    RunLayout(run_dir).metrics.write_text(text)


def paced_log(full_epochs: int, extra_batches: int) -> list[dict]:
    """Batches every 0.5 s, 2 s of validation after each epoch."""
    lines, now = [], 1000.0
    for epoch in range(1, full_epochs + 2):
        steps = STEPS if epoch <= full_epochs else extra_batches
        for step in range(1, steps + 1):
            now += 0.5
            lines.append(
                {
                    "kind": "batch",
                    "epoch": epoch,
                    "step": step,
                    "time": now,
                    "loss": 0.7,
                    "pairs_per_s": 800.0,
                }
            )
        if epoch <= full_epochs:
            now += 2.0
            lines.append(
                {
                    "kind": "epoch",
                    "epoch": epoch,
                    "step": STEPS,
                    "time": now,
                    "loss": 0.6 - epoch / 10,
                    "val_loss": 0.65 - epoch / 20,
                }
            )
    return lines


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "torn")
    write_metrics(run_dir, paced_log(1, 2), tail='{"kind": "batch", "epo')
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
    write_metrics(run_dir, paced_log(1, 5))
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


def test_epoch_table_marks_the_best_epoch(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "table")
    write_metrics(run_dir, paced_log(3, 0))
    table = epoch_table(read_metrics(run_dir), best_epoch=2)
    assert list(table["epoch"]) == [1, 2, 3]
    assert list(table["best"]) == [False, True, False]
    assert table["val_loss"].notna().all()


def test_a_vanished_process_reads_as_interrupted(tmp_path: Path) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    run_dir = make_run(tmp_path, "gone", pid=ended.pid)
    status = read_status(run_dir)
    assert status.state == "interrupted" and not status.alive
    assert "ended" in status.error


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


def test_the_device_is_named_with_the_memory_used(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "gpu")
    settings = TrainConfig("data", "gpu").to_dict()
    device = {"kind": "GPU", "name": "NVIDIA T4"}
    write_json_atomic(RunLayout(run_dir).config, {"settings": settings, "device": device})
    write_metrics(run_dir, [{"kind": "batch", "epoch": 1, "step": 1, "gpu_memory_mb": 1234.4}])
    assert describe_device(run_dir, read_metrics(run_dir)) == "NVIDIA T4, 1234 MB"
    cpu = make_run(tmp_path, "cpu")
    write_json_atomic(RunLayout(cpu).config, {"settings": settings, "device": {"kind": "CPU"}})
    assert describe_device(cpu, read_metrics(cpu)) == "CPU"
