"""Zipped data sets: unpacked once, safely, under ``$FACEDEMO_HOME/datasets``.

A zip may hold any folder layout :mod:`facedemo.datasets.folders` reads. Only images and
``identities.csv`` are unpacked; entries that would land outside the folder (zip-slip),
names no file system takes (too long, a file and a folder at once), password-protected
entries, zips too big once unpacked (zip bombs), damaged zips and zips whose folders are
no data set are refused with a sentence, and a refused zip leaves no files behind.

Unpacked sets together stay under ``config.upload_quota()``: each set's marker file is
touched whenever it is used, and the least recently used other sets are deleted to make
room for a new one; a zip that cannot fit even then is refused before unpacking.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
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

#: Longest file or folder name, in UTF-8 bytes, that common file systems take.
MAX_NAME_BYTES = 255

#: Touched inside an unpacked set each time it is used: its age orders eviction.
LAST_USED = ".last-used"

# What zipfile raises on a damaged archive (found by fuzzing): bad offsets give ValueError
# ("negative seek value") or OSError, cut data EOFError or struct.error, broken deflate
# streams zlib.error, unknown methods NotImplementedError, encrypted entries RuntimeError.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    ValueError,
    OSError,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    struct.error,
)


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
    _check_names([relative for _, relative in members])
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


def _check_names(paths: list[PurePosixPath]) -> None:
    """Refuse names a file system cannot hold: a part too long, or a file that is also a
    folder (``a.jpg`` and ``a.jpg/b.jpg``, in either order)."""
    for path in paths:
        if any(
            len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in path.parts
        ):
            raise DatasetError(
                f"The zip was rejected: its entry {str(path)[:60]!r}... has a name longer than "
                f"the {MAX_NAME_BYTES} bytes a file name may have. Shorten it and zip again."
            )
    folders = {parent for path in paths for parent in path.parents}
    for path in paths:
        if path in folders:
            raise DatasetError(
                f"The zip was rejected: {str(path)!r} is both a file and a folder in it. "
                "Make a new zip from the folder on your disk."
            )


_UNREADABLE_ZIP = (
    "The upload is not a readable zip file, or it is damaged ({error}). Make the zip again, "
    "or upload the original once more."
)


@contextlib.contextmanager
def _reading_zip() -> Iterator[None]:
    """Turn what a damaged zip makes zipfile raise into a DatasetError sentence."""
    try:
        yield
    except UnicodeDecodeError as error:  # a ValueError: catch it first, to say what it is
        raise DatasetError(
            "The zip names a file in bytes that are not UTF-8 text, although it says they "
            f"are ({error.reason}). Make a new zip with your system's own zip tool."
        ) from error
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DatasetError(
                "The server's disk is full, so the zip could not be unpacked. Ask whoever "
                "runs the app to free space or lower FACEDEMO_UPLOAD_QUOTA."
            ) from error
        raise DatasetError(_UNREADABLE_ZIP.format(error=error)) from error
    except _ZIP_ERRORS as error:
        raise DatasetError(_UNREADABLE_ZIP.format(error=error)) from error


def _used_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _last_used(folder: Path) -> float:
    """When the unpacked set at ``folder`` was last used (its marker's time, else its own)."""
    marker = folder / LAST_USED
    return (marker if marker.exists() else folder).stat().st_mtime


def _make_room(unpacked: Path, needed: int) -> None:
    """Delete the least recently used sets under ``unpacked`` until ``needed`` more bytes fit
    the upload quota; refuse, deleting nothing, a zip that would not fit even alone."""
    quota = config.upload_quota()
    if needed > quota:
        raise DatasetError(
            f"The zip would unpack to {needed / 2**20:,.0f} MiB, more than the "
            f"{quota / 2**20:,.0f} MiB this app keeps for all uploads together, so it cannot "
            "fit even after older uploads are removed. Upload a smaller data set, or ask "
            "whoever runs the app to raise FACEDEMO_UPLOAD_QUOTA."
        )
    sets = []  # (last used, bytes, folder) of every unpacked set
    for folder in unpacked.iterdir():
        if folder.is_dir() and not _hidden(folder.name):
            with contextlib.suppress(OSError):  # deleted meanwhile to make room for another
                sets.append((_last_used(folder), _used_bytes(folder), folder))
    used = sum(size for _, size, _ in sets)
    for _, size, folder in sorted(sets):
        if used + needed <= quota:
            break
        shutil.rmtree(folder, ignore_errors=True)
        used -= size


def _mark_used(folder: Path) -> None:
    """Record that the unpacked set at ``folder`` was used now (evicted last)."""
    (folder / LAST_USED).touch()


def mark_used(dataset: IdentityDataset) -> bool:
    """Record that an unpacked upload is in use now, so the quota evicts others first (a
    page that keeps the data set in memory calls it on every use); False when its folder is
    gone, removed to make room for other uploads, and it must be unpacked again. Data sets
    that are no upload are left alone (True)."""
    unpacked = config.datasets_dir().resolve()
    root = Path(dataset.root).resolve()
    if not root.is_relative_to(unpacked) or root == unpacked:
        return True
    folder = unpacked / root.relative_to(unpacked).parts[0]
    if not root.is_dir():
        return False
    with contextlib.suppress(OSError):
        _mark_used(folder)
    return True


def _unpack_zip(source: Path | BinaryIO, folder: Path) -> None:
    """Unpack the useful entries beside ``folder`` and rename them into place once they read
    as a data set; a zip refused at any step (limits, a broken entry, a layout that is no
    data set) leaves nothing behind."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpacking-"))
    try:
        with _reading_zip():
            archive = zipfile.ZipFile(source)
        with archive:
            with _reading_zip():
                members = _zip_members(archive)
            needed = sum(info.file_size for info, _ in members)
            _make_room(folder.parent, needed)  # our own code, outside: its bugs still raise
            for info, relative in members:
                target = staging.joinpath(*relative.parts)
                with (
                    _reading_zip(),
                    archive.open(info) as entry,
                    _created(target, info.filename) as unpacked,
                ):
                    shutil.copyfileobj(entry, unpacked)
        try:
            load_identity_dataset(staging)
        except DatasetError as error:  # name the zip, not the folder it was unpacked into
            message = str(error).replace(str(staging), "the zip")
            if message.startswith("the zip"):
                message = "The" + message[3:]
            raise DatasetError(message) from error
        _mark_used(staging)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another session unpacking the same zip first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _created(target: Path, name: str) -> Iterator[BinaryIO]:
    """``target`` opened for writing, its folders made; a name the disk refuses is a sentence."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = target.open("wb")
    except OSError as error:
        raise DatasetError(
            f"The zip's entry {name[:80]!r} could not be unpacked ({error.strerror or error}). "
            "Rename it in a folder on your disk and make the zip again."
        ) from error
    with handle:
        yield handle


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
    if folder.is_dir():
        _mark_used(folder)
    else:
        _unpack_zip(source, folder)
    return load_identity_dataset(folder, name=name or default_name)
