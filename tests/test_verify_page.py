"""The Verify page, driven through Streamlit's AppTest with real shared photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "verify.py")


@pytest.fixture
def page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    assert not app.exception
    return app


def gallery_photo(selectbox):
    """The analysed photo behind a gallery choice, as the page analyses it."""
    from facedemo import faces
    from facedemo.gallery import demo_gallery

    (photo,) = [photo for photo in demo_gallery() if photo.path.name == selectbox.value]
    return faces.analyse_photo(photo.path, faces.DEFAULT_ENGINE)


def _upload(app: AppTest, slot: str, path: Path) -> None:
    app.radio(key=f"source_{slot}").set_value("Upload").run()
    app.file_uploader(key=f"upload_{slot}").upload(path.name, path.read_bytes(), "image/jpeg")
    app.run()


def test_two_uploaded_photos_of_one_person_are_verified(page: AppTest, shared_images: Path):
    _upload(page, "A", shared_images / "img1.jpg")
    _upload(page, "B", shared_images / "img2.jpg")
    assert not page.exception and not page.error
    assert "Same person" in page.success[0].value
    distance = float(page.metric[0].value)
    assert 0 < distance <= float(page.metric[1].value)
    assert len(page.get("plotly_chart")) == 1


def test_two_people_get_the_other_verdict(page: AppTest, shared_images: Path) -> None:
    _upload(page, "A", shared_images / "img1.jpg")
    _upload(page, "B", shared_images / "img3.jpg")
    assert "Different people" in page.warning[0].value
    assert float(page.metric[0].value) > float(page.metric[1].value)


def test_text_file_shows_an_error_and_the_page_keeps_working(
    page: AppTest, shared_images: Path
) -> None:
    page.radio(key="source_A").set_value("Upload").run()
    page.file_uploader(key="upload_A").upload("notes.txt", b"not a photo at all", "text/plain")
    page.run()
    assert not page.exception
    assert "'notes.txt' is a text file, not an image" in page.error[0].value
    _upload(page, "A", shared_images / "img2.jpg")
    assert not page.error and not page.exception
    assert page.success or page.warning


def test_demo_gallery_and_face_choice_for_a_photo_with_two_faces(page: AppTest) -> None:
    # The gallery preselects two photos of one person, so the page answers at once.
    assert "Same person" in page.success[0].value
    assert "two people · couple.jpg" in page.selectbox(key="gallery_B").options
    page.selectbox(key="gallery_B").set_value("couple.jpg").run()
    chooser = page.selectbox(key="face_B")
    assert len(chooser.options) >= 2
    first_distance = page.metric[0].value
    chooser.set_value(1).run()
    assert page.metric[0].value != first_distance


def test_choosing_facenet_brings_its_detector_crop_and_threshold(page: AppTest) -> None:
    page.selectbox(key="detector").set_value("dlib").run()
    page.selectbox(key="model").set_value("FaceNet-CASIA").run()
    assert not page.exception and not page.error and not page.warning
    assert page.selectbox(key="detector").value == "mtcnn"
    assert page.selectbox(key="alignment").value == "margin"
    assert float(page.metric[1].value) == pytest.approx(0.55)
    assert "Same person" in page.success[0].value  # the gallery's preselected pair
    page.selectbox(key="model").set_value("Dlib").run()
    assert page.selectbox(key="detector").value == "opencv"
    assert page.selectbox(key="alignment").value == "dlib_chip"


def test_custom_threshold_flips_the_verdict(page: AppTest) -> None:
    assert "Same person" in page.success[0].value
    page.toggle(key="custom_threshold").set_value(True).run()
    page.slider(key="threshold_value").set_value(0.0).run()
    assert "Different people" in page.warning[0].value
    assert float(page.metric[1].value) == 0.0


def test_no_face_offers_to_retry_with_the_whole_photo(
    page: AppTest, caplog: pytest.LogCaptureFixture
) -> None:
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(90, 110, (240, 320, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "PNG")
    page.radio(key="source_A").set_value("Upload").run()
    page.file_uploader(key="upload_A").upload("wall.png", buffer.getvalue(), "image/png").run()
    assert "No face was found" in page.error[0].value
    page.button(key="retry_without_face").click().run()
    assert not page.error and not page.exception
    assert page.toggle(key="enforce_detection").value is False
    assert page.success or page.warning  # a verdict, from the whole photo
    # The walk saw Streamlit warn that the toggle had a default and a Session State value.
    assert "Session State API" not in caplog.text


def test_a_trained_siamese_run_answers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from siamese_support import tiny_run

    run_dir, _ = tiny_run()
    monkeypatch.setenv("FACEDEMO_RUNS", str(run_dir.parent))
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    assert f"Siamese: {run_dir.name}" in app.selectbox(key="siamese_run").options
    app.selectbox(key="siamese_run").set_value(f"Siamese: {run_dir.name}").run()
    assert not app.exception and not app.error
    siamese = next(m for m in app.metric if m.label.startswith("Siamese"))
    shown = float(siamese.value.rstrip("%")) / 100
    # The page's answer is the run's own model on the two LFW-framed face crops.
    from facedemo import faces
    from facedemo.siamese.scoring import load_verifier

    gallery = [app.selectbox(key=f"gallery_{slot}") for slot in "AB"]
    photos = [gallery_photo(box) for box in gallery]
    crops = [faces.face_context(p.image, p.faces[0]) for p in photos]
    expected = load_verifier(run_dir).probability(*crops)
    assert shown == pytest.approx(expected, abs=0.0006)
    assert any("The siamese CNN says" in c.value for c in app.caption)
    # A verdict on someone the network trained on is said to be no test of it.
    from facedemo.gallery import demo_gallery
    from facedemo.siamese import runs

    chosen = {box.value for box in gallery}
    people = {photo.identity for photo in demo_gallery() if photo.path.name in chosen}
    trained = runs.trained_people(run_dir)
    warned = [w.value for w in app.warning if "this network trained on" in w.value]
    assert bool(warned) == bool(people & trained)
    test_part = next(part for part in runs.read_split(run_dir) if part.part == "test")
    assert runs.trained_on_warning(run_dir, test_part.people) is None
    said = runs.trained_on_warning(run_dir, [sorted(trained)[0]])
    assert "was among the people this network trained on" in said
    assert test_part.display_names[0] in said  # and whose photos would test it


def test_detection_size_changes_what_the_detector_finds(page: AppTest) -> None:
    page.selectbox(key="gallery_B").set_value("selfie-many-people.jpg").run()
    page.selectbox(key="detection_size").set_value(480).run()
    small = len(page.selectbox(key="face_B").options)
    page.selectbox(key="detection_size").set_value(1024).run()
    large = len(page.selectbox(key="face_B").options)
    assert small < large  # measured: 3 faces at 480 px, 5 at 640 px and above


def test_without_demo_photos_the_page_offers_to_download_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facedemo import config

    monkeypatch.setenv("FACEDEMO_DEMO_DATA", str(tmp_path / "demo"))
    monkeypatch.setattr(config, "DEMO_DATA_URL", "http://127.0.0.1:9/dataset")  # nothing there
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    assert app.radio(key="source_A").options == ["Upload", "Webcam"]
    app.button(key="download_demo").click().run()
    assert not app.exception
    assert "could not be downloaded" in app.error[0].value
    assert app.radio(key="source_B").options == ["Upload", "Webcam", "Live camera"]  # still works


def test_a_damaged_demo_folder_is_a_warning_and_uploads_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_images: Path
) -> None:
    demo = tmp_path / "demo"
    (demo / "images").mkdir(parents=True)
    (demo / "identities.csv").write_text("file,identity\nmissing.jpg,Nobody\n")
    monkeypatch.setenv("FACEDEMO_DEMO_DATA", str(demo))
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    assert not app.exception
    assert app.warning[0].value.startswith("The demo gallery cannot be shown: ")
    assert "missing.jpg" in app.warning[0].value
    _upload(app, "A", shared_images / "img1.jpg")
    _upload(app, "B", shared_images / "img2.jpg")
    assert not app.exception and not app.error
    assert "Same person" in app.success[0].value


def test_a_calibrated_probability_replaces_deepface_confidence(
    page: AppTest, shared_images: Path, shared_study
) -> None:
    from facedemo import calibration, faces

    calibration.saved_path(faces.DEFAULT_ENGINE.label).unlink(missing_ok=True)
    _upload(page, "A", shared_images / "img1.jpg")
    _upload(page, "B", shared_images / "img3.jpg")
    labels = [m.label for m in page.metric]
    assert "DeepFace confidence" in labels  # no study of this engine yet: named as what it is
    assert any("not a probability" in c.value for c in page.caption)
    assert page.sidebar.slider(key="verify_prior").disabled  # nothing to act on yet
    assert any("nothing to act on" in c.value for c in page.sidebar.caption)

    calibration.save(shared_study.calibration)
    page.run()
    page.sidebar.slider(key="verify_prior").set_value(0.5).run()
    answer = next(m for m in page.metric if m.label == "P(same person)")
    distance = float(page.metric[0].value)
    expected = float(shared_study.calibration.probability(distance, 0.5))
    assert answer.value == calibration.probability_text(expected)
    assert answer.value == "< 0.1%"  # two people, far apart: small, but never "0"
    assert any(
        "calibrated on deepface-testset (Platt, 1,830 pairs), prior 50%" in c.value
        for c in page.caption
    )


def test_a_verdict_the_probability_does_not_back_is_explained(
    page: AppTest, shared_images: Path, shared_study
) -> None:
    from facedemo import decision, faces

    shared_study.keep_calibration()
    _upload(page, "A", shared_images / "img1.jpg")
    _upload(page, "B", shared_images / "img2.jpg")
    distance = float(page.metric[0].value)
    page.sidebar.toggle(key="custom_threshold").set_value(True).run()
    page.sidebar.slider(key="threshold_value").set_value(round(distance * 0.9, 4)).run()
    assert "Different people" in page.warning[0].value  # the threshold decides
    same = decision.decide(
        distance, round(distance * 0.9, 4), False, faces.DEFAULT_ENGINE.label, 0.5
    )
    assert same.p_same > 0.5
    shown = next(m for m in page.metric if m.label == "P(same person)")
    assert shown.value == decision.probability_text(same.p_same)  # one computation
    assert "both are right" in page.info[0].value
    assert any(
        f"even odds (50 %) lie at distance {same.even_odds_distance:.4f}" in c.value
        for c in page.caption
    )


IDENTIFY = "Who is this? (identify)"


def test_sidebar_engine_labels_are_short_enough_to_read() -> None:
    from facedemo import faces

    app = AppTest.from_file(PAGE, default_timeout=180)
    app.session_state["verify_mode"] = IDENTIFY
    app.session_state["identify_source"] = "Upload"  # nothing to analyse: the sidebar only
    app.run()
    assert not app.exception
    alignment = app.selectbox(key="alignment")
    assert alignment.options == list(faces.ALIGNMENT_NAMES.values())
    assert all(description in alignment.help for description in faces.ALIGNMENTS.values())
    offline = next(m.value for m in app.sidebar.markdown if m.value.startswith("**Offline now**"))
    assert "Models: Dlib, FaceNet-CASIA" in offline


def test_identify_mode_names_the_person_of_a_demo_photo(page: AppTest, shared_gallery) -> None:
    page.radio(key="verify_mode").set_value(IDENTIFY).run()
    assert not page.exception and not page.error
    assert page.title[0].value == "Identify: who is this?"
    assert "Angelina Jolie" in page.success[0].value  # the first demo photo, img1.jpg
    assert page.metric[0].value == "Angelina Jolie"
    assert float(page.metric[1].value) <= float(page.metric[2].value)
    assert any("img1.jpg itself is left out" in c.value for c in page.caption)
    ranked = [m.value for m in page.markdown if m.value.startswith("**") and "distance" in m.value]
    assert len(ranked) == 5 and ranked[0].startswith("**1. Angelina Jolie**")
    assert "**match**" in ranked[0] and all("**no match**" in r for r in ranked[1:])
    # the chosen photo, the photo with its face boxed, the aligned face, a thumbnail per person
    assert len(page.get("image")) == 3 + 5


def test_identify_mode_says_unknown_under_a_tiny_threshold(page: AppTest, shared_gallery) -> None:
    page.radio(key="verify_mode").set_value(IDENTIFY).run()
    page.toggle(key="custom_threshold").set_value(True).run()
    page.slider(key="threshold_value").set_value(0.0).run()
    assert not page.exception and not page.success
    assert page.warning[0].value.startswith("**Unknown** — nobody in the gallery")
    assert page.metric[0].value == "unknown"


def test_identify_mode_upload_and_folder_errors_are_sentences(
    page: AppTest, shared_gallery, shared_images: Path
) -> None:
    page.radio(key="verify_mode").set_value(IDENTIFY).run()
    page.radio(key="identify_source").set_value("Upload").run()
    page.file_uploader(key="identify_upload").upload("notes.txt", b"not a photo", "text/plain")
    page.run()
    assert not page.exception
    assert "'notes.txt' is a text file, not an image" in page.error[0].value
    photo = shared_images / "img11_reflection.jpg"
    page.file_uploader(key="identify_upload").upload(photo.name, photo.read_bytes(), "image/jpeg")
    page.run()
    assert not page.error and "Angelina Jolie" in page.success[0].value
    page.radio(key="identify_gallery_source").set_value("Folder on the server").run()
    page.text_input(key="identify_folder").input("/no/such/folder").run()
    assert not page.exception
    assert "/no/such/folder is not a folder" in page.error[0].value
    page.radio(key="verify_mode").set_value("Verify two photos").run()
    assert not page.exception and page.title[0].value == "Verify: same person or not?"


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list:
    """The analysers handed to the WebRTC video, which is stood in for: streamlit-webrtc needs
    a real server session (the browser tests drive it)."""
    from types import SimpleNamespace

    from pages import live_camera

    handed: list = []

    def webrtc_video(analyser):
        handed.append(analyser)
        return SimpleNamespace(state=SimpleNamespace(playing=False, signalling=False))

    monkeypatch.setattr(live_camera, "webrtc_video", webrtc_video)
    return handed


def test_live_camera_compares_the_video_with_photo_a(page: AppTest, streams: list) -> None:
    page.radio(key="source_B").set_value("Live camera").run()
    assert streams and streams[-1].processor.settings.engine.model == "Dlib"
    assert not page.exception and not page.error
    assert page.radio(key="source_A").options[-1] == "Webcam"  # photo A is never live
    texts = [block.value for block in page.markdown]
    assert any("The camera needs your permission and a secure page" in t for t in texts)
    assert any("plain `http://` address over the classroom network" in t for t in texts)
    assert page.toggle(key="live_without_webrtc").value is False
    assert any("Press **Start the camera**" in t for t in texts)  # WebRTC, not started
    assert not page.success and not page.warning  # no photo verdict in live mode
    page.toggle(key="live_without_webrtc").set_value(True).run()
    assert not page.exception and not page.error
    assert any("Waiting for the camera's first frame" in block.value for block in page.markdown)


def test_live_camera_without_a_network_streams_without_webrtc(
    page: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facedemo import live

    monkeypatch.setattr(live, "webrtc_host_addresses", lambda: [])
    page.radio(key="source_B").set_value("Live camera").run()
    assert not page.exception and not page.error
    assert "no network connection up" in page.warning[0].value
    assert not page.get("toggle") or all(t.key != "live_without_webrtc" for t in page.toggle)
    assert any("Waiting for the camera's first frame" in block.value for block in page.markdown)


def test_identify_mode_names_faces_on_the_live_camera(
    page: AppTest, shared_gallery, streams: list
) -> None:
    from facedemo import live

    page.radio(key="verify_mode").set_value(IDENTIFY).run()
    page.radio(key="identify_source").set_value("Live camera").run()
    assert not page.exception and not page.error
    judge = streams[-1].processor.settings.judge
    assert isinstance(judge, live.GalleryJudge) and len(judge.gallery.paths) == 61
    assert any(s.value.startswith("Live camera against") for s in page.subheader)
    assert any("secure page" in block.value for block in page.markdown)


def test_served_to_the_network_a_folder_needs_the_folder_root(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    import streamlit

    real = streamlit.get_option
    monkeypatch.setattr(
        streamlit, "get_option", lambda key: "0.0.0.0" if key == "server.address" else real(key)
    )
    monkeypatch.delenv("FACEDEMO_FOLDER_ROOT", raising=False)
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.session_state["verify_mode"] = IDENTIFY
    app.session_state["identify_source"] = "Upload"
    app.session_state["identify_gallery_source"] = "Folder on the server"
    app.session_state["identify_folder"] = str(shared_data)
    app.run()
    assert not app.exception
    assert "FACEDEMO_FOLDER_ROOT=/path/to/datasets" in app.error[0].value


def test_a_link_opens_the_pair_threshold_and_engine_it_names() -> None:
    """?gallery_B=…&custom_threshold=true&threshold_value=…&model=… opens that state; a
    photo the gallery does not have is said, and the page's own stays."""
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.query_params.update(
        {
            "gallery_B": "Angelina Jolie · img4.jpg",
            "custom_threshold": "true",
            "threshold_value": "0.02",
            "gallery_A": "Nobody · img999.jpg",
        }
    )
    app.run()
    assert not app.exception
    assert app.selectbox(key="gallery_B").value == "img4.jpg"
    assert app.selectbox(key="gallery_A").value == "img1.jpg"  # the default, said below
    assert app.slider(key="threshold_value").value == pytest.approx(0.02)
    threshold = next(m for m in app.metric if m.label == "Threshold")
    assert threshold.value == "0.0200"
    assert "Different people" in app.warning[0].value  # img1/img4: one person at 0.0285
    (note,) = [i.value for i in app.info if "The link asks for" in i.value]
    assert note.startswith("The link asks for the photo 'Nobody · img999.jpg', which is not")
