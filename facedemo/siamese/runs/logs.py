"""A run's logs: metrics.jsonl as a table (read incrementally), and what the trainer printed.

The trainer appends one JSON line per batch, epoch and test to metrics.jsonl and
flushes each; a line torn by a crash mid-write is skipped, never fatal. From the
table come the run's progress (epoch, batch, speed, time left) and the per-epoch
table the Monitor page shows.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facedemo.cache import LruCache
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs.layout import RunLayout
from facedemo.siamese.runs.schema import is_kind
from facedemo.siamese.runs.settings import has_settings
from facedemo.siamese.runs.status import RunStatus

#: Batch lines used to estimate the time per batch (the median ignores hiccups).
PACE_WINDOW = 50

#: Finished epochs whose median is the pace shown (recent enough to follow a change).
PACE_EPOCHS = 5

#: Bytes of the metrics log just before the part already read that must be unchanged for
#: the next read to continue from there (a resumed run cuts the log back and rewrites it).
LOG_FINGERPRINT_BYTES = 256

#: Metrics logs whose parsed lines are kept between reads.
LOG_CACHE_SIZE = 8


#: The kinds of line the trainer writes to metrics.jsonl.
METRIC_KINDS = frozenset({"batch", "epoch", "eval"})


#: Fields of a metrics line that count (whole numbers) or time it (finite numbers); every
#: other field is a measured number, which may be NaN when a run diverges.
WHOLE_METRIC_FIELDS = ("epoch", "step")
FINITE_METRIC_FIELDS = ("time", "pairs_per_s")


def _is_metric_line(record: Any) -> bool:
    """Whether ``record`` is a metrics line as the trainer writes it: a known ``kind``, whole
    epoch and step, finite times and numbers (or null) elsewhere, so a hand-edited line cannot
    break a chart or the progress bar."""
    if not isinstance(record, dict) or record.get("kind") not in METRIC_KINDS:
        return False
    for name, value in record.items():
        if name == "kind" or value is None:
            continue
        if name in WHOLE_METRIC_FIELDS:
            ok = is_kind(value, "int")
        elif name in FINITE_METRIC_FIELDS:
            ok = is_kind(value, "number")
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            return False
    return True


def _parse_log_lines(chunk: bytes) -> list[dict[str, Any]]:
    """The records of whole metrics lines; a line torn by a crash mid-write, or one that is
    not a metrics line (``_is_metric_line``), is skipped."""
    records = []
    for line in chunk.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if _is_metric_line(record):
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


_parsed_logs: LruCache[str, _ParsedLog] = LruCache(LOG_CACHE_SIZE)


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """Every readable line of metrics.jsonl as a table (one row a line, column ``kind``).

    Logs are read incrementally: what was parsed before is kept, and only the lines
    appended since are parsed, unless the log was replaced or cut back (a resumed run
    cuts it back to its last checkpoint). A line still being written waits for the next read.
    """
    path = RunLayout(run_dir).metrics
    key = str(path.absolute())
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
    _parsed_logs.put(key, _ParsedLog(file, start + len(whole), fingerprint, table))
    return table.copy()


#: Lines that TensorFlow's and XLA's C++ logging print on start-up whatever happens
#: ("I0000 00:00:1795… port.cc:153] oneDNN custom operations are on", "failed call to cuInit"
#: on a machine without a GPU): train.log keeps them, the page leaves them out.
NATIVE_LOG_LINE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.]+:\d+\] "
    r"|^WARNING: All log messages before absl::InitializeLog\(\) is called"
)


def read_log_tail(run_dir: Path, lines: int = 20) -> str:
    """The last ``lines`` lines the trainer printed (empty if started elsewhere), without the
    native libraries' start-up chatter."""
    try:
        text = RunLayout(run_dir).log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    said = [line for line in text.splitlines() if not NATIVE_LOG_LINE.match(line)]
    return "\n".join(said[-lines:])


def output_tells_why(status: RunStatus) -> bool:
    """Whether what the trainer printed is the best account of the run: it failed, its process
    vanished, or it ended before it saved its settings (an error on start-up)."""
    return bool(status.error) or not (status.alive or has_settings(status.run_dir))


@dataclass(frozen=True)
class RunProgress:
    """How far a run is: the epoch under way, batches done in it, speed and time left, and
    while it runs its phase: ``preparing`` (loading photos and building the network, no batch
    trained yet by this process), ``training`` or ``validating`` (after an epoch's last
    batch)."""

    epoch: int
    step: int
    steps_per_epoch: int
    epochs: int
    pairs_per_s: float | None
    eta_seconds: float | None
    phase: str = ""

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


def _pairs_per_s(metrics: pd.DataFrame, recent_batches: pd.DataFrame) -> float:
    """The training pace as the epoch table and the benchmark count it: the median of the
    last ``PACE_EPOCHS`` finished epochs after the first (which compiles); before one has
    finished, the median of the recent batches."""
    epochs = metrics[(metrics["kind"] == "epoch") & (metrics["epoch"] > 1)]
    if len(epochs):
        return float(epochs["pairs_per_s"].tail(PACE_EPOCHS).median())
    return float(recent_batches["pairs_per_s"].median())


def progress(status: RunStatus, settings: TrainConfig, metrics: pd.DataFrame) -> RunProgress:
    """Position, speed and estimated time left (only while alive) from the metrics log. A run
    that has ended is at its last finished epoch: a resume starts after it, not within the
    epoch it was stopped in."""
    batches = metrics[metrics["kind"] == "batch"]
    running = status.state == "running"
    if batches.empty:
        phase = "preparing" if running else ""
        return RunProgress(0, 0, settings.steps_per_epoch, settings.epochs, None, None, phase)
    epoch, step = int(batches["epoch"].iloc[-1]), int(batches["step"].iloc[-1])
    phase = ""
    if running:
        ended = metrics[metrics["kind"] == "epoch"]["epoch"]
        if status.started is not None and batches["time"].iloc[-1] < status.started:
            phase = "preparing"  # a resume: the batches logged are the earlier process's
        elif step == settings.steps_per_epoch and epoch not in set(ended):
            phase = "validating"
        else:
            phase = "training"
    if not status.alive:
        epoch, step = status.epoch, settings.steps_per_epoch
    recent = batches.tail(PACE_WINDOW)
    pairs_per_s = _pairs_per_s(metrics, recent)
    eta = None
    if running:  # queued: nothing to time yet; testing: training is over
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
    return RunProgress(
        epoch, step, settings.steps_per_epoch, settings.epochs, pairs_per_s, eta, phase
    )


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
