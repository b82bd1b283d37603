"""What a run was set up with: config.json's settings, device and versions, said for people.

The trainer writes config.json as its first act (the settings and the device),
then again once the data set is split (who is in which part).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from facedemo.datasets import display_name
from facedemo.errors import RunError
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs.layout import RunLayout, read_record
from facedemo.siamese.runs.schema import (
    CONFIG_OPTIONAL,
    CONFIG_REQUIRED,
    DEVICE_OPTIONAL,
    DEVICE_REQUIRED,
    checked,
    checked_split,
)
from facedemo.siamese.runs.status import read_status


def has_settings(run_dir: Path) -> bool:
    """Whether the trainer has saved the run's settings (config.json), its first act."""
    return RunLayout(run_dir).config.is_file()


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json: settings, data set and split, device and versions."""
    path = RunLayout(run_dir).config
    config = read_record(path, CONFIG_REQUIRED, CONFIG_OPTIONAL)
    if config is None:
        if read_status(run_dir).alive:
            raise RunError(
                f"Run {run_dir.name} has not written its settings yet; try again shortly."
            )
        raise RunError(
            f"Run {run_dir.name} ended before it saved its settings, so there is nothing to "
            "show or resume; its output (train.log) says why. Start a new run."
        )
    if "device" in config:
        config["device"] = checked(config["device"], path, DEVICE_REQUIRED, DEVICE_OPTIONAL)
    return config


def read_settings(run_dir: Path) -> TrainConfig:
    """The run's training settings."""
    try:
        return TrainConfig.from_dict(read_config(run_dir)["settings"])
    except (TypeError, ValueError, KeyError) as error:
        raise RunError(
            f"{run_dir.name}/config.json: its settings cannot be read ({error}): the file is "
            "damaged."
        ) from None


#: The parts of a run's split, in the order config.json records them.
SPLIT_PARTS = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitPart:
    """One part of a run's split (``SPLIT_PARTS``): its people as the data set names them
    (``Angelina_Jolie``), and how many photos they have."""

    part: str
    people: tuple[str, ...]
    images: int

    @property
    def display_names(self) -> list[str]:
        """The people as people read them (``Angelina Jolie``)."""
        return [display_name(person) for person in self.people]


def read_split_record(run_dir: Path) -> dict[str, dict[str, Any]]:
    """config.json's split as recorded, part by part, checked (``{}`` before the split)."""
    return checked_split(read_config(run_dir), RunLayout(run_dir).config)


def read_split(run_dir: Path) -> list[SplitPart]:
    """Who is in the run's training, validation and test parts; none before the trainer has
    split its data set."""
    recorded = read_split_record(run_dir)
    return [
        SplitPart(part, tuple(recorded[part]["people"]), recorded[part]["images"])
        for part in SPLIT_PARTS
        if part in recorded
    ]


def trained_people(run_dir: Path) -> frozenset[str] | None:
    """The people the run's network learned from or was chosen on (its training and
    validation parts), as the data set names them; None before the trainer has split its
    data set. A verdict on a photo of one of them is no test of the network."""
    parts = {split.part: split.people for split in read_split(run_dir)}
    if not parts:
        return None
    return frozenset(parts.get("train", ())) | frozenset(parts.get("validation", ()))


def trained_on_warning(run_dir: Path, identities: Iterable[str]) -> str | None:
    """A sentence when any of ``identities`` (the people in the photos asked about) is one the
    run's network trained on or was chosen on: its verdict on them tests memory, not
    recognising new people. None when none is, or the run recorded no split."""
    trained = trained_people(run_dir) or frozenset()
    seen = sorted({display_name(person) for person in identities if person in trained})
    if not seen:
        return None
    tested = [part for part in read_split(run_dir) if part.part == "test"]
    fresh = f" Photos of its test people ({', '.join(tested[0].display_names)})" if tested else ""
    return (
        f"{' and '.join(seen)} {'was' if len(seen) == 1 else 'were'} among the people this "
        f"network trained on, so its answer here shows what it remembers, not how it "
        f"recognises people it has never seen.{fresh + ' test that.' if fresh else ''}"
    )


def describe_device(run_dir: Path, metrics: pd.DataFrame) -> str:
    """ "CPU", or the GPU's name and the most memory the run has used on it so far."""
    device = read_config(run_dir).get("device", {"kind": "CPU"})
    if device["kind"] == "CPU":
        return "CPU"
    count = f"{device['count']} × " if device.get("count", 1) > 1 else ""
    memory = metrics["gpu_memory_mb"].dropna() if "gpu_memory_mb" in metrics else ()
    used = f", {memory.iloc[-1]:,.0f} MB used" if len(memory) else ""
    return f"{count}{device.get('name', device['kind'])}{used}"


def describe_engine(run_dir: Path) -> str:
    """How the run computes, for people: Keras backend and version, precision, XLA, devices."""
    recorded = read_config(run_dir)
    device, versions = recorded.get("device", {"kind": "CPU"}), recorded.get("versions", {})
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
