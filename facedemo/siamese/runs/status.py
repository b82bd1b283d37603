"""What state a run is in: status.json read against launch.json and the living processes.

The states: queued → running → testing → finished, or stopped / failed /
interrupted, from which a run can be resumed. The trainer writes status.json;
the launcher writes launch.json when it starts a trainer, and until that
trainer's status is newer the run reads as "queued". A run whose status says it
is alive while its process has vanished reads as "interrupted". Also here: the
checkpoint record (how far the run has committed), finding and listing runs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from facedemo.errors import RunError
from facedemo.siamese import RUN_ID_PATTERN, TrainConfig
from facedemo.siamese.runs.layout import Checkpoint, RunLayout, read_record
from facedemo.siamese.runs.processes import is_alive
from facedemo.siamese.runs.schema import (
    CHECKPOINT_OPTIONAL,
    LAUNCH_OPTIONAL,
    LAUNCH_REQUIRED,
    STATUS_OPTIONAL,
    STATUS_REQUIRED,
)

#: States a run is in while its process works.
ALIVE_STATES = frozenset({"queued", "running", "testing"})

#: States a run can be resumed from (with its settings saved).
RESUMABLE_STATES = frozenset({"stopped", "failed", "interrupted"})

#: Every state a trainer writes.
STATES = ALIVE_STATES | RESUMABLE_STATES | {"finished"}

#: The state of a run whose status or launch record is damaged: listed, with why.
UNREADABLE = "unreadable"


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

    @property
    def resumable(self) -> bool:
        """Ended short of finishing (stopped, failed, interrupted): its trainer may continue it
        from its last checkpoint, once it has saved its settings."""
        return self.state in RESUMABLE_STATES


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
    try:
        data = read_record(layout.status, STATUS_REQUIRED, STATUS_OPTIONAL)
        launch = read_record(layout.launch, LAUNCH_REQUIRED, LAUNCH_OPTIONAL)
    except RunError as error:  # shown with why, so it neither vanishes nor hides the others
        return RunStatus(run_dir.name, run_dir, UNREADABLE, error=str(error))
    if data is None and launch is None:
        raise RunError(f"No run named {run_dir.name} in {run_dir.parent}.")
    if data is not None and data["state"] not in STATES:
        why = f"{run_dir.name}/status.json: the state {data['state']!r} is not one a run has."
        return RunStatus(run_dir.name, run_dir, UNREADABLE, error=why)
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


def list_runs(runs_dir: str | Path) -> list[RunStatus]:
    """Every run in ``runs_dir``, the most recently started first; a run with a damaged
    record is listed as "unreadable" with why (``read_status``)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [read_status(run_dir) for run_dir in runs_dir.iterdir() if _is_run(run_dir)]
    return sorted(runs, key=lambda run: (run.started or 0, run.run_id), reverse=True)


def read_checkpoint(run_dir: Path) -> Checkpoint:
    """The run's last committed epoch; the empty record before its first epoch ends."""
    state = read_record(RunLayout(run_dir).checkpoint_state, {}, CHECKPOINT_OPTIONAL)
    known = {field.name for field in fields(Checkpoint)}
    return Checkpoint(**{k: v for k, v in state.items() if k in known}) if state else Checkpoint()


def training_over(run_dir: Path, settings: TrainConfig) -> bool:
    """Whether the run has trained all it will (every epoch, or stopped early): what is left
    is its test."""
    return read_checkpoint(run_dir).training_done(settings)


def resume_would(run_dir: Path, settings: TrainConfig) -> str:
    """What resuming the run does next, said for people: test again once training is over,
    else continue from its last finished epoch (or start afresh before the first)."""
    checkpoint = read_checkpoint(run_dir)
    if checkpoint.training_done(settings):
        return "training is over, so resume runs the test again"
    if not checkpoint.last:
        return "no epoch had finished, so resume starts training from the beginning"
    return f"resume continues after epoch {checkpoint.epoch}, the last one finished"


def checkpoint_path(run_dir: Path, which: str = "best") -> Path:
    """The ``"best"`` or ``"last"`` checkpoint file of a run."""
    name = getattr(read_checkpoint(run_dir), which)
    if not name:
        raise RunError(
            f"Run {run_dir.name} has no saved model yet; one is saved at the end of each epoch."
        )
    return RunLayout(run_dir).checkpoint(name)
