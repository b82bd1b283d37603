"""Data sets fetched from the internet: LFW (through scikit-learn) and the demo set.

Each is downloaded once and read from disk afterwards, so neither needs the network
again; a failed download is a :class:`~facedemo.errors.DatasetError` saying what to do
without one.
"""

from __future__ import annotations

import http.client
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from facedemo import config
from facedemo.datasets.folders import (
    IDENTITIES_CSV,
    IdentityDataset,
    _from_subfolders,
    load_identity_dataset,
)
from facedemo.errors import DatasetError
from facedemo.files import atomic_file, write_csv_atomic

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
    write_csv_atomic(folder / IDENTITIES_CSV, pd.DataFrame(rows, columns=["file", "identity"]))


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
