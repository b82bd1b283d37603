"""A tiny real training run on the shared photos, shared by the tests that need one."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

from facedemo import config

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
