"""Identity data sets on disk: the folder layouts a user brings, and what a set is made of.

Three layouts say which image shows which person: a folder with ``identities.csv``
(``file,identity``), one sub-folder per person, or flat LFW-style names
(``Name_Surname_0001.jpg``). Lone wrapper folders are stepped through. A folder typed
into a page is checked against ``config.folder_root()`` first, which an app served to the
network must set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd

from facedemo import config
from facedemo.errors import DatasetError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})

#: The file that names each image's identity (columns ``file,identity``).
IDENTITIES_CSV = "identities.csv"


def display_name(identity: str) -> str:
    """A person as people read them: LFW-style ``Angelina_Jolie`` → ``Angelina Jolie``."""
    return identity.replace("_", " ")


def relative_path(root: Path, path: str | Path) -> str:
    """A photo's path as the user knows it: relative to the data set's folder when inside."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


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


def load_server_folder(folder: str | Path, server_address: str | None) -> IdentityDataset:
    """A folder typed into a page served at ``server_address`` (Streamlit's ``server.address``).

    Outside ``config.folder_root()`` it is refused; so is any folder when the app is
    served beyond localhost and no root is set, since then anyone who can reach the page
    could read any folder of this machine.
    """
    path = Path(folder).expanduser().resolve()
    root = config.folder_root()
    if root is None and not config.served_locally(server_address):
        raise DatasetError(
            f"This app is served to the network (server address {server_address or 'unset'}), "
            "so it reads folders on the server only inside FACEDEMO_FOLDER_ROOT, which is not "
            "set. Start it with FACEDEMO_FOLDER_ROOT=/path/to/datasets in its environment "
            "(for example: FACEDEMO_FOLDER_ROOT=/srv/faces STREAMLIT_SERVER_ADDRESS=0.0.0.0 "
            "make run), or upload a zip instead."
        )
    if root is not None and not path.is_relative_to(root):
        raise DatasetError(f"This app reads data sets only inside {root}; {path} is outside it.")
    return load_identity_dataset(path)


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
    """Counts per identity and of the pairs ``make_pairs`` would form (all of them)."""
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
