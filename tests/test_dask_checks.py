"""A Dask cluster that cannot do the work says so in a sentence: no worker at all, a worker
without facedemo, a worker running other facedemo code, every worker gone mid-set."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dask_support import local_cluster

from facedemo import datasets, faces, workers
from facedemo.embeddings import EmbeddingStore, content_hash
from facedemo.errors import SettingError

ENGINE = faces.DEFAULT_ENGINE
BATCH = 2


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> list[Path]:
    return list(datasets.load_identity_dataset(shared_data).paths[:8])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A scheduler on this machine that starts with no worker; tests add and remove them."""
    with local_cluster(0) as local:
        yield local


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as connected:
        yield connected


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "NO_WORKER_WAIT", 1.0)


def test_a_scheduler_without_workers_is_a_sentence_not_a_wait(
    tmp_path: Path, photos: list[Path], cluster: Any
) -> None:
    store = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH)
    with pytest.raises(SettingError, match=r"has no worker: none joined it in 1 s\. Photos"):
        store.embed_paths(photos, ENGINE, scheduler=cluster.scheduler_address)
    assert store.count() == 0


def test_a_worker_that_cannot_import_facedemo_is_named(
    tmp_path: Path, photos: list[Path], cluster: Any, client: Any
) -> None:
    bare = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address],
        cwd=tmp_path,  # neither the checkout nor PYTHONPATH: facedemo is not importable
        env=bare,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client.wait_for_workers(1, timeout=60)
        store = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH)
        with pytest.raises(SettingError, match=r"cannot run facedemo .*No module named"):
            store.embed_paths(photos, ENGINE, scheduler=cluster.scheduler_address)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        deadline = time.monotonic() + 60
        while client.nthreads() and time.monotonic() < deadline:  # the scheduler sees it go
            time.sleep(0.1)
    assert store.count() == 0


def _other_code() -> None:
    """On a worker: make it answer as a copy of facedemo with other source files."""
    workers.code_fingerprint = lambda: "another copy"


def _own_code() -> None:
    workers.code_fingerprint = workers.__dict__["_real_fingerprint"]


def test_a_worker_running_other_code_is_refused_then_work_until_they_all_leave(
    tmp_path: Path, photos: list[Path], cluster: Any, client: Any
) -> None:
    cluster.scale(1)
    client.wait_for_workers(1, timeout=60)
    client.run(lambda: workers.__dict__.setdefault("_real_fingerprint", workers.code_fingerprint))
    client.run(_other_code)
    store = EmbeddingStore(tmp_path / "store.sqlite3", batch_size=BATCH)
    try:
        with pytest.raises(SettingError, match=r"1 of the 1 Dask workers .* run other facedemo"):
            store.embed_paths(photos, ENGINE, scheduler=cluster.scheduler_address)
        # One that joins after the check (a dead worker's replacement) is caught batch by batch.
        batch = [(content_hash(photos[0].read_bytes()), photos[0].read_bytes(), True)]
        future = client.submit(
            workers.embed_batch_on_cluster, batch, ENGINE, True, workers.code_fingerprint()
        )
        with pytest.raises(SettingError, match=r"runs other facedemo code than the caller"):
            future.result()
    finally:
        client.run(_own_code)
    assert store.count() == 0

    def leave_after_the_first_batch(done: int, total: int, name: str) -> None:
        if done >= BATCH and cluster.workers:
            cluster.scale(0)

    with pytest.raises(SettingError, match="has no worker: all of its workers left mid-set"):
        store.embed_paths(
            photos, ENGINE, leave_after_the_first_batch, scheduler=cluster.scheduler_address
        )
    kept = store.count()
    assert BATCH <= kept < len(photos)  # what came back before they left is stored
    rerun = store.embed_paths(photos, ENGINE)  # here, in this process: the rest, once
    assert (rerun.embedded_before, rerun.embedded_now) == (kept, len(photos) - kept)
