"""Training runs on disk: the run directory's layout, reading it, starting and stopping runs.

The trainer (``train.py``) writes a run; this module is the only reader. Reading
never fails on what a crash can leave behind: a torn last line of the metrics
log is skipped, and a run whose process has vanished while its status says it
runs is reported as "interrupted". Besides reading, this module launches the
trainer as its own process and asks it to stop by creating the STOP file. The
launcher records what it started in a file of its own (launch.json); until the
trainer's status.json is newer than that, the run reads as "queued".

A process is recognised by its pid and, on Linux, its start time, so a pid that
the system has given to another process (after a reboot, say) is not taken for
the run's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facedemo.datasets import Progress, open_dataset
from facedemo.errors import RunError
from facedemo.files import write_json_atomic
from facedemo.siamese import RUN_ID_PATTERN, TrainConfig, tunable_settings

#: States a run is in while its process works.
ALIVE_STATES = frozenset({"queued", "running", "testing"})

#: States a run can be resumed from (with its settings saved).
RESUMABLE_STATES = frozenset({"stopped", "failed", "interrupted"})

#: Data set names that ``open_dataset`` resolves itself; anything else is a path.
NAMED_DATASETS = frozenset({"demo", "lfw"})

#: Batch lines used to estimate the current speed (the median ignores hiccups).
PACE_WINDOW = 50

#: Bytes of the metrics log just before the part already read that must be unchanged for
#: the next read to continue from there (a resumed run cuts the log back and rewrites it).
LOG_FINGERPRINT_BYTES = 256

#: Metrics logs whose parsed lines are kept between reads.
LOG_CACHE_SIZE = 8


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
    def launch(self) -> Path:
        """What the launcher started: pid, the process's start time, command and time."""
        return self.run_dir / "launch.json"

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

    @property
    def test_pairs(self) -> Path:
        """Every test pair with the best checkpoint's probability: a pairs CSV (file_x,
        file_y, decision, probability) the threshold explorer reads."""
        return self.run_dir / "test_pairs.csv"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunError(f"{path} cannot be read ({error}).") from None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3 and on of /proc/<pid>/stat (after the command name), or None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux); None where unknown."""
    stat = _proc_stat(pid)
    return int(stat[22 - 3]) if stat else None  # field 22, "starttime"


def is_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether process ``pid`` exists, has not ended (a zombie has ended) and, when
    ``start_time`` is given and the system tells, is the process that started then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    if stat is None:
        return True
    if start_time is not None and int(stat[22 - 3]) != start_time:
        return False  # the pid now belongs to another process
    return stat[0] != "Z"


@dataclass(frozen=True)
class RunStatus:
    """What a run is doing: state, process, epochs done and its best validation numbers."""

    run_id: str
    run_dir: Path
    state: str
    pid: int | None = None
    process_start: int | None = None
    started: float | None = None
    updated: float | None = None
    epoch: int = 0
    best_epoch: int | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    best_val_auc: float | None = None
    error: str | None = None
    stopping: bool = False  # alive, and asked to stop at the next batch

    @property
    def alive(self) -> bool:
        return self.state in ALIVE_STATES


def _is_run(run_dir: Path) -> bool:
    layout = RunLayout(run_dir)
    return layout.status.is_file() or layout.launch.is_file()


def find_run(runs_dir: str | Path, run_id: str) -> Path:
    """The directory of run ``run_id`` in ``runs_dir``."""
    runs_dir = Path(runs_dir)
    run_dir = runs_dir / run_id
    if not RUN_ID_PATTERN.fullmatch(run_id) or not _is_run(run_dir):
        raise RunError(f"No run named {run_id} in {runs_dir}.")
    return run_dir


def _taken_over(status: dict[str, Any] | None, launch: dict[str, Any]) -> bool:
    """Whether the trainer has written its status since the launch (or a later trainer has)."""
    if status is None:
        return False
    same_process = (status.get("pid"), status.get("process_start")) == (
        launch["pid"],
        launch.get("process_start"),
    )
    return same_process or (status.get("started") or 0) >= launch["time"]


def read_status(run_dir: Path) -> RunStatus:
    """The run's status: the trainer's, or "queued" from a newer launch; "running" with a
    vanished process reads as "interrupted"."""
    layout = RunLayout(run_dir)
    data, launch = _read_json(layout.status), _read_json(layout.launch)
    if data is None and launch is None:
        raise RunError(f"No run named {run_dir.name} in {run_dir.parent}.")
    if launch is not None and not _taken_over(data, launch):
        data = {
            "started": launch["time"],
            **(data or {}),
            "state": "queued",
            "pid": launch["pid"],
            "process_start": launch.get("process_start"),
            "updated": launch["time"],
            "error": None,
        }
    known = {f.name for f in fields(RunStatus)} - {"run_id", "run_dir", "stopping"}
    status = RunStatus(run_dir.name, run_dir, **{k: v for k, v in data.items() if k in known})
    if not status.alive:
        return status
    if not (status.pid and is_alive(status.pid, status.process_start)):
        why = (
            "Its process ended before it could record why (killed, the computer restarted, "
            "or an error on start-up: see its output)."
        )
        return replace(status, state="interrupted", error=why)
    return replace(status, stopping=layout.stop.exists())


def runs_with_test_pairs(runs_dir: str | Path) -> list[Path]:
    """Test-pair files of the runs that finished testing, newest run first."""
    paths = [RunLayout(status.run_dir).test_pairs for status in list_runs(runs_dir)]
    return [path for path in paths if path.is_file()]


def list_runs(runs_dir: str | Path) -> list[RunStatus]:
    """Every readable run in ``runs_dir``, the most recently started first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = []
    for run_dir in runs_dir.iterdir():
        if _is_run(run_dir):
            try:
                runs.append(read_status(run_dir))
            except RunError:
                continue  # a status file someone else broke: not ours to show
    return sorted(runs, key=lambda run: (run.started or 0, run.run_id), reverse=True)


def has_settings(run_dir: Path) -> bool:
    """Whether the trainer has saved the run's settings (config.json), its first act."""
    return RunLayout(run_dir).config.is_file()


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json: settings, data set and split, device and versions."""
    config = _read_json(RunLayout(run_dir).config)
    if config is None:
        if read_status(run_dir).alive:
            raise RunError(
                f"Run {run_dir.name} has not written its settings yet; try again shortly."
            )
        raise RunError(
            f"Run {run_dir.name} ended before it saved its settings, so there is nothing to "
            "show or resume; its output (train.log) says why. Start a new run."
        )
    return config


def read_settings(run_dir: Path) -> TrainConfig:
    """The run's training settings."""
    return TrainConfig.from_dict(read_config(run_dir)["settings"])


def describe_device(run_dir: Path, metrics: pd.DataFrame) -> str:
    """ "CPU", or the GPU's name and the most memory the run has used on it so far."""
    device = read_config(run_dir)["device"]
    if device["kind"] == "CPU":
        return "CPU"
    count = f"{device['count']} × " if device.get("count", 1) > 1 else ""
    memory = metrics["gpu_memory_mb"].dropna() if "gpu_memory_mb" in metrics else ()
    used = f", {memory.iloc[-1]:,.0f} MB used" if len(memory) else ""
    return f"{count}{device['name']}{used}"


def describe_engine(run_dir: Path) -> str:
    """How the run computes, for people: Keras backend and version, precision, XLA, devices."""
    recorded = read_config(run_dir)
    device, versions = recorded["device"], recorded.get("versions", {})
    backend = device.get("backend", "tensorflow")  # runs saved before the backend was recorded
    policy = device.get("policy") or (
        "mixed_float16" if device.get("mixed_precision") else "float32"
    )
    parts = [f"Keras {versions.get('keras', '')} on {backend} {versions.get(backend, '')}".strip()]
    if policy.startswith("mixed_"):
        parts.append(f"mixed precision ({policy.removeprefix('mixed_')})")
    else:
        parts.append(policy)
    if device.get("xla"):
        parts.append("XLA-compiled")
    if device.get("count", 1) > 1:
        parts.append(f"data parallel over {device['count']} devices")
    if device.get("memory_mb"):
        parts.append(f"{device['memory_mb'] / 1024:,.0f} GB of GPU memory")
    return ", ".join(parts)


def _parse_log_lines(chunk: bytes) -> list[dict[str, Any]]:
    """The records of whole metrics lines; a line torn by a crash mid-write is skipped."""
    records = []
    for line in chunk.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "kind" in record:
            records.append(record)
    return records


def _table(records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=None if records else ["kind", "epoch"])


@dataclass(frozen=True)
class _ParsedLog:
    """A metrics log read up to ``offset`` (the end of its last whole line)."""

    file: tuple[int, int]  # device and inode: a replaced file is read afresh
    offset: int
    fingerprint: bytes  # the log's bytes just before ``offset``
    table: pd.DataFrame


_parsed_logs: dict[str, _ParsedLog] = {}
_parsed_logs_lock = threading.Lock()


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """Every readable line of metrics.jsonl as a table (one row a line, column ``kind``).

    Logs are read incrementally: what was parsed before is kept, and only the lines
    appended since are parsed, unless the log was replaced or cut back (a resumed run
    cuts it back to its last checkpoint). A line still being written waits for the next read.
    """
    path = RunLayout(run_dir).metrics
    key = str(path.absolute())
    with _parsed_logs_lock:
        parsed = _parsed_logs.get(key)
    try:
        with path.open("rb") as log:
            stat = os.fstat(log.fileno())
            file = (stat.st_dev, stat.st_ino)
            if parsed is not None and parsed.file == file and parsed.offset <= stat.st_size:
                log.seek(parsed.offset - len(parsed.fingerprint))
                if log.read(len(parsed.fingerprint)) != parsed.fingerprint:
                    parsed = None
            else:
                parsed = None
            start = parsed.offset if parsed else 0
            log.seek(start)
            chunk = log.read()
    except FileNotFoundError:
        return _table([])
    whole = chunk[: chunk.rfind(b"\n") + 1]
    records = _parse_log_lines(whole)
    if parsed is None:
        table, before = _table(records), b""
    else:
        table, before = parsed.table, parsed.fingerprint
        if records:
            table = pd.concat([table, _table(records)], ignore_index=True)
    fingerprint = (before + whole)[-LOG_FINGERPRINT_BYTES:]
    with _parsed_logs_lock:
        _parsed_logs.pop(key, None)
        _parsed_logs[key] = _ParsedLog(file, start + len(whole), fingerprint, table)
        while len(_parsed_logs) > LOG_CACHE_SIZE:
            del _parsed_logs[next(iter(_parsed_logs))]
    return table.copy()


def read_eval(run_dir: Path) -> dict[str, Any] | None:
    """eval.json (test ROC points, AUC, accuracy, confusion matrix), once the run has one."""
    return _read_json(RunLayout(run_dir).eval)


#: Standard errors above 0.5 a test AUC must reach to count as better than guessing.
CHANCE_STANDARD_ERRORS = 2


def no_better_than_chance(evaluation: dict[str, Any]) -> bool:
    """Whether eval.json's test AUC lies within two standard errors of a guessing model's 0.5.

    A model that guesses has an AUC whose variance is (P + N + 1) / (12 P N) for P
    same-person and N different-person pairs (the Mann-Whitney statistic under the null
    hypothesis), so on 256 test pairs anything below about 0.57 may be luck.
    """
    (tn, fp), (fn, tp) = evaluation["confusion_matrix"]
    positives, negatives = fn + tp, tn + fp
    if evaluation.get("auc") is None or not positives or not negatives:
        return False
    error = math.sqrt((positives + negatives + 1) / (12 * positives * negatives))
    return evaluation["auc"] - 0.5 < CHANCE_STANDARD_ERRORS * error


@dataclass(frozen=True)
class Checkpoint:
    """The commit record of the last finished epoch (checkpoints/state.json): the model files
    to resume from and to test, and the size the metrics log had then."""

    epoch: int = 0
    log_bytes: int = 0
    last: str | None = None
    best: str | None = None
    best_epoch: int | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    best_val_auc: float | None = None
    epochs_since_best: int = 0

    def training_done(self, config: TrainConfig) -> bool:
        return self.epoch >= config.epochs or self.epochs_since_best >= config.patience

    def best_metrics(self) -> dict[str, Any]:
        """The status fields that describe the best epoch."""
        names = ("best_epoch", "best_val_loss", "best_val_accuracy", "best_val_auc")
        return {name: getattr(self, name) for name in names}


def read_checkpoint(run_dir: Path) -> Checkpoint:
    """The run's last committed epoch; the empty record before its first epoch ends."""
    state = _read_json(RunLayout(run_dir).checkpoint_state)
    return Checkpoint(**state) if state else Checkpoint()


def checkpoint_path(run_dir: Path, which: str = "best") -> Path:
    """The ``"best"`` or ``"last"`` checkpoint file of a run."""
    name = getattr(read_checkpoint(run_dir), which)
    if not name:
        raise RunError(
            f"Run {run_dir.name} has no saved model yet; one is saved at the end of each epoch."
        )
    return RunLayout(run_dir).checkpoints / name


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
    if status.state == "running":  # queued: nothing to time yet; testing: training is over
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


#: Columns of the per-epoch table, in the order shown; the seen-people ones only when logged.
EPOCH_COLUMNS = (
    "epoch",
    "loss",
    "accuracy",
    "auc",
    "seen_val_loss",
    "seen_val_accuracy",
    "seen_val_auc",
    "val_loss",
    "val_accuracy",
    "val_auc",
    "pairs_per_s",
)
OPTIONAL_EPOCH_COLUMNS = frozenset({"seen_val_loss", "seen_val_accuracy", "seen_val_auc"})


def epoch_table(metrics: pd.DataFrame, best_epoch: int | None) -> pd.DataFrame:
    """One row per finished epoch, train and validation numbers, the best epoch marked."""
    epochs = metrics[metrics["kind"] == "epoch"]
    columns = [c for c in EPOCH_COLUMNS if c in epochs or c not in OPTIONAL_EPOCH_COLUMNS]
    table = epochs.reindex(columns=columns).reset_index(drop=True)
    table["best"] = table["epoch"] == best_epoch
    return table


def new_run_id() -> str:
    """A run id from the current time, e.g. ``20250131-142501``."""
    return time.strftime("%Y%m%d-%H%M%S")


def _launch(run_dir: Path, arguments: list[str]) -> subprocess.Popen:
    """Start the trainer in its own session, its output going to the run's train.log.

    What was started goes to launch.json; status.json is the trainer's alone.
    """
    package_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": python_path}
    layout = RunLayout(run_dir)
    command = [sys.executable, "-m", "facedemo", "train", *arguments]
    requested = time.time()  # before the trainer exists, so its "started" is never earlier
    with layout.log.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    launch = {
        "pid": process.pid,
        "process_start": process_start_time(process.pid),
        "command": command,
        "time": requested,
    }
    write_json_atomic(layout.launch, launch)
    return process


def dataset_source(dataset: str | Path) -> str:
    """How a run names its data set: ``demo`` and ``lfw`` as they are, a folder or a .zip as
    an absolute path (so the run can be evaluated from any working directory)."""
    text = str(dataset)
    if text in NAMED_DATASETS:
        return text
    return str(Path(text).expanduser().resolve())


def create_run(
    config: TrainConfig, runs_dir: str | Path, progress: Progress | None = None
) -> tuple[TrainConfig, Path]:
    """The start of every new run: a free name, a data set that opens (the demo set is
    downloaded here, ``progress`` told of each file), then its folder; the settings with the
    data set named as the run keeps it (``dataset_source``)."""
    runs_dir = Path(runs_dir)
    run_dir = runs_dir / config.run_id
    if run_dir.exists():
        raise RunError(
            f"A run named {config.run_id} already exists in {runs_dir}; choose another name."
        )
    config = replace(config, dataset=dataset_source(config.dataset))
    open_dataset(config.dataset, progress)  # a mistyped folder leaves no run behind
    run_dir.mkdir(parents=True)
    return config, run_dir


def check_resumable(run_dir: Path, launched_pid: int | None = None) -> RunStatus:
    """The run's status if it can be resumed; a RunError saying why not otherwise.

    ``launched_pid``: the trainer that ``resume_run`` launched for this resume, whose run
    reads "queued" (or "running") with that pid until it ends.
    """
    status = read_status(run_dir)
    if status.state == "finished":
        raise RunError(f"Run {status.run_id} has finished; start a new run to train more.")
    if status.alive and status.pid != launched_pid:
        raise RunError(f"Run {status.run_id} is still {status.state} (process {status.pid}).")
    read_config(run_dir)  # a run that died before saving its settings cannot continue
    return status


def start_run(
    config: TrainConfig, runs_dir: str | Path, progress: Progress | None = None
) -> subprocess.Popen:
    """Start training ``config`` as a new run in ``runs_dir`` in a process of its own."""
    config, run_dir = create_run(config, runs_dir, progress)
    arguments = [config.dataset, "--runs-dir", str(run_dir.parent), "--run-id", config.run_id]
    for name in tunable_settings():
        value = getattr(config, name)
        values = value if isinstance(value, tuple) else (value,)
        arguments += ["--" + name.replace("_", "-"), *map(str, values)]
    return _launch(run_dir, arguments)


def resume_run(run_dir: Path) -> subprocess.Popen:
    """Continue a stopped, failed or interrupted run from its last checkpoint."""
    check_resumable(run_dir)
    # The stop request that ended it is answered; one made once this resume is queued stands.
    RunLayout(run_dir).stop.unlink(missing_ok=True)
    return _launch(run_dir, ["--resume", run_dir.name, "--runs-dir", str(run_dir.parent)])


def stop_run(run_dir: Path) -> None:
    """Ask a run to stop after the batch under way (it saves nothing newer than its last epoch)."""
    status = read_status(run_dir)
    if not status.alive:
        raise RunError(f"Run {status.run_id} is not running (it is {status.state}).")
    RunLayout(run_dir).stop.touch()
