"""The one writer of a run directory: every file in it is created, appended to or replaced here.

Two processes write through it, each its own files. The launcher (``lifecycle``)
creates the folder, opens train.log for the trainer's output, records what it
started in launch.json and creates or removes STOP. The trainer (``train.py``)
writes the rest: status.json (its alone), config.json, metrics.jsonl, the
checkpoints and their record, the pictures, space.npz, eval.json and test_pairs.csv. JSON
files, pictures and tables are replaced atomically, so a reader never sees half
of one; the metrics log is appended a whole line at a time.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from facedemo.files import atomic_file, write_csv_atomic, write_json_atomic
from facedemo.siamese.runs.layout import Checkpoint, EpochSpace, PairImages, RunLayout

if TYPE_CHECKING:
    import keras


class RunWriter:
    """Writes one run directory (``layout``); see the module docstring for who writes what."""

    def __init__(self, layout: RunLayout) -> None:
        self.layout = layout
        self._status: dict[str, Any] = {}

    # The launcher's files.

    def create(self) -> None:
        """The run's folder; a FileExistsError when the name is taken."""
        self.layout.run_dir.mkdir(parents=True)

    def output(self) -> BinaryIO:
        """train.log, opened to append the trainer's printed output to."""
        return self.layout.log.open("ab")

    def launched(self, launch: dict[str, Any]) -> None:
        """launch.json: the process started (pid, start time), its command and when."""
        write_json_atomic(self.layout.launch, launch)

    def request_stop(self) -> None:
        """STOP: the trainer ends after the batch under way."""
        self.layout.stop.touch()

    def withdraw_stop(self) -> None:
        """No STOP: a request already answered (the run stopped) is not answered again."""
        self.layout.stop.unlink(missing_ok=True)

    # The trainer's files.

    def status(self, **changes: Any) -> None:
        """status.json, with ``changes`` over what this writer wrote before and the time now."""
        self._status.update(changes, updated=time.time())
        write_json_atomic(self.layout.status, self._status)

    def config(self, record: dict[str, Any]) -> None:
        """config.json: settings, device, versions and (once split) the data set's parts."""
        write_json_atomic(self.layout.config, record)

    def log(self, record: dict[str, Any]) -> None:
        """Append one line in a single write and flush it, so readers see whole lines."""
        with self.layout.metrics.open("a", encoding="utf-8") as metrics:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()

    def log_bytes(self) -> int:
        """The size of the metrics log written so far."""
        try:
            return self.layout.metrics.stat().st_size
        except FileNotFoundError:
            return 0

    def cut_log_back(self, size: int) -> None:
        """Cut the metrics log back to ``size`` bytes (a checkpoint's), dropping what came after."""
        metrics = self.layout.metrics
        if metrics.exists():
            os.truncate(metrics, min(size, metrics.stat().st_size))

    def save_model(self, model: keras.Model, name: str) -> None:
        """A model with its optimizer state, as ``checkpoints/<name>``."""
        self.layout.checkpoints.mkdir(exist_ok=True)
        model.save(self.layout.checkpoint(name))

    def commit(self, checkpoint: Checkpoint) -> None:
        """Make ``checkpoint`` the one to resume from, then delete model files it does not use."""
        write_json_atomic(self.layout.checkpoint_state, asdict(checkpoint))
        for path in self.layout.checkpoints.glob("*.keras"):
            if path.name not in (checkpoint.last, checkpoint.best):
                path.unlink()

    def preview(self, pairs: PairImages) -> None:
        """preview.npz: a few training pairs as the network sees them."""
        self._pairs(self.layout.preview, pairs)

    def misclassified(self, pairs: PairImages) -> None:
        """misclassified.npz: the test pairs the best checkpoint got most wrong."""
        self._pairs(self.layout.misclassified, pairs)

    def space(self, space: EpochSpace) -> None:
        """space.npz: the tower's outputs for the fixed validation faces, every epoch so far."""
        with atomic_file(self.layout.space) as handle:
            np.savez_compressed(
                handle,
                epochs=space.epochs.astype(np.int64),
                outputs=space.outputs.astype(np.float32),
                people=space.people.astype(str),
                files=space.files.astype(str),
            )

    def evaluation(self, record: dict[str, Any]) -> None:
        """eval.json: the test of the best checkpoint."""
        write_json_atomic(self.layout.eval, record)

    def test_pairs(self, table: pd.DataFrame) -> None:
        """test_pairs.csv: every test pair with the best checkpoint's probability."""
        write_csv_atomic(self.layout.test_pairs, table)

    def _pairs(self, path: Path, pairs: PairImages) -> None:
        arrays = {name: value for name, value in vars(pairs).items() if value is not None}
        with atomic_file(path) as handle:
            np.savez_compressed(handle, **arrays)
