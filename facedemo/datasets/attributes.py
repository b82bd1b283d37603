"""An attributes table: labels an analyst has for each person (camera, site, age band),
one row per identity, read from ``attributes.csv`` beside a data set, an upload or
``--attributes FILE``.

The file is UTF-8 CSV with an ``identity`` column (matched ignoring case) and one to
``MAX_ATTRIBUTE_COLUMNS`` label columns. An empty cell leaves that person out of that
attribute's groups. Each thing wrong with a file is one sentence (a :class:`DatasetError`);
identities the data set does not know, and people the table does not list, are notes, not
errors. facedemo ships no labels of real people: the tests' tables are synthetic.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import ArrayLike

from facedemo import fence
from facedemo.datasets.folders import IdentityDataset, _read_csv, _some
from facedemo.errors import DatasetError

#: The file a data-set folder may hold beside its photos.
ATTRIBUTES_CSV = "attributes.csv"

#: The column that names the person of each row.
IDENTITY_COLUMN = "identity"

#: Label columns one table may have (each is one panel of groups).
MAX_ATTRIBUTE_COLUMNS = 8

#: Characters one label (or column name) may have.
MAX_LABEL_CHARS = 64

#: Distinct labels one column may have: more cannot be compared group by group.
MAX_GROUPS_PER_ATTRIBUTE = 20

#: Bytes an attributes file may have.
MAX_ATTRIBUTES_BYTES = 5 * 2**20


@dataclass(frozen=True)
class AttributesTable:
    """Labels per identity: ``labels[column][identity]`` (a person with an empty cell has
    none for that column), and ``notes`` on what was left out."""

    columns: tuple[str, ...]
    identities: tuple[str, ...]
    labels: dict[str, dict[str, str]]
    notes: tuple[str, ...] = ()

    def values(self, column: str) -> tuple[str, ...]:
        """The distinct labels of ``column``, sorted."""
        return tuple(sorted(set(self.labels[column].values())))

    def photo_labels(
        self, column: str, names: Iterable[str], photo_person: ArrayLike
    ) -> np.ndarray:
        """Each photo's label of ``column`` from its person (``names[photo_person[i]]``);
        None for a person without one."""
        known = self.labels[column]
        by_person = np.array([known.get(str(name)) for name in names], dtype=object)
        return by_person[np.asarray(photo_person, dtype=np.int64)]


def load_attributes_csv(
    source: str | Path | bytes | BinaryIO,
    known_identities: Iterable[str] | None = None,
    what: str = ATTRIBUTES_CSV,
) -> AttributesTable:
    """Read an attributes CSV (path, bytes or file) into an :class:`AttributesTable`; with
    ``known_identities`` (the data set's people) rows of anyone else are dropped, and both
    that and the people without a row are said in ``notes``."""
    raw = _raw_bytes(source, what)
    if len(raw) > MAX_ATTRIBUTES_BYTES:
        raise DatasetError(
            f"{what} has {len(raw) / 2**20:.1f} MiB; an attributes table may have at most "
            f"{MAX_ATTRIBUTES_BYTES / 2**20:.0f} MiB (one short row per person)."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{what} is not UTF-8 text (byte {raw[error.start]:#04x} at position "
            f"{error.start}); save it as 'CSV UTF-8'."
        ) from error
    if not text.strip():
        raise DatasetError(f"{what} is empty; it needs a header line and one row per person.")
    table = _read_csv(io.StringIO(text), what, dtype=str, keep_default_na=False)
    table.columns = [str(column).strip() for column in table.columns]
    identity = next((c for c in table.columns if c.lower() == IDENTITY_COLUMN), None)
    if identity is None:
        raise DatasetError(
            f"{what} needs an '{IDENTITY_COLUMN}' column naming each row's person; its "
            f"columns are: {_some(table.columns)}."
        )
    columns = [c for c in table.columns if c != identity and not c.startswith("Unnamed:")]
    if not columns:
        raise DatasetError(
            f"{what} has only the {IDENTITY_COLUMN} column; add one column per attribute, "
            "such as camera or site."
        )
    if len(columns) > MAX_ATTRIBUTE_COLUMNS:
        raise DatasetError(
            f"{what} has {len(columns)} label columns; at most {MAX_ATTRIBUTE_COLUMNS} can "
            "be shown. Keep the ones you want to compare."
        )
    if table.empty:
        raise DatasetError(f"{what} has a header but no rows.")
    table = table.apply(lambda column: column.str.strip())
    for column in [identity, *columns]:
        lengths = table[column].str.len()
        if len(column) > MAX_LABEL_CHARS or (lengths > MAX_LABEL_CHARS).any():
            row = int(np.argmax(lengths.to_numpy() > MAX_LABEL_CHARS))
            where = "its name" if len(column) > MAX_LABEL_CHARS else f"line {row + 2}"
            raise DatasetError(
                f"Column {column[:MAX_LABEL_CHARS]} of {what} has a value longer than "
                f"{MAX_LABEL_CHARS} characters ({where}); labels are short names."
            )
    blank = np.flatnonzero(table[identity].to_numpy() == "")
    if blank.size:
        raise DatasetError(f"Line {int(blank[0]) + 2} of {what} has no {IDENTITY_COLUMN}.")
    rows = {}
    for line, (name, *cells) in enumerate(table[[identity, *columns]].itertuples(index=False)):
        earlier = rows.setdefault(name, (line, tuple(cells)))
        if earlier[1] != tuple(cells):
            raise DatasetError(
                f"{what} gives {name} two different rows (lines {earlier[0] + 2} and "
                f"{line + 2}); keep one."
            )
    for column in columns:
        distinct = set(table[column]) - {""}
        if len(distinct) > MAX_GROUPS_PER_ATTRIBUTE:
            raise DatasetError(
                f"Column {column} of {what} has {len(distinct)} different labels; at most "
                f"{MAX_GROUPS_PER_ATTRIBUTE} groups can be compared. Merge some into bands."
            )
    notes = []
    if known_identities is not None:
        known = {str(name) for name in known_identities}
        unknown = sorted(set(rows) - known)
        if unknown:
            notes.append(
                f"{len(unknown)} {_people(len(unknown))} in {what} {_are(len(unknown))} not "
                f"in the data set ({_some(unknown)}); {_their(len(unknown))} rows are ignored."
            )
            rows = {name: row for name, row in rows.items() if name in known}
        missing = sorted(known - set(rows))
        if missing:
            notes.append(
                f"{len(missing)} {_people(len(missing))} of the data set {_have(len(missing))} "
                f"no row in {what} ({_some(missing)}) and {_are(len(missing))} left out of "
                "the groups."
            )
    labels = {
        column: {name: cells[i] for name, (_, cells) in rows.items() if cells[i]}
        for i, column in enumerate(columns)
    }
    return AttributesTable(tuple(columns), tuple(rows), labels, tuple(notes))


def read_attributes_file(path: str | Path, within: Path | None = None) -> bytes:
    """The bytes of the attributes file at ``path``, read through the fence (a regular
    file, inside ``within`` when given) and never more than one byte past
    ``MAX_ATTRIBUTES_BYTES``, so an oversized file is refused without reading it whole."""
    target = fence.regular_file(Path(path).expanduser(), within)
    try:
        with target.open("rb") as file:
            return file.read(MAX_ATTRIBUTES_BYTES + 1)
    except OSError as error:
        raise DatasetError(f"{path} cannot be read ({error.strerror or error}).") from error


def folder_attributes(
    dataset: IdentityDataset, within: Path | None = None
) -> AttributesTable | None:
    """The ``attributes.csv`` beside a data set's ``identities.csv`` or people's folders,
    checked against its people; None when the folder has none. Read through the fence:
    inside ``within`` when given, else inside the data set's own folder."""
    path = dataset.root / ATTRIBUTES_CSV
    if not (path.exists() or path.is_symlink()):
        return None
    fenced = within if within is not None else fence.folder(dataset.root)
    what = f"{ATTRIBUTES_CSV} of {dataset.name}"
    return load_attributes_csv(
        read_attributes_file(path, fenced), dataset.identity_names, what=what
    )


def _raw_bytes(source: str | Path | bytes | BinaryIO, what: str) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_bytes()
        except FileNotFoundError as error:
            raise DatasetError(f"{what} does not exist: {source}.") from error
        except IsADirectoryError as error:
            raise DatasetError(f"{what} is a folder, not a CSV file: {source}.") from error
    return source.read()


def _people(count: int) -> str:
    return "identity" if count == 1 else "identities"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def _their(count: int) -> str:
    return "its" if count == 1 else "their"
