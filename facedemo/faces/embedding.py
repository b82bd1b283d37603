"""Aligned face crops in, embeddings out: one float32 row per crop.

DeepFace's models take the crops as one batch; FaceNet-CASIA's graph takes one
prewhitened 160 px crop at a time through OpenCV's dnn module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facedemo import images
from facedemo.faces.detection import FACENET_SIZE
from facedemo.faces.engines import DEFAULT_ENGINE, FACENET, MODEL_WEIGHTS, check_choice
from facedemo.faces.loading import _deepface_lock, _opencv_lock, _recogniser


def _prewhitened(crop: np.ndarray) -> np.ndarray:
    """A crop as FaceNet-CASIA takes it: 160 px, (x - mean) / max(std, 1 / sqrt(size)) over
    all its values (Sandberg's ``prewhiten``), channels first, a batch of one."""
    if crop.shape[:2] != (FACENET_SIZE, FACENET_SIZE):
        crop = images.resize(crop, FACENET_SIZE, FACENET_SIZE)
    values = crop.astype(np.float32)
    spread = max(float(values.std()), 1.0 / np.sqrt(values.size))
    return ((values - values.mean()) / spread).transpose(2, 0, 1)[np.newaxis]


def _embed_facenet(crops: Sequence[np.ndarray]) -> np.ndarray:
    """FaceNet-CASIA's 512-value embeddings, one crop at a time (the graph as shipped takes
    a batch of one in OpenCV)."""
    net = _recogniser(FACENET)
    inputs = [_prewhitened(np.asarray(crop)) for crop in crops]
    vectors = np.empty((len(inputs), 512), dtype=np.float32)
    with _opencv_lock:
        for row, blob in enumerate(inputs):
            net.setInput(blob)
            vectors[row] = net.forward()[0]
    return vectors


def embed(crops: Sequence[np.ndarray], model: str = DEFAULT_ENGINE.model) -> np.ndarray:
    """Embeddings of aligned face crops (RGB uint8), one row each, in one batch."""
    from deepface.modules import preprocessing

    check_choice("model", model, MODEL_WEIGHTS)
    if len(crops) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if model == FACENET:
        return _embed_facenet(crops)
    recogniser = _recogniser(model)
    height, width = recogniser.input_shape
    batch = np.concatenate(
        [
            preprocessing.normalize_input(
                preprocessing.resize_image(np.ascontiguousarray(crop[:, :, ::-1]), (width, height))
            )
            for crop in crops
        ]
    )
    with _deepface_lock:
        vectors = np.asarray(recogniser.forward(batch), dtype=np.float32)
    return vectors.reshape(len(crops), -1)
