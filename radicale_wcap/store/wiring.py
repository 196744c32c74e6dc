"""The data layer's per-process objects, built for ``state.Services``.

``state.py`` keeps one set of services per data folder for every part of the server;
what belongs to the storage plugin (the index and its database, the tombstone ledger,
the batch journal, write intents, the calendar locks) is made here, so that nothing
outside the store and the plugin names them.
"""

from __future__ import annotations

import os

from radicale_wcap.db_sqlite3 import SQLiteFile
from radicale_wcap.storage.index import INDEX_MIGRATIONS, ItemIndex, Limits
from radicale_wcap.storage.intents import Intents
from radicale_wcap.storage.journal import Journal
from radicale_wcap.storage.ledger import Ledger
from radicale_wcap.storage.sql.services import attach as attach_sql, selected as sql_selected
from radicale_wcap.storage.locks import CalendarLocks


def attach(svc) -> None:
    """Give ``svc`` (its ``folder``, ``settings`` and ``db`` set) the storage's objects."""
    s = svc.settings
    svc.index_db = SQLiteFile(os.path.join(svc.folder, "index.sqlite"), INDEX_MIGRATIONS,
                              synchronous="NORMAL")
    svc.limits = Limits(horizon_days=s.get("storage", "index_horizon_days"),
                        max_instances=s.get("storage", "index_max_instances"),
                        budget_s=s.get("storage", "recurrence_budget_seconds"))
    svc.index = ItemIndex(svc.index_db, svc.limits)
    svc.ledger = Ledger(svc.db)
    svc.journal = Journal(svc.db)
    svc.intents = Intents(svc.index_db)
    svc.calendar_locks = CalendarLocks(svc.folder)
    if sql_selected(svc.configuration):
        attach_sql(svc)
