"""The one package that runs face models: catalogue, detect, embed, compare, verify.

Photos go in as anything :func:`facedemo.images.load_image` takes; faces come out
as :class:`Face` (box in the photo's own pixels, detector score, aligned RGB crop)
and embeddings as float32 arrays. Two families of recognition models sit behind
the same :class:`Engine`: DeepFace's, and FaceNet-CASIA, a frozen TensorFlow graph
that OpenCV's dnn module runs. Each model is built once per process (DeepFace keeps
its own as singletons) and a missing weight file becomes a
:class:`~facedemo.errors.WeightsUnavailableError` with one sentence.

One module per job, every public name importable from here:

- ``engines``: the catalogue: models, detectors, alignments, metrics, :class:`Engine`,
  each model's own settings and default threshold, what works offline
- ``loading``: models built once per process, and the locks their calls take
- ``detection``: :class:`Face`, :func:`detect`, :func:`detect_frame`; the crops (dlib
  chip, FaceNet's margin), a face's five :func:`landmarks` and its surroundings
- ``embedding``: :func:`embed`, DeepFace's models and FaceNet-CASIA
- ``distance``: :func:`distances`, :class:`DistanceTable`
- ``verification``: :func:`analyse_photo` (and its cache of recent photos),
  :func:`compare`, :func:`verify`, :class:`Verification`

A name replaced here (a test's monkeypatch of ``faces.detect``) is what code outside
the package calls as ``faces.<name>``; the package's own modules call each other directly.
"""

from __future__ import annotations

from facedemo.faces.detection import (
    CHIP_PADDING,
    CHIP_SIZE,
    FACENET_MARGIN,
    FACENET_SIZE,
    NO_FACE,
    Face,
    detect,
    detect_frame,
    face_context,
    framed_face,
    landmarks,
)
from facedemo.faces.distance import DistanceTable, distance_from_similarity, distances
from facedemo.faces.embedding import embed
from facedemo.faces.engines import (
    ALIGNMENT_NAMES,
    ALIGNMENTS,
    DEFAULT_ENGINE,
    DETECTOR_WEIGHTS,
    FACENET,
    FACENET_COSINE_THRESHOLD,
    FACENET_THRESHOLDS,
    METRICS,
    MODEL_SETTINGS,
    MODEL_WEIGHTS,
    THRESHOLD_SLIDER_STEPS,
    Availability,
    Engine,
    catalogue,
    check_choice,
    comparable_engines,
    default_threshold,
    detector_availability,
    engine_for,
    model_availability,
    threshold_slider,
)
from facedemo.faces.loading import _facenet_net as _facenet_net  # tests clear its cache
from facedemo.faces.loading import prepare
from facedemo.faces.verification import (
    PHOTO_CACHE_SIZE,
    Photo,
    Verification,
    analyse_photo,
    compare,
    confidence,
    forget_photos,
    pick_face,
    verify,
)

__all__ = [
    "ALIGNMENTS",
    "ALIGNMENT_NAMES",
    "CHIP_PADDING",
    "CHIP_SIZE",
    "DEFAULT_ENGINE",
    "DETECTOR_WEIGHTS",
    "FACENET",
    "FACENET_COSINE_THRESHOLD",
    "FACENET_MARGIN",
    "FACENET_SIZE",
    "FACENET_THRESHOLDS",
    "METRICS",
    "MODEL_SETTINGS",
    "MODEL_WEIGHTS",
    "NO_FACE",
    "PHOTO_CACHE_SIZE",
    "THRESHOLD_SLIDER_STEPS",
    "Availability",
    "DistanceTable",
    "Engine",
    "Face",
    "Photo",
    "Verification",
    "analyse_photo",
    "catalogue",
    "check_choice",
    "comparable_engines",
    "compare",
    "confidence",
    "default_threshold",
    "detect",
    "detect_frame",
    "detector_availability",
    "distance_from_similarity",
    "distances",
    "embed",
    "engine_for",
    "face_context",
    "forget_photos",
    "framed_face",
    "landmarks",
    "model_availability",
    "pick_face",
    "prepare",
    "threshold_slider",
    "verify",
]
