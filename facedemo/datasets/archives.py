"""Zipped data sets: unpacked once, safely, under ``$FACEDEMO_HOME/datasets``.

A zip may hold any folder layout :mod:`facedemo.datasets.folders` reads. Only images and
``identities.csv`` are unpacked; entries that would land outside the folder (zip-slip),
password-protected entries, zips too big once unpacked (zip bombs) and zips whose
folders are no data set are refused, and a refused zip leaves no files behind.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from facedemo import config
from facedemo.datasets.folders import (
    IDENTITIES_CSV,
    IdentityDataset,
    _hidden,
    _is_image_name,
    _safe_relative,
    load_identity_dataset,
)
from facedemo.errors import DatasetError

#: Limits for uploaded zips, against zip bombs: files in it, and bytes once unpacked.
MAX_ZIP_ENTRIES = 100_000
MAX_UNPACKED_BYTES = 2 * 1024**3


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
    """Unpack the useful entries beside ``folder`` and rename them into place once they read
    as a data set; a zip refused at any step (limits, a broken entry, a layout that is no
    data set) leaves nothing behind."""
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
            load_identity_dataset(staging)
        except DatasetError as error:  # name the zip, not the folder it was unpacked into
            message = str(error).replace(str(staging), "the zip")
            if message.startswith("the zip"):
                message = "The" + message[3:]
            raise DatasetError(message) from error
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
