"""Durable facts about items that the item files can not reproduce.

Tombstones (legacy clients ask what was deleted since T), the stable integer
id of each event (the JSON API's ``cal_item_id``) and which feed created an
event live in ``wcap.sqlite``, apart from the rebuildable index, so that no
``reindex`` ever loses them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional

from radicale_wcap.db import Database


@dataclass(frozen=True)
class Tombstone:
    uid: str
    href: str
    component: str
    deleted_at: float


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def item_id(self, path: str, uid: str) -> int:
        key = {"path": path, "uid": uid}
        found = self.db.scalar("SELECT id FROM item_ids WHERE path = :path AND uid = :uid",
                               key)
        if found is not None:
            return found
        with self.db.transaction() as c:
            # Another process (or host) may insert the same pair first: its id is kept.
            c.execute("INSERT INTO item_ids (path, uid) VALUES (:path, :uid) "
                      "ON CONFLICT (path, uid) DO NOTHING", key)
            return c.scalar("SELECT id FROM item_ids WHERE path = :path AND uid = :uid", key)

    def by_item_id(self, item_id: int) -> Optional[tuple]:
        row = self.db.query_one("SELECT path, uid FROM item_ids WHERE id = :id",
                                {"id": item_id})
        return (row.path, row.uid) if row else None

    def bury(self, path: str, uid: str, href: str, component: str,
             when: Optional[float] = None) -> None:
        if not uid:
            return
        self.db.execute(
            "INSERT INTO tombstones (path, uid, href, component, deleted_at) "
            "VALUES (:path, :uid, :href, :component, :at) ON CONFLICT (path, uid) DO UPDATE "
            "SET href = excluded.href, component = excluded.component, "
            "deleted_at = excluded.deleted_at",
            {"path": path, "uid": uid, "href": href, "component": component or "",
             "at": when or time.time()})

    def revive(self, path: str, uid: str) -> None:
        if uid:
            self.db.execute("DELETE FROM tombstones WHERE path = :path AND uid = :uid",
                            {"path": path, "uid": uid})

    def deleted_since(self, path: str, since: float, until: Optional[float] = None,
                      component: Optional[str] = None) -> List[Tombstone]:
        sql = "SELECT * FROM tombstones WHERE path = :path AND deleted_at >= :since"
        args = {"path": path, "since": since, "until": until, "component": component}
        if until is not None:
            sql += " AND deleted_at <= :until"
        if component:
            sql += " AND component = :component"
        return [Tombstone(r.uid, r.href, r.component, r.deleted_at)
                for r in self.db.query(sql + " ORDER BY deleted_at", args)]

    def forget_collection(self, path: str) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM tombstones WHERE path = :path", {"path": path})
            c.execute("DELETE FROM origins WHERE path = :path", {"path": path})
