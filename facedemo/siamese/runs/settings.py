"""What a run was set up with: config.json's settings, device and versions, said for people.

The trainer writes config.json as its first act (the settings and the device),
then again once the data set is split (who is in which part).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from facedemo.errors import RunError
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs.layout import RunLayout, read_record
from facedemo.siamese.runs.status import read_status


def has_settings(run_dir: Path) -> bool:
    """Whether the trainer has saved the run's settings (config.json), its first act."""
    return RunLayout(run_dir).config.is_file()


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json: settings, data set and split, device and versions."""
    config = read_record(RunLayout(run_dir).config)
    if config is None:
        if read_status(run_dir).alive:
            raise RunError(
                f"Run {run_dir.name} has not written its settings yet; try again shortly."
            )
        raise RunError(
            f"Run {run_dir.name} ended before it saved its settings, so there is nothing to "
            "show or resume; its output (train.log) says why. Start a new run."
        )
    return config


def read_settings(run_dir: Path) -> TrainConfig:
    """The run's training settings."""
    return TrainConfig.from_dict(read_config(run_dir)["settings"])


def describe_device(run_dir: Path, metrics: pd.DataFrame) -> str:
    """ "CPU", or the GPU's name and the most memory the run has used on it so far."""
    device = read_config(run_dir)["device"]
    if device["kind"] == "CPU":
        return "CPU"
    count = f"{device['count']} × " if device.get("count", 1) > 1 else ""
    memory = metrics["gpu_memory_mb"].dropna() if "gpu_memory_mb" in metrics else ()
    used = f", {memory.iloc[-1]:,.0f} MB used" if len(memory) else ""
    return f"{count}{device['name']}{used}"


def describe_engine(run_dir: Path) -> str:
    """How the run computes, for people: Keras backend and version, precision, XLA, devices."""
    recorded = read_config(run_dir)
    device, versions = recorded["device"], recorded.get("versions", {})
    backend = device.get("backend", "tensorflow")  # runs saved before the backend was recorded
    policy = device.get("policy") or (
        "mixed_float16" if device.get("mixed_precision") else "float32"
    )
    parts = [f"Keras {versions.get('keras', '')} on {backend} {versions.get(backend, '')}".strip()]
    if policy.startswith("mixed_"):
        parts.append(f"mixed precision ({policy.removeprefix('mixed_')})")
    else:
        parts.append(policy)
    if device.get("xla"):
        parts.append("XLA-compiled")
    if device.get("count", 1) > 1:
        parts.append(f"data parallel over {device['count']} devices")
    if device.get("memory_mb"):
        parts.append(f"{device['memory_mb'] / 1024:,.0f} GB of GPU memory")
    return ", ".join(parts)
