"""``thresholds`` (every pair of a data set, the threshold analysis, quality and groups) and
``embed`` (fill the embedding store for a data set)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facedemo import config, datasets, evaluation, thresholds
from facedemo.commands.options import (
    add_engine_options,
    add_parallel_options,
    engine_from,
    finite_number,
    open_dataset,
    out_file,
    parallel_from,
    prior_type,
    progress_bar,
    say_if_healed,
    share_type,
    whole_number_from,
)
from facedemo.embeddings import EmbeddingStore
from facedemo.errors import DatasetError, FaceDemoError
from facedemo.files import write_csv_atomic
from facedemo.quality.study import pairs_export, quality_summary


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
    dataset = datasets.open_dataset(args.dataset, progress_bar)
    store = EmbeddingStore()
    study = evaluation.study_dataset(
        dataset,
        engine_from(args),
        store,
        progress_bar,
        max_negatives=args.max_negatives,
        **parallel_from(args),
    )
    say_if_healed(store)
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


def register_thresholds(subparsers: argparse._SubParsersAction) -> None:
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
        type=out_file("pairs.csv"),
        help="write every pair with distance, decision, quality and groups to this CSV",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_thresholds)


def _embed(args: argparse.Namespace) -> int:
    dataset = open_dataset(args.dataset)
    store, engine = EmbeddingStore(), engine_from(args)
    if args.recompute:
        store.clear(engine)
    result = store.embed_paths(dataset.paths, engine, progress_bar, **parallel_from(args))
    say_if_healed(store)
    print(
        f"{len(dataset)} images: {result.embedded_now} embedded now, "
        f"{result.embedded_before} from the store, {len(result.failures)} without a face"
    )
    for index, reason in result.failures:
        print(f"no face: {dataset.paths[index]} ({reason})")
    print(f"the store holds {store.count(engine)} embeddings for {engine.label}")
    return 0


def register_embed(subparsers: argparse._SubParsersAction) -> None:
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
