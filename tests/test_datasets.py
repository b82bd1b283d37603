"""Identity data sets, zips, downloads, pairs and pairs CSVs, on the shared real photos."""

from __future__ import annotations

import functools
import io
import itertools
import json
import shutil
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from facedemo import config, datasets
from facedemo.datasets import IdentityDataset
from facedemo.errors import DatasetError


@pytest.fixture(scope="module")
def truth(shared_data: Path) -> dict[str, str]:
    """File name → identity, as the shared identities.csv says."""
    table = pd.read_csv(shared_data / "identities.csv")
    return dict(zip(table["file"], table["identity"], strict=True))


def labelled(dataset: IdentityDataset) -> dict[str, str]:
    """File name → identity; for links to the shared photos, the shared photo's name."""
    return {
        path.resolve().name: identity
        for path, identity in zip(dataset.paths, dataset.identities, strict=True)
    }


def lfw_names(truth: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(shared file, identity, LFW-style name) for every labelled photo."""
    for identity, group in itertools.groupby(sorted(truth, key=truth.get), key=truth.get):
        for number, file in enumerate(group, start=1):
            yield file, identity, f"{identity}_{number:04d}.jpg"


def link(target: Path, source: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)


# --- folder layouts ---------------------------------------------------------------------------


def test_identities_csv_with_images_folder_ignores_unlabelled(shared_data, truth):
    dataset = datasets.load_identity_dataset(shared_data)
    assert labelled(dataset) == truth  # couple.jpg, selfie, reflection: not listed, not loaded
    assert dataset.notes == ()  # by design, not a photo left out unsaid
    assert len(dataset) == 61
    assert len(dataset.identity_names) == 13


def test_identities_csv_next_to_the_images(tmp_path, shared_images, truth):
    for file in [*truth, "couple.jpg"]:
        link(tmp_path / file, shared_images / file)
    pd.DataFrame(truth.items(), columns=["file", "identity"]).to_csv(
        tmp_path / "identities.csv", index=False
    )
    assert labelled(datasets.load_identity_dataset(tmp_path)) == truth


def test_identities_csv_naming_a_path_outside_is_rejected(tmp_path):
    (tmp_path / "identities.csv").write_text("file,identity\n../secret.jpg,Someone\n")
    with pytest.raises(DatasetError, match="outside"):
        datasets.load_identity_dataset(tmp_path)


def test_identity_subfolders(tmp_path, shared_images, truth):
    for file, identity in truth.items():
        link(tmp_path / identity / file, shared_images / file)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "Angelina_Jolie" / "notes.txt").write_text("not an image")
    dataset = datasets.load_identity_dataset(tmp_path)
    assert labelled(dataset) == truth
    assert dataset.identity_names == tuple(sorted(set(truth.values())))


def test_flat_lfw_names(tmp_path, shared_images, truth):
    for file, _, name in lfw_names(truth):
        link(tmp_path / name, shared_images / file)
    assert labelled(datasets.load_identity_dataset(tmp_path)) == truth


def test_nested_lfw_layout_steps_into_the_lone_folder(tmp_path, shared_images, truth):
    for file, identity, name in lfw_names(truth):
        link(tmp_path / "lfw" / identity / name, shared_images / file)
    dataset = datasets.load_identity_dataset(tmp_path)
    assert labelled(dataset) == truth
    assert dataset.root == tmp_path / "lfw"


def write_identities(folder: Path, rows: list[tuple[str, str]]) -> None:
    pd.DataFrame(rows, columns=["file", "identity"]).to_csv(folder / "identities.csv", index=False)


def test_identities_csv_repeating_a_row_counts_the_photo_once(tmp_path, shared_images, truth):
    for file in truth:
        link(tmp_path / "images" / file, shared_images / file)
    rows = list(truth.items())
    repeated = [*rows[:3], (f"images/{rows[3][0]}", rows[3][1])]  # another name, same photo
    write_identities(tmp_path, rows + repeated)
    dataset = datasets.load_identity_dataset(tmp_path)
    assert labelled(dataset) == truth
    assert len(dataset) == 61
    assert datasets.make_pairs(dataset).positives == 140  # not more pairs from the repeats
    assert dataset.notes == (
        "identities.csv lists 4 photos again under the same person (img1.jpg, img2.jpg, "
        "img4.jpg, images/img5.jpg); each photo was counted once.",
    )


@pytest.mark.parametrize("second_name", ["img1.jpg", "images/img1.jpg"])
def test_identities_csv_giving_a_photo_two_people_is_refused(tmp_path, shared_images, second_name):
    for file in ("img1.jpg", "img3.jpg"):
        link(tmp_path / "images" / file, shared_images / file)
    write_identities(
        tmp_path,
        [("img1.jpg", "Angelina_Jolie"), ("img3.jpg", "Jennifer_Aniston"), (second_name, "Bob")],
    )
    with pytest.raises(DatasetError) as refusal:
        datasets.load_identity_dataset(tmp_path)
    assert str(refusal.value) == (
        "identities.csv gives one photo two people: the rows 'img1.jpg,Angelina_Jolie' and "
        f"'{second_name},Bob'. A photo shows one person: delete the wrong row."
    )


def test_a_lone_folder_of_one_persons_photos_is_that_person_not_a_wrapper(tmp_path, shared_images):
    for file in ("img1.jpg", "img2.jpg"):
        link(tmp_path / "Angelina" / file, shared_images / file)
    with pytest.raises(DatasetError) as refusal:
        datasets.load_identity_dataset(tmp_path)
    assert str(refusal.value) == (
        f"{tmp_path} holds the photos of one person only (Angelina); a data set needs at "
        "least two people. Add a folder of photos for each other person beside it."
    )
    link(tmp_path / "Jennifer" / "img3.jpg", shared_images / "img3.jpg")
    assert datasets.load_identity_dataset(tmp_path).identity_names == ("Angelina", "Jennifer")


def test_a_lone_folder_of_flat_names_of_two_people_is_still_a_wrapper(tmp_path, shared_images):
    link(tmp_path / "faces" / "Ada_L_0001.jpg", shared_images / "img1.jpg")
    link(tmp_path / "faces" / "Bob_M_0001.jpg", shared_images / "img3.jpg")
    dataset = datasets.load_identity_dataset(tmp_path)
    assert (dataset.root, dataset.identity_names) == (tmp_path / "faces", ("Ada_L", "Bob_M"))


def test_photos_the_layout_does_not_read_are_counted_and_named(tmp_path, shared_images, truth):
    for file, identity in truth.items():
        link(tmp_path / identity / file, shared_images / file)
    deeper = [f"Angelina_Jolie/2019/extra{number}.jpg" for number in range(6)]
    for name in [*deeper, "stray.jpg", "Elon_Musk/.hidden/skip.jpg"]:  # copies: photos of
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)  # their own, not links
        shutil.copy(shared_images / "img1.jpg", tmp_path / name)  # to photos read anyway
    dataset = datasets.load_identity_dataset(tmp_path)
    assert labelled(dataset) == truth  # none of the unread ones
    assert dataset.notes == (
        f"7 photos in {tmp_path.name} were left out (stray.jpg, Angelina_Jolie/2019/extra0.jpg, "
        "Angelina_Jolie/2019/extra1.jpg, Angelina_Jolie/2019/extra2.jpg, "
        "Angelina_Jolie/2019/extra3.jpg, ...): this layout "
        "reads photos only directly inside each person's folder. Move them there to use them.",
    )


def test_photos_only_deeper_than_flat_names_say_why_none_was_read(tmp_path, shared_images):
    link(tmp_path / "Ada" / "2019" / "one.jpg", shared_images / "img1.jpg")
    link(tmp_path / "Bob" / "2019" / "two.jpg", shared_images / "img3.jpg")
    with pytest.raises(DatasetError) as refusal:
        datasets.load_identity_dataset(tmp_path)
    assert str(refusal.value) == (
        f"{tmp_path} holds no labelled images (.jpg, .png, ...). 2 photos in {tmp_path.name} "
        "were left out (Ada/2019/one.jpg, Bob/2019/two.jpg): this layout reads photos only "
        f"directly inside {tmp_path.name}, as Name_0001.jpg names. Move them there to use them."
    )


@pytest.mark.parametrize("content", [None, "photo.jpg"])
def test_folders_without_labelled_images_fail_clearly(tmp_path, content):
    if content:
        (tmp_path / content).write_bytes(b"")
    with pytest.raises(DatasetError, match=r"no labelled images|Name_0001"):
        datasets.load_identity_dataset(tmp_path)


# --- zip uploads ------------------------------------------------------------------------------


def zip_bytes(entries: dict[str, Path | bytes]) -> bytes:
    """A zip of the given entries: file contents, or photos to store."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in entries.items():
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_of_one_folder_per_identity_inside_a_top_folder(shared_images, truth, facedemo_home):
    entries: dict[str, Path | bytes] = {
        f"faces/{identity}/{file}": shared_images / file for file, identity in truth.items()
    }
    entries |= {"__MACOSX/faces/._img1.jpg": b"junk", "faces/.DS_Store": b"", "faces/a.txt": b""}
    data = zip_bytes(entries)
    dataset = datasets.load_zip_dataset(data, name="faces")
    assert dataset.name == "faces"
    assert labelled(dataset) == truth
    assert dataset.root.is_relative_to(facedemo_home / "datasets")
    assert not any(dataset.root.parent.rglob("__MACOSX"))
    assert datasets.load_zip_dataset(data).root == dataset.root  # same content, same folder


def test_zip_of_flat_lfw_names_from_a_file(tmp_path, shared_images, truth):
    names = list(lfw_names(truth))
    archive = tmp_path / "lfw-style.zip"
    archive.write_bytes(zip_bytes({name: shared_images / file for file, _, name in names}))
    dataset = datasets.load_zip_dataset(archive)
    assert dataset.name == "lfw-style"
    assert labelled(dataset) == {name: identity for _, identity, name in names}


def test_zip_with_identities_csv(shared_data, truth):
    few = dict(itertools.islice(truth.items(), 6))
    entries: dict[str, Path | bytes] = {
        f"set/images/{file}": shared_data / "images" / file for file in few
    }
    entries["set/identities.csv"] = (
        pd.DataFrame(few.items()).to_csv(index=False, header=["file", "identity"]).encode()
    )
    dataset = datasets.load_zip_dataset(zip_bytes(entries))
    assert labelled(dataset) == few


@pytest.mark.parametrize("unsafe", ["../evil.jpg", "faces/../../evil.jpg", "/tmp/evil.jpg"])
def test_zip_slip_entry_is_rejected(tmp_path, facedemo_home, unsafe):
    data = zip_bytes({"faces/A_B_0001.jpg": b"x", unsafe: b"x"})
    with pytest.raises(DatasetError, match="rejected"):
        datasets.load_zip_dataset(data)
    assert not [p for p in (facedemo_home / "datasets").rglob("*") if "evil" in p.name]


def corrupted(data: bytes) -> bytes:
    """The zip with the bytes of its first entry's data flipped (the CRC check then fails)."""
    start = data.index(b"\xff\xd8\xff")  # the JPEG inside the stored entry
    return data[:start] + bytes(b ^ 0xFF for b in data[start : start + 64]) + data[start + 64 :]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda photo: b"this is not a zip", "not a readable zip"),
        (lambda photo: zip_bytes({"A_B_0001.jpg": photo})[:-30], "not a readable zip"),
        (lambda photo: corrupted(zip_bytes({"A_B_0001.jpg": photo})), "not a readable zip"),
        (lambda photo: zip_bytes({}), "empty"),
        (lambda photo: zip_bytes({"readme.txt": b"hello", "faces/": b""}), "no images"),
    ],
    ids=["not-a-zip", "truncated", "bad-crc", "empty", "no-images"],
)
def test_broken_zips_fail_clearly(shared_images, make: Callable[[Path], bytes], message):
    photo = shared_images / "img1.jpg"
    with pytest.raises(DatasetError, match=message):
        datasets.load_zip_dataset(make(photo.read_bytes()))


def test_zip_bomb_limit(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("faces/A_B_0001.jpg", bytes(5_000_000))  # 5 MB of zeros, 5 kB zipped
    monkeypatch.setattr(datasets.archives, "MAX_UNPACKED_BYTES", 1_000_000)
    with pytest.raises(DatasetError, match="would unpack to"):
        datasets.load_zip_dataset(buffer.getvalue())


def refusals(photo: bytes) -> dict[str, tuple[bytes, str]]:
    """Zips refused after the checks of their entries, with what the refusal says."""
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("faces/A_B_0001.jpg", photo)
        archive.writestr("faces/C_D_0001.jpg", bytes(5_000_000))  # 5 MB of zeros, 5 kB zipped
    listed = b"file,identity\nmissing.jpg,A_B\n"
    return {
        "flat-names-without-a-number": (
            zip_bytes({"A_B_0001.jpg": photo, "photo.jpg": photo}),
            r"^photo\.jpg does not follow",
        ),
        "one-person-folder": (
            zip_bytes({"faces/photo.jpg": photo}),
            r"^The zip holds the photos of one person only \(faces\); a data set needs at least",
        ),
        "identities-csv-names-a-missing-photo": (
            zip_bytes({"set/identities.csv": listed, "set/images/A_B_0001.jpg": photo}),
            r"missing\.jpg, which is not in the zip/set\.$",
        ),
        "bad-crc": (corrupted(zip_bytes({"A_B_0001.jpg": photo})), "not a readable zip"),
        "too-big": (bomb.getvalue(), "would unpack to"),
    }


@pytest.mark.parametrize(
    "refusal",
    [
        "flat-names-without-a-number",
        "one-person-folder",
        "identities-csv-names-a-missing-photo",
        "bad-crc",
        "too-big",
    ],
)
def test_a_refused_zip_leaves_nothing_behind(shared_images, facedemo_home, monkeypatch, refusal):
    photo = (shared_images / "img1.jpg").read_bytes()
    data, message = refusals(photo)[refusal]
    if refusal == "too-big":
        monkeypatch.setattr(datasets.archives, "MAX_UNPACKED_BYTES", len(photo) + 1_000_000)
    unpacked = facedemo_home / "datasets"
    before = set(unpacked.iterdir()) if unpacked.is_dir() else set()
    with pytest.raises(DatasetError, match=message):
        datasets.load_zip_dataset(data)
    assert set(unpacked.iterdir()) == before
    with pytest.raises(DatasetError, match=message):  # refused again, not read from a leftover
        datasets.load_zip_dataset(data)


# --- a folder typed into a page ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        (" LocalHost ", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("lab.example.org", False),
        ("", False),
        (None, False),  # Streamlit's default: every network interface
    ],
)
def test_only_loopback_addresses_are_served_locally(address, local):
    assert config.served_locally(address) is local


def test_on_localhost_a_server_folder_may_be_any_folder(shared_data, monkeypatch):
    monkeypatch.delenv("FACEDEMO_FOLDER_ROOT", raising=False)
    assert len(datasets.load_server_folder(shared_data, "localhost")) == 61


@pytest.mark.parametrize("address", ["0.0.0.0", None])
def test_beyond_localhost_a_server_folder_needs_the_folder_root(
    shared_data, tmp_path, monkeypatch, address
):
    monkeypatch.delenv("FACEDEMO_FOLDER_ROOT", raising=False)
    with pytest.raises(DatasetError, match=r"served to the network.*FACEDEMO_FOLDER_ROOT=/path"):
        datasets.load_server_folder(shared_data, address)
    monkeypatch.setenv("FACEDEMO_FOLDER_ROOT", str(shared_data.parent))
    assert len(datasets.load_server_folder(shared_data, address)) == 61
    with pytest.raises(DatasetError, match="only inside"):
        datasets.load_server_folder(tmp_path, address)


# --- LFW through scikit-learn -----------------------------------------------------------------


def closed_port() -> int:
    """A localhost port nobody listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.filterwarnings("ignore:Retry downloading")
def test_lfw_offline_fails_with_a_clear_message(tmp_path, monkeypatch):
    # Point scikit-learn's own download at a closed port, so this fails the same way here
    # (no network) and on a machine with internet access, instead of fetching 200 MB.
    import sklearn.datasets._lfw as sklearn_lfw

    nowhere = f"http://127.0.0.1:{closed_port()}/lfw"
    monkeypatch.setattr(
        sklearn_lfw,
        "TARGETS",
        tuple(target._replace(url=nowhere) for target in sklearn_lfw.TARGETS),
    )
    monkeypatch.setattr(
        sklearn_lfw, "FUNNELED_ARCHIVE", sklearn_lfw.FUNNELED_ARCHIVE._replace(url=nowhere)
    )
    with pytest.raises(DatasetError) as failure:
        datasets.load_lfw(data_home=tmp_path, retries=1)
    message = str(failure.value)
    assert message.startswith("LFW could not be downloaded: this machine has no internet access")
    assert "demo set" in message
    assert "upload a zip" in message


def test_lfw_already_downloaded_loads_without_network(tmp_path, shared_images, truth, monkeypatch):
    funneled = tmp_path / "lfw_home" / "lfw_funneled"
    for file, identity, name in lfw_names(truth):
        link(funneled / identity / name, shared_images / file)

    def no_download(**_: object) -> None:
        raise AssertionError("LFW was downloaded although it is in place")

    monkeypatch.setattr("sklearn.datasets.fetch_lfw_people", no_download)
    assert labelled(datasets.load_lfw(min_faces_per_person=1, data_home=tmp_path)) == truth
    frequent = datasets.load_lfw(min_faces_per_person=5, data_home=tmp_path)
    assert len(frequent.identity_names) == 7
    assert len(frequent) == 44
    with pytest.raises(DatasetError, match="lower min_faces_per_person"):
        datasets.load_lfw(min_faces_per_person=9, data_home=tmp_path)


# --- the demo set -----------------------------------------------------------------------------


class Loopback:
    """A ThreadingHTTPServer on 127.0.0.1 serving one folder, recording what was asked."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        loopback = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                loopback.requests.append(self.path)

        handler = functools.partial(Handler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Path], Loopback]]:
    servers: list[Loopback] = []
    yield lambda folder: servers.append(Loopback(folder)) or servers[-1]
    for server in servers:
        server.close()


def test_demo_set_is_the_configured_local_copy(truth):
    dataset = datasets.demo_dataset()  # FACEDEMO_DEMO_DATA points at the shared set
    assert dataset.name == "demo"
    assert labelled(dataset) == truth


def test_demo_set_downloads_with_progress_and_resumes(tmp_path, shared_images, truth, serve):
    partial = tmp_path / "partial"
    for file in truth:
        if file != "img41.jpg":
            link(partial / file, shared_images / file)
    target = tmp_path / "demo"
    calls: list[tuple[int, int, str]] = []

    with pytest.raises(DatasetError, match=r"img41\.jpg failed"):
        datasets.demo_dataset(
            lambda *call: calls.append(call), base_url=serve(partial).url, target=target
        )
    assert len(calls) == 60
    assert not (target / "identities.csv").exists()
    assert not list(target.rglob(".*.part"))

    calls.clear()
    full = serve(shared_images)
    dataset = datasets.demo_dataset(
        lambda *call: calls.append(call), base_url=full.url + "/", target=target
    )
    assert full.requests == ["/img41.jpg"]  # the 60 already there are kept
    assert [done for done, _, _ in calls] == list(range(1, 62))
    assert {total for _, total, _ in calls} == {61}
    assert {name for _, _, name in calls} == set(truth)
    assert labelled(dataset) == truth
    assert {
        path.name: path.read_bytes() == (shared_images / path.name).read_bytes()
        for path in dataset.paths
    } == dict.fromkeys(truth, True)

    calls.clear()
    assert datasets.demo_dataset(calls.append, base_url=full.url, target=target).paths == (
        dataset.paths
    )
    assert calls == []
    assert full.requests == ["/img41.jpg"]


def test_demo_set_offline_names_the_url_and_the_way_out(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/dataset"
    with pytest.raises(DatasetError) as failure:
        datasets.demo_dataset(base_url=url, target=tmp_path / "demo")
    assert url in str(failure.value)
    assert "FACEDEMO_DEMO_DATA" in str(failure.value)


# --- pairs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_dataset(shared_data) -> IdentityDataset:
    return datasets.load_identity_dataset(shared_data)


def test_all_pairs_of_the_shared_set(shared_dataset):
    pairs = datasets.make_pairs(shared_dataset)
    assert (pairs.positives, pairs.negatives, len(pairs)) == (140, 1690, 1830)
    assert pairs.first.dtype == pairs.second.dtype == np.int32

    # The notebook's way: combinations within each identity, products across identities.
    members = [
        [i for i, name in enumerate(shared_dataset.identities) if name == identity]
        for identity in shared_dataset.identity_names
    ]
    positives = {pair for group in members for pair in itertools.combinations(group, 2)}
    negatives = {
        tuple(sorted(pair))
        for a, b in itertools.combinations(members, 2)
        for pair in itertools.product(a, b)
    }
    found = list(zip(pairs.first.tolist(), pairs.second.tolist(), strict=True))
    assert {pair for pair, same in zip(found, pairs.same, strict=True) if same} == positives
    assert {pair for pair, same in zip(found, pairs.same, strict=True) if not same} == negatives


def test_sampled_negatives(shared_dataset):
    pairs = datasets.make_pairs(shared_dataset, max_negatives=500, seed=7)
    labels = shared_dataset.labels
    assert (pairs.positives, pairs.negatives) == (140, 500)
    negative = ~pairs.same
    assert np.all(labels[pairs.first[negative]] != labels[pairs.second[negative]])
    assert np.all(labels[pairs.first[pairs.same]] == labels[pairs.second[pairs.same]])
    assert np.all(pairs.first < pairs.second)
    assert len(np.unique(pairs.first.astype(np.int64) * 61 + pairs.second)) == len(pairs)

    again = datasets.make_pairs(shared_dataset, max_negatives=500, seed=7)
    other = datasets.make_pairs(shared_dataset, max_negatives=500, seed=8)
    assert np.array_equal(again.first, pairs.first)
    assert np.array_equal(again.second, pairs.second)
    assert not np.array_equal(other.first, pairs.first)
    assert datasets.make_pairs(shared_dataset, max_negatives=5000).negatives == 1690


def test_sampling_a_huge_set_never_lists_all_pairs():
    n = 300_000  # 45 billion pairs: listing them would not fit in memory
    identities = tuple(f"person_{i // 3}" for i in range(n))
    dataset = IdentityDataset("huge", Path("."), (Path("x.jpg"),) * n, identities)
    pairs = datasets.make_pairs(dataset, max_negatives=100_000, seed=1)
    labels = dataset.labels
    assert (pairs.positives, pairs.negatives) == (n, 100_000)
    assert np.all(labels[pairs.first[~pairs.same]] != labels[pairs.second[~pairs.same]])
    assert len(np.unique(pairs.first.astype(np.int64) * n + pairs.second)) == len(pairs)


# --- pairs CSV --------------------------------------------------------------------------------


def test_pivot_csv_reproduces_its_own_statistics(shared_data, truth):
    raw = pd.read_csv(shared_data / "face-recognition-pivot.csv")
    table = datasets.load_pairs_csv(shared_data / "face-recognition-pivot.csv")
    assert len(table) == 280
    assert (table.positives, table.negatives) == (
        (raw["decision"] == "Yes").sum(),
        (raw["decision"] == "No").sum(),
    )
    assert table.distance_columns == tuple(raw.columns[3:])
    assert "VGG-Face_cosine" in table.distance_columns
    same = (raw["decision"] == "Yes").to_numpy()
    for column in table.distance_columns:
        distances = table.distances(column)
        assert distances.dtype == np.float32
        for label in (True, False):
            expected = raw.loc[same == label, column]
            chosen = distances[table.same == label]
            assert chosen.mean() == pytest.approx(expected.mean(), rel=1e-5)
            assert chosen.std(ddof=1) == pytest.approx(expected.std(), rel=1e-4)
    # Matched on file name, the labels agree with identities.csv.
    assert all(name in truth for name in table.file_x + table.file_y)
    agrees = [truth[x] == truth[y] for x, y in zip(table.file_x, table.file_y, strict=True)]
    assert np.array_equal(agrees, table.same)


def test_notebook_csv(tmp_path):
    frame = pd.DataFrame(
        {
            "file_x": ["dataset/img1.jpg", "dataset\\img3.jpg"],
            "file_y": ["dataset/img2.jpg", "dataset/img4.jpg"],
            "decision": ["Yes", "No"],
            "distance": [0.25, 0.75],
        }
    )
    frame.to_csv(tmp_path / "notebook.csv")  # with the index column pandas writes by default
    table = datasets.load_pairs_csv((tmp_path / "notebook.csv").read_bytes())
    assert table.file_x == ("img1.jpg", "img3.jpg")
    assert table.distance_columns == ("distance",)
    assert table.same.tolist() == [True, False]
    assert table.distances("distance").tolist() == [0.25, 0.75]
    with pytest.raises(DatasetError, match="no distance column 'cosine'"):
        table.distances("cosine")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("file_x,file_y,decision,distance\n", "no pairs"),
        ("file_x,decision,distance\na.jpg,Yes,0.1\n", "missing: file_y"),
        ("file_x,file_y,decision,distance\na.jpg,b.jpg,Maybe,0.1\n", "Yes or No"),
        ("file_x,file_y,decision,distance\na.jpg,b.jpg,Yes,far\n", "'far' on line 2"),
        ("file_x,file_y,decision,distance\na.jpg,b.jpg,Yes,\n", "line 2"),
        ("file_x,file_y,Decision\na.jpg,b.jpg,Yes\n", "no distance column"),
    ],
    ids=["empty", "header-only", "missing-column", "decision", "text", "blank", "no-distances"],
)
def test_bad_pairs_csv_fails_clearly(text, message):
    with pytest.raises(DatasetError, match=message):
        datasets.load_pairs_csv(text.encode())


# --- overview ---------------------------------------------------------------------------------


def test_overview(shared_dataset):
    solo = IdentityDataset(
        "plus-one",
        shared_dataset.root,
        (*shared_dataset.paths, Path("solo.jpg")),
        (*shared_dataset.identities, "Solo_Person"),
    )
    summary = datasets.overview(solo)
    assert (summary.identities, summary.images) == (14, 62)
    assert list(summary.images_per_identity.items())[:3] == [
        ("Angelina_Jolie", 8),
        ("Katy_Perry", 8),
        ("Scarlett_Johansson", 7),
    ]
    assert list(summary.images_per_identity)[-1] == "Solo_Person"
    assert summary.single_image_identities == ("Solo_Person",)
    pairs = datasets.make_pairs(solo)
    assert (summary.positive_pairs, summary.negative_pairs) == (pairs.positives, pairs.negatives)


def test_sample_paths(shared_dataset, truth):
    one_each = datasets.sample_paths(shared_dataset, limit=None)
    assert [identity for identity, _ in one_each] == list(shared_dataset.identity_names)
    assert all(truth[path.name] == identity for identity, path in one_each)
    two_each = datasets.sample_paths(shared_dataset, per_identity=2, limit=5)
    assert [identity for identity, _ in two_each] == [
        "Angelina_Jolie",
        "Angelina_Jolie",
        "Elon_Musk",
        "Elon_Musk",
        "George_Clooney",
    ]
    assert len({path for _, path in two_each}) == 5


def test_photos_the_layout_leaves_out_reach_the_study_and_its_json(
    tmp_path: Path, shared_images: Path, capsys
) -> None:
    from facedemo.__main__ import main

    for person, photos in (("Ann", ("img1.jpg", "img2.jpg")), ("Bob", ("img3.jpg", "img4.jpg"))):
        (tmp_path / "faces" / person / "old").mkdir(parents=True)
        for photo in photos:
            (tmp_path / "faces" / person / photo).write_bytes((shared_images / photo).read_bytes())
    (tmp_path / "faces" / "Ann" / "old" / "img5.jpg").write_bytes(
        (shared_images / "img5.jpg").read_bytes()
    )
    assert main(["thresholds", str(tmp_path / "faces"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert len(answer["notes"]) == 1 and "img5.jpg" in answer["notes"][0]


def test_the_search_for_left_out_photos_is_bounded(
    tmp_path: Path, shared_images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review: a typed ~ walked the whole home folder before the page answered.
    from facedemo.datasets import folders

    for person, photos in (("Ann", ("img1.jpg", "img2.jpg")), ("Bob", ("img3.jpg", "img4.jpg"))):
        (tmp_path / person).mkdir()
        for photo in photos:
            (tmp_path / person / photo).write_bytes((shared_images / photo).read_bytes())
    deep = tmp_path / "Ann" / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    for index in range(30):
        (tmp_path / "Ann" / "a" / f"extra{index}.jpg").write_bytes(b"x")
        (deep / f"deep{index}.jpg").write_bytes(b"x")
    monkeypatch.setattr(folders, "UNREAD_SEARCH_ENTRIES", 40)
    dataset = datasets.load_identity_dataset(tmp_path)
    assert len(dataset) == 4
    assert "30 or more photos" in dataset.notes[0]  # the search stopped, and says so
    monkeypatch.setattr(folders, "UNREAD_SEARCH_ENTRIES", 25)
    assert "may be left out" in datasets.load_identity_dataset(tmp_path).notes[0]
