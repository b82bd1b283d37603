"""Writing files so that a reader never sees half of one: the one atomic writer.

Every file facedemo writes for someone else to read (run status, checkpoint records,
pair pictures, downloads, copied weights) is written under a temporary name in the
same folder and renamed into place in one step; a failure leaves the old file (or
none) and no temporary behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only once fully written (temp file, rename)."""
    descriptor, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` as indented JSON, in one step."""
    with atomic_file(path) as handle:
        handle.write(json.dumps(data, indent=2).encode("utf-8"))


def write_csv_atomic(path: Path, table: pd.DataFrame) -> None:
    """Replace ``path`` with ``table`` as CSV (no index column), in one step."""
    with atomic_file(path) as handle:
        handle.write(table.to_csv(index=False).encode("utf-8"))


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that ``target`` is whole or absent."""
    with source.open("rb") as original, atomic_file(target) as copy:
        shutil.copyfileobj(original, copy)
