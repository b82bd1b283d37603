"""An engine on an identity data set: every pair's distance and the analysis behind a threshold.

The notebook this project grew from called ``DeepFace.verify`` once per pair, embedding
every image again for every pair. Here each image is embedded once (and kept in the
embedding store), pairs are index arrays, and their distances one vectorised pass.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from facedemo import calibration, faces, people, thresholds
from facedemo.datasets import (
    IdentityDataset,
    Pairs,
    PairsTable,
    Progress,
    make_pairs,
    relative_path,
)
from facedemo.embeddings import EmbeddingStore
from facedemo.errors import DatasetError, SettingError

#: Pairs whose distances are computed in one numpy pass (bounds temporary memory).
DISTANCE_CHUNK = 1 << 22

#: Most different-person pairs the held-out thresholds use (a seeded sample beyond): five
#: choices of a threshold on LFW's 87.5 M pairs would take half a minute.
HELD_OUT_MAX_NEGATIVES = 2_000_000

#: The explorer's cap on different-person pairs (beyond it, a seeded sample), and the choices
#: it offers: LFW's 87.5 M pairs take a minute and several GB; 5 M take seconds. The library's
#: calls and the CLI take every pair unless given a cap.
DEFAULT_MAX_NEGATIVES = 5_000_000
MAX_NEGATIVES_CHOICES = (100_000, 1_000_000, DEFAULT_MAX_NEGATIVES, 20_000_000, 100_000_000)

#: The explorer starts LFW with the people who have at least this many photos: a few
#: hundred people instead of 5,749, so every pair is studied in seconds (2, the library's
#: default, takes everyone who can give a same-person pair).
EXPLORER_LFW_MIN_FACES = 10

#: Held-out columns of ``PairStudy.thresholds_table``: name and the rate (F1 and accuracy
#: at the study's own mix of same-person pairs, ``PairStudy.same_share``).
HELD_OUT_COLUMNS = {
    "heldout_far": "far",
    "heldout_frr": "frr",
    "heldout_f1": "f1",
    "heldout_accuracy": "accuracy",
}


@dataclass(frozen=True)
class ChosenThreshold:
    """A threshold an analyst chose on a study, handed to the Verify page for its engine."""

    threshold: float
    engine: faces.Engine
    dataset: str

    def applies_to(self, engine: faces.Engine) -> bool:
        """Whether it was chosen for ``engine``'s distances (same model, crop and metric)."""
        return engine == self.engine


@dataclass(frozen=True)
class PairStudy:
    """Every pair of a data set with its distance, and the threshold analysis over them.

    Pairs are index arrays into ``files`` / ``identities`` (one entry per usable image),
    so a study of millions of pairs holds numbers, not millions of names.
    """

    name: str
    engine_label: str
    analysis: thresholds.Analysis
    files: np.ndarray = field(repr=False)  # str per image, relative to the data set's folder
    identities: np.ndarray = field(repr=False)  # str per image ("" when unknown)
    first: np.ndarray = field(repr=False)  # int32 index into files, one per pair
    second: np.ndarray = field(repr=False)
    same: np.ndarray = field(repr=False)  # bool per pair
    distances: np.ndarray = field(repr=False)  # float32 per pair
    failed_images: tuple[tuple[str, str], ...] = ()  # (file, why) for images with no face
    embedded_now: int = 0
    embedded_before: int = 0
    seconds: float = 0.0
    score_note: str = ""  # how a pairs file's scores were read (lower or higher is same)
    engine: faces.Engine | None = None  # the engine that measured the distances, if one did
    notes: tuple[str, ...] = ()  # what the data set's layout left out or merged, in words
    # Each photo's quality measures by name (facedemo.quality.MEASURES), one float per
    # entry of ``files`` (NaN where unmeasured); empty for scores measured elsewhere.
    photo_quality: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def engine_threshold(self) -> float | None:
        """The engine's own default threshold (asked once); None for scores measured
        elsewhere."""
        return (
            None
            if self.engine is None
            else faces.default_threshold(self.engine.model, self.engine.metric)
        )

    def chosen(self, threshold: float) -> ChosenThreshold:
        """``threshold``, chosen on this study, for the Verify page (needs an engine)."""
        if self.engine is None:
            raise DatasetError("Scores measured elsewhere have no engine to verify with.")
        return ChosenThreshold(float(threshold), self.engine, self.name)

    @property
    def starting_threshold(self) -> float:
        """Where a slider starts: the engine's default threshold, or for scores measured
        elsewhere (no engine to ask) the best-F1 suggestion."""
        if self.engine is not None:
            return self.engine_threshold
        return next(s.threshold for s in self.suggestions if s.name == "max_f1")

    @functools.cached_property
    def slider_range(self) -> tuple[float, float]:
        """The ends of a threshold slider: every distance, every suggestion (a suggestion
        can lie just outside the distances, such as 3σ or "FAR ≤ 0.1 %" on few strangers)
        and where the slider starts."""
        low, high = self.analysis.distance_range()
        chosen = [s.threshold for s in self.suggestions] + [self.starting_threshold]
        return min(low, *chosen), max(high, *chosen)

    @functools.cached_property
    def suggestions(self) -> list[thresholds.Suggestion]:
        """The threshold suggestions at the default target FAR, computed once."""
        return self.analysis.suggestions()

    @property
    def same_share(self) -> float:
        """The share of the study's pairs that are one person: the mix every held-out F1,
        precision and accuracy is stated at."""
        return self.analysis.positives / (self.analysis.positives + self.analysis.negatives)

    @functools.cached_property
    def curves(self) -> tuple[thresholds.RocCurve, thresholds.DetCurve, thresholds.PrCurve]:
        """ROC, DET and PR curves, computed once."""
        return self.analysis.roc(), self.analysis.det(), self.analysis.pr()

    def _frame(self, rows: np.ndarray, threshold: float) -> pd.DataFrame:
        first, second = self.first[rows], self.second[rows]
        accepted = self.distances[rows] <= np.float32(threshold)
        return pd.DataFrame(
            {
                "file_x": self.files[first],
                "file_y": self.files[second],
                "identity_x": self.identities[first],
                "identity_y": self.identities[second],
                "same_person": self.same[rows],
                "distance": self.distances[rows],
                "decision_same": accepted,
                "correct": accepted == self.same[rows],
            }
        )

    def pairs_frame(self, threshold: float) -> pd.DataFrame:
        """Every pair with distance and the decision at ``threshold`` (the CSV export)."""
        return self._frame(np.arange(len(self.distances)), threshold)

    def misclassified(self, threshold: float, limit: int = 12) -> pd.DataFrame:
        """The ``limit`` most confidently wrong decisions at ``threshold``, worst first."""
        limit_f32 = np.float32(threshold)
        margin = np.abs(self.distances - limit_f32)
        rows = thresholds.most_wrong((self.distances <= limit_f32) != self.same, margin, limit)
        frame = self._frame(rows, threshold)
        frame["margin"] = margin[rows]
        return frame

    @property
    def knows_people(self) -> bool:
        """Whether every image's person is known (not so for a pairs CSV's files)."""
        return bool(len(self.identities)) and bool(np.all(self.identities != ""))

    @functools.cached_property
    def person_index(self) -> tuple[np.ndarray, np.ndarray]:
        """The people's names (sorted) and each photo's person as an index into them."""
        return np.unique(self.identities, return_inverse=True)

    @functools.cached_property
    def by_person(self) -> people.PeoplePairs:
        """The pairs grouped by person (for intervals and per-person errors), built once."""
        if not self.knows_people:
            raise DatasetError(
                "Intervals and errors per person need to know who is in each photo, and this "
                "study does not (a pairs CSV); use an identity data set."
            )
        names, photo_person = self.person_index
        return people.PeoplePairs.from_pairs(
            names, photo_person, self.first, self.second, self.same, self.distances
        )

    def intervals(
        self, threshold: float, resamples: int = people.DEFAULT_RESAMPLES, seed: int = 0
    ) -> people.Intervals:
        """95 % intervals of FAR, FRR, precision and recall at ``threshold``, resampling
        people and, beside them, Wilson's on the pair counts."""
        return self.by_person.intervals(threshold, resamples, seed)

    def per_identity(self, threshold: float) -> pd.DataFrame:
        """Each person's false rejects and false accepts at ``threshold``, worst first, with
        one of their photos (``photo``, as in ``files``)."""
        table = self.by_person.per_person(threshold)  # refused first when people are unknown
        names, photo_person = self.person_index
        _, first_photo = np.unique(photo_person, return_index=True)
        photo_of = dict(zip(names, self.files[first_photo], strict=True))
        table["photo"] = table["identity"].map(photo_of)
        return table

    @functools.cached_property
    def calibration(self) -> calibration.Calibration:
        """P(same | distance) fitted on this study, out-of-fold figures by folds of people
        (of pairs for a pairs CSV), computed once."""
        first_person = second_person = None
        if self.knows_people:
            person = self.person_index[1]
            first_person, second_person = person[self.first], person[self.second]
        return calibration.fit(
            self.distances,
            self.same,
            first_person,
            second_person,
            engine=self.engine_label,
            dataset=self.name,
        )

    @functools.cached_property
    def calibration_or_why(self) -> calibration.Calibration | str:
        """``calibration``, or where too few pairs of a kind allow none the sentence why."""
        try:
            return self.calibration
        except SettingError as error:
            return str(error)

    def keep_calibration(self) -> None:
        """Save this study's P(same) as its engine's, for Verify, identify and the CLI (the
        study shown last wins); scores measured elsewhere have no engine to save it for, and
        a study too small to calibrate has nothing to save."""
        fitted = self.calibration_or_why
        if self.engine is None or isinstance(fitted, str):
            return
        if calibration.load(self.engine_label) != fitted:  # a page shows it on every rerun
            calibration.save(fitted)

    def held_out(
        self,
        folds: int = thresholds.DEFAULT_FOLDS,
        target_far: float = thresholds.DEFAULT_TARGET_FAR,
        seed: int = 0,
    ) -> list[thresholds.HeldOutSuggestion]:
        """Each suggestion rule chosen on some people's pairs and scored on other people's
        (``thresholds.held_out_suggestions``)."""
        if not self.knows_people:
            raise DatasetError(
                "Held-out thresholds split the people, and this study does not know who is in "
                "each photo (a pairs CSV); use an identity data set."
            )
        person = self.person_index[1]
        used = np.arange(len(self.same))
        different = np.flatnonzero(~self.same)
        if len(different) > HELD_OUT_MAX_NEGATIVES:
            rng = np.random.default_rng(seed)
            kept = rng.choice(different, HELD_OUT_MAX_NEGATIVES, replace=False)
            used = np.sort(np.concatenate([np.flatnonzero(self.same), kept]))
        return thresholds.held_out_suggestions(
            self.distances[used],
            self.same[used],
            person[self.first[used]],
            person[self.second[used]],
            folds=folds,
            seed=seed,
            target_far=target_far,
        )

    def held_out_or_why(
        self,
        folds: int = thresholds.DEFAULT_FOLDS,
        target_far: float = thresholds.DEFAULT_TARGET_FAR,
    ) -> list[thresholds.HeldOutSuggestion] | str:
        """``held_out()``, or where it cannot be done (no people, too few) the sentence why."""
        try:
            return self.held_out(folds, target_far)
        except DatasetError as error:
            return str(error)

    @functools.cached_property
    def held_out_default(self) -> list[thresholds.HeldOutSuggestion] | str:
        """``held_out_or_why()`` at the default folds and target FAR, computed once."""
        return self.held_out_or_why()

    @functools.cached_property
    def operating_points(self) -> list[thresholds.OperatingPoint]:
        """The analysis' operating points, computed once (each is a pass over every pair)."""
        return self.analysis.operating_points()

    @functools.cached_property
    def eer(self) -> thresholds.EqualErrorRate:
        """The equal error rate (FVC2000's), computed once per study: the one the EER
        suggestion, the summary, the CLI and an engine comparison all show."""
        return self.analysis.eer()

    def operating_points_frame(self) -> pd.DataFrame:
        """The operating points, one row each, with a note where the pair count cannot
        resolve the target FMR."""
        frame = pd.DataFrame([dataclasses.asdict(p) for p in self.operating_points])
        negatives = self.analysis.negatives
        frame["note"] = [
            "" if ok else f"below 1 in {negatives:,} different-person pairs: not resolvable"
            for ok in frame["resolvable"]
        ]
        return frame.drop(columns=["resolvable"])

    def thresholds_table(self, threshold: float) -> pd.DataFrame:
        """Each suggestion and ``threshold`` ("current") with its in-sample rates and, for the
        suggestions, the rates its rule reached on people it was not chosen on
        (``heldout_*``, NaN where unknown; F1 and accuracy at the study's mix) and the spread
        of its threshold over the folds."""
        table = pd.DataFrame(
            thresholds.results_table(self.analysis, [*self.suggestions, threshold])
        )
        table.loc[table.index[-1], "name"] = "current"
        held = self.held_out_default
        by_label = {} if isinstance(held, str) else {h.label: h for h in held}
        at_mix = {label: h.rates_at_mix(self.same_share) for label, h in by_label.items()}
        for column, rate in HELD_OUT_COLUMNS.items():
            table[column] = [at_mix[n][rate] if n in at_mix else np.nan for n in table["name"]]
        table["threshold_spread"] = [
            by_label[n].threshold_spread if n in by_label else np.nan for n in table["name"]
        ]
        return table

    def summary(
        self,
        target_far: float = thresholds.DEFAULT_TARGET_FAR,
        folds: int = thresholds.DEFAULT_FOLDS,
        threshold: float | None = None,
        prior: float | None = None,
    ) -> dict:
        """The numbers the CLI's ``--json`` prints. ``intervals`` and ``per_identity`` are at
        ``threshold`` (default: the best-F1 suggestion); ``heldout``, ``intervals`` and
        ``per_identity`` are None without people, ``heldout`` also with too few people to
        split (``heldout_note`` says why); each held-out rule's precision, F1 and accuracy
        are at the study's ``same_share`` (its FAR and FRR on its own ``positives`` and
        ``negatives``); ``calibration`` states its ``prior`` (default: the
        study's share of same-person pairs)."""
        eer = self.eer
        held_out = self.held_out_or_why(folds, target_far)
        held_out_note = held_out if isinstance(held_out, str) else None
        if threshold is None:
            threshold = next(s.threshold for s in self.suggestions if s.name == "max_f1")
        fitted = self.calibration_or_why
        return {
            "dataset": self.name,
            "engine": self.engine_label,
            "positives": self.analysis.positives,
            "negatives": self.analysis.negatives,
            "auc": self.curves[0].auc,
            "eer": eer.rate,
            "eer_threshold": eer.threshold,
            "eer_interval": [eer.low, eer.high],
            "d_prime": self.analysis.d_prime(),
            "operating_points": [dataclasses.asdict(point) for point in self.operating_points],
            "suggestions": [
                {"name": s.name, "label": s.label, "threshold": s.threshold, **s.metrics.rates()}
                for s in self.analysis.suggestions(target_far)
            ],
            "threshold": threshold,
            "heldout": None
            if held_out_note
            else [
                {
                    "name": h.name,
                    "threshold": h.metrics.threshold,
                    "thresholds": list(h.thresholds),
                    "threshold_spread": h.threshold_spread,
                    **h.rates_at_mix(self.same_share),
                    "same_share": self.same_share,
                    "positives": h.metrics.tp + h.metrics.fn,
                    "negatives": h.metrics.tn + h.metrics.fp,
                }
                for h in held_out
            ],
            "heldout_note": held_out_note,
            "intervals": self.intervals(threshold).as_dict() if self.knows_people else None,
            "per_identity": self.per_identity(threshold).to_dict("records")
            if self.knows_people
            else None,
            "calibration": None
            if isinstance(fitted, str)
            else {**fitted.as_dict(), "prior": fitted.study_prior if prior is None else prior},
            "calibration_note": fitted if isinstance(fitted, str) else None,
            "scores": self.score_note or None,
            "failed_images": [{"file": f, "reason": why} for f, why in self.failed_images],
            "notes": list(self.notes),
            "embedded_now": self.embedded_now,
            "embedded_before": self.embedded_before,
            "seconds": self.seconds,
        }


def pair_distances(embeddings: np.ndarray, pairs: Pairs, metric: str) -> np.ndarray:
    """Distances of every pair, by chunks of pairs so LFW-size lists fit in memory.

    Pairs listed row by row (``make_pairs``' different-person pairs) come as chunks whose
    first images span a few rows: their distances are one matrix product of those rows with
    every embedding, then a lookup, instead of gathering two rows per pair (about 65x faster
    on LFW's 87.5 M pairs, ``bench/bench_lfw_study.py``).
    """
    table = faces.DistanceTable(embeddings, metric)
    out = np.empty(len(pairs), dtype=np.float32)
    for start in range(0, len(pairs), DISTANCE_CHUNK):
        stop = start + DISTANCE_CHUNK
        out[start:stop] = table.lookup(pairs.first[start:stop], pairs.second[start:stop])
    return out


def study_dataset(
    dataset: IdentityDataset,
    engine: faces.Engine = faces.DEFAULT_ENGINE,
    store: EmbeddingStore | None = None,
    progress: Progress | None = None,
    max_negatives: int | None = None,
    seed: int = 0,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
) -> PairStudy:
    """Embed each image once (reusing the store), form the pairs, measure their distances.

    Images without a usable face are listed in ``failed_images`` and left out of the pairs.
    Each usable image's quality measures, kept by the store beside its vector, become
    ``photo_quality``. ``jobs`` and ``scheduler`` say where missing embeddings are computed
    (:meth:`EmbeddingStore.embed_paths`).
    """
    started = time.perf_counter()
    store = store or EmbeddingStore()
    embedded = store.embed_paths(dataset.paths, engine, progress, jobs=jobs, scheduler=scheduler)
    usable = dataset.subset(embedded.ok_indices)
    failed = tuple(
        (relative_path(dataset.root, dataset.paths[i]), why) for i, why in embedded.failures
    )
    if len(usable) < 2:
        raise DatasetError(
            f"Only {len(usable)} of {len(dataset)} images gave a face: nothing to pair. "
            "Try another detector."
        )
    pairs = make_pairs(usable, max_negatives=max_negatives, seed=seed)
    if pairs.positives == 0 or pairs.negatives == 0:
        raise DatasetError(
            "The data set needs at least one person with two photos and two different people "
            "to form same-person and different-person pairs."
        )
    distances = pair_distances(embedded.embeddings, pairs, engine.metric)
    return PairStudy(
        name=dataset.name,
        engine_label=engine.label,
        analysis=thresholds.analyse(distances, pairs.same),
        files=np.array([relative_path(dataset.root, path) for path in usable.paths]),
        identities=np.array(usable.identities),
        first=pairs.first,
        second=pairs.second,
        same=np.asarray(pairs.same, dtype=bool),
        distances=distances,
        failed_images=failed,
        embedded_now=embedded.embedded_now,
        embedded_before=embedded.embedded_before,
        seconds=time.perf_counter() - started,
        engine=engine,
        notes=dataset.notes,
        photo_quality=embedded.measures,  # rows of embeddings: one per usable image
    )


#: How a pairs file's column is read: "lower" means same person (a distance), "higher"
#: means same person (a similarity or probability), "auto" finds out.
SCORE_DIRECTIONS = ("auto", "lower", "higher")


def score_direction(values: np.ndarray, same: np.ndarray, scores: str) -> tuple[str, str]:
    """Whether lower or higher ``values`` mean "same person", and how that was decided:
    chosen, or detected because read the other way they would rank the pairs worse than
    chance (an AUC below 0.5)."""
    if scores not in SCORE_DIRECTIONS:
        raise DatasetError(
            f"Scores are 'lower' or 'higher' (means same person), or 'auto'; not {scores!r}."
        )
    if scores != "auto":
        return scores, f"{scores} means same person (as chosen)"
    auc = thresholds.analyse(values, same).roc().auc
    if auc >= 0.5:
        return "lower", f"lower means same person (detected: as a distance, AUC {auc:.3f})"
    return "higher", (
        f"higher means same person (detected: read as a distance it would rank the pairs "
        f"backwards, AUC {auc:.3f})"
    )


def study_pairs_table(table: PairsTable, column: str, scores: str = "auto") -> PairStudy:
    """The same study from scores measured elsewhere (a pairs CSV), no images needed.

    A column where higher means same person (a similarity, a siamese run's probability) is
    studied as the distance 1 - score, so every number and picture reads the same way.
    """
    if column not in table.distance_columns:
        raise DatasetError(
            f"The pairs file has no distance column '{column}'. "
            f"Choose one of: {', '.join(table.distance_columns)}."
        )
    values = table.distances(column)  # every one finite: load_pairs_csv refuses the rest
    same = np.asarray(table.same, dtype=bool)
    direction, note = score_direction(values, same, scores)
    distances = values if direction == "lower" else (1 - values).astype(np.float32)
    name = column if direction == "lower" else f"1 − {column}"
    files, codes = np.unique(
        np.concatenate([np.array(table.file_x), np.array(table.file_y)]), return_inverse=True
    )
    return PairStudy(
        name=column,
        engine_label=f"precomputed · {name}",
        analysis=thresholds.analyse(distances, same),
        files=files,
        identities=np.full(len(files), ""),
        first=codes[: len(values)].astype(np.int32),
        second=codes[len(values) :].astype(np.int32),
        same=same,
        distances=distances,
        score_note=note,
    )


def comparison_defaults(engine: faces.Engine) -> list[faces.Engine]:
    """The settings an engine comparison starts with: ``engine``, DeepFace's own way of
    finding faces (its opencv detector and eye alignment) with the same model, and every
    other model that works offline with its own settings (same metric)."""
    others = [
        faces.engine_for(model, engine)
        for model in faces.MODEL_WEIGHTS
        if model != engine.model and faces.model_availability(model).offline
    ]
    deepface_way = dataclasses.replace(engine, detector="opencv", alignment="detector")
    return list(dict.fromkeys([engine, deepface_way, *others]))


def compare_engines(
    dataset: IdentityDataset,
    engines: Sequence[faces.Engine],
    store: EmbeddingStore | None = None,
    progress: Progress | None = None,
    max_negatives: int | None = None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """AUC, EER and best accuracy of several engine settings on one data set, each on the
    same pairs (``max_negatives`` caps the different-person ones, as in ``study_dataset``;
    ``jobs`` and ``scheduler`` embed as there). Each study saves its calibration, as any
    study does."""
    rows = []
    for engine in engines:
        study = study_dataset(
            dataset, engine, store, progress, max_negatives, jobs=jobs, scheduler=scheduler
        )
        study.keep_calibration()
        best = next(s for s in study.suggestions if s.name == "max_accuracy")
        rows.append(
            {
                "setting": engine.label,
                "different_pairs": study.analysis.negatives,
                "auc": study.curves[0].auc,
                "eer": study.eer.rate,
                "best_accuracy": best.metrics.accuracy,
                "best_threshold": best.threshold,
                "failed_images": len(study.failed_images),
            }
        )
    return pd.DataFrame(rows)


#: Arrow-key presses that cross the explorer's threshold slider end to end, at most.
EXPLORER_SLIDER_PRESSES = 100


def explorer_slider_step(low: float, high: float) -> float:
    """The explorer slider's step over ``[low, high]``: the round number (1, 2 or 5 × 10^k)
    no finer than 1/EXPLORER_SLIDER_PRESSES of the range. A press then moves the threshold
    the 4-decimal thumb shows by a round amount large enough to be seen on the histogram
    (a thousandth of the range changed no number in twelve presses)."""
    rough = (high - low) / EXPLORER_SLIDER_PRESSES
    decade = 10.0 ** math.floor(math.log10(rough))
    return next(round(m * decade, 12) for m in (1, 2, 5, 10) if m * decade >= rough * 0.999999)
