"""live: faces boxed and judged on clips made of the shared photos, embedded only when needed."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from facedemo import clips, faces, live
from facedemo.drawing import OTHER_COLOUR, USED_COLOUR, draw_live_faces
from facedemo.errors import NoFaceError, SettingError

PERSON_A, OTHER_PHOTO_OF_A, PERSON_B = "img1.jpg", "img2.jpg", "img3.jpg"  # Jolie, Jolie, Aniston


@pytest.fixture(scope="module")
def reference(shared_images: Path) -> np.ndarray:
    """The embedding of another photo of person A, as the Verify page computes it."""
    return faces.analyse_photo(shared_images / OTHER_PHOTO_OF_A).embeddings[0]


@pytest.fixture(scope="module")
def settings(reference: np.ndarray) -> live.LiveSettings:
    engine = faces.DEFAULT_ENGINE
    return live.verify_settings(engine, reference, faces.default_threshold("Dlib", "cosine"))


@pytest.fixture(scope="module")
def clip(shared_images: Path) -> list[np.ndarray]:
    """One second of person A, then one of person B, in the same place of the frame."""
    return clips.clip_frames([shared_images / PERSON_A, shared_images / PERSON_B], 1.0)


@pytest.fixture
def embed_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many faces each call of faces.embed was given."""
    calls: list[int] = []
    real_embed = faces.embed

    def counting_embed(crops, model=faces.DEFAULT_ENGINE.model):
        calls.append(len(crops))
        return real_embed(crops, model)

    monkeypatch.setattr(faces, "embed", counting_embed)
    return calls


def test_person_a_then_b_against_a_photo_of_a(clip, settings, embed_calls) -> None:
    processor = live.FrameProcessor(settings)
    results = [processor.process(frame) for frame in clip]
    half = len(clip) // 2
    assert all(result.faces for result in results)  # a box on every frame
    largest = [result.faces[0] for result in results]
    assert {face.label.text for face in largest[:half]} == {"Same person"}
    assert {face.label.text for face in largest[half:]} == {"Different person"}
    threshold = settings.judge.threshold
    assert all(face.label.distance <= threshold for face in largest[:half])
    assert all(face.label.distance > threshold for face in largest[half:])
    # Each face is embedded when it appears, when it changes (A becomes B) and every
    # REFRESH_FRAMES frames; the frames in between reuse the label.
    assert largest[0].fresh and largest[half].fresh
    assert not largest[1].fresh
    assert len(embed_calls) <= len(clip) // 3
    assert sum(result.embedded for result in results) == sum(embed_calls)
    for face, frame in zip(largest, clip, strict=True):
        x, y, w, h = face.box
        assert x >= 0 and y >= 0 and x + w <= frame.shape[1] and y + h <= frame.shape[0]


def test_a_still_face_is_embedded_again_every_few_frames(shared_images, settings, embed_calls):
    frames = clips.photo_frames(shared_images / PERSON_A, 2 * live.REFRESH_FRAMES, sway=0)
    processor = live.FrameProcessor(settings)
    fresh = [processor.process(frame).faces[0].fresh for frame in frames]
    assert fresh == [True, False, False, False, False] * 2
    assert embed_calls == [1, 1]


def test_new_settings_relabel_the_next_frame(clip, settings, embed_calls) -> None:
    processor = live.FrameProcessor(settings)
    assert processor.process(clip[0]).faces[0].label.text == "Same person"
    strict = live.verify_settings(settings.engine, settings.judge.reference, 0.0)
    processor.configure(strict)
    relabelled = processor.process(clip[1]).faces[0]
    assert relabelled.fresh and relabelled.label.text == "Different person"
    assert len(embed_calls) == 2
    processor.configure(replace(strict))  # equal settings keep the labels
    assert not processor.process(clip[2]).faces[0].fresh


def test_identify_names_each_face_after_the_closest_person(
    clip, settings, shared_data: Path, shared_gallery
) -> None:
    from facedemo import datasets, identify

    dataset = datasets.load_identity_dataset(shared_data)
    others = [i for i, path in enumerate(dataset.paths) if path.name not in (PERSON_A, PERSON_B)]
    gallery = identify.build_gallery(dataset.subset(others))  # the clip's photos left out
    engine, threshold = settings.engine, faces.default_threshold("Dlib", "cosine")
    processor = live.FrameProcessor(live.identify_settings(engine, gallery, threshold))
    half = len(clip) // 2
    names = [processor.process(frame).faces[0].label for frame in clip]
    assert {label.text for label in names[:half]} == {"Angelina Jolie"}
    assert {label.text for label in names[half:]} == {"Jennifer Aniston"}
    assert all(label.match and label.distance <= threshold for label in names)
    processor.configure(live.identify_settings(engine, gallery, 0.0))
    nobody = processor.process(clip[0]).faces[0].label
    assert (nobody.text, nobody.match) == ("unknown", False)


def test_a_frame_without_a_face_has_no_box(settings) -> None:
    grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    result = live.FrameProcessor(settings).process(grey)
    assert result.faces == () and result.embedded == 0


def test_detect_frame_finds_the_boxes_detect_finds(clip) -> None:
    engine = replace(faces.DEFAULT_ENGINE, max_side=live.DETECTION_SIDE)
    fast = faces.detect_frame(clip[0], engine)
    slow = faces.detect(clip[0], engine)
    assert [face.box for face in fast] == [face.box for face in slow]
    np.testing.assert_array_equal(fast[0].crop, slow[0].crop)


def test_face_change_tells_a_sway_from_another_person(clip) -> None:
    engine = replace(faces.DEFAULT_ENGINE, max_side=live.DETECTION_SIDE)
    half = len(clip) // 2
    a_now, a_later, b = (faces.detect_frame(clip[i], engine)[0].crop for i in (0, 3, half))
    assert live.face_change(a_now, a_now) == 0.0
    assert live.face_change(a_now, a_later) < live.CHANGE_THRESHOLD
    assert live.face_change(a_now, b) > live.CHANGE_THRESHOLD


def test_reference_judge_uses_the_metric_and_threshold(reference) -> None:
    judge = live.ReferenceJudge(reference, "euclidean", 0.5)
    others = np.stack([reference, reference + 1.0])
    same, different = judge(others)
    assert same == live.Label("Same person", True, 0.0)
    assert different.text == "Different person" and not different.match
    expected = float(faces.distances(reference + 1.0, reference, "euclidean")[0])
    assert different.distance == pytest.approx(expected)


def test_labels_are_drawn_in_their_colours(clip, settings) -> None:
    result = live.FrameProcessor(settings).process(clip[0])
    drawn = draw_live_faces(clip[0], result.faces)
    assert drawn.shape == clip[0].shape and drawn is not clip[0]
    x, y, _, h = result.faces[0].box
    assert tuple(drawn[y + h // 2, x]) == USED_COLOUR  # left edge of the box
    mismatch = live.LiveFace((10, 10, 50, 50), live.Label("Different person", False, 0.2), True)
    assert tuple(draw_live_faces(clip[0], [mismatch])[35, 10]) == OTHER_COLOUR
    assert draw_live_faces(clip[0], []) is clip[0]


def test_analyser_answers_on_its_own_thread_and_never_blocks_the_video(clip, settings) -> None:
    analyser = live.LiveAnalyser(live.FrameProcessor(settings))
    started = time.perf_counter()
    first = analyser.annotate(clip[0])
    assert time.perf_counter() - started < 0.5  # the first frame loads nothing
    np.testing.assert_array_equal(first, clip[0])  # no answer yet: the frame as it came
    deadline = time.monotonic() + 60
    while analyser.latest is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert analyser.latest.faces[0].label.text == "Same person"
    assert analyser.error is None
    drawn = analyser.annotate(clip[1])
    assert not np.array_equal(drawn, clip[1])  # boxed with the latest answer
    rates = analyser.rates()
    assert rates.frames_in > 0 and rates.frames_analysed > 0 and rates.verdicts > 0


def test_analyser_reports_a_user_error_and_goes_on(clip, settings) -> None:
    def broken(embeddings: np.ndarray) -> list[live.Label]:
        raise NoFaceError("Nothing to compare with.")

    analyser = live.LiveAnalyser(
        live.FrameProcessor(live.LiveSettings(settings.engine, broken, "broken"))
    )
    analyser.submit(clip[0])
    deadline = time.monotonic() + 60
    while analyser.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert analyser.error == "Nothing to compare with."
    analyser.processor.configure(settings)
    analyser.submit(clip[1])
    while analyser.latest is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert analyser.latest.faces and analyser.error is None


def test_clips_round_trip_through_y4m(shared_images: Path, tmp_path: Path) -> None:
    frames = clips.clip_frames([shared_images / PERSON_A], 0.3)
    path = clips.write_y4m(frames, tmp_path / "clip.y4m")
    header = path.read_bytes().split(b"\n", 1)[0]
    assert header == b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg"
    back = list(clips.read_y4m(path))
    assert len(back) == len(frames) == 3
    error = np.abs(back[0].astype(int) - frames[0].astype(int)).mean()
    assert error < 4  # 4:2:0 chroma and rounding, nothing more


def test_webrtc_needs_an_address_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import aioice.ice

    assert all(address not in ("127.0.0.1", "::1") for address in live.webrtc_host_addresses())
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [])
    assert live.webrtc_host_addresses() == []


def test_embedding_process_gives_this_process_embeddings(clip) -> None:
    engine = replace(faces.DEFAULT_ENGINE, max_side=live.DETECTION_SIDE)  # as the processor's
    crops = [faces.detect_frame(frame, engine)[0].crop for frame in clip[:2]]
    child = live.EmbeddingProcess()
    try:
        np.testing.assert_allclose(child(crops, "Dlib"), faces.embed(crops, "Dlib"), atol=1e-6)
        with pytest.raises(SettingError, match="Unknown model 'Nope'"):
            child(crops, "Nope")  # a user error crosses back with its sentence
        processor = live.FrameProcessor(
            live.verify_settings(faces.DEFAULT_ENGINE, child(crops[:1], "Dlib")[0], 0.07),
            embedder=child,
        )
        assert processor.process(clip[0]).faces[0].label.distance == pytest.approx(0, abs=1e-5)
    finally:
        child.close()
