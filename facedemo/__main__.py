"""``python -m facedemo``: each page's job from the command line.

Every sub-command prints a person's sentence on stderr and exits 1 for an
error the user can fix (a :class:`~facedemo.errors.FaceDemoError`). The commands live in
``facedemo.commands`` (and ``facedemo.explain.cli``, ``facedemo.siamese.cli``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from facedemo import config
from facedemo.commands import pairs, studies
from facedemo.errors import FaceDemoError
from facedemo.explain import cli as explain_cli
from facedemo.siamese import cli as siamese_cli


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m facedemo", description=__doc__.split("\n")[0].replace("``", "")
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    registrars: list[Callable[[argparse._SubParsersAction], None]] = [
        pairs.register_verify,
        pairs.register_identify,
        studies.register_thresholds,
        studies.register_embed,
        siamese_cli.register,
        explain_cli.register,
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
