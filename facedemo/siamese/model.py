"""The notebook's face-pair network: one shared feature extractor, a small dense head.

Two faces (pixels in [-1, 1]) go through the same feature extractor; the two
feature vectors are concatenated and a dense head says how likely the faces
show the same person. The weight count (1,952,313) holds whenever each face
ends in one 500-value vector; "same" padding everywhere gives that at 250 px
(125, 62, 31, 15, 7, 3, then 1 × 1 × 500) and at every side down to
``Architecture.min_image_size`` (64 px), where "valid" padding would run out of
pixels, so the CPU demo trains the very same network.
"""

from __future__ import annotations

import keras
from keras import layers

from facedemo.errors import SettingError
from facedemo.siamese import NOTEBOOK_ARCHITECTURE, NOTEBOOK_IMAGE_SIZE, Architecture

#: Name of the shared feature extractor inside the siamese model.
FEATURES = "features"


def build_feature_extractor(
    image_size: int = NOTEBOOK_IMAGE_SIZE,
    architecture: Architecture = NOTEBOOK_ARCHITECTURE,
    dtype_policy: str = "float32",
) -> keras.Model:
    """One face (``image_size``² RGB in [-1, 1]) → its feature vector."""
    if image_size < architecture.min_image_size:
        raise SettingError(
            f"The image size must be at least {architecture.min_image_size} px for this network."
        )
    face = keras.Input((image_size, image_size, 3), name="face")
    x = face
    for index, filters in enumerate(architecture.block_filters):
        first = index == 0
        x = layers.BatchNormalization(dtype=dtype_policy)(x)
        x = layers.Conv2D(
            filters,
            architecture.first_kernel if first else architecture.block_kernel,
            strides=architecture.first_stride if first else 1,
            padding="same",
            activation="relu",
            dtype=dtype_policy,
        )(x)
        x = layers.Dropout(architecture.block_dropout, dtype=dtype_policy)(x)
        x = layers.MaxPooling2D(2, dtype=dtype_policy)(x)
    x = layers.Conv2D(
        architecture.embedding_size,
        architecture.embedding_kernel,
        strides=architecture.embedding_kernel,
        padding="same",
        activation="relu",
        dtype=dtype_policy,
    )(x)
    return keras.Model(face, layers.Flatten(dtype=dtype_policy)(x), name=FEATURES)


def build_siamese(
    image_size: int = NOTEBOOK_IMAGE_SIZE,
    architecture: Architecture = NOTEBOOK_ARCHITECTURE,
    dtype_policy: str = "float32",
) -> keras.Model:
    """Two faces → probability that they show the same person, shape ``(batch, 1)``.

    ``dtype_policy="mixed_float16"`` computes in half precision (for GPUs); the
    final sigmoid stays float32 so the probability and the loss stay accurate.
    """
    features = build_feature_extractor(image_size, architecture, dtype_policy)
    face_a = keras.Input((image_size, image_size, 3), name="face_a")
    face_b = keras.Input((image_size, image_size, 3), name="face_b")
    x = layers.Concatenate(dtype=dtype_policy)([features(face_a), features(face_b)])
    for units, rate in zip(architecture.head_units, architecture.head_dropouts, strict=True):
        x = layers.Dense(units, activation="relu", dtype=dtype_policy)(x)
        x = layers.Dropout(rate, dtype=dtype_policy)(x)
    same_person = layers.Dense(1, activation="sigmoid", dtype="float32", name="same_person")(x)
    return keras.Model([face_a, face_b], same_person, name="siamese")


def feature_extractor(siamese: keras.Model) -> keras.Model:
    """The shared feature extractor of a built or loaded siamese model."""
    return siamese.get_layer(FEATURES)
