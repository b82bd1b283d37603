"""Parallel embedding: local workers and a Dask cluster store the in-process vectors and
quality measures; a run killed mid-set, or a worker killed under it, loses nothing and
embeds nothing twice."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dask_support import local_cluster

from facedemo import config, datasets, faces, workers
from facedemo.__main__ import build_parser
from facedemo.embeddings import EmbeddedSet, EmbeddingStore, content_hash
from facedemo.errors import SettingError

REPO = Path(__file__).resolve().parents[1]
ENGINE = faces.DEFAULT_ENGINE
BATCH = 2  # small batches: 16 photos make 8, enough for two workers to share
SUBSET = 16

#: A stored row: kind, vector (float32, or None), failure.
Row = tuple[str, np.ndarray | None, str | None]


class ProgressLog(list):
    """A progress callback that keeps every (done, total, file name) it is called with."""

    def __call__(self, done: int, total: int, name: str) -> None:
        self.append((done, total, name))

    def assert_each_photo_once(self, photos: list[Path]) -> None:
        """One call per photo, counting up by one, every photo named once."""
        assert [done for done, _, _ in self] == list(range(1, len(photos) + 1))
        assert {total for _, total, _ in self} == {len(photos)}
        assert sorted(name for _, _, name in self) == sorted(path.name for path in photos)


def stored_rows(path: Path) -> dict[str, Row]:
    """Every row of the store at ``path`` by content hash (empty while it has no table)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT content_hash, kind, vector, failure FROM embeddings"
            ).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return {}
    return {
        key: (kind, None if blob is None else np.frombuffer(blob, "<f4"), failure)
        for key, kind, blob, failure in rows
    }


def assert_same_rows(actual: dict[str, Row], expected: dict[str, Row]) -> None:
    """The same photos, kinds and failures; vectors equal to 1e-6."""
    assert actual.keys() == expected.keys()
    for key, (kind, vector, failure) in expected.items():
        assert actual[key][0] == kind and actual[key][2] == failure
        if vector is None:
            assert actual[key][1] is None
        else:
            np.testing.assert_allclose(actual[key][1], vector, atol=1e-6)


def assert_same_measures(actual: EmbeddedSet, expected: EmbeddedSet) -> None:
    """The same quality measures, photo for photo (NaN where the other has NaN)."""
    assert actual.measures.keys() == expected.measures.keys()
    for name, values in expected.measures.items():
        np.testing.assert_allclose(actual.measures[name], values, rtol=1e-6, err_msg=name)


@dataclass(frozen=True)
class Reference:
    """The subset embedded in this process (jobs=1): what every other way must store."""

    rows: dict[str, Row]
    result: EmbeddedSet
    path: Path


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> list[Path]:
    return list(datasets.load_identity_dataset(shared_data).paths[:SUBSET])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, photos: list[Path]) -> Reference:
    store = EmbeddingStore(tmp_path_factory.mktemp("here") / "store.sqlite3", batch_size=BATCH)
    result = store.embed_paths(photos, ENGINE)
    assert result.embedded_now == len(photos)
    return Reference(stored_rows(store.path), result, store.path)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Dask cluster of two worker processes, one thread each, on this machine."""
    with local_cluster(2) as local:
        yield local


def test_two_local_jobs_store_the_in_process_vectors(
    tmp_path: Path, photos: list[Path], reference: Reference, detect_calls: list[Any]
) -> None:
    store = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH)
    calls = ProgressLog()
    result = store.embed_paths(photos, ENGINE, calls, jobs=2)
    assert detect_calls == []  # every photo went to a worker
    assert (result.embedded_now, result.embedded_before) == (len(photos), 0)
    assert_same_rows(stored_rows(store.path), reference.rows)
    np.testing.assert_array_equal(result.ok_indices, reference.result.ok_indices)
    np.testing.assert_allclose(result.embeddings, reference.result.embeddings, atol=1e-6)
    assert_same_measures(result, reference.result)
    calls.assert_each_photo_once(photos)


def test_stored_vectors_are_measured_on_workers_not_embedded_again(
    tmp_path: Path, photos: list[Path], reference: Reference, detect_calls: list[Any]
) -> None:
    path = tmp_path / "store.sqlite3"
    with (
        contextlib.closing(sqlite3.connect(reference.path)) as source,
        contextlib.closing(sqlite3.connect(path)) as copy,
    ):
        source.backup(copy)
        copy.execute("DELETE FROM measures")  # as if embedded before measures existed
        copy.commit()
    calls = ProgressLog()
    result = EmbeddingStore(path, batch_size=BATCH).embed_paths(photos, ENGINE, calls, jobs=2)
    assert detect_calls == []  # every photo went to a worker
    assert (result.embedded_now, result.measured_now) == (0, len(photos))
    assert_same_rows(stored_rows(path), reference.rows)
    assert_same_measures(result, reference.result)
    calls.assert_each_photo_once(photos)


def test_a_set_of_under_two_batches_stays_in_process(
    tmp_path: Path, photos: list[Path], reference: Reference, detect_calls: list[Any]
) -> None:
    few = photos[:3]
    result = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH).embed_paths(
        few, ENGINE, jobs=2
    )
    assert len(detect_calls) == len(few)
    np.testing.assert_allclose(result.embeddings, reference.result.embeddings[:3], atol=1e-6)


def test_a_two_worker_dask_cluster_stores_the_in_process_vectors(
    tmp_path: Path, photos: list[Path], reference: Reference, cluster: Any
) -> None:
    store = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH)
    calls = ProgressLog()
    result = store.embed_paths(photos, ENGINE, calls, scheduler=cluster.scheduler_address)
    assert result.embedded_now == len(photos)
    assert_same_rows(stored_rows(store.path), reference.rows)
    assert_same_measures(result, reference.result)
    calls.assert_each_photo_once(photos)


def test_a_dask_worker_killed_mid_set_loses_nothing(
    tmp_path: Path, photos: list[Path], reference: Reference, cluster: Any
) -> None:
    from distributed import Client

    store = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH)
    killed: list[int] = []
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        pids = client.run(os.getpid)

        def progress(done: int, total: int, name: str) -> None:
            calls(done, total, name)
            if done >= BATCH and not killed:  # the first batch is written: kill a busy worker
                busy = [address for address, keys in client.processing().items() if keys]
                killed.append(pids[busy[0]])
                os.kill(killed[0], signal.SIGKILL)

        calls = ProgressLog()
        result = store.embed_paths(photos, ENGINE, progress, scheduler=cluster.scheduler_address)
        assert killed and killed[0] not in client.run(os.getpid).values()
    assert result.embedded_now == len(photos)
    assert_same_rows(stored_rows(store.path), reference.rows)
    calls.assert_each_photo_once(photos)


def cli_env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "FACEDEMO_HOME": str(home)}


def test_a_killed_parallel_embed_then_a_rerun_fills_the_store_once(
    tmp_path: Path, shared_data: Path, reference: Reference
) -> None:
    command = [sys.executable, "-m", "facedemo", "embed", str(shared_data), "--jobs", "2"]
    store_path = tmp_path / "embeddings.sqlite3"
    first = subprocess.Popen(
        command,
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its loky workers share its group, so they are ended too
    )
    try:
        deadline = time.monotonic() + 300
        while not stored_rows(store_path):
            assert first.poll() is None, first.communicate()[1].decode()
            assert time.monotonic() < deadline, "no batch was written in 300 s"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)

    kept = stored_rows(store_path)
    with contextlib.closing(sqlite3.connect(store_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    dataset = datasets.load_identity_dataset(shared_data)
    total = len({content_hash(path.read_bytes()) for path in dataset.paths})
    assert 0 < len(kept) < total

    rerun = subprocess.run(
        command, env=cli_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    embedded_now = int(re.search(r"(\d+) embedded now", rerun.stdout)[1])
    final = stored_rows(store_path)
    assert embedded_now + len(kept) == len(final) == total
    assert_same_rows({key: final[key] for key in kept}, kept)  # kept rows untouched
    assert_same_rows({key: final[key] for key in reference.rows}, reference.rows)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "no-port-here"])
def test_an_unreachable_scheduler_is_a_sentence_at_once(
    tmp_path: Path, photos: list[Path], address: str
) -> None:
    scheduler = address.format(port=unused_port())
    store = EmbeddingStore(tmp_path / "store.sqlite3")
    started = time.perf_counter()
    with pytest.raises(SettingError, match=f"^No Dask scheduler answered at {scheduler} "):
        store.embed_paths(photos[:1], ENGINE, scheduler=scheduler)
    assert time.perf_counter() - started < workers.CONNECT_TIMEOUT


def test_the_cli_says_an_unreachable_scheduler_in_one_line(
    tmp_path: Path, shared_data: Path
) -> None:
    scheduler = f"tcp://127.0.0.1:{unused_port()}"
    command = [sys.executable, "-m", "facedemo", "embed", str(shared_data)]
    answer = subprocess.run(
        [*command, "--scheduler", scheduler],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 1
    assert f"error: No Dask scheduler answered at {scheduler}" in answer.stderr
    assert "Traceback" not in answer.stderr


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_is_a_whole_number_of_at_least_one(jobs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["embed", "demo", "--jobs", jobs])
    monkeypatch.setenv("FACEDEMO_JOBS", jobs)
    with pytest.raises(SettingError, match="FACEDEMO_JOBS"):
        config.embedding_jobs()


def test_jobs_and_scheduler_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEDEMO_JOBS", raising=False)
    monkeypatch.delenv("FACEDEMO_DASK_SCHEDULER", raising=False)
    assert config.embedding_jobs() >= 1 and config.dask_scheduler() is None
    monkeypatch.setenv("FACEDEMO_JOBS", "3")
    monkeypatch.setenv("FACEDEMO_DASK_SCHEDULER", " tcp://10.0.0.5:8786 ")
    assert (config.embedding_jobs(), config.dask_scheduler()) == (3, "tcp://10.0.0.5:8786")
