"""Identity data sets on disk: the folder layouts a user brings, and what a set is made of.

Three layouts say which image shows which person: a folder with ``identities.csv``
(``file,identity``), one sub-folder per person, or flat LFW-style names
(``Name_Surname_0001.jpg``). Lone wrapper folders are stepped through; a lone folder of
photos is one person's. Every entry read passes :mod:`facedemo.fence`; a folder typed into
a page is fenced by ``config.folder_root()``, which an app served to the network must set.
What a folder holds but its layout leaves out is never dropped silently: the data set's
``notes`` say it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd

from facedemo import fence
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
    #: Sentences on what the folder held but the set leaves out (photos listed twice,
    #: photos deeper than the layout reads), for pages and the CLI to show; () if nothing.
    notes: tuple[str, ...] = ()

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


def _flat_identity(path: Path) -> str | None:
    """The person an LFW-style name gives (``Ada_Lovelace_0001.jpg`` → ``Ada_Lovelace``)."""
    identity, separator, _ = path.stem.rpartition("_")
    return identity if separator and identity else None


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


def _some(names: Iterable[str], shown: int = 5) -> str:
    """The first ``shown`` names, comma-separated, "..." when there are more."""
    names = list(names)
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


@dataclass(frozen=True)
class _Listing:
    """What a folder holds for the layouts, every entry passed through the fence."""

    folders: tuple[Path, ...]  # sub-folders, links to folders included
    images: tuple[Path, ...]  # regular files with an image suffix
    identities_csv: bool

    def holds_one_person(self) -> bool:
        """Photos and nothing to step into: one person's folder, unless the photos' names
        read as ``Name_0001.jpg`` of two people or more (flat names in a wrapper folder)."""
        people = {_flat_identity(path) for path in self.images} - {None}
        return (
            bool(self.images) and not self.folders and not self.identities_csv and len(people) < 2
        )


def _listing(folder: Path, within: Path | None) -> _Listing:
    """The visible entries of ``folder``, each resolved inside ``within``; an image or the
    identities CSV that is not a regular file is refused before anything reads it."""
    folders, images, identities_csv = [], [], False
    for entry in fence.entries(folder):
        if _hidden(entry.name):
            continue
        if fence.resolve(entry, within).is_dir():
            folders.append(entry)
        elif entry.name == IDENTITIES_CSV:
            fence.regular_file(entry, within)
            identities_csv = True
        elif _is_image_name(entry.name):
            fence.regular_file(entry, within)
            images.append(entry)
    return _Listing(tuple(folders), tuple(images), identities_csv)


def _from_identities_csv(
    root: Path, within: Path | None
) -> tuple[list[tuple[Path, str]], tuple[str, ...]]:
    """``identities.csv`` with ``file,identity``; files relative to the CSV or to ``images/``.

    Images the CSV does not list are not part of the data set. A photo listed twice under
    one person counts once (and the notes say so); under two people it is refused.
    """
    table = _read_csv(root / IDENTITIES_CSV, IDENTITIES_CSV, dtype=str, keep_default_na=False)
    if not {"file", "identity"} <= set(table.columns):
        raise DatasetError("identities.csv needs the two columns 'file' and 'identity'.")
    entries: list[tuple[Path, str]] = []
    rows: dict[Path, tuple[str, str]] = {}  # a photo (resolved) → its first row
    repeated: list[str] = []
    for file, identity in zip(
        table["file"].str.strip(), table["identity"].str.strip(), strict=True
    ):
        relative = _safe_relative(file)
        if relative is None:
            raise DatasetError(f"identities.csv names {file}, which lies outside {root}.")
        candidates = (root / relative, root / "images" / relative)
        path = next((c for c in candidates if os.path.lexists(c)), None)
        if path is None:
            raise DatasetError(f"identities.csv names {file}, which is not in {root}.")
        if not identity:
            raise DatasetError(f"identities.csv gives no identity for {file}.")
        target = fence.regular_file(path, within)
        first = rows.get(target)
        if first is None:
            rows[target] = (file, identity)
            entries.append((path, identity))
        elif first[1] == identity:
            repeated.append(file)
        else:
            raise DatasetError(
                f"identities.csv gives one photo two people: the rows '{first[0]},{first[1]}' "
                f"and '{file},{identity}'. A photo shows one person: delete the wrong row."
            )
    notes = ()
    if repeated:
        notes = (
            f"identities.csv lists {len(repeated)} photo{'s' if len(repeated) > 1 else ''} "
            f"again under the same person ({_some(repeated)}); each photo was counted once.",
        )
    return entries, notes


def _from_subfolders(root: Path, within: Path | None = None) -> list[tuple[Path, str]]:
    """One sub-folder per identity, its images inside."""
    return [
        (path, folder.name)
        for folder in _listing(root, within).folders
        for path in _listing(folder, within).images
    ]


def _from_flat_names(listing: _Listing) -> list[tuple[Path, str]]:
    """LFW-style flat names: ``Name_Surname_0001.jpg`` is identity ``Name_Surname``."""
    entries = []
    for path in listing.images:
        identity = _flat_identity(path)
        if identity is None:
            raise DatasetError(
                f"{path.name} does not follow the Name_0001.jpg pattern; use one folder per "
                "person or an identities.csv instead."
            )
        entries.append((path, identity))
    return entries


#: How far below a data set's folder, and over how many entries, the search for photos the
#: layout does not read goes: a typed ``~`` or a big root must not hang the page.
UNREAD_SEARCH_DEPTH = 3
UNREAD_SEARCH_ENTRIES = 20_000


def _unread_photos(root: Path, read: Iterable[Path]) -> tuple[list[str], bool]:
    """Photos under ``root`` (relative names) that the layout did not read: deeper than it
    looks, or beside the person folders; and whether the search stopped at its bounds
    (``UNREAD_SEARCH_DEPTH`` folders down, ``UNREAD_SEARCH_ENTRIES`` entries). Links to
    folders are not walked into."""
    targets = {os.path.realpath(path) for path in read}
    unread, seen, cut = [], 0, False
    for folder, subfolders, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        seen += len(subfolders) + len(files)
        if seen > UNREAD_SEARCH_ENTRIES:
            cut = True
            break
        if depth >= UNREAD_SEARCH_DEPTH:
            cut = cut or bool(subfolders)
            subfolders[:] = []
        subfolders[:] = sorted(name for name in subfolders if not _hidden(name))
        unread += [
            relative_path(root, Path(folder, name))
            for name in sorted(files)
            if _is_image_name(name) and os.path.realpath(Path(folder, name)) not in targets
        ]
    return unread, cut


def _from_folder_layout(
    folder: Path, root: Path, listing: _Listing, within: Path | None
) -> tuple[list[tuple[Path, str]], tuple[str, ...]]:
    """Per-person sub-folders, else flat LFW names; the notes name the photos either leaves
    out. One person's folder alone is refused: a data set needs two people."""
    entries = _from_subfolders(root, within)
    by_folder = bool(entries)
    if by_folder:
        where = "directly inside each person's folder"
    else:
        entries = _from_flat_names(listing)
        where = f"directly inside {root.name}, as Name_0001.jpg names"
    unread, cut = _unread_photos(root, (path for path, _ in entries))
    notes = ()
    if cut and not unread:
        notes = (
            f"{root.name} holds more than this layout reads, too much to search through "
            f"({UNREAD_SEARCH_DEPTH} folders down, {UNREAD_SEARCH_ENTRIES:,} entries): photos "
            f"in sub-folders may be left out, since it reads photos only {where}.",
        )
    if unread:
        many = len(unread) > 1 or cut
        count = f"{len(unread)}{' or more' if cut else ''}"
        notes = (
            f"{count} photo{'s' if many else ''} in {root.name} "
            f"{'were' if many else 'was'} left out ({_some(unread)}): this layout reads "
            f"photos only {where}. Move {'them' if many else 'it'} there to use "
            f"{'them' if many else 'it'}.",
        )
    people = {identity for _, identity in entries}
    if by_folder and len(people) == 1:
        raise DatasetError(
            f"{folder} holds the photos of one person only ({display_name(*people)}); a data "
            "set needs at least two people. Add a folder of photos for each other person "
            "beside it."
        )
    return entries, notes


def _content_root(folder: Path, within: Path | None) -> tuple[Path, _Listing]:
    """Step through lone wrapper folders (``faces/`` in ``faces.zip``) to where the data
    starts; a lone folder of one person's photos is that person's folder, not a wrapper."""
    listing = _listing(folder, within)
    while not listing.identities_csv and not listing.images and len(listing.folders) == 1:
        inner = _listing(listing.folders[0], within)
        if inner.holds_one_person():
            break
        folder, listing = listing.folders[0], inner
    return folder, listing


def load_identity_dataset(
    source: str | Path, name: str | None = None, *, within: Path | None = None
) -> IdentityDataset:
    """Read a folder laid out as identities.csv, per-identity sub-folders or flat LFW names.

    Lone wrapper folders are stepped through, so ``lfw/Name/Name_0001.jpg`` and a zip's
    single top-level folder work. ``name`` defaults to the data's folder name. Every entry
    read passes the fence (:mod:`facedemo.fence`): links are followed but must stay inside
    ``within`` when given, and photos must be regular files. What the folder holds but the
    data set leaves out is said in its ``notes``.
    """
    folder = Path(source).expanduser()
    fence.folder(folder, within)
    root, listing = _content_root(folder, within)
    if listing.identities_csv:
        entries, notes = _from_identities_csv(root, within)
    else:
        entries, notes = _from_folder_layout(folder, root, listing, within)
    if not entries:
        message = f"{folder} holds no labelled images (.jpg, .png, ...)."
        raise DatasetError(" ".join((message, *notes)))
    paths, identities = zip(*entries, strict=True)
    return IdentityDataset(name or root.name, root, tuple(paths), tuple(identities), notes)


def load_server_folder(folder: str | Path, server_address: str | None) -> IdentityDataset:
    """A folder typed into a page served at ``server_address`` (Streamlit's ``server.address``).

    Fenced (:mod:`facedemo.fence`): the folder, every folder its layout lists and every
    file it reads must lie inside ``config.folder_root()``, links followed; with no root
    set, only an app served on localhost may read folders, any of them.
    """
    root = fence.served_root(server_address)
    return load_identity_dataset(fence.fenced_folder(folder, server_address), within=root)


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
