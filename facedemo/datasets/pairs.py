"""Pairs of images, and pairs with distances measured elsewhere.

:func:`make_pairs` lists every same-person pair of a data set and every different-person
pair, or a uniform sample of them, without ever listing all n(n-1)/2; a pairs CSV
(``file_x,file_y,decision`` plus distance columns, as the deepface notebook writes it)
becomes a :class:`PairsTable`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd

from facedemo.datasets.folders import IdentityDataset, _read_csv
from facedemo.errors import DatasetError

_PAIR_KEYS = ("file_x", "file_y", "decision")
_DECISIONS = {"yes": True, "no": False}
_PAIR_CHUNK = 1 << 22  # negatives decoded per step: bounds the temporary int64 arrays


class _PairCounts:
    """Counts of a ``same`` label array, shared by pairs of images and pairs from a CSV."""

    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)

    @property
    def positives(self) -> int:
        """Same-person pairs."""
        return int(np.count_nonzero(self.same))

    @property
    def negatives(self) -> int:
        """Different-person pairs."""
        return len(self.same) - self.positives


@dataclass(frozen=True)
class Pairs(_PairCounts):
    """Image pairs of a data set: image indices ``first[k]``, ``second[k]``; ``same[k]`` if
    both show one person.

    As :func:`make_pairs` forms them, ``first[k] < second[k]`` and no pair repeats;
    same-person pairs come first, person by person, then different-person pairs row by row
    (first index rising). Code that takes ``Pairs`` (``evaluation.pair_distances``) accepts
    any order and is fastest on that one. Pairs drawn at random for training are another
    type, ``siamese.data.DrawnPairs``.
    """

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray


def _row_starts(n: int) -> np.ndarray:
    """Upper-triangle number of pair (i, i + 1), pairs (i < j) numbered row by row."""
    rows = np.arange(n, dtype=np.int64)
    return rows * (2 * n - rows - 1) // 2


def _positive_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i < j) with the same label, grouped by label."""
    order = np.argsort(labels, kind="stable")  # stable: indices rise within each group
    sorted_labels = labels[order]
    positions = np.arange(len(labels))
    partners = np.searchsorted(sorted_labels, sorted_labels, side="right") - positions - 1
    first = np.repeat(positions, partners)
    offsets = np.arange(len(first)) - np.repeat(np.cumsum(partners) - partners, partners)
    return order[first], order[first + 1 + offsets]


def _all_negatives(labels: np.ndarray, first: np.ndarray, second: np.ndarray) -> None:
    """Fill ``first``/``second`` with every different-person pair (i < j), row by row: a
    block of rows at a time, as the positions of a mask (i < j and another person)."""
    n, done = len(labels), 0
    columns = np.arange(n)
    rows_per_block = max(1, _PAIR_CHUNK // max(n, 1))
    for start in range(0, n, rows_per_block):
        rows = np.arange(start, min(n, start + rows_per_block))
        different = (columns > rows[:, None]) & (labels != labels[rows][:, None])
        row, column = np.nonzero(different)
        first[done : done + len(row)] = rows[row]
        second[done : done + len(row)] = column
        done += len(row)


def _sampled_negatives(
    ranks: np.ndarray,
    gaps: np.ndarray,
    row_starts: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
) -> None:
    """Fill ``first``/``second`` with the different-person pairs of the given ``ranks`` among
    them: rank r is upper-triangle number r + #(gaps <= r), mapped back to its row and column."""
    for start in range(0, len(ranks), _PAIR_CHUNK):
        chunk = ranks[start : start + _PAIR_CHUNK]
        numbers = chunk + np.searchsorted(gaps, chunk, side="right")
        rows = np.searchsorted(row_starts, numbers, side="right") - 1
        first[start : start + len(chunk)] = rows
        second[start : start + len(chunk)] = numbers - row_starts[rows] + rows + 1


def make_pairs(dataset: IdentityDataset, max_negatives: int | None = None, seed: int = 0) -> Pairs:
    """Every same-person pair, then every different-person pair or a uniform sample of them.

    With ``max_negatives`` below the number of different-person pairs, that many are
    drawn without replacement (seeded). Negatives are drawn as ranks among the
    upper-triangle numbers that are not same-person pairs and mapped back, so the
    n(n-1)/2 pairs are never listed. Either way they come row by row (first index
    rising), which ``evaluation.pair_distances`` turns into one matrix product per block.
    """
    if max_negatives is not None and max_negatives < 0:
        raise ValueError(f"max_negatives must be at least 0, not {max_negatives}")
    labels = dataset.labels
    n = len(labels)
    row_starts = _row_starts(n)
    positive_first, positive_second = _positive_pairs(labels)
    positives = len(positive_first)
    positive_numbers = np.sort(row_starts[positive_first] + positive_second - positive_first - 1)
    # Non-positive triangle numbers before each positive one: rank r sits at r + #(gaps <= r).
    gaps = positive_numbers - np.arange(positives)
    negatives = n * (n - 1) // 2 - positives
    sample = None
    if max_negatives is not None and max_negatives < negatives:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(negatives, size=max_negatives, replace=False, shuffle=False))
        negatives = max_negatives

    first = np.empty(positives + negatives, dtype=np.int32)
    second = np.empty_like(first)
    first[:positives], second[:positives] = positive_first, positive_second
    if sample is None:
        _all_negatives(labels, first[positives:], second[positives:])
    else:
        _sampled_negatives(sample, gaps, row_starts, first[positives:], second[positives:])
    same = np.zeros(len(first), dtype=bool)
    same[:positives] = True
    return Pairs(first, second, same)


@dataclass(frozen=True)
class PairsTable(_PairCounts):
    """Pairs with distances measured elsewhere: ``file_x[k]`` and ``file_y[k]`` (file names),
    ``same[k]`` if one person, and float32 distances by column (``VGG-Face_cosine``, ...)."""

    file_x: tuple[str, ...]
    file_y: tuple[str, ...]
    same: np.ndarray
    distance_table: Mapping[str, np.ndarray]

    @property
    def distance_columns(self) -> tuple[str, ...]:
        """Names of the distance columns, in file order."""
        return tuple(self.distance_table)

    def distances(self, column: str) -> np.ndarray:
        """float32 distances of one column, one per pair."""
        if column not in self.distance_table:
            known = ", ".join(self.distance_table)
            raise DatasetError(f"The pairs file has no distance column {column!r}; it has {known}.")
        return self.distance_table[column]


def _file_names(values: pd.Series) -> tuple[str, ...]:
    """File names of paths written with / or \\ (pairs are matched on the file name)."""
    return tuple(PurePosixPath(str(value).strip().replace("\\", "/")).name for value in values)


def load_pairs_csv(source: str | Path | bytes | BinaryIO) -> PairsTable:
    """Read ``file_x,file_y,decision`` (Yes/No) and one or more distance columns.

    Accepts the deepface notebook's ``distance`` column and the pivot file's
    ``<model>_<metric>`` columns; ``Unnamed: n`` index columns that pandas writes are
    skipped, the three key columns are matched ignoring case.
    """
    what = "The pairs file"
    table = _read_csv(io.BytesIO(source) if isinstance(source, bytes) else source, what)
    table = table.loc[:, ~table.columns.str.startswith("Unnamed:")]
    table = table.rename(
        columns=lambda c: c.strip().lower() if c.strip().lower() in _PAIR_KEYS else c
    )
    missing = [key for key in _PAIR_KEYS if key not in table.columns]
    if missing:
        raise DatasetError(
            f"{what} needs the columns file_x, file_y and decision; missing: {', '.join(missing)}."
        )
    if table.empty:
        raise DatasetError(f"{what} has a header but no pairs.")
    if table[["file_x", "file_y"]].isna().to_numpy().any():
        raise DatasetError(f"{what} has rows without file_x or file_y.")
    decisions = table["decision"].fillna("").astype(str).str.strip().str.lower()
    unknown = sorted(set(decisions) - set(_DECISIONS))
    if unknown:
        raise DatasetError(f"decision must be Yes or No; {what.lower()} also has {unknown[:5]}.")
    columns = [column for column in table.columns if column not in _PAIR_KEYS]
    if not columns:
        raise DatasetError(
            f"{what} has no distance column: after file_x, file_y and decision it needs "
            "one like distance or VGG-Face_cosine."
        )
    distance_table = {}
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        invalid = np.flatnonzero(~(np.abs(values) <= np.finfo(np.float32).max))  # NaN too
        if len(invalid):
            lines = ", ".join(str(row + 2) for row in invalid[:5])
            more = f" and {len(invalid) - 5:,} more" if len(invalid) > 5 else ""
            raise DatasetError(
                f"Column {column} of {what.lower()} holds "
                f"{table[column].iloc[int(invalid[0])]!r} on line {int(invalid[0]) + 2}, which "
                f"is not a finite distance (lines {lines}{more}). Remove or fix those rows."
            )
        distance_table[column] = values.astype(np.float32)
    same = decisions.map(_DECISIONS).to_numpy(dtype=bool)
    return PairsTable(
        _file_names(table["file_x"]), _file_names(table["file_y"]), same, distance_table
    )
