"""One schema per run file: a bad file is named with its reason, never a traceback.

A run directory may be copied from another machine, edited by hand or cut by a crash.
Every JSON record of a run is read through ``checked``, so a status.json of ``[]``, a
``started`` that is not a time or a launch.json without its fields is a RunError that names
the file and what is wrong with it; the monitor and ``runs`` then show that run as
"unreadable", with the reason, and every other run as usual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from facedemo.errors import RunError

#: What a field may hold: "int", "number", "text", "list", "record", each optionally null.
Kind = str


def _is(value: Any, kind: Kind) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
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
    kind and whose ``optional`` fields, where present and not null, are of theirs; else a
    RunError naming ``path`` and the first thing wrong."""
    where = f"{path.parent.name}/{path.name}"
    if not isinstance(record, dict):
        raise RunError(f"{where} holds {type(record).__name__}, not a record: the file is damaged.")
    for name, kind in required.items():
        if name not in record:
            raise RunError(f"{where} has no '{name}': the file is damaged or incomplete.")
        if not _is(record[name], kind):
            raise RunError(
                f"{where}: '{name}' is {record[name]!r}, not {KIND_NAMES[kind]}: the file is "
                "damaged."
            )
    for name, kind in (optional or {}).items():
        value = record.get(name)
        if value is not None and not _is(value, kind):
            raise RunError(
                f"{where}: '{name}' is {value!r}, not {KIND_NAMES[kind]}: the file is damaged."
            )
    return record


#: status.json, as the trainer writes it.
STATUS_REQUIRED = {"state": "text"}
STATUS_OPTIONAL = {
    "pid": "int",
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
LAUNCH_REQUIRED = {"pid": "int", "time": "number"}
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
    if not rows_ok or not all(_is(cell, "int") and cell >= 0 for row in matrix for cell in row):
        raise RunError(
            f"{path.parent.name}/{path.name}: 'confusion_matrix' is {matrix!r}, not 2 × 2 "
            "counts: the file is damaged."
        )
    return matrix
