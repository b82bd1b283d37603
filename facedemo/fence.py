"""The input fence: which folders and files on this machine a data set may read.

A page served to others lets whoever reaches it type a folder, so every path a data set
reads passes here first: the folder typed in, each entry of the folders its layout lists
and each photo and ``identities.csv`` it opens. Each is resolved with every symbolic link
followed (``Path.resolve(strict=True)``) and refused when it lands outside the folder
root (``config.folder_root()``), so a link inside the root cannot lead out of it; files
must be regular files (``stat.S_ISREG`` on the resolved path), so a FIFO, a device or a
socket is refused by its metadata and never opened. Links that stay inside the root are
followed. Anything the operating system refuses (a link loop, a name too long, a folder
we may not read) becomes a DatasetError naming the path.

Served on localhost with no root set, any folder may be read (the user owns the machine);
served beyond localhost, a root is required.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from facedemo import config
from facedemo.errors import DatasetError

#: What ``stat`` says a path is, for the sentence refusing a file that is not a regular one.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _unreadable(path: Path, error: OSError) -> DatasetError:
    """The sentence for an operating-system refusal to resolve, stat or list ``path``."""
    reasons = {
        errno.ELOOP: "is a symbolic link that leads back to itself (a link loop); "
        "remove the link or point it at a real file or folder",
        errno.ENAMETOOLONG: "has a name longer than this system allows (255 bytes a name); "
        "give it a shorter name",
        errno.EACCES: "cannot be read: permission denied; give the user running this app "
        "read access to it, or choose another folder",
        errno.EPERM: "cannot be read: permission denied; give the user running this app "
        "read access to it, or choose another folder",
        errno.ENOENT: "does not exist (or is a link to something that does not); "
        "check the spelling, or remove the broken link",
        errno.ENOTDIR: "does not exist: a part of it is a file, not a folder",
    }
    reason = reasons.get(error.errno, f"cannot be read ({error.strerror or error})")
    return DatasetError(f"{path} {reason}.")


def resolve(path: Path, within: Path | None = None) -> Path:
    """``path`` with every symbolic link followed; refused if missing, looping, unreadable,
    or (when ``within`` is given) landing outside ``within``."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError as error:  # Python before 3.13 reports a link loop this way
        raise _unreadable(path, OSError(errno.ELOOP, str(error))) from error
    except OSError as error:
        raise _unreadable(path, error) from error
    except ValueError as error:  # a NUL byte in the name
        raise DatasetError(f"{path!r} is not a valid path ({error}).") from error
    if within is not None and not target.is_relative_to(within):
        shown = path if target == path else f"{path} (a link to {target})"
        raise DatasetError(
            f"{shown} is outside {within}: this app reads data sets only inside that folder. "
            "Move or copy the photos into it, or upload a zip instead."
        )
    return target


def _mode(path: Path, target: Path) -> int:
    """``stat`` of the resolved ``target`` (which never opens it), errors naming ``path``."""
    try:
        return target.stat().st_mode
    except OSError as error:
        raise _unreadable(path, error) from error


def regular_file(path: Path, within: Path | None = None) -> Path:
    """``path`` resolved (:func:`resolve`) and refused unless it is a regular file."""
    target = resolve(path, within)
    mode = _mode(path, target)
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise DatasetError(
            f"{path} is {kind}, not a photo or a CSV file, so it was not read; "
            "remove it from the data set's folder."
        )
    return target


def folder(path: Path, within: Path | None = None) -> Path:
    """``path`` resolved (:func:`resolve`) and refused unless it is a folder."""
    try:
        target = resolve(path, within)
    except DatasetError as error:
        if isinstance(error.__cause__, FileNotFoundError | NotADirectoryError):
            raise DatasetError(f"{path} is not a folder.") from error
        raise
    if not stat.S_ISDIR(_mode(path, target)):
        raise DatasetError(f"{path} is not a folder.")
    return target


def entries(path: Path) -> list[Path]:
    """The entries of the folder ``path`` (as ``path / name``), sorted by name."""
    try:
        return sorted(path.iterdir())
    except OSError as error:
        raise _unreadable(path, error) from error


def served_root(server_address: str | None) -> Path | None:
    """The folder a page served at ``server_address`` may read data sets in; None for any.

    ``config.folder_root()`` when set. Unset, any folder on localhost; refused beyond
    localhost, since then anyone who can reach the page could read any folder here.
    """
    root = config.folder_root()
    if root is None and not config.served_locally(server_address):
        raise DatasetError(
            f"This app is served to the network (server address {server_address or 'unset'}), "
            "so it reads folders on the server only inside FACEDEMO_FOLDER_ROOT, which is not "
            "set. Start it with FACEDEMO_FOLDER_ROOT=/path/to/datasets in its environment "
            "(for example: FACEDEMO_FOLDER_ROOT=/srv/faces STREAMLIT_SERVER_ADDRESS=0.0.0.0 "
            "make run), or upload a zip instead."
        )
    return root


def fenced_folder(path: str | os.PathLike[str], server_address: str | None) -> Path:
    """A folder typed into a page served at ``server_address``, resolved; refused outside
    :func:`served_root`. Only the folder: its content is fenced as the layout reads it
    (``datasets.load_server_folder``)."""
    return folder(Path(path).expanduser(), served_root(server_address))
