"""A Dask cluster on this machine for the tests that embed on one."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A LocalCluster of ``workers`` processes, one thread each (0: a scheduler alone).

    Dask spawns its workers, and a spawned process runs the parent's __main__ file again:
    after an AppTest has run a page in this process, that is a Streamlit script. A bare
    __main__ keeps the workers' start-up to Dask's own.
    """
    from distributed import LocalCluster

    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        with LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster:
            yield cluster
    finally:
        sys.modules["__main__"] = main
