"""Training runs on disk: the run directory's layout, reading it, starting and stopping runs.

The trainer (``train.py``) writes a run; this module is the only reader. Reading
never fails on what a crash can leave behind: a torn last line of the metrics
log is skipped, and a run whose process has vanished while its status says it
runs is reported as "interrupted". Besides reading, this module launches the
trainer as its own process (writing the "queued" status with its pid until the
trainer takes over) and asks it to stop by creating the STOP file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facedemo.datasets import open_dataset
from facedemo.errors import RunError
from facedemo.siamese import RUN_ID_PATTERN, TrainConfig, tunable_settings

#: States a run is in while its process works.
ALIVE_STATES = frozenset({"queued", "running"})

#: Batch lines used to estimate the current speed (the median ignores hiccups).
PACE_WINDOW = 50


@dataclass(frozen=True)
class RunLayout:
    """Where each part of a run lives inside its directory."""

    run_dir: Path

    @property
    def config(self) -> Path:
        return self.run_dir / "config.json"

    @property
    def status(self) -> Path:
        return self.run_dir / "status.json"

    @property
    def metrics(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def checkpoint_state(self) -> Path:
        """Which checkpoint files are the last and the best, and the log size they match."""
        return self.checkpoints / "state.json"

    @property
    def eval(self) -> Path:
        return self.run_dir / "eval.json"

    @property
    def stop(self) -> Path:
        return self.run_dir / "STOP"

    @property
    def log(self) -> Path:
        """The trainer's printed output when started from here (or the page)."""
        return self.run_dir / "train.log"

    @property
    def preview(self) -> Path:
        """A few training pairs as the network sees them (``PairImages``)."""
        return self.run_dir / "preview.npz"

    @property
    def misclassified(self) -> Path:
        """The test pairs the best checkpoint got most wrong (``PairImages``)."""
        return self.run_dir / "misclassified.npz"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` in one step, so a reader sees the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunError(f"{path} cannot be read ({error}).") from None


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass(frozen=True)
class RunStatus:
    """What a run is doing: state, process, epochs done and its best validation numbers."""

    run_id: str
    run_dir: Path
    state: str
    pid: int | None = None
    started: float | None = None
    updated: float | None = None
    epoch: int = 0
    best_epoch: int | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    best_val_auc: float | None = None
    error: str | None = None

    @property
    def alive(self) -> bool:
        return self.state in ALIVE_STATES


def find_run(runs_dir: str | Path, run_id: str) -> Path:
    """The directory of run ``run_id`` in ``runs_dir``."""
    runs_dir = Path(runs_dir)
    run_dir = runs_dir / run_id
    if not RUN_ID_PATTERN.fullmatch(run_id) or not RunLayout(run_dir).status.is_file():
        raise RunError(f"No run named {run_id} in {runs_dir}.")
    return run_dir


def read_status(run_dir: Path) -> RunStatus:
    """The run's status; "running" with a vanished process reads as "interrupted"."""
    data = _read_json(RunLayout(run_dir).status)
    if data is None:
        raise RunError(f"No run named {run_dir.name} in {run_dir.parent}.")
    known = {f.name for f in fields(RunStatus)} - {"run_id", "run_dir"}
    status = RunStatus(run_dir.name, run_dir, **{k: v for k, v in data.items() if k in known})
    if status.alive and not (status.pid and is_alive(status.pid)):
        why = "Its process ended without saying why (killed, or the computer restarted)."
        return replace(status, state="interrupted", error=why)
    return status


def list_runs(runs_dir: str | Path) -> list[RunStatus]:
    """Every readable run in ``runs_dir``, the most recently started first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = []
    for run_dir in runs_dir.iterdir():
        if RunLayout(run_dir).status.is_file():
            try:
                runs.append(read_status(run_dir))
            except RunError:
                continue  # a status file someone else broke: not ours to show
    return sorted(runs, key=lambda run: (run.started or 0, run.run_id), reverse=True)


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json: settings, data set and split, device and versions."""
    config = _read_json(RunLayout(run_dir).config)
    if config is None:
        raise RunError(f"Run {run_dir.name} has not written its settings yet; try again shortly.")
    return config


def read_settings(run_dir: Path) -> TrainConfig:
    """The run's training settings."""
    return TrainConfig.from_dict(read_config(run_dir)["settings"])


def describe_device(run_dir: Path, metrics: pd.DataFrame) -> str:
    """ "CPU", or the GPU's name and the most memory the run has used on it so far."""
    device = read_config(run_dir)["device"]
    if device["kind"] == "CPU":
        return "CPU"
    memory = metrics["gpu_memory_mb"].dropna() if "gpu_memory_mb" in metrics else ()
    return f"{device['name']}, {memory.iloc[-1]:.0f} MB" if len(memory) else device["name"]


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """Every readable line of metrics.jsonl as a table (one row a line, column ``kind``)."""
    try:
        text = RunLayout(run_dir).metrics.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        text = ""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # torn by a crash mid-write
        if isinstance(record, dict) and "kind" in record:
            records.append(record)
    return pd.DataFrame.from_records(records, columns=None if records else ["kind", "epoch"])


def read_eval(run_dir: Path) -> dict[str, Any] | None:
    """eval.json (test ROC points, AUC, accuracy, confusion matrix), once the run has one."""
    return _read_json(RunLayout(run_dir).eval)


def read_checkpoint_state(run_dir: Path) -> dict[str, Any] | None:
    """checkpoints/state.json: the last and best checkpoint and the epoch they end."""
    return _read_json(RunLayout(run_dir).checkpoint_state)


def checkpoint_path(run_dir: Path, which: str = "best") -> Path:
    """The ``"best"`` or ``"last"`` checkpoint file of a run."""
    state = read_checkpoint_state(run_dir)
    if state is None or not state.get(which):
        raise RunError(
            f"Run {run_dir.name} has no saved model yet; one is saved at the end of each epoch."
        )
    return RunLayout(run_dir).checkpoints / state[which]


def read_log_tail(run_dir: Path, lines: int = 20) -> str:
    """The last ``lines`` lines the trainer printed (empty if started elsewhere)."""
    try:
        text = RunLayout(run_dir).log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class PairImages:
    """Face pairs as uint8 pictures, with labels and (after testing) the model's probability."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray
    probability: np.ndarray | None = None

    def side_by_side(self) -> list[np.ndarray]:
        """One picture per pair, the two faces next to each other."""
        return [np.concatenate(pair, axis=1) for pair in zip(self.first, self.second, strict=True)]

    def captions(self) -> list[str]:
        """ "same person" / "different people", plus the model's probability when known."""
        labels = ["same person" if same else "different people" for same in self.same]
        if self.probability is None:
            return labels
        return [
            f"{label} · model says {p:.0%} same"
            for label, p in zip(labels, self.probability, strict=True)
        ]


def read_pairs(path: Path) -> PairImages | None:
    """A ``PairImages`` file of a run (``RunLayout.preview`` / ``.misclassified``), if written."""
    try:
        with np.load(path) as arrays:
            return PairImages(**{name: arrays[name] for name in arrays.files})
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunError(f"{path} cannot be read ({error}).") from None


@dataclass(frozen=True)
class RunProgress:
    """How far a run is: the epoch under way, batches done in it, speed and time left."""

    epoch: int
    step: int
    steps_per_epoch: int
    epochs: int
    pairs_per_s: float | None
    eta_seconds: float | None

    @property
    def eta_text(self) -> str:
        """Time left for people: "about 4 min", or "-" when unknown."""
        if self.eta_seconds is None:
            return "-"
        if self.eta_seconds < 90:
            return f"about {max(round(self.eta_seconds), 1)} s"
        if self.eta_seconds < 90 * 60:
            return f"about {round(self.eta_seconds / 60)} min"
        return f"about {self.eta_seconds / 3600:.1f} h"

    @property
    def fraction(self) -> float:
        """Share of the planned batches done (early stopping may end sooner)."""
        done = max(self.epoch - 1, 0) * self.steps_per_epoch + self.step
        return min(done / (self.epochs * self.steps_per_epoch), 1.0)


def progress(status: RunStatus, settings: TrainConfig, metrics: pd.DataFrame) -> RunProgress:
    """Position, speed and estimated time left (only while alive) from the metrics log."""
    batches = metrics[metrics["kind"] == "batch"]
    if batches.empty:
        return RunProgress(0, 0, settings.steps_per_epoch, settings.epochs, None, None)
    epoch, step = int(batches["epoch"].iloc[-1]), int(batches["step"].iloc[-1])
    recent = batches.tail(PACE_WINDOW)
    pairs_per_s = float(recent["pairs_per_s"].median())
    eta = None
    if status.alive:
        same_epoch = recent["epoch"].diff() == 0
        step_seconds = recent["time"].diff()[same_epoch].median()
        epochs = metrics[metrics["kind"] == "epoch"]
        last_batches = batches[batches["step"] == settings.steps_per_epoch]
        ends = epochs.merge(last_batches, on="epoch", suffixes=("", "_batch"))
        validation_seconds = (ends["time"] - ends["time_batch"]).median() if len(ends) else 0.0
        remaining_steps = settings.epochs * settings.steps_per_epoch - (
            (epoch - 1) * settings.steps_per_epoch + step
        )
        remaining_validations = settings.epochs - len(epochs)
        if not np.isnan(step_seconds):
            eta = remaining_steps * step_seconds + remaining_validations * validation_seconds
    return RunProgress(epoch, step, settings.steps_per_epoch, settings.epochs, pairs_per_s, eta)


#: Columns of the per-epoch table, in the order shown.
EPOCH_COLUMNS = (
    "epoch",
    "loss",
    "accuracy",
    "auc",
    "val_loss",
    "val_accuracy",
    "val_auc",
    "pairs_per_s",
)


def epoch_table(metrics: pd.DataFrame, best_epoch: int | None) -> pd.DataFrame:
    """One row per finished epoch, train and validation numbers, the best epoch marked."""
    epochs = metrics[metrics["kind"] == "epoch"]
    table = epochs.reindex(columns=list(EPOCH_COLUMNS)).reset_index(drop=True)
    table["best"] = table["epoch"] == best_epoch
    return table


def new_run_id() -> str:
    """A run id from the current time, e.g. ``20250131-142501``."""
    return time.strftime("%Y%m%d-%H%M%S")


def _launch(run_dir: Path, arguments: list[str]) -> subprocess.Popen:
    """Start the trainer in its own session, its output going to the run's train.log."""
    package_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": python_path}
    layout = RunLayout(run_dir)
    with layout.log.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "facedemo", "train", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    previous = _read_json(layout.status) or {}
    write_json_atomic(
        layout.status,
        {**previous, "state": "queued", "pid": process.pid, "updated": time.time(), "error": None},
    )
    return process


def start_run(config: TrainConfig, runs_dir: str | Path) -> subprocess.Popen:
    """Start training ``config`` as a new run in ``runs_dir`` in a process of its own."""
    runs_dir = Path(runs_dir)
    run_dir = runs_dir / config.run_id
    open_dataset(config.dataset)  # a wrong folder fails here, not in the trainer
    if run_dir.exists():
        raise RunError(
            f"A run named {config.run_id} already exists in {runs_dir}; choose another name."
        )
    run_dir.mkdir(parents=True)
    arguments = [config.dataset, "--runs-dir", str(runs_dir), "--run-id", config.run_id]
    for name in tunable_settings():
        value = getattr(config, name)
        values = value if isinstance(value, tuple) else (value,)
        arguments += ["--" + name.replace("_", "-"), *map(str, values)]
    return _launch(run_dir, arguments)


def resume_run(run_dir: Path) -> subprocess.Popen:
    """Continue a stopped, failed or interrupted run from its last checkpoint."""
    status = read_status(run_dir)
    if status.alive:
        raise RunError(f"Run {status.run_id} is still {status.state}.")
    if status.state == "finished":
        raise RunError(f"Run {status.run_id} has finished; start a new run to train more.")
    RunLayout(run_dir).stop.unlink(missing_ok=True)
    return _launch(run_dir, ["--resume", run_dir.name, "--runs-dir", str(run_dir.parent)])


def stop_run(run_dir: Path) -> None:
    """Ask a run to stop after the batch under way (it saves nothing newer than its last epoch)."""
    status = read_status(run_dir)
    if not status.alive:
        raise RunError(f"Run {status.run_id} is not running (it is {status.state}).")
    RunLayout(run_dir).stop.touch()
