"""Identity data sets: which image shows which person, in any of the layouts users have."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from facedemo.errors import DatasetError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})


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


def _is_image(path: Path) -> bool:
    visible = not path.name.startswith(".")
    return visible and path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _from_identities_csv(root: Path) -> list[tuple[Path, str]]:
    """``identities.csv`` with ``file,identity``; files relative to the CSV or to ``images/``."""
    entries = []
    with (root / "identities.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"file", "identity"} <= set(reader.fieldnames):
            raise DatasetError("identities.csv needs the two columns 'file' and 'identity'.")
        for row in reader:
            candidates = (root / row["file"], root / "images" / row["file"])
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise DatasetError(f"identities.csv names {row['file']}, which is not in {root}.")
            entries.append((path, row["identity"].strip()))
    return entries


def _from_subfolders(root: Path) -> list[tuple[Path, str]]:
    """One sub-folder per identity, its images inside."""
    return [
        (path, folder.name)
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
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


def load_identity_dataset(source: str | Path) -> IdentityDataset:
    """Read a folder laid out as identities.csv, per-identity sub-folders or flat LFW names."""
    root = Path(source).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder.")
    if (root / "identities.csv").is_file():
        entries = _from_identities_csv(root)
    else:
        entries = _from_subfolders(root) or _from_flat_names(root)
    if not entries:
        raise DatasetError(f"{root} holds no labelled images (.jpg, .png, ...).")
    paths, identities = zip(*entries, strict=True)
    return IdentityDataset(root.name, root, tuple(paths), tuple(identities))
