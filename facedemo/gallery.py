"""The demo gallery: labelled photos of the demo set plus its multi-face examples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facedemo import config
from facedemo.datasets import IDENTITIES_CSV, display_name, load_identity_dataset

#: Unlabelled photos of the demo set worth showing: several faces, a mirror image.
EXTRA_PHOTOS = {
    "couple.jpg": "two people",
    "selfie-many-people.jpg": "many people",
    "img11_reflection.jpg": "mirrored photo",
}


@dataclass(frozen=True)
class GalleryPhoto:
    """One photo to pick, with a caption naming who is in it."""

    path: Path
    caption: str
    identity: str = ""  # as the data set names the person; "" where nobody is labelled


def demo_gallery(folder: Path | None = None) -> list[GalleryPhoto]:
    """Photos of the demo set (``FACEDEMO_DEMO_DATA``), labelled first; empty if it is absent."""
    folder = folder or config.demo_data_dir()
    if not (folder / IDENTITIES_CSV).is_file():
        return []
    dataset = load_identity_dataset(folder)
    photos = [
        GalleryPhoto(path, f"{display_name(identity)} · {path.name}", identity)
        for path, identity in sorted(
            zip(dataset.paths, dataset.identities, strict=True), key=lambda item: item[1]
        )
    ]
    for name, what in EXTRA_PHOTOS.items():
        path = folder / "images" / name
        if path.is_file():
            photos.append(GalleryPhoto(path, f"{what} · {name}"))
    return photos
