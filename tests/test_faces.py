"""faces: detection, embeddings and verdicts on the shared real photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import facedemo
from facedemo import config, faces

SAME_PERSON = [
    ("img1.jpg", "img2.jpg"),  # Angelina Jolie
    ("img4.jpg", "img11.jpg"),
    ("img3.jpg", "img53.jpg"),  # Jennifer Aniston
    ("img53.jpg", "img56.jpg"),
    ("img8.jpg", "img9.jpg"),  # Scarlett Johansson
    ("img47.jpg", "img49.jpg"),
]
DIFFERENT_PEOPLE = [
    ("img1.jpg", "img3.jpg"),
    ("img2.jpg", "img12.jpg"),
    ("img3.jpg", "img8.jpg"),
    ("img9.jpg", "img54.jpg"),
    ("img4.jpg", "img47.jpg"),
    ("img11.jpg", "img56.jpg"),
]


@pytest.mark.parametrize(("first", "second"), SAME_PERSON)
def test_same_person_pairs_are_verified(shared_images: Path, first: str, second: str) -> None:
    result = facedemo.verify(shared_images / first, shared_images / second)
    assert result.threshold == pytest.approx(0.07)  # DeepFace's pre-tuned Dlib + cosine
    assert 0.0 <= result.distance <= result.threshold
    assert result.verified
    assert result.confidence > 50


@pytest.mark.parametrize(("first", "second"), DIFFERENT_PEOPLE)
def test_different_people_are_rejected(shared_images: Path, first: str, second: str) -> None:
    result = facedemo.verify(shared_images / first, shared_images / second)
    assert result.distance > result.threshold
    assert not result.verified
    assert result.confidence < 50


def test_deepface_alignment_and_every_metric_still_separate_a_clear_pair(
    shared_images: Path,
) -> None:
    same = (shared_images / "img1.jpg", shared_images / "img2.jpg")
    different = (shared_images / "img1.jpg", shared_images / "img3.jpg")
    for metric in faces.METRICS:
        kwargs = {"detector": "opencv", "metric": metric, "alignment": "detector"}
        near = facedemo.verify(*same, **kwargs)
        far = facedemo.verify(*different, **kwargs)
        assert near.distance < far.distance, metric
        assert near.threshold == pytest.approx(faces.default_threshold("Dlib", metric))


def test_given_threshold_decides_the_verdict(shared_images: Path) -> None:
    pair = (shared_images / "img1.jpg", shared_images / "img2.jpg")
    measured = facedemo.verify(*pair).distance
    assert facedemo.verify(*pair, threshold=measured).verified
    assert not facedemo.verify(*pair, threshold=measured * 0.99).verified
    with pytest.raises(facedemo.SettingError, match="threshold"):
        facedemo.verify(*pair, threshold=-1.0)


def test_paths_bytes_and_arrays_give_the_same_distance(shared_images: Path) -> None:
    path = shared_images / "img8.jpg"
    array = np.asarray(Image.open(path).convert("RGB"))
    by_path = facedemo.verify(path, shared_images / "img9.jpg").distance
    by_bytes = facedemo.verify(path.read_bytes(), shared_images / "img9.jpg").distance
    by_array = facedemo.verify(array, shared_images / "img9.jpg").distance
    assert by_path == pytest.approx(by_bytes, abs=1e-6)
    assert by_path == pytest.approx(by_array, abs=1e-6)


def test_couple_photo_has_two_faces_largest_first(shared_images: Path) -> None:
    found = facedemo.detect(shared_images / "couple.jpg")
    assert len(found) >= 2
    areas = [face.area for face in found]
    assert areas == sorted(areas, reverse=True)
    for face in found:
        _, _, w, h = face.box
        assert w > 40 and h > 40
        assert face.crop.shape == (faces.CHIP_SIZE, faces.CHIP_SIZE, 3)
        assert face.crop.dtype == np.uint8


def test_face_index_picks_another_face_of_the_couple(shared_images: Path) -> None:
    couple, reference = shared_images / "couple.jpg", shared_images / "img1.jpg"
    first = facedemo.verify(couple, reference, face_indices=(0, None))
    second = facedemo.verify(couple, reference, face_indices=(1, None))
    assert first.face_indices == (0, 0) and second.face_indices == (1, 0)
    assert first.faces[0].box != second.faces[0].box
    assert first.distance != pytest.approx(second.distance)
    with pytest.raises(
        facedemo.FaceIndexError,
        match=r"has 2 faces, indexed from 0 \(the largest\) to 1; there is no face 5\.",
    ):
        facedemo.verify(couple, reference, face_indices=(5, None))


def _with_exif_orientation(path: Path, orientation: int, transpose: Image.Transpose) -> bytes:
    """The photo stored sideways, with the EXIF tag that tells a viewer to turn it back."""
    stored = Image.open(path).convert("RGB").transpose(transpose)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def test_exif_rotated_phone_photo_is_turned_upright(shared_images: Path) -> None:
    original = shared_images / "img2.jpg"
    # Orientation 6: the viewer must rotate 90° clockwise, so the pixels are stored 90° CCW.
    sideways = _with_exif_orientation(original, 6, Image.Transpose.ROTATE_90)
    upright = facedemo.verify(original, sideways)
    assert upright.photos[1].image.shape == upright.photos[0].image.shape
    assert upright.distance < 0.01
    assert upright.faces[0].box == pytest.approx(upright.faces[1].box, abs=12)


def test_photo_without_a_face_says_so_and_can_be_forced(shared_images: Path) -> None:
    rng = np.random.default_rng(0)
    sky = np.clip(rng.normal(180, 8, (300, 400, 3)), 0, 255).astype(np.uint8)
    with pytest.raises(facedemo.NoFaceError, match="No face was found"):
        facedemo.verify(sky, shared_images / "img1.jpg")
    forced = facedemo.verify(sky, shared_images / "img1.jpg", enforce_detection=False)
    x, y, w, h = forced.faces[0].box
    assert (x, y) == (0, 0) and w >= 399 and h >= 299  # the whole photo stands in
    assert not forced.verified


def test_bad_photo_is_an_image_error(shared_images: Path) -> None:
    with pytest.raises(facedemo.ImageError, match="text file"):
        facedemo.verify(b"just some words", shared_images / "img1.jpg")


def test_unknown_settings_name_the_choices() -> None:
    with pytest.raises(facedemo.SettingError, match="Choose one of: Dlib"):
        faces.Engine(model="Dlibb")
    with pytest.raises(facedemo.SettingError, match="cosine"):
        faces.Engine(metric="manhattan")


@pytest.mark.parametrize("metric", faces.METRICS)
def test_distances_match_deepface(metric: str) -> None:
    from deepface.modules import verification

    rng = np.random.default_rng(1)
    first, second = rng.normal(size=(5, 128)), rng.normal(size=(5, 128))
    ours = faces.distances(first, second, metric)
    theirs = [verification.find_distance(a, b, metric) for a, b in zip(first, second, strict=True)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_embed_batches_match_single_embeddings(shared_images: Path) -> None:
    crops = [facedemo.detect(shared_images / name)[0].crop for name in ("img1.jpg", "img3.jpg")]
    batch = facedemo.embed(crops)
    assert batch.shape == (2, 128) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[1], facedemo.embed(crops[1:])[0], atol=1e-5)


# --------------------------------------------------------------------------- offline weights


@pytest.fixture
def empty_deepface_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DeepFace home with no weights, and every download sent to a closed local port."""
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    for variable in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return tmp_path


def test_offline_weights_are_placed_idempotently(empty_deepface_home: Path) -> None:
    first = config.install_offline_weights()
    assert set(first.placed) == set(config.OFFLINE_DLIB_WEIGHTS)
    again = config.install_offline_weights()
    assert again.placed == () and set(again.already_present) == set(config.OFFLINE_DLIB_WEIGHTS)
    assert faces.model_availability("Dlib").offline
    assert faces.detector_availability("dlib").offline


def test_users_own_weights_are_left_alone(empty_deepface_home: Path) -> None:
    weights = empty_deepface_home / ".deepface" / "weights"
    weights.mkdir(parents=True)
    own = weights / config.OFFLINE_DLIB_WEIGHTS[0]
    own.write_bytes(b"the user's own file")
    setup = config.install_offline_weights()
    assert own.read_bytes() == b"the user's own file"
    assert config.OFFLINE_DLIB_WEIGHTS[0] in setup.already_present


def test_catalogue_marks_what_needs_a_download(empty_deepface_home: Path) -> None:
    config.install_offline_weights()
    offline = {(entry.kind, entry.name) for entry in faces.catalogue() if entry.offline}
    assert {("model", "Dlib"), ("detector", "opencv"), ("detector", "dlib")} <= offline
    assert ("model", "VGG-Face") not in offline
    assert faces.model_availability("ArcFace").missing == ("arcface_weights.h5",)


@pytest.mark.parametrize(("task", "name"), [("model", "SFace"), ("detector", "yunet")])
def test_failed_download_names_what_is_missing_and_what_works(
    empty_deepface_home: Path, shared_images: Path, task: str, name: str
) -> None:
    settings = {"model": name} if task == "model" else {"detector": name}
    with pytest.raises(facedemo.WeightsUnavailableError) as caught:
        facedemo.verify(shared_images / "img1.jpg", shared_images / "img2.jpg", **settings)
    message = str(caught.value)
    assert f"The {name} {task} needs" in message
    assert "could not be downloaded" in message
    assert ("Dlib" if task == "model" else "opencv") in message


def test_face_context_is_a_square_around_the_face(shared_images: Path) -> None:
    photo = faces.analyse_photo(shared_images / "img1.jpg")
    face = photo.faces[0]
    context = faces.face_context(photo.image, face, scale=2.0)
    x, y, w, h = face.box
    height, width = context.shape[:2]
    assert (
        abs(height - width) <= 2 or height == photo.image.shape[0] or width == photo.image.shape[1]
    )
    assert height >= h and width >= w
    assert height <= 2 * max(w, h) + 2
    # The face's own pixels are inside the context crop.
    assert (context == photo.image[y + h // 2, x + w // 2]).all(axis=-1).any()


def test_a_photo_seen_recently_is_not_analysed_again(shared_images: Path) -> None:
    faces.forget_photos()
    first = faces.analyse_photo(shared_images / "img1.jpg")
    again = faces.analyse_photo((shared_images / "img1.jpg").read_bytes())  # other key: bytes
    assert again.timings["detect"] > 0.0
    repeated = faces.analyse_photo(shared_images / "img1.jpg")
    assert repeated.timings["detect"] == repeated.timings["embed"] == 0.0
    assert np.array_equal(repeated.embeddings, first.embeddings)
    faces.forget_photos()
    assert faces.analyse_photo(shared_images / "img1.jpg").timings["detect"] > 0.0


def test_every_alignment_has_a_short_name() -> None:
    assert faces.ALIGNMENT_NAMES.keys() == faces.ALIGNMENTS.keys()
    assert all(len(name) <= 22 for name in faces.ALIGNMENT_NAMES.values())  # whole in a sidebar


def test_engine_label_names_every_setting() -> None:
    label = faces.Engine(max_side=640).label
    assert label == "Dlib · opencv · dlib_chip · cosine · 640 px"


def test_comparable_engines_start_with_the_given_one() -> None:
    engine = faces.Engine(detector="skip", max_side=640)
    engines = faces.comparable_engines(engine)
    assert engines[0] == engine
    assert all(e.max_side == 640 and e.metric == engine.metric for e in engines)
    own_model = [e.model == engine.model for e in engines]
    assert own_model == sorted(own_model, reverse=True)  # its own model's settings first
    assert {("opencv", "detector"), ("dlib", "dlib_chip")} <= {
        (e.detector, e.alignment) for e in engines if e.model == engine.model
    }
    assert {e.model for e in engines} == {
        m for m in faces.MODEL_WEIGHTS if faces.model_availability(m).offline
    }
    assert len(set(engines)) == len(engines)


def test_two_starts_racing_to_place_the_weights_do_not_fail(empty_deepface_home: Path) -> None:
    import threading

    errors = []

    def start() -> None:
        try:
            config.install_offline_weights()
        except Exception as error:  # the race used to raise FileExistsError / SameFileError
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert faces.model_availability("Dlib").offline


@pytest.mark.parametrize("detector", ["opencv", "dlib"])
def test_boxes_found_without_the_eye_search_are_deepfaces_own(
    shared_images: Path, detector: str
) -> None:
    """The dlib chip and the margin crop skip DeepFace's eye search (a second cascade per
    face); the boxes and scores must stay the ones DeepFace.extract_faces gives."""
    from dataclasses import replace

    from deepface import DeepFace

    from facedemo import images

    engine = replace(faces.DEFAULT_ENGINE, detector=detector)
    for name in ("img1.jpg", "couple.jpg", "selfie-many-people.jpg"):
        image = images.load_image(shared_images / name)
        small, scale = images.downscale(image, engine.max_side)
        theirs = DeepFace.extract_faces(
            np.ascontiguousarray(small[:, :, ::-1]),
            detector_backend=detector,
            align=False,
            enforce_detection=False,
        )
        expected = sorted(
            (tuple(round(item["facial_area"][k] / scale) for k in "xywh"), item["confidence"])
            for item in theirs
        )
        found = sorted((face.box, face.score) for face in faces.detect(image, engine, False))
        assert found and found == expected, name


class _EdgeCascade:
    """OpenCV's face cascade, stood in for: one box that ends on the image's last column and
    row (a face cut by the frame), as detectMultiScale3 returns it."""

    def detectMultiScale3(self, image: np.ndarray, *args, **kwargs):
        height, width = image.shape[:2]
        return np.array([[width - 60, height - 70, 60, 70]]), None, np.array([5.0])


def test_a_box_on_the_edge_is_the_one_deepface_reports(
    shared_images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DeepFace reports a box on the right or bottom edge a pixel in; so must the path that
    skips its eye search (the same box, so the same chip and vector as before)."""
    from deepface import DeepFace

    from facedemo import images
    from facedemo.faces.loading import _build

    client = _build("face_detector", "opencv")
    monkeypatch.setitem(client.model, "face_detector", _EdgeCascade())
    image = images.load_image(shared_images / "img1.jpg")
    small, scale = images.downscale(image, faces.DEFAULT_ENGINE.max_side)
    (theirs,) = DeepFace.extract_faces(
        np.ascontiguousarray(small[:, :, ::-1]), detector_backend="opencv", align=False
    )
    expected = tuple(round(theirs["facial_area"][k] / scale) for k in "xywh")
    (face,) = faces.detect(image, faces.DEFAULT_ENGINE)
    assert face.box == expected
    assert face.box[0] + face.box[2] < image.shape[1]  # a pixel in, not on the edge
