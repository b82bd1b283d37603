"""embeddings: the on-disk store, filled from the shared real photos by threads and processes."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from facedemo import embeddings, faces
from facedemo.embeddings import SCHEMA_VERSION, EmbeddedSet, EmbeddingStore, content_hash
from facedemo.errors import SettingError

REPO = Path(__file__).resolve().parents[1]
ENGINE = faces.DEFAULT_ENGINE
PHOTOS = ("img1.jpg", "img2.jpg", "img3.jpg", "img4.jpg", "img8.jpg", "img9.jpg", "img47.jpg")

#: Fills a store in a fresh process: argv = store, batch size, photos; prints a JSON summary.
#: A positive KILL_AT_DONE makes the progress callback SIGKILL the process at that count.
FILL_SCRIPT = """
import json, os, signal, sys
from pathlib import Path
from facedemo import faces
from facedemo.embeddings import EmbeddingStore

def progress(done, total, name):
    if done == int(os.environ.get("KILL_AT_DONE", "0")):
        os.kill(os.getpid(), signal.SIGKILL)

store = EmbeddingStore(Path(sys.argv[1]), batch_size=int(sys.argv[2]))
result = store.embed_paths([Path(p) for p in sys.argv[3:]], faces.DEFAULT_ENGINE, progress)
print(json.dumps({"count": store.count(), "computed": result.embedded_now,
                  "reused": result.embedded_before, "embeddings": result.embeddings.tolist()}))
"""


#: Like FILL_SCRIPT with a stand-in model (the first pixels as the embedding), one image
#: per transaction: argv = store, images.
STAND_IN_FILL_SCRIPT = """
import json, sys
from pathlib import Path
import numpy as np
from facedemo import faces
from facedemo.embeddings import EmbeddingStore

def detect(image, engine, enforce_detection=True):
    return (faces.Face((0, 0, 32, 32), 1.0, image),)

def embed(crops, model):
    return np.array([crop.reshape(-1)[:128] for crop in crops], dtype=np.float32)

faces.detect, faces.embed = detect, embed
store = EmbeddingStore(Path(sys.argv[1]), batch_size=1)
result = store.embed_paths([Path(p) for p in sys.argv[2:]], faces.DEFAULT_ENGINE)
print(json.dumps({"computed": result.embedded_now, "reused": result.embedded_before,
                  "embeddings": result.embeddings.tolist()}))
"""


def fill_command(store: Path, photos: list[Path], batch_size: int = 16) -> list[str]:
    return [sys.executable, "-c", FILL_SCRIPT, str(store), str(batch_size), *map(str, photos)]


def subprocess_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def run_fill(store: Path, photos: list[Path], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        fill_command(store, photos, batch_size=2),
        env=subprocess_env(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


class ProgressLog(list):
    """A progress callback that keeps every (done, total, file name) it is called with."""

    def __call__(self, done: int, total: int, name: str) -> None:
        self.append((done, total, name))


@dataclass(frozen=True)
class ColdFill:
    store: EmbeddingStore
    result: EmbeddedSet
    progress: list[tuple[int, int, str]]


@pytest.fixture(scope="module")
def photos(shared_images: Path) -> list[Path]:
    return [shared_images / name for name in PHOTOS]


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory, photos: list[Path]) -> ColdFill:
    """The photos embedded once into a fresh store (the store other tests then reuse)."""
    store = EmbeddingStore(tmp_path_factory.mktemp("cold") / "embeddings.sqlite3")
    calls = ProgressLog()
    result = store.embed_paths(photos, ENGINE, calls)
    return ColdFill(store, result, calls)


@pytest.fixture
def noise_png(tmp_path: Path) -> Path:
    """A photo of random pixels: decodes fine, holds no face."""
    path = tmp_path / "noise.png"
    pixels = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def direct_embedding(photo: Path, engine: faces.Engine = ENGINE) -> np.ndarray:
    """The largest face's embedding, computed without the store."""
    return faces.embed([faces.detect(photo, engine)[0].crop], engine.model)[0]


def insert_row(store: EmbeddingStore, engine_key: str, content: str, vector: np.ndarray) -> None:
    """A face row written behind the store's back, as another program (or a bug) could."""
    with sqlite3.connect(store.path) as connection:
        connection.execute(
            "INSERT INTO embeddings VALUES (?, ?, 'face', ?, ?, NULL)",
            (engine_key, content, len(vector), vector.astype("<f4").tobytes()),
        )


# --------------------------------------------------------------------------- cold and warm


def test_cold_fill_embeds_every_photo_with_progress(cold: ColdFill, photos: list[Path]) -> None:
    n = len(photos)
    result = cold.result
    assert (result.embedded_now, result.embedded_before, result.failures) == (n, 0, ())
    assert result.ok_indices.dtype == np.int32
    np.testing.assert_array_equal(result.ok_indices, np.arange(n))
    assert result.embeddings.dtype == np.float32
    assert result.embeddings.shape == (n, 128)
    assert cold.progress == [(k, n, photos[k - 1].name) for k in range(1, n + 1)]
    assert cold.store.count(ENGINE) == n
    # Rows follow the input order: row 3 is photo 3's face, computed without the store.
    np.testing.assert_allclose(result.embeddings[3], direct_embedding(photos[3]), atol=1e-6)
    distances = faces.distances(result.embeddings[0], result.embeddings[1:3], "cosine")
    assert distances[0] < distances[1]  # img1 is nearer img2 (Jolie) than img3 (Aniston)


def test_warm_fill_reuses_every_row_in_one_progress_call(
    cold: ColdFill, photos: list[Path], detect_calls: list[Any]
) -> None:
    n = len(photos)
    for store in (cold.store, EmbeddingStore(cold.store.path)):  # this session, another one
        calls = ProgressLog()
        warm = store.embed_paths(photos, ENGINE, calls)
        assert (warm.embedded_now, warm.embedded_before, warm.failures) == (0, n, ())
        np.testing.assert_array_equal(warm.ok_indices, cold.result.ok_indices)
        np.testing.assert_array_equal(warm.embeddings, cold.result.embeddings)
        assert calls == [(n, n, photos[-1].name)]
    assert detect_calls == []


def test_another_process_reuses_the_rows(cold: ColdFill, photos: list[Path]) -> None:
    completed = run_fill(cold.store.path, photos)
    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout)
    assert (summary["count"], summary["computed"], summary["reused"]) == (
        len(photos),
        0,
        len(photos),
    )
    np.testing.assert_array_equal(
        np.asarray(summary["embeddings"], dtype=np.float32), cold.result.embeddings
    )


# --------------------------------------------------------------------------- the key


def test_the_metric_shares_vectors_but_detector_and_alignment_do_not(
    cold: ColdFill, photos: list[Path]
) -> None:
    other_metric = cold.store.embed_paths(photos, replace(ENGINE, metric="euclidean_l2"))
    assert other_metric.embedded_now == 0
    np.testing.assert_array_equal(other_metric.embeddings, cold.result.embeddings)

    pair = photos[:2]
    for other in (replace(ENGINE, alignment="detector"), replace(ENGINE, detector="skip")):
        assert other.embedding_key != ENGINE.embedding_key
        result = cold.store.embed_paths(pair, other)
        assert (result.embedded_now, result.embedded_before) == (2, 0), other
        assert cold.store.count(other) == 2
        assert not np.allclose(result.embeddings, cold.result.embeddings[:2], atol=1e-3)
    assert cold.store.count(ENGINE) == len(photos)
    assert cold.store.count() == len(photos) + 4


def test_clear_forgets_one_engine_or_every_row(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")
    other = replace(ENGINE, detector="skip")
    for engine in (ENGINE, other):
        insert_row(store, engine.embedding_key, "ab" * 16, np.ones(128, dtype=np.float32))
    assert (store.count(ENGINE), store.count(other)) == (1, 1)
    store.clear(other)
    assert (store.count(ENGINE), store.count(other)) == (1, 0)
    store.clear()
    assert store.count() == 0


# --------------------------------------------------------------------------- failures


def test_faceless_and_unreadable_files_are_listed_stored_and_not_retried(
    tmp_path: Path, photos: list[Path], noise_png: Path, detect_calls: list[Any]
) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("shopping list: milk, eggs\n")
    inputs = [photos[0], noise_png, notes, tmp_path / "missing.jpg"]
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")

    first = store.embed_paths(inputs, ENGINE)
    np.testing.assert_array_equal(first.ok_indices, [0])
    assert [index for index, _ in first.failures] == [1, 2, 3]
    reasons = dict(first.failures)
    assert reasons[1].startswith("No face was found in this photo.")
    assert reasons[2].startswith("This file is a text file, not an image.")
    assert reasons[3].startswith("There is no file at 'missing.jpg'.")
    # the missing file has no content to key
    assert (first.embedded_now, first.embedded_before) == (3, 0)
    assert len(detect_calls) == 2  # the photo and the noise; the text never reaches a detector
    assert store.count(ENGINE) == 1

    again = store.embed_paths(inputs, ENGINE)
    assert again.failures == first.failures
    assert (again.embedded_now, again.embedded_before) == (0, 3)
    assert len(detect_calls) == 2

    other_engine = replace(ENGINE, alignment="detector")
    retried = store.embed_paths(inputs, other_engine)
    assert [index for index, _ in retried.failures] == [1, 2, 3]
    assert (retried.embedded_now, retried.embedded_before) == (3, 0)
    assert len(detect_calls) == 4


def test_without_enforce_detection_a_faceless_photo_is_embedded_whole(
    tmp_path: Path, noise_png: Path, detect_calls: list[Any]
) -> None:
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")
    enforced = store.embed_paths([noise_png], ENGINE)
    assert [index for index, _ in enforced.failures] == [0]

    before = len(detect_calls)
    whole = store.embed_paths([noise_png], ENGINE, enforce_detection=False)
    assert (whole.embedded_now, whole.failures) == (1, ())  # the stored "no face" is not the answer
    assert whole.embeddings.shape == (1, 128)
    assert len(detect_calls) == before + 1  # one detector pass, not one more for the whole photo

    # Once stored, each setting keeps its own answer without detecting again.
    calls = len(detect_calls)
    assert store.embed_paths([noise_png], ENGINE).failures == enforced.failures
    relaxed = store.embed_paths([noise_png], ENGINE, enforce_detection=False)
    assert relaxed.embedded_now == 0
    np.testing.assert_array_equal(relaxed.embeddings, whole.embeddings)
    assert len(detect_calls) == calls


def test_identical_files_are_embedded_once(
    tmp_path: Path, photos: list[Path], detect_calls: list[Any]
) -> None:
    copies = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    for copy in copies:
        copy.write_bytes(photos[0].read_bytes())
    inputs = [photos[0], *copies, photos[1]]
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")
    calls = ProgressLog()

    result = store.embed_paths(inputs, ENGINE, calls)
    assert len(detect_calls) == result.embedded_now == 2
    np.testing.assert_array_equal(result.ok_indices, [0, 1, 2, 3])
    np.testing.assert_array_equal(result.embeddings[1], result.embeddings[0])
    np.testing.assert_array_equal(result.embeddings[2], result.embeddings[0])
    assert not np.allclose(result.embeddings[3], result.embeddings[0], atol=1e-3)
    assert [call[0] for call in calls] == [1, 2, 3, 4]
    assert store.count() == 2


# --------------------------------------------------------------------------- concurrency


def test_two_threads_fill_one_store_at_once(
    tmp_path: Path, photos: list[Path], detect_calls: list[Any]
) -> None:
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")  # shared, as st.cache_resource does
    orders = (photos[:4], photos[:4][::-1])
    start = threading.Barrier(len(orders))
    results: dict[int, EmbeddedSet] = {}
    errors: list[BaseException] = []

    def fill(number: int) -> None:
        try:
            start.wait()
            results[number] = store.embed_paths(orders[number], ENGINE)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=fill, args=(number,)) for number in range(len(orders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(result.embedded_now for result in results.values()) == 4  # the other one reused
    assert len(detect_calls) == 4
    np.testing.assert_array_equal(results[0].embeddings, results[1].embeddings[::-1])
    assert store.count() == 4


def test_processes_fill_one_fresh_store_at_once(tmp_path: Path) -> None:
    """Four processes create one store and write it one image per transaction.

    Only the SQLite side is under test here, so the model is a stand-in and the
    images are tiny: writes then collide all the time. The real model in several
    threads and processes is covered by the thread test and the killed run.
    """
    rng = np.random.default_rng(1)
    tiles = []
    for number in range(300):
        tiles.append(tmp_path / f"tile{number}.png")
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tiles[-1])
    path = tmp_path / "new" / "embeddings.sqlite3"  # all of them create the folder and tables
    fills = [
        subprocess.Popen(
            [sys.executable, "-c", STAND_IN_FILL_SCRIPT, str(path), *map(str, tiles)],
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [fill.communicate(timeout=300) for fill in fills]
    for fill, (_, stderr) in zip(fills, outputs, strict=True):
        assert fill.returncode == 0, stderr
    summaries = [json.loads(stdout) for stdout, _ in outputs]
    assert all(s["computed"] + s["reused"] == len(tiles) for s in summaries)
    assert sum(s["computed"] for s in summaries) >= len(tiles)
    assert all(s["embeddings"] == summaries[0]["embeddings"] for s in summaries)
    assert EmbeddingStore(path).count() == len(tiles)


def test_a_killed_run_keeps_the_batches_it_wrote(
    tmp_path: Path, cold: ColdFill, photos: list[Path], detect_calls: list[Any]
) -> None:
    path = tmp_path / "embeddings.sqlite3"
    killed = run_fill(path, photos, KILL_AT_DONE="4")  # batches of 2: killed after the second
    assert killed.returncode == -9, killed.stderr

    store = EmbeddingStore(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store.count(ENGINE) == 4

    calls = ProgressLog()
    resumed = store.embed_paths(photos, ENGINE, calls)
    assert (resumed.embedded_now, resumed.embedded_before) == (len(photos) - 4, 4)
    assert len(detect_calls) == len(photos) - 4
    assert calls[0] == (4, len(photos), photos[3].name)
    np.testing.assert_allclose(resumed.embeddings, cold.result.embeddings, atol=1e-6)
    assert store.count(ENGINE) == len(photos)


# --------------------------------------------------------------------------- damage and versions


def test_a_torn_row_is_computed_again(
    tmp_path: Path, photos: list[Path], detect_calls: list[Any]
) -> None:
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")
    pair = photos[:2]
    before = store.embed_paths(pair, ENGINE)
    with sqlite3.connect(store.path) as connection:
        torn = connection.execute(
            "UPDATE embeddings SET vector = substr(vector, 1, 100) WHERE content_hash = ?",
            (content_hash(pair[1].read_bytes()),),
        )
        assert torn.rowcount == 1

    repaired = store.embed_paths(pair, ENGINE)
    assert (repaired.embedded_now, repaired.embedded_before) == (1, 1)
    np.testing.assert_allclose(repaired.embeddings, before.embeddings, atol=1e-6)
    assert store.embed_paths(pair, ENGINE).embedded_now == 0
    assert len(detect_calls) == 3


def test_a_store_of_another_schema_version_is_rebuilt(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")
    insert_row(store, ENGINE.embedding_key, "cd" * 16, np.ones(128, dtype=np.float32))
    assert EmbeddingStore(store.path).count() == 1  # same version: rows kept

    # A version with no upgrade to this one (version 1 is upgraded: test_quality_measures).
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    assert EmbeddingStore(store.path).count() == 0
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [
            (SCHEMA_VERSION,)
        ]


def test_the_default_store_lives_in_facedemo_home(facedemo_home: Path) -> None:
    assert EmbeddingStore().path == facedemo_home / "embeddings.sqlite3"
    assert (facedemo_home / "embeddings.sqlite3").is_file()


# --- a damaged store heals: moved aside, rebuilt, the caller told in a sentence -------------


def overwrite(data: bytes, start: int, length: int) -> bytes:
    """``data`` with ``length`` seeded random bytes from ``start`` on."""
    return data[:start] + random.Random(start).randbytes(length) + data[start + length :]


PAGE = 4096  # SQLite's default page size
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda data: data[: len(data) // 2],
    "header overwritten": lambda data: overwrite(data, 0, 100),
    "middle overwritten": lambda data: overwrite(data, len(data) // 2 // PAGE * PAGE, PAGE),
    "whole file garbage": lambda data: overwrite(data, 0, len(data)),
}


@pytest.fixture
def stand_in_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every photo is its own face, embedded as its first 128 pixel values (no model runs)."""

    def detect(image: np.ndarray, engine: faces.Engine, **_: Any) -> tuple[faces.Face, ...]:
        return (faces.Face((0, 0, 32, 32), 1.0, image),)

    def embed(crops: list[np.ndarray], model: str) -> np.ndarray:
        return np.array([crop.reshape(-1)[:128] for crop in crops], dtype=np.float32)

    monkeypatch.setattr(faces, "detect", detect)
    monkeypatch.setattr(faces, "embed", embed)


def damaged_store(path: Path, photos: list[Path], damage: Callable[[bytes], bytes]) -> bytes:
    """Fill a store at ``path`` with ``photos``, then damage its file; the damaged bytes."""
    EmbeddingStore(path).embed_paths(photos, ENGINE)
    assert not path.with_name(path.name + "-wal").exists()  # all rows are in the file itself
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)
    return damaged


def assert_healed(store: EmbeddingStore, damaged: bytes) -> None:
    """The sentence names the copy moved aside, which holds the damaged bytes untouched."""
    assert store.healed is not None and store.healed.endswith(".")
    (aside,) = store.path.parent.glob(f"{store.path.name}.damaged-*")
    assert str(aside) in store.healed and "only a cache" in store.healed
    assert aside.read_bytes() == damaged


@pytest.mark.usefixtures("stand_in_model")
@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_store_is_moved_aside_and_rebuilt_when_opened(
    tmp_path: Path, photos: list[Path], kind: str
) -> None:
    path = tmp_path / "embeddings.sqlite3"
    damaged = damaged_store(path, photos[:3], DAMAGE[kind])

    store = EmbeddingStore(path)

    assert_healed(store, damaged)
    assert store.count() == 0
    result = store.embed_paths(photos[:3], ENGINE)
    assert (result.embedded_now, store.count()) == (3, 3)
    assert EmbeddingStore(path).healed is None  # the fresh store is sound


@pytest.mark.usefixtures("stand_in_model")
@pytest.mark.parametrize("kind", ["truncated", "header overwritten", "whole file garbage"])
def test_damage_found_during_use_heals_that_call(
    tmp_path: Path, photos: list[Path], kind: str
) -> None:
    """A store opened before its file was damaged (a long-lived page) heals on the next call."""
    path = tmp_path / "embeddings.sqlite3"
    store = EmbeddingStore(path)
    before = store.embed_paths(photos[:3], ENGINE)
    damaged = damaged_store(path, photos[:3], DAMAGE[kind])

    after = store.embed_paths(photos[:3], ENGINE)

    assert_healed(store, damaged)
    assert after.embedded_now == 3
    np.testing.assert_array_equal(after.embeddings, before.embeddings)
    assert store.count() == 3


def test_a_folder_where_the_store_should_be_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "embeddings.sqlite3").mkdir()
    with pytest.raises(SettingError, match=r"should be a file, but .* is a folder") as caught:
        EmbeddingStore(tmp_path / "embeddings.sqlite3")
    assert "FACEDEMO_HOME" in str(caught.value)


def test_a_locked_store_is_not_mistaken_for_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only damage is healed: another error (here a write lock held elsewhere) still raises."""
    store = EmbeddingStore(tmp_path / "embeddings.sqlite3")
    monkeypatch.setattr(embeddings, "BUSY_TIMEOUT", 0.1)
    with sqlite3.connect(store.path, isolation_level=None) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.clear()
        holder.execute("ROLLBACK")
    assert store.healed is None and not list(tmp_path.glob("*.damaged-*"))


def test_the_healing_sentence_is_taken_once(tmp_path: Path) -> None:
    # Review: one store serves every session of a server; its sentence must not repeat
    # after every later study.
    path = tmp_path / "embeddings.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    store = EmbeddingStore(path)
    said = store.take_healed()
    assert said and "damaged" in said
    assert store.take_healed() is None and store.healed is None
