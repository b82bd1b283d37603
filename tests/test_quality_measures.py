"""quality.measures: each photo's quality beside its embedding, on the shared real photos:
plausible numbers, kept by the store, added to an old store without embedding again."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from facedemo import faces, images
from facedemo.embeddings import SCHEMA_VERSION, EmbeddedSet, EmbeddingStore, content_hash
from facedemo.quality import MEASURES, MEASURES_VERSION, Measure

ENGINE = faces.DEFAULT_ENGINE
#: One large face, turned and tilted a little (yaw about 10°, roll about 5°): mirroring it
#: must turn both signs.
PHOTO = "img32.jpg"
PHOTOS = ("img1.jpg", "img2.jpg", "img4.jpg", "img9.jpg")

#: The first schema (vectors only), as a store made before measures existed holds it.
OLD_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE embeddings (
    engine_key   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('face', 'whole_photo', 'no_face', 'unreadable')),
    dimension    INTEGER,
    vector       BLOB,
    failure      TEXT,
    PRIMARY KEY (engine_key, content_hash)
) WITHOUT ROWID;
"""


def assert_same_measures(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert actual.keys() == expected.keys() == MEASURES.keys()
    for name in MEASURES:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-9, err_msg=name)


def vector_rows(path: Path) -> dict[str, bytes]:
    """Every stored vector's bytes by content hash."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT content_hash, vector FROM embeddings").fetchall())


@pytest.fixture(scope="module")
def photos(shared_images: Path) -> list[Path]:
    return [shared_images / name for name in PHOTOS]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, photos: list[Path]) -> EmbeddedSet:
    """The photos embedded and measured into a fresh store."""
    store = EmbeddingStore(tmp_path_factory.mktemp("reference") / "store.sqlite3")
    return store.embed_paths(photos, ENGINE)


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory, shared_images: Path) -> dict[str, float]:
    """PHOTO and four copies of it (half size, blurred, darkened, mirrored), measured
    through the store: each measure's values by variant."""
    folder = tmp_path_factory.mktemp("variants")
    image = images.load_image(shared_images / PHOTO)
    height, width = image.shape[:2]
    copies = {
        "original": image,
        "half": cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
        "blurred": cv2.GaussianBlur(image, (0, 0), 4),
        "dark": (image * 0.5).astype(np.uint8),
        "mirrored": np.ascontiguousarray(image[:, ::-1]),
    }
    paths = []
    for name, pixels in copies.items():
        paths.append(folder / f"{name}.png")
        Image.fromarray(pixels).save(paths[-1])
    result = EmbeddingStore(folder / "store.sqlite3").embed_paths(paths, ENGINE)
    assert list(result.ok_indices) == list(range(len(copies)))
    return {
        name: {measure: float(values[row]) for measure, values in result.measures.items()}
        for row, name in enumerate(copies)
    }


# --------------------------------------------------------------------------- the catalogue


def test_every_measure_says_what_it_is_and_how_the_edc_ranks_it() -> None:
    assert list(MEASURES) == [
        "inter_eye_distance",
        "sharpness",
        "luminance",
        "clipped_share",
        "yaw",
        "roll",
        "detector_score",
    ]
    for name, measure in MEASURES.items():
        assert isinstance(measure, Measure) and measure.name == name
        assert measure.label and measure.unit and measure.differs and measure.preferred
    assert MEASURES["inter_eye_distance"].standard == "InterEyeDistance"
    assert MEASURES["yaw"].standard == "HeadPoseYaw" and MEASURES["roll"].standard == "HeadPoseRoll"
    # Pose and luminance are best at a value, not at an end: the EDC ranks the distance.
    values = np.array([-30.0, 0.0, 10.0, np.nan])
    np.testing.assert_array_equal(MEASURES["yaw"].ranked(values), [30.0, 0.0, 10.0, np.nan])
    assert not MEASURES["yaw"].higher_is_better and not MEASURES["roll"].higher_is_better
    np.testing.assert_array_equal(MEASURES["luminance"].ranked([27.5, 127.5, 227.5]), [100, 0, 100])
    assert not MEASURES["luminance"].higher_is_better
    assert not MEASURES["clipped_share"].higher_is_better
    for name in ("inter_eye_distance", "sharpness", "detector_score"):
        assert MEASURES[name].higher_is_better
        np.testing.assert_array_equal(MEASURES[name].ranked(values), values)


# --------------------------------------------------------------------------- plausible values


def test_measures_of_a_real_photo_are_plausible(variants: dict[str, dict[str, float]]) -> None:
    original = variants["original"]
    assert 150 < original["inter_eye_distance"] < 400  # a large face in a 1000 px photo
    assert original["sharpness"] > 0
    assert 60 < original["luminance"] < 200
    assert 0 <= original["clipped_share"] < 0.05
    assert abs(original["yaw"]) < 45 and abs(original["roll"]) < 30
    assert 0 < original["detector_score"] <= 1


def test_half_the_photo_gives_half_the_inter_eye_distance(
    variants: dict[str, dict[str, float]],
) -> None:
    ratio = variants["half"]["inter_eye_distance"] / variants["original"]["inter_eye_distance"]
    assert ratio == pytest.approx(0.5, rel=0.05)


def test_a_blurred_copy_is_less_sharp_and_a_darkened_one_darker(
    variants: dict[str, dict[str, float]],
) -> None:
    original = variants["original"]
    assert variants["blurred"]["sharpness"] < 0.5 * original["sharpness"]
    assert variants["dark"]["luminance"] == pytest.approx(0.5 * original["luminance"], rel=0.1)
    # Neither moves the face: size and pose stay.
    for name in ("blurred", "dark"):
        assert variants[name]["inter_eye_distance"] == pytest.approx(
            original["inter_eye_distance"], rel=0.05
        )


def test_a_mirrored_photo_turns_yaw_and_roll_the_other_way(
    variants: dict[str, dict[str, float]],
) -> None:
    original, mirrored = variants["original"], variants["mirrored"]
    assert abs(original["yaw"]) > 5 and abs(original["roll"]) > 3  # enough to have a sign
    assert np.sign(mirrored["yaw"]) == -np.sign(original["yaw"])
    assert np.sign(mirrored["roll"]) == -np.sign(original["roll"])
    assert mirrored["yaw"] == pytest.approx(-original["yaw"], abs=5)
    assert mirrored["roll"] == pytest.approx(-original["roll"], abs=3)
    assert mirrored["inter_eye_distance"] == pytest.approx(original["inter_eye_distance"], rel=0.05)


# --------------------------------------------------------------------------- in the store


def test_stored_measures_read_back_equal(
    tmp_path: Path, photos: list[Path], reference: EmbeddedSet, detect_calls: list[Any]
) -> None:
    store = EmbeddingStore(tmp_path / "store.sqlite3")
    computed = store.embed_paths(photos, ENGINE)
    assert_same_measures(computed.measures, reference.measures)
    assert all(len(values) == len(photos) for values in computed.measures.values())

    again = EmbeddingStore(store.path).embed_paths(photos, ENGINE)
    assert (again.embedded_now, again.measured_now, again.embedded_before) == (0, 0, len(photos))
    assert len(detect_calls) == len(photos)  # the first call only
    for name in MEASURES:
        np.testing.assert_array_equal(again.measures[name], computed.measures[name])
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        version, text = db.execute(
            "SELECT version, measures FROM measures WHERE content_hash = ?",
            (content_hash(photos[0].read_bytes()),),
        ).fetchone()
    assert version == MEASURES_VERSION
    assert json.loads(text)["inter_eye_distance"] == computed.measures["inter_eye_distance"][0]


@pytest.mark.parametrize("left_behind", [False, True])
def test_an_old_store_is_upgraded_and_measured_without_embedding_again(
    tmp_path: Path,
    photos: list[Path],
    reference: EmbeddedSet,
    detect_calls: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    left_behind: bool,
) -> None:
    """A store of the first schema, holding the vectors of the photos; ``left_behind``: with
    the measures table an older checkout leaves when it rebuilds a newer store as its own."""
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(OLD_SCHEMA)
        if left_behind:
            db.executescript(
                "CREATE TABLE measures (engine_key TEXT, content_hash TEXT, version INTEGER, "
                "measures TEXT, PRIMARY KEY (engine_key, content_hash)) WITHOUT ROWID;"
                "INSERT INTO measures VALUES ('stale', 'stale', 1, '{}');"
            )
        db.executemany(
            "INSERT INTO embeddings VALUES (?, ?, 'face', ?, ?, NULL)",
            [
                (ENGINE.embedding_key, content_hash(photo.read_bytes()), len(vector), blob)
                for photo, vector in zip(photos, reference.embeddings, strict=True)
                for blob in [vector.astype("<f4").tobytes()]
            ],
        )
    vectors_before = vector_rows(path)

    def no_embedding(crops, model):
        assert len(crops) == 0, "a stored vector was embedded again"
        return np.zeros((0, 0), dtype=np.float32)

    monkeypatch.setattr(faces, "embed", no_embedding)
    store = EmbeddingStore(path)
    result = store.embed_paths(photos, ENGINE)
    assert (result.embedded_now, result.measured_now, result.embedded_before) == (
        0,
        len(photos),
        len(photos),
    )
    assert len(detect_calls) == len(photos)  # detected again, to be measured
    assert vector_rows(path) == vectors_before  # byte for byte
    np.testing.assert_array_equal(result.embeddings, reference.embeddings)
    assert_same_measures(result.measures, reference.measures)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]

    warm = store.embed_paths(photos, ENGINE)
    assert (warm.embedded_now, warm.measured_now) == (0, 0)
    assert len(detect_calls) == len(photos)
    assert_same_measures(warm.measures, reference.measures)


def test_a_damaged_or_outdated_measures_row_is_measured_again(
    tmp_path: Path, photos: list[Path], reference: EmbeddedSet, detect_calls: list[Any]
) -> None:
    store = EmbeddingStore(tmp_path / "store.sqlite3")
    store.embed_paths(photos, ENGINE)
    vectors_before = vector_rows(store.path)
    first, second = (content_hash(photo.read_bytes()) for photo in photos[:2])
    with contextlib.closing(sqlite3.connect(store.path)) as db, db:
        db.execute("UPDATE measures SET measures = '{\"sharp' WHERE content_hash = ?", (first,))
        db.execute("UPDATE measures SET version = version - 1 WHERE content_hash = ?", (second,))

    result = store.embed_paths(photos, ENGINE)
    assert (result.embedded_now, result.measured_now) == (0, 2)
    assert len(detect_calls) == len(photos) + 2
    assert vector_rows(store.path) == vectors_before
    assert_same_measures(result.measures, reference.measures)
    assert store.embed_paths(photos, ENGINE).measured_now == 0


def test_clear_forgets_the_measures_too(tmp_path: Path, photos: list[Path]) -> None:
    store = EmbeddingStore(tmp_path / "store.sqlite3")
    store.embed_paths(photos[:1], ENGINE)
    store.clear(ENGINE)
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        assert db.execute("SELECT count(*) FROM measures").fetchone() == (0,)


# --------------------------------------------------------------------------- in a study


def test_a_study_has_every_measure_for_every_photo(shared_study) -> None:
    quality = shared_study.photo_quality
    assert quality.keys() == MEASURES.keys()
    for name, values in quality.items():
        assert values.shape == (len(shared_study.files),), name
    # The dlib chip always has its landmarks: every photo has a size and a pose.
    for name in ("inter_eye_distance", "sharpness", "luminance", "yaw", "roll"):
        assert np.isfinite(quality[name]).all(), name
    assert (quality["inter_eye_distance"] > 10).all()
