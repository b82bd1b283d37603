"""The notebook's face-pair network: one shared feature extractor, a small dense head.

Two faces go in as uint8 pixels, exactly as they are stored; the feature
extractor rescales them to [-1, 1] and, in training only, mirrors each face
left-right at random, so that work runs on the device instead of the host and
a saved model scores raw faces. The two feature vectors are concatenated and a
dense head says how likely the faces show the same person.

The weight count (1,952,313) holds whenever each face ends in one 500-value
vector; "same" padding everywhere gives that at 250 px (125, 62, 31, 15, 7, 3,
then 1 × 1 × 500) and at every side down to ``Architecture.min_image_size``
(64 px), where "valid" padding would run out of pixels, so the CPU demo trains
the very same network. Everything is written in Keras layers and ``keras.ops``,
so it builds, trains and loads under any Keras backend.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from facedemo.errors import SettingError
from facedemo.siamese import NOTEBOOK_ARCHITECTURE, NOTEBOOK_IMAGE_SIZE, Architecture

#: Name of the shared feature extractor inside the siamese model.
FEATURES = "features"

#: What the network's input holds: raw pixels, 0-255.
INPUT_DTYPE = "uint8"


@keras.saving.register_keras_serializable(package="facedemo")
class RandomMirror(layers.Layer):
    """Mirrors each image of a batch left-right with ``probability``, in training only.

    Every call draws its own coins, so the two faces of a pair are flipped independently.
    """

    def __init__(self, probability: float = 0.5, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.probability = probability
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool = False) -> Any:
        if not training or self.probability <= 0:
            return images
        coins = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), seed=self.seed_generator)
        return ops.where(coins < self.probability, ops.flip(images, axis=2), images)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "probability": self.probability, "seed": self.seed}


def build_feature_extractor(
    image_size: int = NOTEBOOK_IMAGE_SIZE,
    architecture: Architecture = NOTEBOOK_ARCHITECTURE,
    dtype_policy: str = "float32",
    flip_probability: float = 0.5,
) -> keras.Model:
    """One face (``image_size``² RGB, uint8) → its feature vector."""
    if image_size < architecture.min_image_size:
        raise SettingError(
            f"The image size must be at least {architecture.min_image_size} px for this network."
        )
    face = keras.Input((image_size, image_size, 3), dtype=INPUT_DTYPE, name="face")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, dtype=dtype_policy, name="to_unit_range")(face)
    x = RandomMirror(flip_probability, dtype=dtype_policy, name="random_mirror")(x)
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
    flip_probability: float = 0.5,
) -> keras.Model:
    """Two uint8 faces → probability that they show the same person, shape ``(batch, 1)``.

    A mixed ``dtype_policy`` (``"mixed_float16"``, ``"mixed_bfloat16"``) computes in half
    precision (for GPUs); the final sigmoid stays float32 so the probability and the loss
    stay accurate.
    """
    features = build_feature_extractor(image_size, architecture, dtype_policy, flip_probability)
    shape = (image_size, image_size, 3)
    face_a = keras.Input(shape, dtype=INPUT_DTYPE, name="face_a")
    face_b = keras.Input(shape, dtype=INPUT_DTYPE, name="face_b")
    x = layers.Concatenate(dtype=dtype_policy)([features(face_a), features(face_b)])
    for units, rate in zip(architecture.head_units, architecture.head_dropouts, strict=True):
        x = layers.Dense(units, activation="relu", dtype=dtype_policy)(x)
        x = layers.Dropout(rate, dtype=dtype_policy)(x)
    same_person = layers.Dense(1, activation="sigmoid", dtype="float32", name="same_person")(x)
    return keras.Model([face_a, face_b], same_person, name="siamese")


def feature_extractor(siamese: keras.Model) -> keras.Model:
    """The shared feature extractor of a built or loaded siamese model."""
    return siamese.get_layer(FEATURES)


def takes_raw_pixels(siamese: keras.Model) -> bool:
    """Whether a (loaded) model takes uint8 faces; runs saved before facedemo moved the
    rescaling into the network take floats in [-1, 1]."""
    return str(siamese.inputs[0].dtype) == INPUT_DTYPE


def seed_generators(model: keras.Model) -> list[keras.random.SeedGenerator]:
    """Every ``keras.random.SeedGenerator`` of ``model``'s layers (dropout, mirrors), nested
    models included, each once, in the order of the layers."""
    found: dict[int, keras.random.SeedGenerator] = {}

    def visit(layer: keras.layers.Layer) -> None:
        for value in vars(layer).values():
            if isinstance(value, keras.random.SeedGenerator):
                found.setdefault(id(value), value)
        for inner in getattr(layer, "layers", ()):
            visit(inner)

    visit(model)
    return list(found.values())


def reseed(model: keras.Model, key: tuple[int, ...]) -> None:
    """Set the state of every random layer of ``model`` from ``key`` (non-negative integers):
    what its dropout and mirrors draw from then on depends on ``key`` alone, not on how
    many draws came before (a resumed run draws what the uninterrupted one drew)."""
    generators = seed_generators(model)
    seeds = np.random.default_rng(key).integers(0, 2**31, size=len(generators))
    for generator, seed in zip(generators, seeds, strict=True):
        generator.state.assign(np.array([seed, 0], dtype=generator.state.dtype))
