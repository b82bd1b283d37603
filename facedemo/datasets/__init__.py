"""Identity data sets and the pairs made from them.

A data set says which image shows which person. Users bring it in the layouts
they have: one sub-folder per person, flat LFW-style names, a folder with
``identities.csv``, a zip of any of these, LFW through scikit-learn, or the
demo set (the deepface test photos). The threshold explorer measures pairs of
images; a pairs CSV with distances measured elsewhere replaces the images.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd

from facedemo import config
from facedemo.errors import DatasetError
from facedemo.files import atomic_file

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})

#: The file that names each image's identity (columns ``file,identity``).
IDENTITIES_CSV = "identities.csv"

#: Limits for uploaded zips, against zip bombs: files in it, and bytes once unpacked.
MAX_ZIP_ENTRIES = 100_000
MAX_UNPACKED_BYTES = 2 * 1024**3

#: Seconds a download may wait for the server at any one step.
DOWNLOAD_TIMEOUT = 30.0

#: What a failed download raises: no network, server unreachable, refused, cut off, HTTP error.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)

#: The demo set: upstream's labelled test photos (deepface tests/unit/dataset, ``img<k>.jpg``)
#: by identity. Upstream has no identity list; this is the shared set's identities.csv.
DEMO_IMAGE_NUMBERS: Mapping[str, tuple[int, ...]] = {
    "Angelina_Jolie": (1, 2, 4, 5, 6, 7, 10, 11),
    "Jennifer_Aniston": (3, 12, 53, 54, 55, 56),
    "Scarlett_Johansson": (8, 9, 47, 48, 49, 50, 51),
    "Mark_Zuckerberg": (13, 14, 15, 57, 58),
    "Jack_Dorsey": (16, 17, 59, 61, 62),
    "Elon_Musk": (18, 19, 67),
    "Jeff_Bezos": (20, 21),
    "Marissa_Mayer": (22, 23),
    "Sundar_Pichai": (24, 25),
    "Katy_Perry": (26, 27, 28, 42, 43, 44, 45, 46),
    "Matt_Damon": (29, 30, 31, 32, 33),
    "Leonardo_DiCaprio": (34, 35, 36, 37),
    "George_Clooney": (38, 39, 40, 41),
}

#: Called after each downloaded file with (files done, files in all, file name).
Progress = Callable[[int, int, str], None]

_PAIR_KEYS = ("file_x", "file_y", "decision")
_DECISIONS = {"yes": True, "no": False}
_PAIR_CHUNK = 1 << 22  # negatives decoded per step: bounds the temporary int64 arrays


# --- data sets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityDataset:
    """Labelled images: ``paths[i]`` shows the person ``identities[i]``."""

    name: str
    root: Path
    paths: tuple[Path, ...]
    identities: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def identity_names(self) -> tuple[str, ...]:
        """Distinct identities, sorted."""
        return tuple(sorted(set(self.identities)))

    @property
    def labels(self) -> np.ndarray:
        """int32 code of each image's identity: its index in :attr:`identity_names`."""
        _, codes = np.unique(np.asarray(self.identities, dtype=str), return_inverse=True)
        return codes.astype(np.int32)

    def subset(self, indices: Iterable[int], name: str | None = None) -> IdentityDataset:
        """The images at ``indices`` (in that order), same root."""
        chosen = list(indices)
        return IdentityDataset(
            name or self.name,
            self.root,
            tuple(self.paths[i] for i in chosen),
            tuple(self.identities[i] for i in chosen),
        )


def _hidden(name: str) -> bool:
    """Dot files and macOS zip debris, which are never part of a data set."""
    return name.startswith(".") or name == "__MACOSX"


def _is_image_name(name: str) -> bool:
    return not _hidden(name) and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def _is_image(path: Path) -> bool:
    return _is_image_name(path.name) and path.is_file()


def _safe_relative(name: str) -> PurePosixPath | None:
    """``name`` as a relative path that stays inside its folder; None if it would escape it."""
    path = PurePosixPath(name.replace("\\", "/"))
    escapes = path.is_absolute() or ".." in path.parts or ":" in (path.parts or ("",))[0]
    return None if escapes else path


def _read_csv(source: str | Path | BinaryIO, what: str, **options: object) -> pd.DataFrame:
    """``pandas.read_csv`` with the failures a user causes turned into DatasetError."""
    try:
        return pd.read_csv(source, **options)
    except FileNotFoundError as error:
        raise DatasetError(f"{what} does not exist: {source}.") from error
    except pd.errors.EmptyDataError as error:
        raise DatasetError(f"{what} is empty.") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DatasetError(f"{what} cannot be read as CSV ({error}).") from error


def _from_identities_csv(root: Path) -> list[tuple[Path, str]]:
    """``identities.csv`` with ``file,identity``; files relative to the CSV or to ``images/``.

    Images the CSV does not list are not part of the data set.
    """
    table = _read_csv(root / IDENTITIES_CSV, IDENTITIES_CSV, dtype=str, keep_default_na=False)
    if not {"file", "identity"} <= set(table.columns):
        raise DatasetError("identities.csv needs the two columns 'file' and 'identity'.")
    entries = []
    for file, identity in zip(
        table["file"].str.strip(), table["identity"].str.strip(), strict=True
    ):
        relative = _safe_relative(file)
        if relative is None:
            raise DatasetError(f"identities.csv names {file}, which lies outside {root}.")
        candidates = (root / relative, root / "images" / relative)
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise DatasetError(f"identities.csv names {file}, which is not in {root}.")
        if not identity:
            raise DatasetError(f"identities.csv gives no identity for {file}.")
        entries.append((path, identity))
    return entries


def _from_subfolders(root: Path) -> list[tuple[Path, str]]:
    """One sub-folder per identity, its images inside."""
    return [
        (path, folder.name)
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name))
        for path in sorted(folder.iterdir())
        if _is_image(path)
    ]


def _from_flat_names(root: Path) -> list[tuple[Path, str]]:
    """LFW-style flat names: ``Name_Surname_0001.jpg`` is identity ``Name_Surname``."""
    entries = []
    for path in sorted(p for p in root.iterdir() if _is_image(p)):
        identity, separator, _ = path.stem.rpartition("_")
        if not separator or not identity:
            raise DatasetError(
                f"{path.name} does not follow the Name_0001.jpg pattern; use one folder per "
                "person or an identities.csv instead."
            )
        entries.append((path, identity))
    return entries


def _content_root(folder: Path) -> Path:
    """Step through lone wrapper folders (``faces/`` in ``faces.zip``) to where the data starts."""
    while not (folder / IDENTITIES_CSV).is_file():
        children = list(folder.iterdir())
        subfolders = [p for p in children if p.is_dir() and not _hidden(p.name)]
        if len(subfolders) != 1 or any(_is_image(p) for p in children):
            break
        folder = subfolders[0]
    return folder


def load_identity_dataset(source: str | Path, name: str | None = None) -> IdentityDataset:
    """Read a folder laid out as identities.csv, per-identity sub-folders or flat LFW names.

    Lone wrapper folders are stepped through, so ``lfw/Name/Name_0001.jpg`` and a zip's
    single top-level folder work. ``name`` defaults to the data's folder name.
    """
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder.")
    root = _content_root(folder)
    if (root / IDENTITIES_CSV).is_file():
        entries = _from_identities_csv(root)
    else:
        entries = _from_subfolders(root) or _from_flat_names(root)
    if not entries:
        raise DatasetError(f"{folder} holds no labelled images (.jpg, .png, ...).")
    paths, identities = zip(*entries, strict=True)
    return IdentityDataset(name or root.name, root, tuple(paths), tuple(identities))


# --- zip uploads --------------------------------------------------------------------------


def _zip_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The entries worth unpacking (images, identities.csv), checked against zip-slip and bombs."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if not infos:
        raise DatasetError("The zip is empty.")
    if len(infos) > MAX_ZIP_ENTRIES:
        raise DatasetError(f"The zip holds {len(infos):,} files; at most {MAX_ZIP_ENTRIES:,}.")
    members = []
    for info in infos:
        relative = _safe_relative(info.filename)
        if relative is None:
            raise DatasetError(
                f"The zip was rejected: its entry {info.filename!r} would be written outside "
                "the folder it is unpacked into."
            )
        if any(_hidden(part) for part in relative.parts):
            continue
        if relative.name == IDENTITIES_CSV or _is_image_name(relative.name):
            members.append((info, relative))
    if not any(_is_image_name(relative.name) for _, relative in members):
        raise DatasetError("The zip holds no images (.jpg, .png, ...).")
    if any(info.flag_bits & 0x1 for info, _ in members):
        raise DatasetError("The zip is password-protected; upload one without a password.")
    # zipfile never inflates an entry beyond its declared size (a lie fails the CRC check),
    # so the declared sizes bound what unpacking writes.
    unpacked = sum(info.file_size for info, _ in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise DatasetError(
            f"The zip would unpack to {unpacked / 2**20:,.0f} MiB; "
            f"at most {MAX_UNPACKED_BYTES / 2**20:,.0f} MiB are accepted."
        )
    return members


def _unpack_zip(source: Path | BinaryIO, folder: Path) -> None:
    """Unpack the useful entries into ``folder``, which appears only once complete."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpacking-"))
    try:
        with zipfile.ZipFile(source) as archive:
            for info, relative in _zip_members(archive):
                target = staging.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as entry, target.open("wb") as unpacked:
                    shutil.copyfileobj(entry, unpacked)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another session unpacking the same zip first
                raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise DatasetError(f"The upload is not a readable zip file ({error}).") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_zip_dataset(data: bytes | str | Path, name: str | None = None) -> IdentityDataset:
    """A zip of any folder layout, unpacked safely once under ``$FACEDEMO_HOME/datasets``.

    The folder is named by the zip's content hash, so uploading the same zip again
    reuses it. ``name`` defaults to the zip's file name, or ``upload`` for bytes.
    """
    if isinstance(data, bytes):
        digest, source, default_name = hashlib.sha256(data).hexdigest(), io.BytesIO(data), "upload"
    else:
        path = Path(data).expanduser()
        if not path.is_file():
            raise DatasetError(f"{path} is not a file.")
        digest, source, default_name = _sha256_of_file(path), path, path.stem
    folder = config.datasets_dir() / digest[:24]
    if not folder.is_dir():
        _unpack_zip(source, folder)
    return load_identity_dataset(folder, name=name or default_name)


# --- downloads: LFW and the demo set ------------------------------------------------------


def load_lfw(
    min_faces_per_person: int = 2,
    *,
    funneled: bool = True,
    data_home: str | Path | None = None,
    retries: int = 3,
) -> IdentityDataset:
    """LFW's original JPEGs of every person with at least ``min_faces_per_person`` images.

    scikit-learn's ``fetch_lfw_people`` downloads and unpacks LFW (about 200 MB) into
    ``<data_home>/lfw_home``; we read the ``<Name>/<Name>_0001.jpg`` folders it leaves
    there, since face models need the photos, not its 62×47 grey arrays. Once the
    folder is in place no network is needed. ``data_home`` defaults to a folder
    under ``$FACEDEMO_HOME``.
    """
    home = Path(data_home).expanduser() if data_home else config.lfw_data_home()
    folder = home / "lfw_home" / ("lfw_funneled" if funneled else "lfw")
    if not folder.is_dir():
        _download_lfw(home, funneled, retries)
    entries = _from_subfolders(folder)
    identities = np.asarray([identity for _, identity in entries], dtype=str)
    _, codes, counts = np.unique(identities, return_inverse=True, return_counts=True)
    keep = np.flatnonzero(counts[codes] >= min_faces_per_person)
    if not len(keep):
        raise DatasetError(
            f"No person in {folder} has {min_faces_per_person} or more images; "
            "lower min_faces_per_person."
        )
    return IdentityDataset(
        f"LFW (at least {min_faces_per_person} images per person)",
        folder,
        tuple(entries[i][0] for i in keep),
        tuple(entries[i][1] for i in keep),
    )


def _download_lfw(home: Path, funneled: bool, retries: int) -> None:
    """Let scikit-learn download and unpack LFW into ``home/lfw_home``."""
    from sklearn.datasets import fetch_lfw_people  # only LFW needs scikit-learn's fetcher

    home.mkdir(parents=True, exist_ok=True)
    try:
        # A 1×1 pixel slice: we want the download, not the decoded arrays it also caches.
        fetch_lfw_people(
            data_home=home,
            funneled=funneled,
            resize=None,
            slice_=(slice(0, 1), slice(0, 1)),
            n_retries=retries,
        )
    except _NETWORK_ERRORS as error:
        raise DatasetError(
            "LFW could not be downloaded: this machine has no internet access or the LFW "
            f"server cannot be reached ({getattr(error, 'reason', error)}). Use the demo set "
            f"or upload a zip of your own photos, or unpack LFW into {home / 'lfw_home'}."
        ) from error
    except OSError as error:
        raise DatasetError(f"LFW could not be stored in {home} ({error}).") from error


def _download_demo(folder: Path, base_url: str, progress: Progress | None) -> None:
    """Fetch the missing demo images, then write identities.csv, which marks the set complete."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = [
        (f"img{number}.jpg", identity)
        for identity, numbers in DEMO_IMAGE_NUMBERS.items()
        for number in numbers
    ]
    for done, (file, _) in enumerate(rows, start=1):
        if not (images / file).is_file():
            url = f"{base_url}/{file}"
            try:
                with (
                    urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
                    atomic_file(images / file) as handle,
                ):
                    shutil.copyfileobj(response, handle)
            except _NETWORK_ERRORS as error:
                raise DatasetError(
                    f"The demo set could not be downloaded from {base_url}: {file} failed "
                    f"({getattr(error, 'reason', error)}). Without internet access, set "
                    "FACEDEMO_DEMO_DATA to a local copy of the deepface test set (a folder "
                    "with identities.csv and images/), or upload a zip."
                ) from error
        if progress is not None:
            progress(done, len(rows), file)
    with atomic_file(folder / IDENTITIES_CSV) as handle:
        pd.DataFrame(rows, columns=["file", "identity"]).to_csv(handle, index=False)


def demo_dataset(
    progress: Progress | None = None,
    *,
    base_url: str | None = None,
    target: str | Path | None = None,
) -> IdentityDataset:
    """The demo set (61 photos of 13 people), downloaded once unless a local copy exists.

    ``target`` defaults to ``config.demo_data_dir()`` (``FACEDEMO_DEMO_DATA``); a folder
    holding identities.csv is used as is. Otherwise the images are fetched from
    ``base_url`` (default ``config.DEMO_DATA_URL``), skipping those already there.
    """
    folder = Path(target).expanduser() if target else config.demo_data_dir()
    if not (folder / IDENTITIES_CSV).is_file():
        _download_demo(folder, (base_url or config.DEMO_DATA_URL).rstrip("/"), progress)
    return load_identity_dataset(folder, name="demo")


# --- pairs ----------------------------------------------------------------------------------


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
    """Image pairs of a data set: indices ``first[k] < second[k]``, ``same[k]`` if one person.

    Same-person pairs come first, person by person; then different-person pairs, row by row.
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
    decisions = table["decision"].astype(str).str.strip().str.lower()
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
        values = pd.to_numeric(table[column], errors="coerce")
        invalid = np.flatnonzero(values.isna().to_numpy())
        if len(invalid):
            row = int(invalid[0])
            raise DatasetError(
                f"Column {column} of {what.lower()} holds {table[column].iloc[row]!r} on line "
                f"{row + 2}, which is not a distance."
            )
        distance_table[column] = values.to_numpy(dtype=np.float32)
    same = decisions.map(_DECISIONS).to_numpy(dtype=bool)
    return PairsTable(
        _file_names(table["file_x"]), _file_names(table["file_y"]), same, distance_table
    )


# --- overview -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetOverview:
    """What a data set is made of, and how many pairs it gives."""

    identities: int
    images: int
    images_per_identity: Mapping[str, int]  # most images first, then by name
    single_image_identities: tuple[str, ...]  # these give no same-person pair
    positive_pairs: int
    negative_pairs: int


def overview(dataset: IdentityDataset) -> DatasetOverview:
    """Counts per identity and of the pairs :func:`make_pairs` would form."""
    names, counts = np.unique(np.asarray(dataset.identities, dtype=str), return_counts=True)
    order = np.lexsort((names, -counts))
    positives = int((counts * (counts - 1) // 2).sum())
    n = len(dataset)
    return DatasetOverview(
        identities=len(names),
        images=n,
        images_per_identity={str(names[i]): int(counts[i]) for i in order},
        single_image_identities=tuple(str(name) for name in names[counts == 1]),
        positive_pairs=positives,
        negative_pairs=n * (n - 1) // 2 - positives,
    )


def sample_paths(
    dataset: IdentityDataset, per_identity: int = 1, limit: int | None = 24
) -> tuple[tuple[str, Path], ...]:
    """(identity, path) of the first ``per_identity`` images of each person, people by name,
    at most ``limit`` in all: the pictures of a sample grid."""
    labels = dataset.labels
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    rank_in_identity = np.arange(len(labels)) - np.searchsorted(sorted_labels, sorted_labels)
    chosen = order[rank_in_identity < per_identity][:limit]
    return tuple((dataset.identities[i], dataset.paths[i]) for i in chosen)


# --- one name for any source ----------------------------------------------------------------


def open_dataset(source: str | Path, progress: Progress | None = None) -> IdentityDataset:
    """``demo``, ``lfw``, a ``.zip`` file or a folder in any layout above, as a data set."""
    text = str(source)
    if text == "demo":
        return demo_dataset(progress)
    if text == "lfw":
        return load_lfw()
    path = Path(text).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        return load_zip_dataset(path)
    return load_identity_dataset(path)


def load_server_folder(folder: str | Path) -> IdentityDataset:
    """A folder typed into a page; outside ``config.folder_root()`` (when set) it is refused."""
    path = Path(folder).expanduser().resolve()
    root = config.folder_root()
    if root is not None and not path.is_relative_to(root):
        raise DatasetError(f"This app reads data sets only inside {root}; {path} is outside it.")
    return load_identity_dataset(path)
