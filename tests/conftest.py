"""Test set-up: the shared real photos, a private FACEDEMO_HOME, weights in place."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Before anything can load TensorFlow: pylibsrtp (WebRTC, the live camera) crashes the
# process when it loads after TensorFlow (see app.py).
import pylibsrtp  # noqa: F401
import pytest
from browser_support import CHROMIUM, CHROMIUM_FLAGS
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("FACEDEMO_DEMO_DATA") or REPO.parent / "shared" / "datasets" / "deepface-testset"
).resolve()

# Set before facedemo is imported anywhere, so every module sees the same places.
os.environ["FACEDEMO_DEMO_DATA"] = str(SHARED_DATA)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session", autouse=True)
def facedemo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh FACEDEMO_HOME for the whole session: a cold store, no stray runs."""
    home = tmp_path_factory.mktemp("facedemo-home")
    os.environ["FACEDEMO_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared deepface test set (61 labelled photos of 13 people)."""
    if not (SHARED_DATA / "identities.csv").is_file():
        pytest.fail(f"The shared data set is missing at {SHARED_DATA}; set FACEDEMO_DEMO_DATA.")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_images(shared_data: Path) -> Path:
    """Folder of the shared photos."""
    return shared_data / "images"


@pytest.fixture(scope="session")
def shared_study(shared_data: Path):
    """The shared set under the default engine, embedded once for the whole session.

    It also leaves the session's embedding store warm for the pages and the CLI.
    """
    from facedemo import datasets, evaluation

    return evaluation.study_dataset(datasets.load_identity_dataset(shared_data))


@pytest.fixture(scope="session")
def shared_gallery(shared_data: Path):
    """The shared set as an identify gallery under the default engine, embedded once.

    It shares the session's embedding store with ``shared_study``: whichever comes first
    embeds the photos, the other reads them back.
    """
    from facedemo import datasets, identify

    return identify.build_gallery(datasets.load_identity_dataset(shared_data))


@pytest.fixture
def detect_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every photo handed to ``faces.detect`` in this process during the test (the real
    detector still runs; worker processes run their own, unpatched)."""
    from facedemo import faces

    calls: list = []
    real_detect = faces.detect

    def spy(photo, *args, **kwargs):
        calls.append(photo)
        return real_detect(photo, *args, **kwargs)

    monkeypatch.setattr(faces, "detect", spy)
    return calls


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright per session: its sync API allows only one at a time in a thread."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (no browser download), headless, shared by the browser tests.

    Assertions wait up to 30 s by default: a page's first run on a fresh server imports
    TensorFlow and DeepFace, which takes longer than Playwright's 5 s on 2 busy cores.
    """
    expect.set_options(timeout=30_000)
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def run_facedemo() -> Callable[..., subprocess.CompletedProcess]:
    """``python -m facedemo ARGS`` in a real process from the repository root, as a user runs it."""

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "facedemo", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )

    return run
