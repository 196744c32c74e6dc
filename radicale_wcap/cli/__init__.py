"""The command line: ``radicale-wcap --config FILE <command> ...``.

A public interface: administrators' scripts call it, so commands, options and
exit codes are stable (docs in the README). Errors print one line on stderr
and exit 1 (2 for usage errors); ``verify`` exits 3 when it finds damage.

Each command family is a module with ``add_commands(subparsers)``; a new family
is one module and one line in ``FAMILIES``. A family's parser may set
``needs_config=False`` (runs without a configuration) or ``own_logging=True``
(configures logging itself) as defaults.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import List, Optional

from radicale_wcap.cli import (calendars, keys, maintenance, migrate, serve,
                               store_migration, users)
from radicale_wcap.cli.common import EXIT_DAMAGE, EXIT_ERROR, CliError

__all__ = ["main", "build_parser", "CliError", "EXIT_ERROR", "EXIT_DAMAGE"]

# In the order ``--help`` lists them.
FAMILIES = (serve, users, calendars, keys, maintenance, migrate, store_migration)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radicale-wcap",
        description="Radicale with WCAP, Trumba-style import and JSON front doors.")
    parser.add_argument("--config", "-C", metavar="FILE",
                        default=os.environ.get("RADICALE_WCAP_CONFIG"),
                        help="the configuration file (a Radicale config file with the "
                        "project's sections); default $RADICALE_WCAP_CONFIG")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for family in FAMILIES:
        family.add_commands(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "needs_config", True) and not args.config:
        parser.error("--config FILE is required (or set RADICALE_WCAP_CONFIG)")
    if not getattr(args, "own_logging", False):
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        result = args.func(args)
    except (CliError, ValueError, RuntimeError, OSError) as e:
        message = str(e) or type(e).__name__
        print("radicale-wcap: error: %s" % message, file=sys.stderr)
        return EXIT_ERROR
    return result or 0
