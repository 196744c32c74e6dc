"""What every command family shares: the error that becomes one line on stderr,
the exit codes scripts test, and reading the instance and a password.

A module of its own (not the package's ``__init__``) so that the families can
use it while ``__init__`` imports the families, without a cycle.
"""

from __future__ import annotations

import sys

from radicale_wcap.instance import Instance

EXIT_ERROR = 1
EXIT_DAMAGE = 3


class CliError(Exception):
    """A refusal the operator can act on: printed as one line, exit 1, no traceback."""


def read_password(args) -> str:
    # Only from standard input: a password in argv shows in ps and in shell history.
    if not getattr(args, "password_stdin", False):
        raise CliError("give the password on standard input with --password-stdin")
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("empty password on standard input")
    return password


def instance(args) -> Instance:
    return Instance.from_file(args.config)
