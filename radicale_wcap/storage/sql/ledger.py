"""Tombstones from the change log, for the SQL engine.

The file engine writes a tombstone into the project database beside each deletion; here
the deletion's change row (``collection.py``), written in the same transaction as the
deletion itself, is the tombstone, so deleted-since can never disagree with the items.
Item ids and feed origins stay in the project database (``storage/ledger.py``).
"""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import false, select

from radicale_wcap.storage.ledger import Ledger, Tombstone

from .engine import SqlEngine
from .schema import changes, items


def deleted_rows(engine, path: str, since: float, until: Optional[float],
                 component: Optional[str]):
    """Change rows of names deleted in [since, until] whose UID is not stored again."""
    alive = select(items.c.uid).where(items.c.path == path)
    query = select(changes.c.uid, changes.c.href, changes.c.component, changes.c.at).where(
        changes.c.path == path, changes.c.deleted != false(), changes.c.at >= since,
        changes.c.uid.not_in(alive))
    if until is not None:
        query = query.where(changes.c.at <= until)
    if component:
        query = query.where(changes.c.component == component)
    return engine.execute(query.order_by(changes.c.at))


class ChangeLedger:
    def __init__(self, ledger: Ledger, engine: SqlEngine) -> None:
        self._ledger = ledger
        self._engine = engine

    def deleted_since(self, path: str, since: float, until: Optional[float] = None,
                      component: Optional[str] = None) -> List[Tombstone]:
        return [Tombstone(r.uid, r.href, r.component, r.at)
                for r in deleted_rows(self._engine, path, since, until, component)]

    def bury(self, *args, **kwargs) -> None:
        """The deletion's change row is the tombstone."""

    def revive(self, *args, **kwargs) -> None:
        """A UID stored again is left out of deleted-since by the query itself."""

    def item_id(self, path: str, uid: str) -> int:
        return self._ledger.item_id(path, uid)

    def by_item_id(self, item_id: int) -> Optional[tuple]:
        return self._ledger.by_item_id(item_id)

    def forget_collection(self, path: str) -> None:
        self._ledger.forget_collection(path)


class NoIntents:
    """Write intents exist for files written outside a transaction; rows need none."""

    def note(self, path: str, href: str) -> None:
        pass

    def pending(self, paths=None) -> list:
        return []

    def drop(self, path: str, hrefs) -> None:
        pass
