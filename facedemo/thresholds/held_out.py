"""Thresholds chosen on some people and scored on others.

The people are dealt into folds (:func:`person_folds`); each suggestion rule chooses its
threshold on the pairs of the other folds' people and is scored on the pairs within a fold,
so :func:`held_out_suggestions` says how each rule does on people it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from facedemo.errors import DatasetError
from facedemo.thresholds.core import DEFAULT_TARGET_FAR, _checked, analyse, as_float32
from facedemo.thresholds.results import Metrics

#: Folds of people for held-out thresholds; fewer when the set has fewer people than
#: ``MIN_PEOPLE_PER_FOLD`` per fold.
DEFAULT_FOLDS = 5
MIN_PEOPLE_PER_FOLD = 2


@dataclass(frozen=True)
class HeldOutSuggestion:
    """A suggestion rule judged on people it was not chosen on.

    For each fold of people, the rule chooses its threshold on the pairs of the other folds'
    people and is scored on the pairs within that fold; ``metrics`` pools those counts over
    the folds (its ``threshold`` is the median of the ``thresholds`` chosen per fold). Pairs
    that join people of two folds are never scored, so the scored pairs hold far fewer
    different-person pairs than the study: compare ``rates_at_mix(study's share)``, not
    ``metrics``' own precision, F1 and accuracy, with the in-sample figures.
    """

    name: str
    label: str
    thresholds: tuple[float, ...]
    metrics: Metrics

    @property
    def threshold_spread(self) -> float:
        """Largest minus smallest threshold chosen over the folds."""
        return max(self.thresholds) - min(self.thresholds)

    def rates_at_mix(self, same_share: float) -> dict[str, float]:
        """The held-out FAR and FRR, and the precision, F1 and accuracy they give at
        ``same_share`` (``Metrics.rates_at_mix``)."""
        return self.metrics.rates_at_mix(same_share)


def person_folds(people: int, folds: int, seed: int) -> np.ndarray:
    """The fold (0 .. ``folds`` - 1) of each of ``people`` people: shuffled (seeded), the
    folds' sizes within one of each other."""
    fold_of = np.empty(people, dtype=np.int32)
    fold_of[np.random.default_rng(seed).permutation(people)] = np.arange(people) % folds
    return fold_of


def held_out_suggestions(
    distances: ArrayLike,
    labels: ArrayLike,
    first_person: ArrayLike,
    second_person: ArrayLike,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    target_far: float = DEFAULT_TARGET_FAR,
) -> list[HeldOutSuggestion]:
    """Every suggestion rule chosen on some people and scored on others (see
    ``HeldOutSuggestion``). ``first_person``/``second_person`` name each pair's two people
    as integers 0 .. P-1; ``folds`` drops to P // ``MIN_PEOPLE_PER_FOLD`` on small sets."""
    distances, is_same = _checked(distances, labels)
    first, second = np.asarray(first_person), np.asarray(second_person)
    people = int(max(first.max(), second.max())) + 1
    folds = min(folds, people // MIN_PEOPLE_PER_FOLD)
    if folds < 2:
        raise DatasetError(
            f"Held-out thresholds need at least {2 * MIN_PEOPLE_PER_FOLD} people, to choose on "
            f"some and test on others; this set has {people}."
        )
    fold_of = person_folds(people, folds, seed)
    fold_a, fold_b = fold_of[first], fold_of[second]
    chosen: dict[str, list[float]] = {}
    labels_of: dict[str, str] = {}
    accepted: dict[str, np.ndarray] = {}  # true and false accepts per rule, summed over folds
    tested = np.zeros(2, dtype=np.int64)  # same-person and different-person pairs scored
    for fold in range(folds):
        choose = (fold_a != fold) & (fold_b != fold)
        score = (fold_a == fold) & (fold_b == fold)
        if not score.any() or is_same[choose].all() or not is_same[choose].any():
            continue  # nothing to score here, or nothing to choose a threshold from
        rules = analyse(distances[choose], is_same[choose]).suggestions(target_far)
        scored, scored_same = distances[score], is_same[score]
        tested += (int(scored_same.sum()), int((~scored_same).sum()))
        for rule in rules:
            chosen.setdefault(rule.name, []).append(rule.threshold)
            labels_of[rule.name] = rule.label
            accept = scored <= as_float32(rule.threshold)
            counts = np.array([np.sum(accept & scored_same), np.sum(accept & ~scored_same)])
            accepted[rule.name] = accepted.get(rule.name, 0) + counts
    if not (tested > 0).all():
        raise DatasetError(
            "The folds held out no same-person or no different-person pair to score; the set "
            "needs more people with two or more photos."
        )
    return [
        HeldOutSuggestion(
            name,
            labels_of[name],
            tuple(values),
            Metrics.from_counts(
                float(np.median(values)), *map(int, accepted[name]), *map(int, tested)
            ),
        )
        for name, values in chosen.items()
    ]
