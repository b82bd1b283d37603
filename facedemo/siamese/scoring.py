"""A trained siamese run scoring face pairs: its best checkpoint on the run's test pairs
(``PairScores``), and a verifier for the Verify page. Studies of any engine's pairs (distances,
thresholds) are ``facedemo.evaluation``; this module feeds them probabilities.

The test pairs are rebuilt from the run's settings (same data set, split and
seed give the same pairs), so every evaluation of a run scores the same pairs
and runs with the same settings compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from facedemo import faces
from facedemo.errors import RunError
from facedemo.siamese.data import (
    DrawnPairs,
    FaceImages,
    FixedPairBatches,
    all_pairs,
    load_faces,
    load_split,
    resize_face,
)
from facedemo.siamese.model import INPUT_DTYPE, takes_raw_pixels
from facedemo.siamese.runs.settings import read_settings, read_split_record
from facedemo.siamese.runs.status import checkpoint_path
from facedemo.thresholds import RocCurve, analyse, most_wrong

#: Probability from which a pair counts as "same person".
DECISION_THRESHOLD = 0.5

#: The same rule for the analysis core's distances (1 - probability): same if distance <= this.
DISTANCE_THRESHOLD = 1 - DECISION_THRESHOLD

#: Probabilities are clipped this far from 0 and 1 for the log loss, as Keras does.
EPSILON = 1e-7


def pair_distance(probability: np.ndarray) -> np.ndarray:
    """1 - P(same person) as float32: the distance the threshold analysis works on."""
    return (1 - np.asarray(probability, dtype=np.float32)).astype(np.float32)


@dataclass(frozen=True)
class PairScores:
    """Scores of a model on labelled pairs: per-pair probabilities and the summaries of them.

    ``roc`` (and ``auc``) need both kinds of pair and are None otherwise; its thresholds
    are distances (1 - probability), ascending.
    """

    same: np.ndarray
    probability: np.ndarray
    loss: float
    accuracy: float
    auc: float | None
    roc: RocCurve | None
    confusion_matrix: np.ndarray

    def most_wrong(self, limit: int) -> np.ndarray:
        """Indices of misclassified pairs, the most confident mistakes first."""
        said_same = pair_distance(self.probability) <= DISTANCE_THRESHOLD
        error = np.abs(self.probability - self.same)
        return most_wrong(said_same != self.same, error, limit)

    def to_json(self) -> dict[str, Any]:
        """The summary as eval.json holds it: ROC points from "nobody is the same person"
        on, with probability thresholds (the first capped at 1 instead of infinity)."""
        roc = {"false_positive_rate": [], "true_positive_rate": [], "thresholds": []}
        if self.roc is not None:
            probability = 1.0 - self.roc.thresholds.astype(np.float64)
            roc = {
                "false_positive_rate": self.roc.fpr.tolist(),
                "true_positive_rate": self.roc.tpr.tolist(),
                "thresholds": np.minimum(probability, 1.0).tolist(),
            }
        return {
            "pairs": len(self.same),
            "threshold": DECISION_THRESHOLD,
            "loss": self.loss,
            "accuracy": self.accuracy,
            "auc": self.auc,
            "confusion_matrix": self.confusion_matrix.tolist(),
            "roc": roc,
        }


def score_pairs(same: np.ndarray, probability: np.ndarray) -> PairScores:
    """Log loss, and from the threshold analysis of ``1 - probability``: accuracy at
    ``DECISION_THRESHOLD``, ROC, AUC and confusion matrix.

    The confusion matrix rows are the truth (different, same), its columns the
    verdict: ``[[tn, fp], [fn, tp]]``.
    """
    same = np.asarray(same, dtype=bool)
    probability = np.asarray(probability, dtype=np.float32)
    clipped = np.clip(probability, EPSILON, 1 - EPSILON)
    loss = float(-np.mean(np.where(same, np.log(clipped), np.log(1 - clipped))))
    distance = pair_distance(probability)
    if 0 < same.sum() < len(same):
        analysis = analyse(distance, same)
        verdicts = analysis.at(DISTANCE_THRESHOLD)
        roc = analysis.roc()
        return PairScores(
            same, probability, loss, verdicts.accuracy, roc.auc, roc, verdicts.confusion_matrix
        )
    # One kind of pair only: no curve, each verdict is simply right or wrong.
    right = int(np.count_nonzero((distance <= DISTANCE_THRESHOLD) == same))
    wrong = len(same) - right
    matrix = [[0, 0], [wrong, right]] if same.any() else [[right, wrong], [0, 0]]
    return PairScores(
        same, probability, loss, right / max(len(same), 1), None, None, np.array(matrix)
    )


def evaluate_model(
    model: keras.Model,
    faces: FaceImages,
    pairs: DrawnPairs,
    batch_size: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> PairScores:
    """Score ``model`` on the fixed ``pairs`` of ``faces``."""
    batches = FixedPairBatches(faces, pairs, batch_size)
    probability = model.predict(batches, verbose=0, callbacks=list(callbacks))
    return score_pairs(pairs.same, probability[:, 0])


def _taking_raw_pixels(model: keras.Model) -> keras.Model:
    """``model`` if it takes uint8 faces; a run saved before the rescaling moved into the
    network (it takes floats in [-1, 1]) gets that rescaling put in front of it."""
    if takes_raw_pixels(model):
        return model
    faces = [keras.Input(tuple(x.shape[1:]), dtype=INPUT_DTYPE) for x in model.inputs]
    scaled = [keras.layers.Rescaling(1 / 127.5, offset=-1.0)(face) for face in faces]
    return keras.Model(faces, model(scaled))


def load_model(run_dir: Path, which: str = "best") -> keras.Model:
    """A run's ``"best"`` or ``"last"`` saved model, ready to predict on uint8 faces."""
    return _taking_raw_pixels(
        keras.models.load_model(checkpoint_path(run_dir, which), compile=False)
    )


def evaluate_run(run_dir: Path) -> PairScores:
    """Score a run's best checkpoint on its test pairs, rebuilt from the run's settings."""
    settings = read_settings(run_dir)
    test = load_split(settings).test
    recorded = read_split_record(run_dir).get("test", {})
    if recorded.get("people") != list(test.identity_names):
        raise RunError(
            f"The data set at {settings.dataset} is not the one run {run_dir.name} was trained "
            "on (its test people differ), so its test pairs cannot be rebuilt."
        )
    faces = load_faces(test, settings.image_size, settings.framing)
    pairs = all_pairs(test, settings.test_pairs, settings.seed, settings.same_person_probability)
    return evaluate_model(load_model(run_dir), faces, pairs, settings.batch_size)


@dataclass(frozen=True)
class SiameseAnswer:
    """A siamese run's P(same person) for two faces, and the crops it was given."""

    probability: float
    crops: tuple[np.ndarray, ...]

    @property
    def verdict(self) -> str:
        return "same person" if self.probability >= DECISION_THRESHOLD else "different people"


class Verifier:
    """Same-person probability for two face crops, from a trained run's best model."""

    def __init__(self, model: keras.Model, image_size: int) -> None:
        self.model = model
        self.image_size = image_size

    def answer(self, verification: faces.Verification) -> SiameseAnswer:
        """The run's answer on a Verify result: the two verified faces cut with LFW's framing
        (``faces.face_context``: the face at about half the square, as the network's
        training photos show it), and the verdict at ``DECISION_THRESHOLD``."""
        crops = tuple(
            faces.face_context(photo.image, face)
            for photo, face in zip(verification.photos, verification.faces, strict=True)
        )
        return SiameseAnswer(self.probability(*crops), crops)

    def probability(self, face_a: np.ndarray, face_b: np.ndarray) -> float:
        """Two RGB uint8 face crops (any size, squashed to the run's) → P(same person)."""
        for face in (face_a, face_b):
            if face.ndim != 3 or face.shape[-1] != 3:
                raise ValueError(f"Expected an RGB image of shape (h, w, 3), got {face.shape}.")
        pair = [resize_face(face, self.image_size)[None] for face in (face_a, face_b)]
        return float(keras.ops.convert_to_numpy(self.model(pair, training=False))[0, 0])


def load_verifier(run_dir: Path) -> Verifier:
    """The verifier of a run's best checkpoint (for the Verify page's "Siamese: <run>")."""
    return Verifier(load_model(run_dir), read_settings(run_dir).image_size)
