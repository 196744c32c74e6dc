"""The SQL engine's share of the per-process services (``store/wiring.py`` calls it).

Apart from the plugin's classes so that wiring, which ``state.py`` runs while it builds
the services, needs nothing that reads them back.
"""

from __future__ import annotations

from .engine import database_url, engine_for
from .index import SqlIndex
from .ledger import ChangeLedger, NoIntents

PLUGIN = "radicale_wcap.storage.sql"


def selected(configuration) -> bool:
    """Whether the store of ``configuration`` is on this engine."""
    try:
        return configuration.get("storage", "type") == PLUGIN
    except KeyError:
        return False


def attach(svc) -> None:
    """After the file engine's objects are made: the index asks the item rows,
    tombstones come from the change log, and nothing needs write intents."""
    engine = engine_for(database_url(svc.configuration))
    engine.share_with(svc.db)
    svc.index = SqlIndex(engine, svc.limits)
    svc.ledger = ChangeLedger(svc.ledger, engine)
    svc.intents = NoIntents()
