"""The input fence: every path a data set reads stays inside the folder root, is a regular
file, and what the operating system refuses comes back as a sentence."""

from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from facedemo import datasets, fence
from facedemo.datasets import IdentityDataset
from facedemo.errors import DatasetError

PEOPLE = {"Ada": ("img1.jpg", "img2.jpg"), "Bob": ("img3.jpg", "img4.jpg")}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FACEDEMO_FOLDER_ROOT, set as on a lab server (a page served to the network)."""
    folder = tmp_path / "root"
    folder.mkdir()
    monkeypatch.setenv("FACEDEMO_FOLDER_ROOT", str(folder))
    return folder


@pytest.fixture
def people(root: Path, shared_images: Path) -> Path:
    """Two people, two real photos each (copies), in a folder inside the root."""
    folder = root / "people"
    for person, files in PEOPLE.items():
        (folder / person).mkdir(parents=True)
        for file in files:
            shutil.copy(shared_images / file, folder / person / file)
    return folder


def served(folder: Path) -> IdentityDataset:
    """The folder as a page served to the network reads it."""
    return datasets.load_server_folder(folder, "0.0.0.0")


def in_time(call: Callable[[], IdentityDataset], seconds: float = 5.0) -> IdentityDataset:
    """``call()``, raising what it raised, failing the test if it has not returned within
    ``seconds``: a call that opened a FIFO would wait for a writer for ever."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["dataset"] = call()
        except BaseException as error:  # raised again below, in the test's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the call hung for {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["dataset"]


def test_the_fenced_folder_is_resolved_and_inside_the_root(people, root, tmp_path):
    (root / "alias").symlink_to(people)
    assert fence.fenced_folder(root / "alias", "0.0.0.0") == people.resolve()
    (root / "way-out").symlink_to(tmp_path)
    with pytest.raises(DatasetError, match=r"way-out \(a link to .*\) is outside .*only inside"):
        fence.fenced_folder(root / "way-out", "0.0.0.0")


@pytest.mark.parametrize("link", ["person-folder", "photo"])
def test_a_link_out_of_the_root_is_refused(
    people, root, tmp_path, shared_images, monkeypatch, link
):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(shared_images / "img5.jpg", outside / "img5.jpg")
    made = people / "Eve" if link == "person-folder" else people / "Ada" / "secret.jpg"
    made.symlink_to(outside if link == "person-folder" else outside / "img5.jpg")
    with pytest.raises(DatasetError) as refusal:
        served(people)
    assert str(refusal.value).startswith(f"{made} (a link to {outside}")
    assert f"is outside {root}: this app reads data sets only inside that folder" in str(
        refusal.value
    )
    # On localhost with no root, the same links are the user's own and are followed.
    monkeypatch.delenv("FACEDEMO_FOLDER_ROOT")
    assert len(datasets.load_server_folder(people, "localhost")) == 5


def test_links_inside_the_root_are_followed(people, root, shared_images):
    pool = root / "pool"
    pool.mkdir()
    shutil.copy(shared_images / "img5.jpg", pool / "img5.jpg")
    (people / "Ada" / "pooled.jpg").symlink_to(pool / "img5.jpg")
    (people / "Cy").symlink_to(people / "Bob")  # a person folder linked, still inside
    dataset = served(people)
    assert dataset.identity_names == ("Ada", "Bob", "Cy")
    assert len(dataset) == 7
    assert dataset.notes == ()


@pytest.mark.parametrize("where", ["Ada/fifo.jpg", "identities.csv"])
def test_a_fifo_is_refused_at_once_never_opened(people, where):
    os.mkfifo(people / where)
    with pytest.raises(DatasetError) as refusal:
        in_time(lambda: served(people))
    assert str(refusal.value) == (
        f"{people / where} is a named pipe (FIFO), not a photo or a CSV file, so it was not "
        "read; remove it from the data set's folder."
    )


def test_a_fifo_that_is_no_photo_is_left_alone(people):
    os.mkfifo(people / "Ada" / "notes")  # no photo suffix: never read
    assert len(in_time(lambda: served(people))) == 4


@pytest.mark.parametrize("where", ["typed-folder", "photo", "person-folder"])
def test_a_link_loop_is_a_sentence(people, root, where):
    loop = {
        "typed-folder": root / "loop",
        "photo": people / "Ada" / "loop.jpg",
        "person-folder": people / "Loop",
    }[where]
    loop.symlink_to(loop.name)  # a link to itself
    with pytest.raises(DatasetError) as refusal:
        served(loop if where == "typed-folder" else people)
    assert str(refusal.value) == (
        f"{loop} is a symbolic link that leads back to itself (a link loop); remove the link "
        "or point it at a real file or folder."
    )


def test_a_name_too_long_is_a_sentence(people):
    typed = people / ("x" * 300)
    with pytest.raises(DatasetError) as refusal:
        served(typed)
    assert str(refusal.value) == (
        f"{typed} has a name longer than this system allows (255 bytes a name); "
        "give it a shorter name."
    )
    (people / "identities.csv").write_text(f"file,identity\n{'y' * 300}.jpg,Ada\n")
    with pytest.raises(DatasetError, match=r"^identities.csv names y{300}\.jpg, which is not in"):
        served(people)


def test_a_folder_that_may_not_be_read_is_a_sentence(people, monkeypatch):
    # These tests may run as root, whom chmod does not stop: the refusal is made here.
    blocked = people / "Bob"
    listing = Path.iterdir

    def iterdir(path: Path):
        if path == blocked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(DatasetError) as refusal:
        served(people)
    assert str(refusal.value) == (
        f"{blocked} cannot be read: permission denied; give the user running this app read "
        "access to it, or choose another folder."
    )


def test_an_invalid_path_is_a_sentence(root):
    with pytest.raises(DatasetError, match="is not a valid path"):
        served(root / "nul\0byte")


def test_the_cli_and_the_trainer_read_a_folder_only_inside_the_root(
    tmp_path: Path, shared_images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``open_dataset`` (CLI, trainer) checks every file against FACEDEMO_FOLDER_ROOT too."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "faces" / "Ann").mkdir(parents=True)
    (root / "faces" / "Bob").mkdir(parents=True)
    outside.mkdir()
    for person, photos in (("Ann", ("img1.jpg", "img2.jpg")), ("Bob", ("img3.jpg", "img4.jpg"))):
        for photo in photos:
            (root / "faces" / person / photo).write_bytes((shared_images / photo).read_bytes())
    (outside / "img5.jpg").write_bytes((shared_images / "img5.jpg").read_bytes())
    os.symlink(outside / "img5.jpg", root / "faces" / "Bob" / "img5.jpg")
    monkeypatch.setenv("FACEDEMO_FOLDER_ROOT", str(root))
    with pytest.raises(DatasetError, match="outside"):
        datasets.open_dataset(root / "faces")
    (root / "faces" / "Bob" / "img5.jpg").unlink()
    assert len(datasets.open_dataset(root / "faces")) == 4
