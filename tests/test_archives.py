"""archives: uploads kept under a quota, odd and damaged zips refused with a sentence.

Zips are made here from three of the shared photos (shrunk, so a zip is a few kB and
the fuzz test runs in seconds); no binary files live in the repo.
"""

from __future__ import annotations

import io
import os
import random
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from facedemo import config, datasets
from facedemo.datasets import archives
from facedemo.errors import DatasetError, FaceDemoError, SettingError

PHOTOS = {"alice/img1.jpg": "img1.jpg", "alice/img2.jpg": "img2.jpg", "bob/img3.jpg": "img3.jpg"}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A FACEDEMO_HOME of the test's own, so each test sees only its unpacked sets."""
    monkeypatch.setenv("FACEDEMO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDEMO_UPLOAD_QUOTA", raising=False)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def photos(shared_images: Path) -> dict[str, bytes]:
    """Three real photos as small JPEGs, by their name inside the zip."""
    shrunk = {}
    for name, file in PHOTOS.items():
        with Image.open(shared_images / file) as image:
            buffer = io.BytesIO()
            image.convert("RGB").reduce(8).save(buffer, "JPEG", quality=80)
            shrunk[name] = buffer.getvalue()
    return shrunk


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def data_set_zip(photos: dict[str, bytes], top: str = "faces") -> bytes:
    """A valid zip of the photos in one folder per identity, under ``top``."""
    return zip_of({f"{top}/{name}": data for name, data in photos.items()})


def unpacked_set(home: Path, data: bytes) -> Path:
    """Upload ``data``; the folder it was unpacked into (its data set may be a folder below)."""
    root = datasets.load_zip_dataset(data).root
    return home / "datasets" / root.relative_to(home / "datasets").parts[0]


def on_disk(home: Path) -> list[str]:
    """Everything under the unpacked uploads' folder, hidden staging folders included."""
    unpacked = home / "datasets"
    return sorted(str(path.relative_to(unpacked)) for path in unpacked.rglob("*"))


def assert_sentence(error: BaseException) -> None:
    message = str(error)
    assert len(message) > 20 and message.endswith("."), message
    assert "Traceback" not in message


# --- the quota setting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", 4 * 1024**3),
        ("123456", 123_456),
        ("4GB", 4_000_000_000),
        ("500 MB", 500_000_000),
        ("2GiB", 2 * 1024**3),
        ("1.5 kb", 1_500),
    ],
)
def test_upload_quota_reads_bytes_or_units(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    monkeypatch.setenv("FACEDEMO_UPLOAD_QUOTA", value)
    assert config.upload_quota() == expected


@pytest.mark.parametrize("value", ["lots", "4 XB", "-1GB"])
def test_an_upload_quota_that_is_no_size_is_a_sentence(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FACEDEMO_UPLOAD_QUOTA", value)
    with pytest.raises(SettingError, match="FACEDEMO_UPLOAD_QUOTA") as caught:
        config.upload_quota()
    assert_sentence(caught.value)


# --- uploads kept under the quota, least recently used removed first ---------------------------


def test_the_least_recently_used_other_set_makes_room(
    photos: dict[str, bytes], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_set = sum(len(data) for data in photos.values())
    monkeypatch.setenv("FACEDEMO_UPLOAD_QUOTA", str(2 * one_set + 100))  # room for two sets
    first = unpacked_set(home, data_set_zip(photos, "first"))
    second = unpacked_set(home, data_set_zip(photos, "second"))
    old = time.time() - 60
    for folder in (first, second):
        os.utime(folder / archives.LAST_USED, (old, old))
    datasets.load_zip_dataset(data_set_zip(photos, "first"))  # used again: now the newest

    third = unpacked_set(home, data_set_zip(photos, "third"))

    assert first.is_dir() and third.is_dir()
    assert not second.exists()
    assert len(list((home / "datasets").iterdir())) == 2


def test_an_upload_larger_than_the_quota_is_refused_and_evicts_nothing(
    photos: dict[str, bytes], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = datasets.load_zip_dataset(data_set_zip(photos, "kept")).root
    monkeypatch.setenv("FACEDEMO_UPLOAD_QUOTA", str(sum(len(data) for data in photos.values())))
    before = on_disk(home)
    bigger = data_set_zip({**photos, "carol/img4.jpg": photos["bob/img3.jpg"]}, "bigger")

    with pytest.raises(DatasetError, match="cannot fit even after older uploads") as caught:
        datasets.load_zip_dataset(bigger)

    assert_sentence(caught.value)
    assert "FACEDEMO_UPLOAD_QUOTA" in str(caught.value)
    assert on_disk(home) == before and kept.is_dir()


# --- odd names and damaged zips: a sentence, and nothing left on disk --------------------------


def non_utf8_name(photos: dict[str, bytes]) -> bytes:
    """A zip whose flag says "names are UTF-8" but one name's bytes are not UTF-8."""
    named = data_set_zip(photos).replace(b"faces/bob/img3", b"faces/bob/\xff\xfeg3")
    return with_flag(named, 0x800)


ODD_ZIPS = {
    "name not UTF-8 though flagged": (non_utf8_name, "not UTF-8 text"),
    "a file, then a folder of that name": (
        lambda photos: with_entries(photos, "faces/bob/x.jpg", "faces/bob/x.jpg/y.jpg"),
        "is both a file and a folder",
    ),
    "a folder, then a file of that name": (
        lambda photos: with_entries(photos, "faces/bob/x.jpg/y.jpg", "faces/bob/x.jpg"),
        "is both a file and a folder",
    ),
    "a 300-character name": (
        lambda photos: with_entries(photos, f"faces/bob/{'b' * 296}.jpg"),
        "longer than the 255 bytes",
    ),
    "encrypted entry": (
        lambda photos: with_flag(data_set_zip(photos), 0x1),
        "password-protected",
    ),
    "negative seek": (
        lambda photos: b"PK\x05\x06" + bytes(8) + (2**31).to_bytes(4, "little") + bytes(6),
        "not a readable zip",
    ),
}


def with_entries(photos: dict[str, bytes], *names: str) -> bytes:
    """The data set's zip with one more photo under each of ``names``, in that order."""
    extra = dict.fromkeys(names, photos["bob/img3.jpg"])
    return zip_of({f"faces/{name}": data for name, data in photos.items()} | extra)


def with_flag(data: bytes, bit: int) -> bytes:
    """The zip with ``bit`` set in every entry's flags, in local and central headers
    (0x1: encrypted; 0x800: names are UTF-8)."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = patched.find(signature)
        while start != -1:
            flags = int.from_bytes(patched[start + offset : start + offset + 2], "little")
            patched[start + offset : start + offset + 2] = (flags | bit).to_bytes(2, "little")
            start = patched.find(signature, start + 4)
    return bytes(patched)


@pytest.mark.parametrize("kind", ODD_ZIPS)
def test_odd_zips_are_a_sentence_and_leave_nothing(
    photos: dict[str, bytes], home: Path, kind: str
) -> None:
    make, phrase = ODD_ZIPS[kind]
    with pytest.raises(DatasetError, match=phrase) as caught:
        datasets.load_zip_dataset(make(photos))
    assert_sentence(caught.value)
    assert on_disk(home) == []


def test_a_failed_unpack_removes_its_staging_folder(photos: dict[str, bytes], home: Path) -> None:
    """A CRC error half-way through unpacking: the files already written go too."""
    data = bytearray(data_set_zip(photos, "crc"))
    last_entry = data.rfind(b"PK\x03\x04")
    data[last_entry + 100] ^= 0xFF  # inside the last photo's compressed bytes
    with pytest.raises(DatasetError, match="not a readable zip") as caught:
        datasets.load_zip_dataset(bytes(data))
    assert_sentence(caught.value)
    assert on_disk(home) == []


def mutant(data: bytes, rng: random.Random) -> bytes:
    """``data`` cut, or with a few bytes changed; half of the changes in the headers at the end."""
    if rng.random() < 0.15:
        return data[: rng.randrange(len(data))]
    damaged = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        low = len(data) - 300 if rng.random() < 0.5 else 0  # the central directory, or anywhere
        damaged[rng.randrange(low, len(data))] = rng.randrange(256)
    return bytes(damaged)


def test_damaged_zips_give_a_sentence_or_a_data_set(photos: dict[str, bytes], home: Path) -> None:
    """300 seeded mutants of a valid zip: each a data set or a FaceDemoError sentence, never
    another exception, and a refusal leaves nothing new on disk."""
    original = data_set_zip(photos)
    rng = random.Random(17)
    refused = 0
    started = time.monotonic()
    for _ in range(300):
        before = on_disk(home)
        try:
            dataset = datasets.load_zip_dataset(mutant(original, rng))
        except FaceDemoError as error:
            refused += 1
            assert_sentence(error)
            assert on_disk(home) == before
        else:
            assert len(dataset) >= 1
    assert refused >= 100  # the mutants do reach the checks
    assert time.monotonic() - started < 60


def test_a_set_in_use_is_kept_and_one_evicted_says_so(
    photos: dict[str, bytes], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review: a page keeps its unpacked set in memory, so only mark_used tells the quota
    # that it is still being used.
    one_set = sum(len(data) for data in photos.values())
    monkeypatch.setenv("FACEDEMO_UPLOAD_QUOTA", str(2 * one_set + 100))
    in_use = datasets.load_zip_dataset(data_set_zip(photos, "first"))
    second = unpacked_set(home, data_set_zip(photos, "second"))
    old = time.time() - 60
    for folder in home.joinpath("datasets").iterdir():
        os.utime(folder / archives.LAST_USED, (old, old))
    assert datasets.mark_used(in_use)  # the page shows it again
    unpacked_set(home, data_set_zip(photos, "third"))
    assert in_use.root.is_dir() and not second.exists()
    evicted = datasets.load_zip_dataset(data_set_zip(photos, "fourth"))
    os.utime(evicted.root.parent / archives.LAST_USED, (old, old))
    unpacked_set(home, data_set_zip(photos, "fifth"))
    assert not datasets.mark_used(evicted)  # gone: the page unpacks it again
    assert datasets.mark_used(datasets.IdentityDataset("elsewhere", home, (), ()))


def test_a_full_disk_is_said_as_such_and_leaves_nothing(
    photos: dict[str, bytes], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review: a full disk read "not a readable zip … or it is damaged".
    import errno
    import shutil

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", full)
    with pytest.raises(DatasetError, match="disk is full") as refused:
        datasets.load_zip_dataset(data_set_zip(photos))
    assert_sentence(refused.value)
    assert on_disk(home) == []
