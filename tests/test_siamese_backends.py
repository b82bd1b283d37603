"""The same trainer under JAX and on two devices, as on a GPU machine without TensorFlow.

Each run is a real ``python -m facedemo`` process. Under JAX, TensorFlow, DeepFace and dlib
are made unimportable first, as on the borrowed GPU machines, which have none of them.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from siamese_support import REPO, cli_env, tiny_flags

from facedemo.siamese.runs import (
    RunLayout,
    read_checkpoint,
    read_config,
    read_eval,
    read_metrics,
    read_space,
    read_status,
)

#: Run ``python -m facedemo`` with these packages missing, as on a JAX-only GPU machine.
WITHOUT_TENSORFLOW = """
import importlib.abc, runpy, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "deepface", "dlib", "tf_keras"):
            raise ModuleNotFoundError(f"No module named {name!r} on this machine")
sys.meta_path.insert(0, Missing())
sys.argv[0] = "facedemo"
runpy.run_module("facedemo", run_name="__main__")
"""


def facedemo(backend: str, *args: str, extra_env: dict[str, str] | None = None) -> list[str]:
    """The command line of ``python -m facedemo ARGS`` under ``backend``."""
    if backend == "jax":
        return [sys.executable, "-c", WITHOUT_TENSORFLOW, *args]
    return [sys.executable, "-m", "facedemo", *args]


def env(backend: str, **extra: str) -> dict[str, str]:
    return {**cli_env(), "KERAS_BACKEND": backend, **extra}


def run(backend: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        facedemo(backend, *args),
        env=env(backend, **extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def finite_losses(run_dir: Path) -> bool:
    metrics = read_metrics(run_dir)
    return bool(len(metrics)) and all(math.isfinite(v) for v in metrics["loss"].dropna())


def test_jax_trains_stops_and_tensorflow_resumes_the_same_run(tmp_path: Path) -> None:
    """A run started under JAX on a machine without TensorFlow, stopped after its first
    epoch, resumed under TensorFlow, then evaluated under JAX again: one run directory."""
    flags = tiny_flags("crossed", tmp_path, epochs=2, steps=4)
    process = subprocess.Popen(
        facedemo("jax", "train", *flags),
        env=env("jax"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run_dir = tmp_path / "crossed"
    for line in process.stdout:  # stop as soon as the first epoch is saved
        if line.startswith("epoch 1/2"):
            process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=300) == 0
    status = read_status(run_dir)
    assert (status.state, status.epoch) == ("stopped", 1)
    recorded = read_config(run_dir)
    assert recorded["device"]["backend"] == "jax" and "jax" in recorded["versions"]
    assert "tensorflow" not in recorded["versions"]

    run("tensorflow", "train", "--resume", "crossed", "--runs-dir", str(tmp_path))
    status = read_status(run_dir)
    assert (status.state, status.epoch) == ("finished", 2)
    assert read_checkpoint(run_dir).last == "epoch-0002.keras"
    assert finite_losses(run_dir)

    evaluated = run("jax", "evaluate", "crossed", "--runs-dir", str(tmp_path), "--json")
    again, saved = json.loads(evaluated.stdout), read_eval(run_dir)
    assert again["auc"] == pytest.approx(saved["auc"], abs=1e-4)
    assert again["confusion_matrix"] == saved["confusion_matrix"]


@pytest.mark.parametrize(
    ("backend", "extra"),
    [
        ("jax", {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}),
        ("tensorflow", {}),  # TensorFlow splits the CPU into two logical devices
    ],
)
def test_data_parallel_on_two_cpu_devices(tmp_path: Path, backend: str, extra: dict) -> None:
    flags = tiny_flags("parallel", tmp_path, epochs=1, steps=3)
    run(backend, "train", *flags, "--devices", "2", **extra)
    run_dir = tmp_path / "parallel"
    device = read_config(run_dir)["device"]
    assert (device["backend"], device["count"]) == (backend, 2)
    assert read_status(run_dir).state == "finished" and finite_losses(run_dir)
    checkpoint = RunLayout(run_dir).checkpoints / read_checkpoint(run_dir).best
    probe = (
        "import sys, keras, numpy as np; import facedemo.siamese.model; "
        "m = keras.models.load_model(sys.argv[1], compile=False); "
        "x = np.zeros((2, 64, 64, 3), np.uint8); "
        "print(float(np.asarray(keras.ops.convert_to_numpy(m([x, x]))).ravel()[0]))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe, str(checkpoint)],
        env=env(backend),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert 0 <= float(loaded.stdout.strip().splitlines()[-1]) <= 1


def test_more_devices_than_there_are_is_a_sentence(tmp_path: Path) -> None:
    done = subprocess.run(
        facedemo("jax", "train", *tiny_flags("greedy", tmp_path, 1, 1), "--devices", "3"),
        env=env("jax"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "3 devices were asked for, but jax sees only 1 CPU device here." in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "greedy").exists()  # refused before a run folder was made


#: The numbers of an epoch line that a resumed run must repeat (its time and pace differ).
EPOCH_NUMBERS = ["loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc", "lr"]


def epoch_numbers(run_dir: Path) -> np.ndarray:
    metrics = read_metrics(run_dir)
    return metrics[metrics["kind"] == "epoch"][EPOCH_NUMBERS].to_numpy(dtype=float)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_resumed_run_trains_exactly_as_the_uninterrupted_one(
    tmp_path: Path, backend: str
) -> None:
    """Four tiny epochs in one go, and the same settings stopped after epoch 2 and resumed in
    a new process: the same epoch lines (training and validation loss, accuracy, AUC, the
    learning rate), batch losses and test, to float tolerance. Dropout, mirrors, pairs and
    batch order are functions of (seed, epoch); the optimizer's state is in the checkpoint."""
    epochs, steps = 4, 3
    straight = subprocess.Popen(
        facedemo(backend, "train", *tiny_flags("straight", tmp_path, epochs, steps)),
        env=env(backend),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stopped = subprocess.Popen(
        facedemo(backend, "train", *tiny_flags("resumed", tmp_path, epochs, steps)),
        env=env(backend),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in stopped.stdout:  # stop as soon as epoch 2 is saved
        if line.startswith(f"epoch 2/{epochs}"):
            stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=300) == 0
    assert (
        read_status(tmp_path / "resumed").state,
        read_checkpoint(tmp_path / "resumed").epoch,
    ) == (
        "stopped",
        2,
    )
    run(backend, "train", "--resume", "resumed", "--runs-dir", str(tmp_path))
    assert straight.wait(timeout=300) == 0
    one_go, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert read_status(resumed).state == read_status(one_go).state == "finished"
    assert epoch_numbers(resumed).shape == (epochs, len(EPOCH_NUMBERS))
    np.testing.assert_allclose(epoch_numbers(resumed), epoch_numbers(one_go), rtol=1e-5)
    batches = [
        read_metrics(run_dir).query("kind == 'batch'")["loss"] for run_dir in (resumed, one_go)
    ]
    np.testing.assert_allclose(*batches, rtol=1e-5)
    spaces = [read_space(run_dir) for run_dir in (resumed, one_go)]  # the same faces, epochs
    assert spaces[0].epochs.tolist() == spaces[1].epochs.tolist() == list(range(epochs + 1))
    assert spaces[0].files.tolist() == spaces[1].files.tolist()
    np.testing.assert_allclose(spaces[0].outputs, spaces[1].outputs, rtol=1e-5, atol=1e-6)
    tested = [read_eval(run_dir) for run_dir in (resumed, one_go)]
    assert tested[0]["auc"] == pytest.approx(tested[1]["auc"], rel=1e-5)
    assert tested[0]["confusion_matrix"] == tested[1]["confusion_matrix"]
