"""What the trainer records beside its checkpoints for the monitor to draw: space.npz, the
tower's outputs for a fixed, seeded handful of validation faces, epoch by epoch (projected by
``facedemo.siamese.space``). Trainer-side: it runs the Keras model."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from facedemo.datasets.folders import display_name
from facedemo.errors import RunError
from facedemo.siamese import TrainConfig
from facedemo.siamese.data import FaceImages, space_faces
from facedemo.siamese.model import feature_extractor
from facedemo.siamese.runs.layout import EpochSpace
from facedemo.siamese.runs.results import read_space
from facedemo.siamese.runs.writer import RunWriter
from facedemo.siamese.space import SPACE_PEOPLE, SPACE_PHOTOS


class SpaceRecorder:
    """space.npz: the tower's outputs for a fixed handful of validation faces (``space_faces``,
    seeded), appended after every epoch and rewritten whole each time (one atomic write)."""

    def __init__(self, writer: RunWriter, faces: FaceImages, config: TrainConfig) -> None:
        chosen = space_faces(faces, SPACE_PEOPLE, SPACE_PHOTOS, config.seed)
        self.writer, self.batch_size = writer, config.batch_size
        self.images = faces.images[chosen]
        identities, paths = faces.dataset.identities, faces.dataset.paths
        self.space = EpochSpace(
            epochs=np.zeros(0, dtype=np.int64),
            outputs=np.zeros((0, len(chosen), 0), np.float32),  # features: from the first epoch
            people=np.array([display_name(identities[i]) for i in chosen]),
            files=np.array([Path(paths[i]).name for i in chosen]),
        )

    def start(self, model: keras.Model, epoch: int) -> None:
        """Continue from the checkpoint of ``epoch``: keep what the file holds up to it (a
        resume drops the epoch it did not commit) and record ``epoch`` itself if missing (the
        untrained network as epoch 0; the first epoch resumed of a run from before space.npz)."""
        try:
            saved = read_space(self.writer.layout.run_dir)
        except RunError as error:
            print(f"{error} It is written again from epoch {epoch}.", flush=True)
            saved = None
        if saved is not None and np.array_equal(saved.files, self.space.files):
            self.space = saved.up_to(epoch)
        if epoch in self.space.epochs:
            self.writer.space(self.space)  # without the epoch it did not commit
        else:
            self.record(model, epoch)

    def record(self, model: keras.Model, epoch: int) -> None:
        """The tower's outputs for the faces after ``epoch``, added to space.npz."""
        tower = feature_extractor(model)
        starts = range(0, len(self.images), self.batch_size)
        outputs = np.concatenate(
            [
                keras.ops.convert_to_numpy(tower(self.images[i : i + self.batch_size]))
                for i in starts
            ]
        )
        self.space = self.space.with_epoch(epoch, outputs.astype(np.float32))
        self.writer.space(self.space)
