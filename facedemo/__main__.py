"""``python -m facedemo``: each page's job from the command line.

Every sub-command prints a person's sentence on stderr and exits 1 for an
error the user can fix (a :class:`~facedemo.errors.FaceDemoError`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from facedemo import config, faces
from facedemo.errors import FaceDemoError


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """The model / detector / metric / alignment options every embedding command shares."""
    default = faces.DEFAULT_ENGINE
    parser.add_argument("--model", default=default.model, choices=list(faces.MODEL_WEIGHTS))
    parser.add_argument(
        "--detector", default=default.detector, choices=list(faces.DETECTOR_WEIGHTS)
    )
    parser.add_argument("--metric", default=default.metric, choices=list(faces.METRICS))
    parser.add_argument("--alignment", default=default.alignment, choices=list(faces.ALIGNMENTS))
    parser.add_argument(
        "--max-side",
        type=int,
        default=default.max_side,
        help="shrink photos to this long side before detection (default %(default)s)",
    )


def engine_from(args: argparse.Namespace) -> faces.Engine:
    """The :class:`~facedemo.faces.Engine` the shared options describe."""
    return faces.Engine(args.model, args.detector, args.metric, args.alignment, args.max_side)


def _verify(args: argparse.Namespace) -> int:
    result = faces.verify(
        args.img1,
        args.img2,
        args.model,
        args.detector,
        args.metric,
        args.threshold,
        alignment=args.alignment,
        face_indices=(args.face1, args.face2),
        enforce_detection=not args.no_enforce_detection,
        max_side=args.max_side,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    verdict = "SAME person" if result.verified else "DIFFERENT people"
    print(f"{verdict}: distance {result.distance:.4f} vs threshold {result.threshold:.4f}")
    print(f"confidence {result.confidence:.1f} %  ({result.engine.label})")
    print("timings: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.timings.items()))
    return 0


def _register_verify(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="are the faces in two photos the same person?")
    parser.add_argument("img1", help="first photo (path)")
    parser.add_argument("img2", help="second photo (path)")
    add_engine_options(parser)
    parser.add_argument("--threshold", type=float, default=None, help="default: DeepFace's")
    parser.add_argument("--face1", type=int, default=None, help="face index in img1 (0 = largest)")
    parser.add_argument("--face2", type=int, default=None, help="face index in img2 (0 = largest)")
    parser.add_argument(
        "--no-enforce-detection",
        action="store_true",
        help="use the whole photo when no face is found",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_verify)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="python -m facedemo", description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    registrars: list[Callable[[argparse._SubParsersAction], None]] = [_register_verify]
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
