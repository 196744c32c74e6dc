"""Moving in: users, calendars, rights and events from a running Sun Java System or
Oracle Communications Calendar Server (over WCAP, as its administrator), from their
export files, or from any CalDAV server (docs/migrate.md).

``wcapsource`` reads the old server, ``filesource`` and ``caldavsource`` the other
sources, ``repair`` turns what they send into this server's calendar objects, ``plan``
decides against what is here, ``apply`` writes (one store batch per calendar),
``report`` shows progress and writes the JSON report; ``run`` puts them together.
"""

from __future__ import annotations

from .errors import LoginFailed, MigrationError, NotAdministrator, SourceUnreachable
from .run import Options, migrate_calendars, migrate_wcap

__all__ = ["LoginFailed", "MigrationError", "NotAdministrator", "Options",
           "SourceUnreachable", "migrate_calendars", "migrate_wcap"]
