"""One lifecycle for runs: start, resume and stop, from the page or from a terminal.

Every new run starts in ``create_run`` (a free name, devices that are there, a
data set that opens, then its folder) and every resume passes
``check_resumable``, whether the trainer is launched from here (``start_run`` /
``resume_run``: a process of its own, its output in train.log, what was started
in launch.json) or runs in a terminal (``train.train`` / ``train.resume`` make
the same calls). A run is asked to stop with its STOP file (``stop_run``), or
from a terminal with SIGTERM.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import facedemo
from facedemo.datasets import Progress, load_server_folder, open_dataset
from facedemo.errors import RunError, SettingError
from facedemo.siamese import (
    DEVICES_REFUSED,
    TrainConfig,
    pairable_people,
    parse_devices,
    preset_config,
    tunable_settings,
)
from facedemo.siamese.runs.layout import RunLayout
from facedemo.siamese.runs.processes import process_start_time
from facedemo.siamese.runs.settings import read_config
from facedemo.siamese.runs.status import UNREADABLE, RunStatus, read_status
from facedemo.siamese.runs.writer import RunWriter

#: Data set names that ``open_dataset`` resolves itself; anything else is a path.
NAMED_DATASETS = frozenset({"demo", "lfw"})

#: Seconds the device check may take (it loads Keras and the backend); beyond that the run
#: starts unchecked and its trainer checks the devices itself.
DEVICE_CHECK_SECONDS = 120


def new_run_id() -> str:
    """A run id from the current time, e.g. ``20250131-142501``."""
    return time.strftime("%Y%m%d-%H%M%S")


def dataset_source(dataset: str | Path) -> str:
    """How a run names its data set: ``demo`` and ``lfw`` as they are, a folder or a .zip as
    an absolute path (so the run can be evaluated from any working directory)."""
    text = str(dataset)
    if text in NAMED_DATASETS:
        return text
    return str(Path(text).expanduser().resolve())


def trainer_environment() -> dict[str, str]:
    """This process's environment, with facedemo importable and TensorFlow's chatter quiet."""
    package_root = str(Path(facedemo.__file__).resolve().parents[1])
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": python_path}


def check_devices(config: TrainConfig) -> None:
    """Refuse, with the trainer's own sentence, devices this machine cannot give ``config``:
    more than there are, several under PyTorch, or a batch they cannot share evenly.

    One device is always there. Any other ``devices`` is checked by the trainer's own
    ``device.detect_device`` in a short process of its own with the trainer's environment:
    finding devices loads Keras and its backend, which the server should not hold (JAX
    would claim most of a GPU's memory for as long as it runs). When that check gives no
    answer (it crashed, or took longer than ``DEVICE_CHECK_SECONDS``), the run starts and
    its trainer checks again, ending the run as failed with the same sentence.
    """
    if parse_devices(config.devices) == 1:
        return
    command = [sys.executable, "-m", "facedemo.siamese.device"]
    environment = {**trainer_environment(), "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    try:
        checked = subprocess.run(
            [*command, config.devices, str(config.batch_size)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environment,
            timeout=DEVICE_CHECK_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return
    printed = checked.stdout.strip().splitlines()
    if checked.returncode == DEVICES_REFUSED and printed:
        raise SettingError(printed[-1])


def create_run(
    config: TrainConfig,
    runs_dir: str | Path,
    progress: Progress | None = None,
    devices_check: Callable[[TrainConfig], object] = check_devices,
) -> tuple[TrainConfig, Path]:
    """The start of every new run: a free name, devices that are there (``devices_check``;
    the trainer's process, which has Keras loaded, asks ``device.detect_device`` itself), a
    data set that opens (the demo set is downloaded here, ``progress`` told of each file)
    with people enough to split, then its folder; the settings with the data set named as
    the run keeps it (``dataset_source``). A refusal leaves nothing behind."""
    runs_dir = Path(runs_dir)
    run_dir = runs_dir / config.run_id
    if run_dir.exists():
        raise RunError(
            f"A run named {config.run_id} already exists in {runs_dir}; choose another name."
        )
    devices_check(config)
    config = replace(config, dataset=dataset_source(config.dataset))
    dataset = open_dataset(config.dataset, progress)
    pairable_people(dataset.name, dataset.identities)
    RunWriter(RunLayout(run_dir)).create()
    return config, run_dir


def check_resumable(run_dir: Path, launched_pid: int | None = None) -> RunStatus:
    """The run's status if it can be resumed; a RunError saying why not otherwise.

    ``launched_pid``: the trainer that ``resume_run`` launched for this resume, whose run
    reads "queued" (or "running") with that pid until it ends.
    """
    status = read_status(run_dir)
    if status.state == UNREADABLE:
        raise RunError(f"{status.error} It cannot be resumed until that file is restored.")
    if status.state == "finished":
        raise RunError(f"Run {status.run_id} has finished; start a new run to train more.")
    if status.alive and status.pid != launched_pid:
        raise RunError(f"Run {status.run_id} is still {status.state} (process {status.pid}).")
    read_config(run_dir)  # a run that died before saving its settings cannot continue
    return status


def _launch(run_dir: Path, arguments: list[str]) -> subprocess.Popen:
    """Start the trainer in its own session, its output going to the run's train.log.

    What was started goes to launch.json; status.json is the trainer's alone.
    """
    writer = RunWriter(RunLayout(run_dir))
    command = [sys.executable, "-m", "facedemo", "train", *arguments]
    requested = time.time()  # before the trainer exists, so its "started" is never earlier
    with writer.output() as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=trainer_environment(),
            start_new_session=True,
        )
    launch = {
        "pid": process.pid,
        "process_start": process_start_time(process.pid),
        "command": command,
        "time": requested,
    }
    writer.launched(launch)
    return process


def start_run(
    config: TrainConfig, runs_dir: str | Path, progress: Progress | None = None
) -> subprocess.Popen:
    """Start training ``config`` as a new run in ``runs_dir`` in a process of its own."""
    config, run_dir = create_run(config, runs_dir, progress)
    arguments = [config.dataset, "--runs-dir", str(run_dir.parent), "--run-id", config.run_id]
    for name in tunable_settings():
        value = getattr(config, name)
        values = value if isinstance(value, tuple) else (value,)
        arguments += ["--" + name.replace("_", "-"), *map(str, values)]
    return _launch(run_dir, arguments)


def page_dataset(folder: str, server_address: str | None) -> tuple[str, tuple[str, ...]]:
    """What a page's run trains on: the demo set for no folder, else the folder through the
    fence (``datasets.load_server_folder``: inside FACEDEMO_FOLDER_ROOT, every file a regular
    file that stays inside it), as its resolved path; and what its layout left out."""
    if not folder.strip():
        return "demo", ()  # the name open_dataset and the trainer know the demo set by
    dataset = load_server_folder(folder.strip(), server_address)
    return str(dataset.root), dataset.notes


def start_preset(
    preset: str,
    dataset: str | Path,
    runs_dir: str | Path,
    name: str = "",
    devices: str = "1",
    progress: Progress | None = None,
) -> str:
    """Start a preset (``PRESETS``) on ``dataset`` as the run ``name`` (the time when blank)
    on ``devices``, as the Monitor page's form does; the run's id."""
    config = preset_config(preset, dataset, name.strip() or new_run_id(), devices.strip())
    start_run(config, runs_dir, progress)
    return config.run_id


def resume_run(run_dir: Path) -> subprocess.Popen:
    """Continue a stopped, failed or interrupted run from its last checkpoint."""
    check_resumable(run_dir)
    # The stop request that ended it is answered; one made once this resume is queued stands.
    RunWriter(RunLayout(run_dir)).withdraw_stop()
    return _launch(run_dir, ["--resume", run_dir.name, "--runs-dir", str(run_dir.parent)])


def stop_run(run_dir: Path) -> None:
    """Ask a run to stop after the batch under way (it saves nothing newer than its last epoch)."""
    status = read_status(run_dir)
    if not status.alive:
        raise RunError(f"Run {status.run_id} is not running (it is {status.state}).")
    RunWriter(RunLayout(run_dir)).request_stop()
