"""The notebook's siamese network, built (not trained) at the notebook's and the demo's sizes."""

from __future__ import annotations

import pytest

from facedemo.errors import SettingError
from facedemo.siamese import NOTEBOOK_ARCHITECTURE, TrainConfig
from facedemo.siamese.model import build_siamese, feature_extractor


def test_notebook_network_has_its_weight_count_at_250_px() -> None:
    model = build_siamese()  # the defaults are the notebook's
    assert model.count_params() == 1_952_313
    assert model.output_shape == (None, 1)
    assert [tuple(i.shape) for i in model.inputs] == [(None, 250, 250, 3)] * 2


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


def test_settings_survive_their_json_form() -> None:
    config = TrainConfig("data", "run", image_size=64, split=(0.5, 0.25, 0.25))
    as_json = {k: list(v) if isinstance(v, tuple) else v for k, v in config.to_dict().items()}
    assert TrainConfig.from_dict(as_json) == config
