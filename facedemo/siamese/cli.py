"""Command-line verbs of siamese training: ``train``, ``runs`` and ``evaluate``.

``register`` adds them to ``python -m facedemo``'s sub-commands (which also turns
user errors into one line on stderr). TensorFlow is imported only by the verbs
that need it, so ``runs`` answers at once.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facedemo import config
from facedemo.errors import RunError
from facedemo.siamese import TrainConfig, tunable_settings
from facedemo.siamese.runs.lifecycle import new_run_id
from facedemo.siamese.runs.status import UNREADABLE, find_run, list_runs


def _runs_dir(args: argparse.Namespace) -> Path:
    return args.runs_dir or config.runs_dir()


def runs_dir_type(text: str) -> Path:
    """argparse's type for ``--runs-dir``: a folder, or a path where one can be made."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder of runs")
    return path


def _options_beside_resume(args: argparse.Namespace) -> list[str]:
    """What was given besides ``--resume`` that would change the run (it keeps its settings)."""
    given = ["a data set"] if args.dataset else []
    given += ["--run-id"] if args.run_id else []
    return given + [
        "--" + name.replace("_", "-")
        for name in tunable_settings()
        if getattr(args, name) is not None
    ]


def _train(args: argparse.Namespace) -> int:
    runs_dir = _runs_dir(args)
    if not (args.dataset or args.resume):
        raise RunError("Name the data set folder to train on (or --resume a run).")
    extra = _options_beside_resume(args) if args.resume else []
    if extra:
        raise RunError(
            f"--resume continues run {args.resume} with the settings it started with, so "
            f"{', '.join(extra)} cannot be given with it. To train with other settings "
            "(more epochs, another data set), start a new run."
        )
    from facedemo.siamese import train

    if args.resume:
        state = train.resume(find_run(runs_dir, args.resume))
    else:
        given = {name: getattr(args, name) for name in tunable_settings()}
        settings = {name: value for name, value in given.items() if value is not None}
        run_id = args.run_id or new_run_id()
        state = train.train(TrainConfig(args.dataset, run_id, **settings), runs_dir)
    print(f"Run {runs_dir / (args.resume or run_id)} ended: {state}.")
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _runs(args: argparse.Namespace) -> int:
    runs = list_runs(_runs_dir(args))
    rows = [
        {
            "id": run.run_id,
            "state": run.state,
            "epoch": run.epoch,
            "best_epoch": run.best_epoch,
            "best_val_loss": run.best_val_loss,
            "best_val_accuracy": run.best_val_accuracy,
            "best_val_auc": run.best_val_auc,
            "error": run.error,
        }
        for run in runs
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"No runs in {_runs_dir(args)}.")
    for row in rows:
        print(
            f"{row['id']:<24} {row['state']:<12} epoch {row['epoch']:<4} "
            f"best {row['best_epoch'] or '-'}: val loss {_number(row['best_val_loss'])} "
            f"accuracy {_number(row['best_val_accuracy'])} auc {_number(row['best_val_auc'])}"
        )
        if row["state"] == UNREADABLE:
            print(f"  {row['error']}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    run_dir = find_run(_runs_dir(args), args.run)
    from facedemo.siamese.scoring import evaluate_run

    evaluation = evaluate_run(run_dir)
    summary = evaluation.to_json()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    (tn, fp), (fn, tp) = summary["confusion_matrix"]
    print(
        f"{args.run} on {summary['pairs']} test pairs: accuracy {summary['accuracy']:.3f}, "
        f"AUC {_number(summary['auc'])}, loss {summary['loss']:.3f}\n"
        f"  same person:      {tp} recognised, {fn} missed\n"
        f"  different people: {tn} told apart, {fp} taken for the same person"
    )
    return 0


def _add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        metavar="DIR",
        type=runs_dir_type,
        help="folder of training runs (default: $FACEDEMO_RUNS)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``, ``runs`` and ``evaluate`` to an argparse sub-command set."""
    train = subparsers.add_parser(
        "train",
        help="train the siamese face-pair network on an identity data set",
        description="Train the notebook's siamese network; the run folder is written as it goes.",
    )
    train.add_argument(
        "dataset", nargs="?", help="identity data set: a folder, a .zip, 'demo' or 'lfw'"
    )
    _add_runs_dir(train)
    train.add_argument("--run-id", metavar="ID", help="name of the run (default: the time)")
    train.add_argument(
        "--resume",
        metavar="ID",
        help="continue run ID from its last checkpoint, with its own settings",
    )
    for name, default in tunable_settings().items():
        values = default if isinstance(default, tuple) else (default,)
        train.add_argument(
            "--" + name.replace("_", "-"),
            type=type(values[0]),
            nargs=len(values) if isinstance(default, tuple) else None,
            help=f"default: {' '.join(map(str, values))}",
        )
    train.set_defaults(handler=_train)

    runs = subparsers.add_parser("runs", help="list training runs and their best validation scores")
    _add_runs_dir(runs)
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(handler=_runs)

    evaluate = subparsers.add_parser(
        "evaluate", help="score a run's best checkpoint on its test pairs"
    )
    evaluate.add_argument("run", metavar="RUN", help="run id")
    _add_runs_dir(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(handler=_evaluate)
