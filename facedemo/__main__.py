"""``python -m facedemo``: each page's job from the command line.

Every sub-command prints a person's sentence on stderr and exits 1 for an
error the user can fix (a :class:`~facedemo.errors.FaceDemoError`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from facedemo import (
    calibration,
    config,
    datasets,
    decision,
    evaluation,
    faces,
    identify,
    thresholds,
)
from facedemo.embeddings import EmbeddingStore
from facedemo.errors import DatasetError, FaceDemoError
from facedemo.files import write_csv_atomic
from facedemo.quality.study import pairs_export, quality_summary
from facedemo.siamese import cli as siamese_cli


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """The model / detector / metric / alignment options every embedding command shares."""
    default = faces.DEFAULT_ENGINE
    own = "; ".join(f"{m}: {d}, {a}" for m, (d, a) in faces.MODEL_SETTINGS.items())
    parser.add_argument("--model", default=default.model, choices=list(faces.MODEL_WEIGHTS))
    parser.add_argument(
        "--detector",
        choices=list(faces.DETECTOR_WEIGHTS),
        help=f"default: the model's own ({own}), else {default.detector}",
    )
    parser.add_argument("--metric", default=default.metric, choices=list(faces.METRICS))
    parser.add_argument(
        "--alignment",
        choices=list(faces.ALIGNMENTS),
        help=f"default: the model's own, else {default.alignment}",
    )
    parser.add_argument(
        "--max-side",
        type=whole_number_from(1),
        default=default.max_side,
        help="shrink photos to this long side before detection (default %(default)s)",
    )


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """--jobs and --scheduler: where the photos the store lacks are embedded."""
    parser.add_argument(
        "--jobs",
        type=whole_number_from(1),
        default=None,
        help="worker processes that embed photos (default: FACEDEMO_JOBS, else one per "
        "core; 1 embeds in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="embed on the Dask cluster at this scheduler, e.g. tcp://HOST:8786 "
        "(default: FACEDEMO_DASK_SCHEDULER, else this machine; see docs/parallel.md)",
    )


def parallel_from(args: argparse.Namespace) -> dict[str, Any]:
    """The ``jobs`` and ``scheduler`` arguments of the store from --jobs / --scheduler, or
    from the environment (``config.embedding_jobs``, ``config.dask_scheduler``)."""
    return {
        "jobs": args.jobs or config.embedding_jobs(),
        "scheduler": args.scheduler or config.dask_scheduler(),
    }


def engine_from(args: argparse.Namespace) -> faces.Engine:
    """The :class:`~facedemo.faces.Engine` the shared options describe: the model's own
    detector and alignment unless the options name others."""
    chosen = faces.Engine(metric=args.metric, max_side=args.max_side)
    engine = faces.engine_for(args.model, chosen)
    return replace(
        engine,
        detector=args.detector or engine.detector,
        alignment=args.alignment or engine.alignment,
    )


def finite_number(text: str) -> float:
    """argparse's type for a threshold: a finite number (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def whole_number_from(minimum: int) -> Callable[[str], int]:
    """argparse's type for a count that must be at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of {minimum} or more, not {text!r}"
            )
        return value

    return parse


def share_type(text: str) -> float:
    """argparse's type for a rate: a number from 0 to 1."""
    value = finite_number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a share from 0 to 1 (0.001 is 0.1 %), not {text!r}"
        )
    return value


def csv_out_type(text: str) -> Path:
    """argparse's type for ``--out``: a file in a folder that exists, not a folder itself."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a folder; name a file in it, e.g. {path / 'pairs.csv'}"
        )
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder {str(path.parent)!r} does not exist; create it first"
        )
    return path


def prior_type(text: str) -> float:
    """argparse's type for ``--prior``: a share strictly between 0 and 1."""
    try:
        return calibration.checked_prior(float(text))
    except (ValueError, FaceDemoError) as error:
        raise argparse.ArgumentTypeError(
            f"the prior is the share of comparisons that are one person, strictly between 0 "
            f"and 1, not {text!r}"
        ) from error


def add_prior_option(parser: argparse.ArgumentParser) -> None:
    """``--prior`` for the commands that give P(same person) beside a verdict."""
    parser.add_argument(
        "--prior",
        type=prior_type,
        default=calibration.VERIFY_PRIOR,
        help="share of comparisons you expect to be one person, for P(same) "
        "(default %(default)s). " + decision.RULE.replace("%", "%%"),
    )


def _verify(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    result = faces.verify(
        args.img1,
        args.img2,
        engine.model,
        engine.detector,
        engine.metric,
        args.threshold,
        alignment=engine.alignment,
        face_indices=(args.face1, args.face2),
        enforce_detection=not args.no_enforce_detection,
        max_side=engine.max_side,
    )
    answer = decision.decide(
        result.distance,
        result.threshold,
        result.verified,
        result.engine.label,
        args.prior,
        result.confidence,
    )
    if args.json:
        print(json.dumps(result.to_dict() | answer.as_dict(), indent=2))
        return 0
    verdict = "SAME person" if result.verified else "DIFFERENT people"
    print(f"{verdict}: distance {result.distance:.4f} vs threshold {result.threshold:.4f}")
    print(f"{answer.label} {answer.value}  ({result.engine.label})")
    print(answer.explanation())
    if answer.conflict():
        print(answer.conflict())
    print("timings: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.timings.items()))
    return 0


def _register_verify(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="are the faces in two photos the same person?")
    parser.add_argument("img1", help="first photo (path)")
    parser.add_argument("img2", help="second photo (path)")
    add_engine_options(parser)
    parser.add_argument(
        "--threshold", type=finite_number, default=None, help="default: the model's pre-tuned one"
    )
    parser.add_argument(
        "--face1", type=whole_number_from(0), default=None, help="face index in img1 (0 = largest)"
    )
    parser.add_argument(
        "--face2", type=whole_number_from(0), default=None, help="face index in img2 (0 = largest)"
    )
    parser.add_argument(
        "--no-enforce-detection",
        action="store_true",
        help="use the whole photo when no face is found",
    )
    add_prior_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_verify)


def _identify(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    enforce = not args.no_enforce_detection
    faces.analyse_photo(args.photo, engine, enforce)  # a bad photo fails before the gallery
    dataset = _open_dataset(args.gallery)
    store = EmbeddingStore()
    gallery = identify.build_gallery(dataset, engine, store, _progress_bar, **parallel_from(args))
    _say_if_healed(store)
    result = identify.identify(
        args.photo,
        gallery,
        engine,
        args.threshold,
        args.top,
        face_index=args.face,
        enforce_detection=enforce,
    )
    answer = result.to_dict()
    for row, candidate in zip(answer["candidates"], result.candidates, strict=True):
        row |= decision.decide(
            candidate.distance, result.threshold, candidate.matches, engine.label, args.prior
        ).as_dict()
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    best = result.candidates[0]
    if result.identity is not None:
        print(
            f"{result.identity}: distance {best.distance:.4f} <= threshold {result.threshold:.4f}"
        )
    else:
        print(
            f"unknown: nobody within threshold {result.threshold:.4f} "
            f"(closest {best.identity} at {best.distance:.4f})"
        )
    print(f"{'rank':<6}{'identity':<28}{'distance':>10}  {'verdict':<10}file")
    for row in answer["candidates"]:
        print(
            f"{row['rank']:<6}{row['identity']:<28}{row['distance']:>10.4f}  "
            f"{row['verdict']:<10}{row['file']}"
        )
    gallery_summary = answer["gallery"]
    print(
        f"gallery {gallery_summary['name']}: {gallery_summary['photos']} photos of "
        f"{gallery_summary['people']} people ({result.engine.label})"
    )
    if answer["left_out"]:
        print(f"left out of the gallery: {answer['left_out']} (the photo itself)")
    for skipped in gallery_summary["skipped"]:
        print(f"no face, skipped: {skipped['file']} ({skipped['reason']})")
    return 0


def _register_identify(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "identify", help="who in a gallery of known people is the face in this photo?"
    )
    parser.add_argument("photo", help="the photo (path); its largest face is searched for")
    parser.add_argument(
        "gallery",
        help="the known people: a folder (identities.csv, one folder per person or LFW "
        "names), a .zip, 'demo' or 'lfw'",
    )
    add_engine_options(parser)
    add_parallel_options(parser)
    parser.add_argument(
        "--threshold",
        type=finite_number,
        default=None,
        help="match if distance <= this (default: the model's pre-tuned threshold)",
    )
    parser.add_argument(
        "--top",
        type=whole_number_from(1),
        default=identify.TOP,
        help="people listed (default %(default)s)",
    )
    parser.add_argument(
        "--face", type=whole_number_from(0), default=0, help="face index in the photo (0 = largest)"
    )
    parser.add_argument(
        "--no-enforce-detection",
        action="store_true",
        help="use the whole photo when no face is found in it",
    )
    add_prior_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_identify)


def _say_if_healed(store: EmbeddingStore) -> None:
    """One sentence on stderr when the store was damaged, moved aside and rebuilt."""
    healed = store.take_healed()
    if healed:
        print(f"note: {healed}", file=sys.stderr)


def _open_dataset(source: str) -> datasets.IdentityDataset:
    """The data set ``source`` names, with what its layout left out said on stderr."""
    dataset = datasets.open_dataset(source, _progress_bar)
    for note in dataset.notes:
        print(f"note: {note}", file=sys.stderr)
    return dataset


def _progress_bar(done: int, total: int, name: str) -> None:
    """Progress on stderr (stdout stays clean for --json): a live bar on a terminal."""
    if sys.stderr.isatty():
        filled = round(30 * done / max(total, 1))
        end = "\n" if done >= total else ""
        bar = f"[{'#' * filled:<30}] {done}/{total} {name[:40]:<40}"
        print(f"\rembedding {bar}", end=end, file=sys.stderr, flush=True)
    elif done >= total:
        print(f"embeddings ready for {total} images", file=sys.stderr)


def _is_pairs_csv(args: argparse.Namespace) -> bool:
    """Whether ``args.dataset`` is a pairs CSV of scores measured elsewhere."""
    source = Path(args.dataset)
    return source.suffix.lower() == ".csv" and source.is_file()


def _study(
    args: argparse.Namespace,
) -> tuple[evaluation.PairStudy, datasets.IdentityDataset | None]:
    """The study ``args.dataset`` names, and its data set (None for a pairs CSV)."""
    if _is_pairs_csv(args):
        table = datasets.load_pairs_csv(Path(args.dataset))
        column = args.column or table.distance_columns[0]
        return evaluation.study_pairs_table(table, column, args.scores), None
    dataset = datasets.open_dataset(args.dataset, _progress_bar)
    store = EmbeddingStore()
    study = evaluation.study_dataset(
        dataset,
        engine_from(args),
        store,
        _progress_bar,
        max_negatives=args.max_negatives,
        **parallel_from(args),
    )
    _say_if_healed(store)
    return study, dataset


def _attributes(
    raw: bytes | None,
    name: str,
    study: evaluation.PairStudy,
    dataset: datasets.IdentityDataset | None,
) -> datasets.AttributesTable | None:
    """The attributes table for the groups: ``--attributes``' (already read, checked
    against the study's people now), else the data set's own ``attributes.csv``; a bad
    ``attributes.csv`` in the folder is a note and the groups come from quality bands."""
    if raw is not None:
        known = study.person_index[0] if study.knows_people else None
        return datasets.load_attributes_csv(raw, known, what=name)
    if dataset is None:
        return None
    try:
        return datasets.folder_attributes(dataset, config.folder_root())
    except FaceDemoError as error:
        print(f"note: {error} Groups come from quality bands instead.", file=sys.stderr)
        return None


def _thresholds(args: argparse.Namespace) -> int:
    raw_attributes = None
    if args.attributes and _is_pairs_csv(args):
        raise DatasetError(
            "--attributes needs an identity data set: a pairs CSV does not say who is in "
            "each photo, so its pairs cannot be put in groups."
        )
    if args.attributes:  # a bad table is refused before the photos are embedded
        raw_attributes = datasets.read_attributes_file(args.attributes, config.folder_root())
        datasets.load_attributes_csv(raw_attributes, what=args.attributes.name)
    study, dataset = _study(args)
    attributes = _attributes(raw_attributes, str(args.attributes), study, dataset)
    summary = study.summary(args.target_far, args.folds, args.threshold, args.prior)
    summary |= quality_summary(study, summary["threshold"], attributes)
    study.keep_calibration()  # the Verify page's P(same) for this engine
    if args.out:
        write_csv_atomic(args.out, pairs_export(study, summary["threshold"], attributes))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"{summary['dataset']}: {summary['positives']} same-person and {summary['negatives']} "
        f"different-person pairs ({summary['engine']})"
    )
    print(f"AUC {summary['auc']:.4f}   {study.eer.sentence()}")
    print(f"{'suggestion':<14}{'threshold':>10}{'precision':>11}{'recall':>8}{'F1':>8}{'acc':>8}")
    for s in summary["suggestions"]:
        print(
            f"{s['name']:<14}{s['threshold']:>10.4f}{s['precision']:>11.3f}"
            f"{s['recall']:>8.3f}{s['f1']:>8.3f}{s['accuracy']:>8.3f}"
        )
    if summary["heldout"]:
        folds = len(summary["heldout"][0]["thresholds"])  # fewer than asked on a small set
        print(
            f"held out: each rule chosen on {folds - 1} of {folds} folds of people, "
            "scored on the other fold's people, pooled; F1 at this study's mix "
            f"({summary['heldout'][0]['same_share']:.1%} same-person pairs)"
        )
        print(f"{'suggestion':<14}{'threshold':>10}{'spread':>10}{'FAR':>8}{'FRR':>8}{'F1':>8}")
        for h in summary["heldout"]:
            print(
                f"{h['name']:<14}{h['threshold']:>10.4f}{h['threshold_spread']:>10.4f}"
                f"{h['far']:>8.3f}{h['frr']:>8.3f}{h['f1']:>8.3f}"
            )
    if summary["heldout_note"]:
        print(f"held out: none. {summary['heldout_note']}")
    if summary["scores"]:
        print(f"scores: {summary['scores']}")
    if summary["intervals"]:
        intervals = summary["intervals"]
        print(
            f"at {intervals['threshold']:.4f}, 95 % intervals (resampling people, "
            f"{intervals['resamples']} draws):"
        )
        for rate in ("far", "frr", "precision", "recall"):
            print(f"  {intervals[rate]['in_words']}")
        worst = [row for row in summary["per_identity"] if row["errors"]][:5]
        if worst:
            print("most errors: " + ", ".join(f"{r['identity']} ({r['errors']})" for r in worst))
    fitted = study.calibration_or_why
    if isinstance(fitted, str):
        print(f"P(same) calibration: none. {fitted}")
    else:
        print(
            f"P(same) calibration: {fitted.method} on {fitted.pairs:,} pairs, stated at prior "
            f"{summary['calibration']['prior']:.1%}. {fitted.judged()}"
        )
    _print_quality(summary)
    for failure in summary["failed_images"]:
        print(f"no face: {failure['file']} ({failure['reason']})")
    for note in summary["notes"] + summary["attributes_notes"]:
        print(f"note: {note}")
    return 0


def _print_quality(summary: dict) -> None:
    """The quality curves' and the groups' figures of merit, one line each."""
    at = f"at {summary['threshold']:.4f}"
    for name, curves in (summary["quality"] or {}).items():
        fnmr = curves["fnmr"]
        halving = fnmr["halving_fraction"]
        halved = "never halved" if halving is None else f"halved discarding {halving:.1%}"
        print(
            f"quality {name} {at}: FNMR {fnmr['start']:.2%} {halved}; partial area to "
            f"{curves['discard_limit']:.0%} {fnmr['partial_area']:.3g} "
            f"(perfect {fnmr['ideal_partial_area']:.3g})"
        )
    if summary["quality_note"]:
        print(f"quality: none. {summary['quality_note']}")
    for attribute, report in (summary["differentials"] or {}).items():
        print(f"groups by {attribute} {at}: {report['in_words']}")
        for group in summary["groups"][attribute]["groups"].values():
            if group["warning"]:
                print(f"  {group['warning']}")
    if summary["groups_note"]:
        print(f"groups: none. {summary['groups_note']}")


def _register_thresholds(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "thresholds", help="every pair of a data set: AUC, EER and threshold suggestions"
    )
    parser.add_argument(
        "dataset",
        help="a folder (identities.csv, one folder per person or LFW names), a .zip, "
        "'demo', 'lfw', or a pairs .csv with precomputed distances",
    )
    add_engine_options(parser)
    add_parallel_options(parser)
    parser.add_argument("--column", help="distance column of a pairs CSV (default: the first)")
    parser.add_argument(
        "--max-negatives",
        type=whole_number_from(1),
        default=None,
        help="sample this many different-person pairs (default: all)",
    )
    parser.add_argument(
        "--scores",
        choices=evaluation.SCORE_DIRECTIONS,
        default="auto",
        help="a pairs CSV column: lower or higher means same person (default: detected)",
    )
    parser.add_argument(
        "--target-far",
        type=share_type,
        default=thresholds.DEFAULT_TARGET_FAR,
        help="false accept rate for the far_target suggestion (default %(default)s)",
    )
    parser.add_argument(
        "--folds",
        type=whole_number_from(2),
        default=thresholds.DEFAULT_FOLDS,
        help="folds of people for the held-out thresholds, 2 or more (default %(default)s)",
    )
    parser.add_argument(
        "--threshold",
        type=finite_number,
        default=None,
        help="threshold for the intervals, per-person errors and --out "
        "(default: the max-F1 suggestion)",
    )
    parser.add_argument(
        "--prior",
        type=prior_type,
        default=None,
        help="share of comparisons that are one person, for P(same) (default: the study's)",
    )
    parser.add_argument(
        "--attributes",
        type=Path,
        metavar="FILE",
        help="attributes table (identity and label columns such as camera or site) for error "
        "rates per group (default: the data set's own attributes.csv, else quality bands)",
    )
    parser.add_argument(
        "--out",
        type=csv_out_type,
        help="write every pair with distance, decision, quality and groups to this CSV",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_thresholds)


def _embed(args: argparse.Namespace) -> int:
    dataset = _open_dataset(args.dataset)
    store, engine = EmbeddingStore(), engine_from(args)
    if args.recompute:
        store.clear(engine)
    result = store.embed_paths(dataset.paths, engine, _progress_bar, **parallel_from(args))
    _say_if_healed(store)
    print(
        f"{len(dataset)} images: {result.embedded_now} embedded now, "
        f"{result.embedded_before} from the store, {len(result.failures)} without a face"
    )
    for index, reason in result.failures:
        print(f"no face: {dataset.paths[index]} ({reason})")
    print(f"the store holds {store.count(engine)} embeddings for {engine.label}")
    return 0


def _register_embed(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("embed", help="fill the embedding store for a data set")
    parser.add_argument("dataset", help="a folder, a .zip, 'demo' or 'lfw'")
    add_engine_options(parser)
    add_parallel_options(parser)
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="forget this engine's stored embeddings (every data set) and embed again",
    )
    parser.set_defaults(handler=_embed)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m facedemo", description=__doc__.split("\n")[0].replace("``", "")
    )
    from functools import partial

    from facedemo.explain import cli as explain_cli

    subparsers = parser.add_subparsers(dest="command", required=True)
    registrars: list[Callable[[argparse._SubParsersAction], None]] = [
        _register_verify,
        _register_identify,
        _register_thresholds,
        _register_embed,
        siamese_cli.register,
        partial(
            explain_cli.register,
            shared=explain_cli.SharedOptions(
                add_engine_options,
                engine_from,
                add_parallel_options,
                parallel_from,
                _open_dataset,
                _progress_bar,
                _say_if_healed,
                finite_number,
            ),
        ),
    ]
    for register in registrars:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; user errors become a sentence on stderr and exit code 1."""
    args = build_parser().parse_args(argv)
    config.install_offline_weights()
    try:
        return int(args.handler(args) or 0)
    except FaceDemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
