"""The ways a migration stops as a whole, each printed as one line (exit 1).

Everything narrower (one calendar the old server would not give, one event this
server refuses) is not an exception of this kind but a line of the report, and the
run carries on with the rest.
"""

from __future__ import annotations


class MigrationError(Exception):
    """The run can not go on: the message is the one line the operator reads."""


class SourceUnreachable(MigrationError):
    """The old server did not answer (after the retries)."""


class NotAdministrator(MigrationError):
    """The account may not read other users' data on the old server."""


class LoginFailed(MigrationError):
    """The old server refused the administrator's name or password."""
