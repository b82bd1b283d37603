"""Shared by the siamese tests: a tiny real training run on the shared photos, and run
directories and metrics logs made by hand as the trainer would leave them."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from facedemo import config
from facedemo.files import write_json_atomic
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs import RunLayout, process_start_time

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ["FACEDEMO_DEMO_DATA"])
TINY = {"image_size": 64, "batch_size": 16, "validation_pairs": 64, "test_pairs": 64}
TINY_STEPS, TINY_EPOCHS = 5, 2


def cli(*args: str) -> list[str]:
    """The command line of ``python -m facedemo <args>`` for this package's verbs."""
    return [sys.executable, "-m", "facedemo", *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}


def tiny_flags(run_id: str, runs_dir: Path, epochs: int, steps: int) -> list[str]:
    flags = [str(SHARED_DATA), "--runs-dir", str(runs_dir), "--run-id", run_id]
    flags += ["--epochs", str(epochs), "--steps-per-epoch", str(steps)]
    for name, value in TINY.items():
        flags += ["--" + name.replace("_", "-"), str(value)]
    return flags


@functools.cache
def tiny_run() -> tuple[Path, float]:
    """One finished short CPU run for the whole session (trained once): its dir and duration."""
    runs_dir = config.home() / "tiny-runs"
    started = time.monotonic()
    done = subprocess.run(
        cli("train", *tiny_flags("tiny", runs_dir, TINY_EPOCHS, TINY_STEPS)),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return runs_dir / "tiny", time.monotonic() - started


def fake_run(
    runs_dir: Path, run_id: str, settings: TrainConfig | None = None, **status: Any
) -> Path:
    """A run directory as the trainer leaves it, its settings saved; by default "running" in
    this very test process (so it reads as alive)."""
    layout = RunLayout(runs_dir / run_id)
    layout.run_dir.mkdir(parents=True)
    settings = settings or TrainConfig("photos", run_id)
    device = {"kind": "CPU", "name": "x86_64"}
    write_json_atomic(layout.config, {"settings": settings.to_dict(), "device": device})
    me = {"pid": os.getpid(), "process_start": process_start_time(os.getpid())}
    write_json_atomic(
        layout.status, {"state": "running", **me, "started": time.time(), "epoch": 0, **status}
    )
    return layout.run_dir


def training_log(
    steps_per_epoch: int,
    full_epochs: int,
    extra_batches: int,
    *,
    start: float = 1000.0,
    batch_seconds: float = 0.5,
    validation_seconds: float = 2.0,
    pairs_per_s: float = 800.0,
) -> list[dict[str, Any]]:
    """Metrics lines of ``full_epochs`` whole epochs and ``extra_batches`` of the next: a batch
    every ``batch_seconds``, ``validation_seconds`` of validation after each epoch."""
    lines, now = [], start
    for epoch in range(1, full_epochs + 2):
        steps = steps_per_epoch if epoch <= full_epochs else extra_batches
        for step in range(1, steps + 1):
            now += batch_seconds
            lines.append(
                {
                    "kind": "batch",
                    "epoch": epoch,
                    "step": step,
                    "time": now,
                    "loss": 0.7,
                    "accuracy": 0.5,
                    "auc": 0.5,
                    "pairs_per_s": pairs_per_s,
                }
            )
        if epoch <= full_epochs:
            now += validation_seconds
            lines.append(
                {
                    "kind": "epoch",
                    "epoch": epoch,
                    "step": steps_per_epoch,
                    "time": now,
                    "loss": 0.6 - epoch / 10,
                    "accuracy": 0.5 + epoch / 20,
                    "auc": 0.55 + epoch / 20,
                    "val_loss": 0.65 - epoch / 20,
                    "val_accuracy": 0.5 + epoch / 40,
                    "val_auc": 0.5 + epoch / 40,
                    "pairs_per_s": pairs_per_s,
                }
            )
    return lines


def write_log(run_dir: Path, lines: list[dict[str, Any]], tail: str = "") -> None:
    """metrics.jsonl of ``lines``, then ``tail`` (e.g. what a kill mid-write leaves)."""
    text = "".join(json.dumps(line) + "\n" for line in lines) + tail
    RunLayout(run_dir).metrics.write_text(text)


def ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    return ended.pid
