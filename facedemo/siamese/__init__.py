"""Siamese face-pair training: the settings every part of it shares.

This module stays free of Keras so the Monitor page and the run directory's
reader, writer and lifecycle (the ``runs`` package) can use the settings without
loading it; ``model.py``, ``data.py``, ``device.py``, ``train.py`` and
``scoring.py`` are the Keras side, written for any Keras backend
(``KERAS_BACKEND``: tensorflow, jax or torch).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from facedemo.errors import DatasetError, SettingError

#: The longest run id (a folder name, kept short enough for every file system).
RUN_ID_MAX_LENGTH = 100

#: A run id is a folder name: no separators, no hidden or relative names.
RUN_ID_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{RUN_ID_MAX_LENGTH - 1}}}")


@dataclass(frozen=True)
class Architecture:
    """Widths of the notebook's network; the defaults reproduce it (1,952,313 weights at 250 px).

    Five blocks of BatchNorm → Conv2D (ReLU) → Dropout → MaxPool, a strided
    convolution down to one ``embedding_size`` vector per face, then a dense head
    on the two vectors side by side.
    """

    block_filters: tuple[int, ...] = (20, 30, 50, 100, 200)
    first_kernel: int = 5
    first_stride: int = 2
    block_kernel: int = 3
    block_dropout: float = 0.2
    embedding_size: int = 500
    embedding_kernel: int = 4
    head_units: tuple[int, ...] = (100, 50)
    head_dropouts: tuple[float, ...] = (0.2, 0.1)

    @property
    def min_image_size(self) -> int:
        """Smallest input side that survives the first stride and every 2×2 pooling."""
        return self.first_stride * 2 ** len(self.block_filters)


#: The network the notebook trained, and the one every run trains.
NOTEBOOK_ARCHITECTURE = Architecture()

#: Side in pixels of the faces the notebook trained on (LFW's image size).
NOTEBOOK_IMAGE_SIZE = 250


#: How each photo becomes the network's square input.
FRAMINGS = {
    "photo": "the whole photo, squashed to a square (LFW's photos are framed on the face already)",
    "face": "the largest face in each photo with its surroundings, framed as LFW frames faces "
    "and as the Verify page shows faces to the network (found by the Verify page's detector)",
}


#: Each part of a split (train, validation, test) needs this many people with two or more
#: photos, so that it can give same-person as well as different-person pairs.
MIN_PAIRABLE_PER_PART = 2


def pairable_people(name: str, identities: Sequence[str]) -> list[str]:
    """The people of data set ``name`` with two or more photos, sorted; a DatasetError
    when they are too few for train, validation and test to each get their own (the
    launcher asks before a run exists, the trainer when it splits)."""
    photos = Counter(identities)
    pairable = sorted(person for person, count in photos.items() if count >= 2)
    if len(pairable) < 3 * MIN_PAIRABLE_PER_PART:
        raise DatasetError(
            f"{name} has {len(pairable)} people with two or more photos; training needs "
            f"at least {3 * MIN_PAIRABLE_PER_PART} so that train, validation and test each "
            "get their own."
        )
    return pairable


#: How the best epoch (the version kept and tested) is chosen, and early stopping judged:
#: the validation number, and whether lower is better.
BEST_BY = {
    "val_loss": ("the lowest validation loss", True),
    "val_auc": ("the highest validation AUC", False),
}


#: Exit status of ``python -m facedemo.siamese.device`` when the devices asked for are not there.
DEVICES_REFUSED = 3


def parse_devices(devices: str) -> int | None:
    """The ``devices`` setting: ``"all"`` → None (every GPU), ``"2"`` → 2."""
    if devices == "all":
        return None
    if re.fullmatch(r"[0-9]+", devices) and int(devices) >= 1:  # not str.isdigit: "²"
        return int(devices)
    raise SettingError(f"devices takes 'all' or a number of devices (1, 2, ...), not {devices!r}.")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run; the defaults are the notebook's (a GPU run on LFW)."""

    dataset: str
    run_id: str
    image_size: int = NOTEBOOK_IMAGE_SIZE
    batch_size: int = 400
    steps_per_epoch: int = 250
    epochs: int = 100
    patience: int = 10
    learning_rate: float = 1e-3
    seed: int = 0
    validation_pairs: int = 2000
    test_pairs: int = 2000
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)
    same_person_probability: float = 0.5
    flip_probability: float = 0.5
    devices: str = "1"
    framing: str = "photo"
    held_out_photos: int = 0  # per training person, to validate on people it has seen
    best_by: str = "val_loss"
    # Batches Keras runs per call of its compiled step: fewer host round trips on a GPU; the
    # metrics log then gets one batch line per call (its step is the call's last batch).
    steps_per_execution: int = 1

    def __post_init__(self) -> None:
        minimum = NOTEBOOK_ARCHITECTURE.min_image_size
        if self.image_size < minimum:
            raise SettingError(f"The image size must be at least {minimum} px for this network.")
        counts = ("batch_size", "steps_per_epoch", "epochs", "patience", "steps_per_execution")
        for name in (*counts, "validation_pairs", "test_pairs"):
            if getattr(self, name) < 1:
                raise SettingError(f"The setting {name} must be at least 1.")
        if self.steps_per_execution > self.steps_per_epoch:
            raise SettingError(
                f"steps_per_execution ({self.steps_per_execution}) cannot exceed the batches of "
                f"an epoch ({self.steps_per_epoch})."
            )
        if self.best_by not in BEST_BY:
            raise SettingError(f"best_by is one of {', '.join(BEST_BY)}, not {self.best_by!r}.")
        if self.held_out_photos < 0:
            raise SettingError("held_out_photos must be zero or more.")
        if self.seed < 0:
            raise SettingError("The seed must be zero or a positive whole number.")
        parse_devices(self.devices)
        if self.framing not in FRAMINGS:
            raise SettingError(f"framing is one of {', '.join(FRAMINGS)}, not {self.framing!r}.")
        if self.learning_rate <= 0:
            raise SettingError("The learning rate must be positive.")
        if len(self.split) != 3 or min(self.split) <= 0 or abs(sum(self.split) - 1) > 1e-6:
            raise SettingError("The split needs three positive fractions adding up to 1.")
        for name in ("same_person_probability", "flip_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise SettingError(f"The setting {name} must lie between 0 and 1.")
        if len(self.run_id) > RUN_ID_MAX_LENGTH:
            raise SettingError(
                f"A run name has at most {RUN_ID_MAX_LENGTH} characters; this one has "
                f"{len(self.run_id)}."
            )
        if not RUN_ID_PATTERN.fullmatch(self.run_id):
            raise SettingError(
                f"{self.run_id!r} cannot name a run; use letters, digits, '.', '_' and '-', "
                "starting with a letter or digit."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**{k: v for k, v in settings.items() if k in known})


def tunable_settings() -> dict[str, Any]:
    """Settings a user may change from the command line, with their defaults."""
    return {f.name: f.default for f in fields(TrainConfig) if f.name not in ("dataset", "run_id")}


#: Starting points offered on the Monitor page: changes to the notebook's settings.
#: The CPU demo trains on faces framed as LFW frames them, keeps one photo of each training
#: person aside to show how well it recognises the people it trains on in new photos, and
#: never stops early, so that a class watches all of it happen. It keeps the epoch that ranks new
#: people best: on 3 validation people the loss grows with the network's confidence long
#: after its ranking has improved, so the lowest loss is nearly always the first epoch.
PRESETS: dict[str, dict[str, Any]] = {
    "CPU demo, 64 px": {
        "image_size": 64,
        "batch_size": 32,
        "steps_per_epoch": 20,
        "epochs": 30,
        "patience": 30,
        "validation_pairs": 256,
        "test_pairs": 256,
        "framing": "face",
        "held_out_photos": 1,
        "best_by": "val_auc",
    },
    "GPU, the notebook's settings": {},
}

#: What each preset is for, in a sentence shown beside it.
PRESET_DESCRIPTIONS = {
    "CPU demo, 64 px": "About two minutes on a laptop: faces cut out by the detector, one photo "
    "of each training person kept aside, 30 short epochs, no early stop; it keeps the epoch "
    "that ranks new people best.",
    "GPU, the notebook's settings": "The notebook's run: 250 px whole photos, batches of 400, "
    "up to 100 epochs of 250 batches; hours on a CPU, minutes on a GPU.",
}


def preset_config(preset: str, dataset: str | Path, run_id: str, devices: str = "1") -> TrainConfig:
    """The settings of a named preset for one data set, on ``devices`` ("all" or a count)."""
    if preset not in PRESETS:
        raise SettingError(f"There is no preset called {preset!r}; choose one of {list(PRESETS)}.")
    return TrainConfig(dataset=str(dataset), run_id=run_id, devices=devices, **PRESETS[preset])
