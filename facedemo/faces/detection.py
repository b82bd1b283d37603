"""Faces found in a photo or a video frame, each with the crop its model sees.

A :class:`Face` is a box in the photo's own pixels, the detector's score and the aligned
RGB crop: dlib's 150 px chip from five landmarks, FaceNet's margin crop, or the detector's
own eye alignment. Detection runs on a copy shrunk to the engine's detection size; boxes
and crops are cut in full resolution. The dlib chip keeps the five landmarks it was cut
from (``Face.landmarks``); :func:`landmarks` finds them for a face cut any other way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facedemo import images
from facedemo.errors import NoFaceError
from facedemo.faces.engines import DEFAULT_ENGINE, Engine
from facedemo.faces.loading import _build, _deepface_lock, _shape_predictor

#: dlib's face chip: the size and padding its ResNet was trained with.
CHIP_SIZE = 150
CHIP_PADDING = 0.25

#: FaceNet-CASIA's input: the detector's box with a margin of 44 px for a box of 160 px
#: (22 px each side, scaled with the box), resized to a 160 px square. Sandberg's compare.py
#: adds 44 px of the photo around an MTCNN box; scaling it with the box keeps the crop the
#: same at any photo size, and close to the network's training crops (box + 44 px at
#: 182 px, cut to 160: 9-12 % of the box each side on CASIA's 250 px photos).
FACENET_SIZE = 160
FACENET_MARGIN = 44


@dataclass(frozen=True)
class Face:
    """One detected face: its box in the photo, the detector's score, the aligned crop."""

    box: tuple[int, int, int, int]  # x, y, width, height in the photo's own pixels
    score: float
    crop: np.ndarray = field(repr=False)  # RGB uint8, what the model sees
    whole_photo: bool = False  # no face was found: the whole photo stands in
    # dlib's five landmarks (x, y) in the photo's own pixels, float32 (5, 2), in its order:
    # two corners of the eye on the image's right, two of the other eye, the base of the
    # nose. Set by the dlib chip (it is cut from them); None for the other crops.
    landmarks: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def to_dict(self) -> dict[str, Any]:
        x, y, w, h = self.box
        return {"box": {"x": x, "y": y, "w": w, "h": h}, "score": self.score}


def _shape(image: np.ndarray, box: tuple[int, int, int, int]) -> Any:
    """dlib's 5-point shape of the face in ``box``. Call with the lock held."""
    import dlib

    x, y, w, h = box
    return _shape_predictor()(image, dlib.rectangle(x, y, x + w, y + h))


def _points(shape: Any) -> np.ndarray:
    """A dlib shape's points as float32 (n, 2), x then y."""
    return np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float32)


def _dlib_chip(image: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The 150 px chip dlib's ResNet expects, and the 5 landmarks inside ``box`` it is cut
    from (in the photo's pixels)."""
    import dlib

    shape = _shape(image, box)
    chip = np.asarray(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
    return chip, _points(shape)


def landmarks(image: np.ndarray, face: Face) -> np.ndarray:
    """dlib's five landmarks of ``face`` in ``image`` (the RGB uint8 photo it was found in,
    as :func:`facedemo.images.load_image` gives it), in the photo's own pixels:
    ``face.landmarks`` when the dlib chip already found them, else the 5-point model run on
    the face's box (about 1 ms). WeightsUnavailableError without the model's file."""
    if face.landmarks is not None:
        return face.landmarks
    with _deepface_lock:
        return _points(_shape(image, face.box))


def _margin_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """FaceNet's crop: ``box`` widened by ``FACENET_MARGIN`` per ``FACENET_SIZE`` pixels of
    box on each axis (half each side), clipped to the photo, resized to a square."""
    x, y, w, h = box
    grow = FACENET_MARGIN / FACENET_SIZE / 2  # of the box, on each side
    left, right = max(0, round(x - grow * w)), min(image.shape[1], round(x + w + grow * w))
    top, bottom = max(0, round(y - grow * h)), min(image.shape[0], round(y + h + grow * h))
    return images.resize(image[top:bottom, left:right], FACENET_SIZE, FACENET_SIZE)


def detect(
    photo: Any, engine: Engine = DEFAULT_ENGINE, enforce_detection: bool = True
) -> tuple[Face, ...]:
    """Every face in ``photo``, largest first.

    Detection runs on a copy shrunk to ``engine.max_side`` (it dominates the cost
    on large photos); boxes are reported, and dlib chips cut, in full resolution.
    Without ``enforce_detection`` a photo with no face yields the whole photo.
    """
    return _faces_in(images.load_image(photo), engine, enforce_detection)


#: What a photo without a face is told (``NoFaceError``).
NO_FACE = (
    "No face was found in this photo. Try a clearer, front-facing photo, another detector, "
    "or turn off 'require a face' to use the whole photo."
)


def _faces_in(image: np.ndarray, engine: Engine, enforce_detection: bool) -> tuple[Face, ...]:
    """:func:`detect` on an image already loaded (RGB uint8), so it is not checked twice."""
    if engine.alignment == "detector":
        return _aligned_by_deepface(image, engine, enforce_detection)
    small, scale = images.downscale(image, engine.max_side)
    with _deepface_lock:
        found = []
        for box, score in _regions(small, scale, image.shape, engine):
            crop, points = _crop(image, box, engine)
            found.append(Face(box, score, crop, landmarks=points))
        if not found:  # "skip" finds nothing by design: the photo is the face
            if enforce_detection and engine.detector != "skip":
                raise NoFaceError(NO_FACE)
            whole = (0, 0, image.shape[1], image.shape[0])
            crop, points = _crop(image, whole, engine)
            found = [Face(whole, 0.0, crop, whole_photo=True, landmarks=points)]
    return tuple(sorted(found, key=lambda face: face.area, reverse=True))


def _aligned_by_deepface(
    image: np.ndarray, engine: Engine, enforce_detection: bool
) -> tuple[Face, ...]:
    """Faces cut and turned by DeepFace.extract_faces (the detector's own eye alignment)."""
    from deepface import DeepFace

    small, scale = images.downscale(image, engine.max_side)
    with _deepface_lock:
        if engine.detector != "skip":
            _build("face_detector", engine.detector)
        try:
            found = DeepFace.extract_faces(
                np.ascontiguousarray(small[:, :, ::-1]),
                detector_backend=engine.detector,
                enforce_detection=enforce_detection,
                align=True,
                normalize_face=False,
            )
        except ValueError as error:
            if "could not be detected" not in str(error):
                raise
            raise NoFaceError(NO_FACE) from error
        faces = []
        for item in found:
            area = item["facial_area"]
            box = _clip_box(tuple(round(area[k] / scale) for k in "xywh"), image.shape)
            crop = np.clip(item["face"], 0, 255).astype(np.uint8)
            whole = (
                item["confidence"] == 0
                and box[2] * box[3] >= 0.98 * image.shape[0] * image.shape[1]
            )
            faces.append(Face(box, float(item["confidence"]), crop, whole_photo=whole))
    return tuple(sorted(faces, key=lambda face: face.area, reverse=True))


def _regions(
    small: np.ndarray, scale: float, shape: tuple[int, ...], engine: Engine
) -> list[tuple[tuple[int, int, int, int], float]]:
    """The detector's boxes (in the full photo's pixels) and scores on ``small``, the photo
    shrunk by ``scale``: the boxes and scores DeepFace.extract_faces gives without its
    alignment, found without its eye search. That search (a second Haar cascade on each
    face) only serves the detector's own alignment; the dlib chip and the FaceNet margin
    crop never read it, and it cost a tenth of embedding a photo. Call with the lock held.
    """
    import cv2

    if engine.detector == "skip":
        return []
    bgr = np.ascontiguousarray(small[:, :, ::-1])
    detector = _build("face_detector", engine.detector)
    if engine.detector == "opencv":  # DeepFace's OpenCvClient.detect_faces, eyes left out
        try:
            boxes, _, levels = detector.model["face_detector"].detectMultiScale3(
                bgr, 1.1, 10, outputRejectLevels=True
            )
        except cv2.error:
            boxes, levels = (), ()
        found = [(box, (100 - level) / 100) for box, level in zip(boxes, levels, strict=True)]
    else:
        found = [((r.x, r.y, r.w, r.h), r.confidence) for r in detector.detect_faces(bgr)]
    height, width = bgr.shape[:2]
    regions = []
    for (x, y, w, h), confidence in found:
        # As DeepFace.extract_faces does: a box whose clipped crop is empty is no face; the
        # box it reports keeps a pixel off the right and bottom edges.
        if min(width, x + w) <= max(0, x) or min(height, y + h) <= max(0, y):
            continue
        x, y = max(0, int(x)), max(0, int(y))
        w, h = min(width - x - 1, int(w)), min(height - y - 1, int(h))
        box = tuple(round(value / scale) for value in (x, y, w, h))
        regions.append((_clip_box(box, shape), round(float(confidence or 0), 2)))
    return regions


def _crop(
    image: np.ndarray, box: tuple[int, int, int, int], engine: Engine
) -> tuple[np.ndarray, np.ndarray | None]:
    """What ``engine``'s model sees of the face in ``box`` (dlib's chip or FaceNet's margin),
    and the landmarks the chip was cut from (None for the margin crop)."""
    if engine.alignment == "dlib_chip":
        return _dlib_chip(image, box)
    return _margin_crop(image, box), None


def detect_frame(frame: np.ndarray, engine: Engine = DEFAULT_ENGINE) -> tuple[Face, ...]:
    """Every face of a video frame (RGB uint8), largest first; a frame without one gives ().

    Live video's detector: the same as :func:`detect` without the whole-frame stand-in.
    """
    found = _faces_in(frame, engine, enforce_detection=False)
    return tuple(face for face in found if not face.whole_photo)


def face_context(image: np.ndarray, face: Face, scale: float = 2.0) -> np.ndarray:
    """A square cut of ``image`` centred on ``face``, ``scale`` times its box (LFW's framing).

    LFW photos, which the siamese CNN is trained on, show a face at about half the
    frame with hair and shoulders around it; a tight crop would be out of place.
    """
    x, y, w, h = face.box
    side = round(max(w, h) * scale)
    left, top = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    box = _clip_box((left, top, side, side), image.shape)
    return image[box[1] : box[1] + box[3], box[0] : box[0] + box[2]]


def framed_face(image: np.ndarray, engine: Engine = DEFAULT_ENGINE) -> np.ndarray:
    """The largest face of a loaded RGB image with its surroundings (``face_context``), as the
    Verify page shows faces to a siamese run; the whole image when no face is found."""
    found = _faces_in(image, engine, enforce_detection=False)
    return image if found[0].whole_photo else face_context(image, found[0])


def _clip_box(box: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    x, y = max(0, min(x, shape[1] - 1)), max(0, min(y, shape[0] - 1))
    return x, y, max(1, min(w, shape[1] - x)), max(1, min(h, shape[0] - y))
