"""One schema per run file: a bad file is named with its reason, never a traceback.

A run directory may be copied from another machine, edited by hand or cut by a crash.
Every JSON record of a run is read through ``checked``, so a status.json of ``[]``, a
``started`` that is not a time or a launch.json without its fields is a RunError that names
the file and what is wrong with it; the monitor and ``runs`` then show that run as
"unreadable", with the reason, and every other run as usual. space.npz, arrays rather than a
record, is checked by ``checked_space``; a damaged one hides only the monitor's space panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from facedemo.errors import RunError

#: What a field may hold: "int", "pid", "number", "text", "list", "record" (optional fields
#: may also be null).
Kind = str

#: Linux's largest process id (``/proc/sys/kernel/pid_max`` at most 2**22).
MAX_PID = 2**22


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_kind(value: Any, kind: Kind) -> bool:
    """Whether ``value`` (parsed JSON) is of ``kind``."""
    if kind == "int":
        return _is_whole(value)
    if kind == "pid":
        return _is_whole(value) and 1 <= value <= MAX_PID
    if kind == "number":
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind == "text":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    if kind == "record":
        return isinstance(value, dict)
    raise ValueError(f"unknown kind {kind!r}")


#: The words a reason uses for each kind.
KIND_NAMES = {
    "int": "a whole number",
    "pid": "a process id",
    "number": "a finite number",
    "text": "text",
    "list": "a list",
    "record": "a record ({...})",
}


def checked(
    record: Any,
    path: Path,
    required: Mapping[str, Kind],
    optional: Mapping[str, Kind] | None = None,
) -> dict[str, Any]:
    """``record`` if it is a JSON object whose ``required`` fields are present and of their
    kind and whose ``optional`` fields, where present and not null, are of theirs (nulls are
    dropped, so a reader's defaults apply); else a RunError naming ``path`` and the first
    thing wrong."""
    where = f"{path.parent.name}/{path.name}"
    if not isinstance(record, dict):
        raise RunError(f"{where} holds {type(record).__name__}, not a record: the file is damaged.")
    for name, kind in required.items():
        if name not in record:
            raise RunError(f"{where} has no '{name}': the file is damaged or incomplete.")
        if not is_kind(record[name], kind):
            raise RunError(
                f"{where}: '{name}' is {record[name]!r}, not {KIND_NAMES[kind]}: the file is "
                "damaged."
            )
    optional = optional or {}
    for name, kind in optional.items():
        value = record.get(name)
        if value is not None and not is_kind(value, kind):
            raise RunError(
                f"{where}: '{name}' is {value!r}, not {KIND_NAMES[kind]}: the file is damaged."
            )
    return {
        name: value for name, value in record.items() if name not in optional or value is not None
    }


#: status.json, as the trainer writes it.
STATUS_REQUIRED = {"state": "text"}
STATUS_OPTIONAL = {
    "pid": "pid",
    "process_start": "int",
    "started": "number",
    "updated": "number",
    "epoch": "int",
    "best_epoch": "int",
    "best_val_loss": "number",
    "best_val_accuracy": "number",
    "best_val_auc": "number",
    "error": "text",
}

#: launch.json, as the launcher writes it.
LAUNCH_REQUIRED = {"pid": "pid", "time": "number"}
LAUNCH_OPTIONAL = {"process_start": "int", "command": "list"}

#: checkpoints/state.json: how far the run has committed.
CHECKPOINT_OPTIONAL = {
    "epoch": "int",
    "log_bytes": "int",
    "last": "text",
    "best": "text",
    "best_epoch": "int",
    "best_val_loss": "number",
    "best_val_accuracy": "number",
    "best_val_auc": "number",
    "epochs_since_best": "int",
}

#: config.json: the settings and where the photos came from.
CONFIG_REQUIRED = {"settings": "record"}
CONFIG_OPTIONAL = {"dataset": "record", "device": "record", "versions": "record"}

#: eval.json: the test's figures.
EVAL_REQUIRED = {
    "pairs": "int",
    "accuracy": "number",
    "threshold": "number",
    "confusion_matrix": "list",
}
EVAL_OPTIONAL = {
    "auc": "number",
    "roc": "record",
    "all_pairs": "record",
    "distinct_pairs": "record",
    "loss": "number",
    "best_epoch": "int",
    "checkpoint": "text",
    "misclassified": "list",
}


def checked_matrix(matrix: list, path: Path) -> list[list[int]]:
    """A 2 × 2 confusion matrix of counts, or a RunError naming ``path``."""
    rows_ok = len(matrix) == 2 and all(isinstance(row, list) and len(row) == 2 for row in matrix)
    if not rows_ok or not all(is_kind(cell, "int") and cell >= 0 for row in matrix for cell in row):
        raise RunError(
            f"{path.parent.name}/{path.name}: 'confusion_matrix' is {matrix!r}, not 2 × 2 "
            "counts: the file is damaged."
        )
    return matrix


#: The nested records of eval.json: the ROC's three columns and the two pair counts.
ROC_REQUIRED = {"false_positive_rate": "list", "true_positive_rate": "list", "thresholds": "list"}
PAIR_COUNTS_REQUIRED = {"same": "int", "different": "int"}

#: One part of config.json's ``dataset.split``: who is in it and how many photos.
SPLIT_PART_REQUIRED = {"people": "list", "images": "int"}


def checked_eval(evaluation: dict[str, Any], path: Path) -> dict[str, Any]:
    """eval.json with its nested records checked too (confusion matrix, ROC columns of
    numbers, pair counts), ``auc`` present (null when the pairs are all of one kind)."""
    checked_matrix(evaluation["confusion_matrix"], path)
    if "roc" in evaluation:
        roc = checked(evaluation["roc"], path, ROC_REQUIRED)
        columns = [roc[name] for name in ROC_REQUIRED]
        numbers = all(is_kind(value, "number") for column in columns for value in column)
        if not numbers or len({len(column) for column in columns}) != 1:
            raise RunError(
                f"{path.parent.name}/{path.name}: the ROC's columns are not numbers of one "
                "length: the file is damaged."
            )
    for name in ("all_pairs", "distinct_pairs"):
        if name in evaluation:
            checked(evaluation[name], path, PAIR_COUNTS_REQUIRED)
    return {"auc": None, **evaluation}


def checked_split(config: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """config.json's ``dataset.split`` by part, each checked (``{}`` before the split)."""
    dataset = config.get("dataset") or {}
    split = checked(dataset.get("split") or {}, path, {})
    parts = {name: checked(part, path, SPLIT_PART_REQUIRED) for name, part in split.items()}
    if not all(isinstance(person, str) for part in parts.values() for person in part["people"]):
        raise RunError(
            f"{path.parent.name}/{path.name}: a split names someone by something other than "
            "text: the file is damaged."
        )
    return parts


#: config.json's ``device`` record: what the run computed on.
DEVICE_REQUIRED = {"kind": "text"}
DEVICE_OPTIONAL = {
    "name": "text",
    "count": "int",
    "backend": "text",
    "policy": "text",
    "memory_mb": "number",
}


#: space.npz: its arrays, and the dimensions each must have.
SPACE_ARRAYS = {"epochs": 1, "outputs": 3, "people": 1, "files": 1}


def checked_space(arrays: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """space.npz's arrays if they fit together (whole increasing epochs from 0, one row of
    finite outputs per epoch and one column per face, names as text); else a RunError naming
    ``path`` and what is wrong."""
    where = f"{path.parent.name}/{path.name}"

    def damaged(reason: str) -> RunError:
        return RunError(f"{where} {reason}: the file is damaged.")

    for name, dimensions in SPACE_ARRAYS.items():
        if name not in arrays:
            raise damaged(f"has no '{name}'")
        if arrays[name].ndim != dimensions:
            raise damaged(f"holds '{name}' with {arrays[name].ndim} dimensions, not {dimensions}")
    epochs, outputs = arrays["epochs"], arrays["outputs"]
    if epochs.dtype.kind not in "iu" or (epochs < 0).any() or (np.diff(epochs) <= 0).any():
        raise damaged("holds epochs that are not whole numbers from 0 upwards, in order")
    if arrays["people"].dtype.kind != "U" or arrays["files"].dtype.kind != "U":
        raise damaged("names people or files by something other than text")
    faces = len(arrays["people"])
    if len(epochs) < 1 or faces < 2 or outputs.shape[-1] < 2:
        raise damaged(
            f"holds {len(epochs)} epochs of {faces} faces with {outputs.shape[-1]} numbers "
            "each, too few to draw (at least 1 epoch, 2 faces and 2 numbers a face)"
        )
    if outputs.shape[:2] != (len(epochs), faces) or len(arrays["files"]) != faces:
        raise damaged(
            f"holds outputs of shape {outputs.shape} for {len(epochs)} epochs and {faces} faces"
        )
    if outputs.dtype.kind != "f":
        raise damaged("holds outputs that are not numbers")
    if not np.isfinite(outputs).all():
        raise RunError(
            f"{where} holds outputs that are not finite numbers: the network diverged (its "
            "loss is not a number either) or the file is damaged."
        )
    return {name: arrays[name] for name in SPACE_ARRAYS}
