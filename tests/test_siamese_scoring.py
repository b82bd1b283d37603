"""Scoring pairs: the threshold analysis core gives the same numbers scikit-learn does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from facedemo.siamese.scoring import score_pairs


def scored_pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    same = rng.random(500) < 0.4
    probability = np.clip(rng.normal(np.where(same, 0.7, 0.35), 0.2), 0, 1)
    probability[:20] = 0.5  # exactly at the threshold: "same person"
    return same, np.round(probability, 2).astype(np.float32)  # ties, as a sigmoid gives


def test_scores_agree_with_scikit_learn() -> None:
    same, probability = scored_pairs()
    scores = score_pairs(same, probability).to_json()
    said_same = probability >= 0.5
    assert scores["threshold"] == 0.5 and scores["pairs"] == 500
    assert scores["accuracy"] == pytest.approx(np.mean(said_same == same))
    assert scores["confusion_matrix"] == confusion_matrix(same, said_same).tolist()
    assert scores["auc"] == pytest.approx(roc_auc_score(same, probability))
    fpr, tpr, thresholds = roc_curve(same, probability, drop_intermediate=False)
    roc = scores["roc"]
    assert np.allclose(roc["false_positive_rate"], fpr) and np.allclose(
        roc["true_positive_rate"], tpr
    )
    assert np.allclose(roc["thresholds"], np.minimum(thresholds, 1.0))
    assert set(scores) == {
        "pairs",
        "threshold",
        "loss",
        "accuracy",
        "auc",
        "confusion_matrix",
        "roc",
    }


def test_the_most_wrong_pairs_are_the_confident_mistakes() -> None:
    same, probability = scored_pairs()
    evaluation = score_pairs(same, probability)
    wrong = evaluation.most_wrong(len(same))
    assert len(wrong) == np.sum((probability >= 0.5) != same)
    errors = np.abs(probability[wrong] - same[wrong])
    assert np.all(np.diff(errors) <= 0)


def test_one_kind_of_pair_has_no_curve() -> None:
    scores = score_pairs(np.ones(4, bool), np.array([0.9, 0.8, 0.4, 0.6])).to_json()
    assert scores["auc"] is None and scores["roc"]["false_positive_rate"] == []
    assert scores["confusion_matrix"] == [[0, 0], [1, 3]] and scores["accuracy"] == 0.75
    scores = score_pairs(np.zeros(2, bool), np.array([0.9, 0.1])).to_json()
    assert scores["confusion_matrix"] == [[1, 1], [0, 0]]
