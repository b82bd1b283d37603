"""Identity data sets and the pairs made from them.

A data set says which image shows which person. Users bring it in the layouts
they have: one sub-folder per person, flat LFW-style names, a folder with
``identities.csv``, a zip of any of these, LFW through scikit-learn, or the
demo set (the deepface test photos). The threshold explorer measures pairs of
images; a pairs CSV with distances measured elsewhere replaces the images.

One module per job, every public name importable from here:

- ``folders``: the folder layouts → :class:`IdentityDataset`; overview and sample grid;
  a folder typed into a page, checked against ``config.folder_root()``
- ``archives``: zips, unpacked once and safely under ``$FACEDEMO_HOME/datasets``
- ``downloads``: LFW and the demo set
- ``pairs``: :func:`make_pairs` / :class:`Pairs`, and the pairs CSV (:class:`PairsTable`)
- ``attributes``: an analyst's labels per person (``attributes.csv`` beside the photos, an
  upload or a file named on the command line) → :class:`AttributesTable`

A limit that tunes one module (``archives.MAX_UNPACKED_BYTES``, ``MAX_ZIP_ENTRIES``,
``downloads.DOWNLOAD_TIMEOUT``) is read there at each call and is not copied here, so
setting it in that module is the one way to change it.
"""

from __future__ import annotations

from pathlib import Path

from facedemo import config
from facedemo.datasets.archives import load_zip_dataset, mark_used
from facedemo.datasets.attributes import (
    ATTRIBUTES_CSV,
    AttributesTable,
    folder_attributes,
    load_attributes_csv,
    read_attributes_file,
)
from facedemo.datasets.downloads import (
    DEMO_IMAGE_NUMBERS,
    Progress,
    demo_dataset,
    load_lfw,
)
from facedemo.datasets.folders import (
    IDENTITIES_CSV,
    IMAGE_SUFFIXES,
    DatasetOverview,
    IdentityDataset,
    display_name,
    load_identity_dataset,
    load_server_folder,
    overview,
    relative_path,
    sample_paths,
)
from facedemo.datasets.pairs import Pairs, PairsTable, load_pairs_csv, make_pairs

__all__ = [
    "ATTRIBUTES_CSV",
    "DEMO_IMAGE_NUMBERS",
    "IDENTITIES_CSV",
    "IMAGE_SUFFIXES",
    "AttributesTable",
    "DatasetOverview",
    "IdentityDataset",
    "Pairs",
    "PairsTable",
    "Progress",
    "demo_dataset",
    "display_name",
    "folder_attributes",
    "load_attributes_csv",
    "load_identity_dataset",
    "load_lfw",
    "load_pairs_csv",
    "load_server_folder",
    "load_zip_dataset",
    "make_pairs",
    "mark_used",
    "open_dataset",
    "overview",
    "read_attributes_file",
    "relative_path",
    "sample_paths",
]


def open_dataset(source: str | Path, progress: Progress | None = None) -> IdentityDataset:
    """``demo``, ``lfw``, a ``.zip`` file or a folder in any layout above, as a data set.

    A folder's files are read only inside ``FACEDEMO_FOLDER_ROOT`` when it is set: the
    trainer a page started inherits the server's root, so it checks again what it reads."""
    text = str(source)
    if text == "demo":
        return demo_dataset(progress)
    if text == "lfw":
        return load_lfw()
    path = Path(text).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        return load_zip_dataset(path)
    return load_identity_dataset(path, within=config.folder_root())
