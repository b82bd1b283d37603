"""The run directory's contract: where each file lives, and what its structured files hold.

Both sides import this and nothing else of each other: the writer (``writer.py``,
used by the trainer and the launcher) and the readers (``status.py``,
``settings.py``, ``logs.py``, ``results.py``). ``read_record`` is the readers'
one way into a JSON file of a run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facedemo.errors import RunError
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs.schema import Kind, checked


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

    def checkpoint(self, name: str) -> Path:
        """A saved model of the run, by the file name ``Checkpoint.last`` or ``.best`` gives."""
        return self.checkpoints / name

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
    def space(self) -> Path:
        """The tower's outputs for a fixed handful of validation faces, epoch by epoch
        (``EpochSpace``)."""
        return self.run_dir / "space.npz"

    @property
    def test_pairs(self) -> Path:
        """Every test pair with the best checkpoint's probability: a pairs CSV (file_x,
        file_y, decision, probability) the threshold explorer reads."""
        return self.run_dir / "test_pairs.csv"


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


@dataclass(frozen=True)
class PairImages:
    """Face pairs as uint8 pictures, with labels, the two people's names and (after testing)
    the model's probability: what preview.npz and misclassified.npz hold (runs written
    before the names were kept have none)."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray
    probability: np.ndarray | None = None
    people: np.ndarray | None = None  # (pairs, 2) names, as people read them

    def side_by_side(self) -> list[np.ndarray]:
        """One picture per pair, the two faces next to each other."""
        return [np.concatenate(pair, axis=1) for pair in zip(self.first, self.second, strict=True)]

    def captions(self) -> list[str]:
        """ "same person" / "different people", after the names when known, and the model's
        probability when known."""
        labels = ["same person" if same else "different people" for same in self.same]
        if self.people is not None:
            labels = [
                f"{label}: {first}" if first == second else f"{label}: {first} · {second}"
                for label, (first, second) in zip(labels, self.people, strict=True)
            ]
        if self.probability is None:
            return labels
        return [
            f"{label} · model says {p:.0%} same"
            for label, p in zip(labels, self.probability, strict=True)
        ]


@dataclass(frozen=True)
class EpochSpace:
    """What space.npz holds: the tower's outputs (the 500 values each face becomes) for the
    same few validation faces after each epoch, epoch 0 being the untrained network.

    ``outputs[k, i]`` is face ``i`` after epoch ``epochs[k]``; ``people[i]`` names its person
    as people read them and ``files[i]`` is its photo's file name. Epochs increase; a run
    resumed from an older facedemo starts at the epoch it was resumed from.
    """

    epochs: np.ndarray  # (epochs,) int
    outputs: np.ndarray  # (epochs, faces, features) float32
    people: np.ndarray  # (faces,) names
    files: np.ndarray  # (faces,) file names

    def up_to(self, epoch: int) -> EpochSpace:
        """The epochs up to and including ``epoch`` (a resume drops what came after its
        checkpoint)."""
        kept = self.epochs <= epoch
        return EpochSpace(self.epochs[kept], self.outputs[kept], self.people, self.files)

    def with_epoch(self, epoch: int, outputs: np.ndarray) -> EpochSpace:
        """These epochs and then ``epoch``'s ``outputs`` (faces × features)."""
        before = self.outputs if len(self.epochs) else np.zeros((0, *outputs.shape))
        return EpochSpace(
            np.append(self.epochs, np.int64(epoch)),
            np.concatenate([before, outputs[None]]).astype(np.float32),
            self.people,
            self.files,
        )


def read_record(
    path: Path, required: Mapping[str, Kind], optional: Mapping[str, Kind] | None = None
) -> dict[str, Any] | None:
    """The JSON record ``path`` of a run, checked against its schema (``schema.checked``);
    None before it is written, a RunError naming the file and its fault after."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunError(f"{path} cannot be read ({error}).") from None
    try:
        record = json.loads(text)
    except ValueError:
        what = "empty" if not text.strip() else "not JSON"
        raise RunError(f"{path.parent.name}/{path.name} is {what}: the file is damaged.") from None
    return checked(record, path, required, optional)
