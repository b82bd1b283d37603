"""Helpers for the browser tests: run the app on a free port, drive Chromium, fake a webcam."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 90
WEBCAM_SIZE = (640, 480)


def free_port() -> int:
    """A localhost TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {server.returncode} before answering:\n"
                + log_path.read_text(errors="replace")[-5000:]
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"streamlit did not answer {url}/_stcore/health within {STARTUP_SECONDS} s:\n"
        + log_path.read_text(errors="replace")[-5000:]
    )


@contextmanager
def running_app(
    home: Path, log_path: Path, launcher: tuple[str, ...] = (sys.executable, "-m", "streamlit")
) -> Iterator[str]:
    """``streamlit run app.py`` on a free localhost port; yields its URL, stops it after.
    ``launcher`` is the command standing for ``streamlit`` (a benchmark's patched one)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        *launcher,
        "run",
        "app.py",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        # No watcher: the repo (with .venv) overflows inotify and nothing edits it mid-test.
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "FACEDEMO_HOME": str(home),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(url, server, log_path)
        yield url
    finally:
        _stop(server)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def _bytes(levels: np.ndarray) -> bytes:
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8).tobytes()


def write_y4m(photo: Path, y4m_path: Path, frames: int = 10) -> Path:
    """A Y4M video (4:2:0, 640×480, 10 fps) showing ``photo`` still, for Chromium's fake camera.

    The photo is fitted inside the frame on a grey background. PIL's YCbCr is full range;
    the planes are scaled to BT.601 studio range, which is how Chromium reads I420.
    """
    width, height = WEBCAM_SIZE
    fitted = ImageOps.pad(Image.open(photo).convert("RGB"), WEBCAM_SIZE, color=(128, 128, 128))
    luma, blue, red = fitted.convert("YCbCr").split()
    half = (width // 2, height // 2)
    chroma = [
        np.asarray(plane.resize(half, Image.Resampling.BOX), dtype=np.float32)
        for plane in (blue, red)
    ]
    frame = (
        b"FRAME\n"
        + _bytes(16 + np.asarray(luma, dtype=np.float32) * 219 / 255)
        + b"".join(_bytes(128 + (plane - 128) * 224 / 255) for plane in chroma)
    )
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    y4m_path.write_bytes(header + frame * frames)
    return y4m_path
