"""The ``acbench`` command: list environments, run an agent through one, score trajectories.

One module per command group (:mod:`.runs`, :mod:`.suites`, :mod:`.models`, :mod:`.rollouts`),
each adding its
subcommands with ``add_parsers``; shared options are in :mod:`.common`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from acbench_env.cli import models, rollouts, runs, suites
from acbench_env.core.errors import AcbenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acbench",
        description="Measure how much of an LLM's ability to act survives compression.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (runs, suites, models, rollouts):
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (
        logging.WARNING
        if args.verbose == 0
        else logging.INFO
        if args.verbose == 1
        else logging.DEBUG
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except AcbenchError as exc:
        print(f"acbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nacbench: interrupted", file=sys.stderr)
        return 130
