"""Instances on the SQL storage engine, for the engine's tests (tests/engines/)."""

from __future__ import annotations

from radicale_wcap.storage.sql import PLUGIN
from radicale_wcap.storage.sql.engine import forget

from tests.conftest import make_instance


def sql_instance(folder: str, url: str, extra=None):
    """An instance whose items (and, through ``database_url``, durable tables) are in
    the database at ``url``; its local folder holds only what a host keeps."""
    overrides = {"storage": {"type": PLUGIN, "database_url": url}}
    for section, options in (extra or {}).items():
        overrides.setdefault(section, {}).update(options)
    return make_instance(folder, overrides)


def release(url: str) -> None:
    """Let go of the process's pool of ``url`` (before its database is dropped)."""
    forget(url)
