"""``verify`` (are two faces one person?) and ``identify`` (who is this, 1:N)."""

from __future__ import annotations

import argparse
import json

from facedemo import decision, faces, identify
from facedemo.commands.options import (
    add_engine_options,
    add_parallel_options,
    add_prior_option,
    engine_from,
    finite_number,
    open_dataset,
    parallel_from,
    progress_bar,
    say_if_healed,
    whole_number_from,
)
from facedemo.embeddings import EmbeddingStore


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


def register_verify(subparsers: argparse._SubParsersAction) -> None:
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
    dataset = open_dataset(args.gallery)
    store = EmbeddingStore()
    gallery = identify.build_gallery(dataset, engine, store, progress_bar, **parallel_from(args))
    say_if_healed(store)
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


def register_identify(subparsers: argparse._SubParsersAction) -> None:
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
