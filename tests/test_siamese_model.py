"""The notebook's siamese network, built (not trained) at the notebook's and the demo's sizes."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from facedemo.errors import SettingError
from facedemo.siamese import NOTEBOOK_ARCHITECTURE, TrainConfig
from facedemo.siamese.model import build_siamese, feature_extractor


def test_notebook_network_has_its_weight_count_at_250_px() -> None:
    model = build_siamese()  # the defaults are the notebook's
    assert model.count_params() == 1_952_313
    assert model.output_shape == (None, 1)
    assert [tuple(i.shape) for i in model.inputs] == [(None, 250, 250, 3)] * 2
    assert [str(i.dtype) for i in model.inputs] == ["uint8", "uint8"]  # raw pixels go in


def test_feature_extractor_is_shared_and_gives_500_values_per_face() -> None:
    model = build_siamese(250)
    features = feature_extractor(model)
    assert features.output_shape == (None, NOTEBOOK_ARCHITECTURE.embedding_size)
    # One extractor used for both faces: its weights are counted once.
    head = model.count_params() - features.count_params()
    assert head == (1000 * 100 + 100) + (100 * 50 + 50) + (50 + 1)


def test_demo_size_keeps_the_same_network() -> None:
    assert build_siamese(64).count_params() == 1_952_313


def test_mixed_precision_keeps_the_probability_in_float32() -> None:
    model = build_siamese(64, dtype_policy="mixed_float16")
    assert feature_extractor(model).output.dtype == "float16"
    assert model.output.dtype == "float32"


def test_too_small_images_are_refused_with_a_sentence() -> None:
    with pytest.raises(SettingError, match="at least 64 px"):
        build_siamese(32)
    with pytest.raises(SettingError, match="at least 64 px"):
        TrainConfig("data", "run", image_size=48)


@pytest.mark.parametrize("run_id", ["", "../escape", ".hidden", "a/b"])
def test_run_ids_must_be_plain_folder_names(run_id: str) -> None:
    with pytest.raises(SettingError, match="cannot name a run"):
        TrainConfig("data", run_id)


def test_a_run_name_too_long_says_so() -> None:
    TrainConfig("data", "a" * 100)
    with pytest.raises(SettingError, match=r"^A run name has at most 100 characters; .* 300\."):
        TrainConfig("data", "a" * 300)


def test_settings_survive_their_json_form() -> None:
    config = TrainConfig("data", "run", image_size=64, split=(0.5, 0.25, 0.25))
    as_json = {k: list(v) if isinstance(v, tuple) else v for k, v in config.to_dict().items()}
    assert TrainConfig.from_dict(as_json) == config


def faces(count: int = 64, size: int = 64) -> np.ndarray:
    """Random uint8 faces whose left and right halves differ (a mirror changes them)."""
    return np.random.default_rng(0).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def test_rescaling_to_minus_one_to_one_happens_inside_the_network() -> None:
    rescale = feature_extractor(build_siamese(64)).get_layer("to_unit_range")
    pixels = np.array([[[[0, 127.5, 255]]]], dtype=np.float32)
    assert np.allclose(keras.ops.convert_to_numpy(rescale(pixels)), [[[[-1, 0, 1]]]])


def test_flips_are_drawn_per_face_in_training_and_off_in_inference() -> None:
    mirror = feature_extractor(build_siamese(64, flip_probability=0.5)).get_layer("random_mirror")
    images = faces().astype(np.float32)

    def mirrored(training: bool) -> np.ndarray:
        seen = keras.ops.convert_to_numpy(mirror(images, training=training))
        flipped = np.all(seen == images[:, :, ::-1], axis=(1, 2, 3))
        assert np.all(flipped | np.all(seen == images, axis=(1, 2, 3)))  # whole faces only
        return flipped

    assert not mirrored(training=False).any()
    first, second = mirrored(training=True), mirrored(training=True)
    assert 0.25 < first.mean() < 0.75 and not np.array_equal(first, second)
    never = feature_extractor(build_siamese(64, flip_probability=0.0)).get_layer("random_mirror")
    assert np.array_equal(keras.ops.convert_to_numpy(never(images, training=True)), images)


def test_a_saved_model_scores_uint8_faces_the_same_after_loading(tmp_path: Path) -> None:
    model = build_siamese(64)
    pair = [faces(8), faces(8)[::-1]]
    before = keras.ops.convert_to_numpy(model(pair, training=False))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", compile=False)
    assert [str(i.dtype) for i in loaded.inputs] == ["uint8", "uint8"]
    after = keras.ops.convert_to_numpy(loaded(pair, training=False))
    assert np.allclose(before, after, atol=1e-6) and np.all((after > 0) & (after < 1))
