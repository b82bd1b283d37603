"""What ``python -m facedemo``'s commands share: the engine and parallel options, argparse's
types for numbers, shares and output files, and the data-set, progress and store messages."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from facedemo import calibration, config, datasets, decision, faces
from facedemo.embeddings import EmbeddingStore
from facedemo.errors import FaceDemoError


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


def out_file(example: str, suffix: str | None = None) -> Callable[[str], Path]:
    """argparse's type for ``--out``: a file (named like ``example``; with ``suffix``, that
    kind only) in a folder that exists, not a folder itself."""

    def parse(text: str) -> Path:
        path = Path(text).expanduser()
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{text!r} is a folder; name a file in it, e.g. {path / example}"
            )
        if suffix is not None and path.suffix.lower() != suffix:
            raise argparse.ArgumentTypeError(
                f"this is written as a {suffix[1:].upper()} file: name a {suffix} file, "
                f"not {text!r}"
            )
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(
                f"the folder {str(path.parent)!r} does not exist; create it first"
            )
        return path

    return parse


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


def say_if_healed(store: EmbeddingStore) -> None:
    """One sentence on stderr when the store was damaged, moved aside and rebuilt."""
    healed = store.take_healed()
    if healed:
        print(f"note: {healed}", file=sys.stderr)


def open_dataset(source: str) -> datasets.IdentityDataset:
    """The data set ``source`` names, with what its layout left out said on stderr."""
    dataset = datasets.open_dataset(source, progress_bar)
    for note in dataset.notes:
        print(f"note: {note}", file=sys.stderr)
    return dataset


def progress_bar(done: int, total: int, name: str) -> None:
    """Progress on stderr (stdout stays clean for --json): a live bar on a terminal."""
    if sys.stderr.isatty():
        filled = round(30 * done / max(total, 1))
        end = "\n" if done >= total else ""
        bar = f"[{'#' * filled:<30}] {done}/{total} {name[:40]:<40}"
        print(f"\rembedding {bar}", end=end, file=sys.stderr, flush=True)
    elif done >= total:
        print(f"embeddings ready for {total} images", file=sys.stderr)
