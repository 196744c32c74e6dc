"""``verify`` and ``reindex`` of the store, and the lock a backup copies under.

``verify`` runs Radicale's own storage check, then, for every calendar, brings the
index up to date the way a query would and compares it with a full scan of the items;
whatever still differs is damage (a bug, or a corrupt index file), reported per item.
``reindex`` forgets the index and rebuilds it from the items; tombstones, item ids
and ACLs are durable data in another database and are not touched.
"""

from __future__ import annotations

from typing import Callable, List

from radicale_wcap import calid as calid_mod
from radicale_wcap import radicale_compat
from radicale_wcap.storage.locks import SHARED


def integrity(svc) -> List[str]:
    """What the engines' own checks find wrong in the project's databases (SQLite's
    integrity check; PostgreSQL checks its own pages: there, that the schema is the
    code's)."""
    found = []
    durable = "wcap.sqlite" if svc.db.kind == "sqlite" else "the PostgreSQL database"
    for db, name in ((svc.db, durable), (svc.index_db, "index.sqlite")):
        try:
            problems = db.check()
        except Exception as e:
            found.append("%s: can not be read: %s" % (name, e))
            continue
        if problems:
            found.append("%s: integrity check failed: %s" % (name, "; ".join(problems)))
    return found


def storage_is_sound(store) -> bool:
    """Radicale's own check of every collection (it logs what it finds)."""
    with store.storage.acquire_lock("r"):
        return bool(store.storage.verify())


def calendar_damage(store, path: str) -> List[str]:
    """How the index of the calendar at ``path`` differs from its files, once brought
    up to date as a query would."""
    found: List[str] = []
    with store.storage.acquire_lock("r"):
        with store.storage.calendar_lock([path], SHARED):
            collection = store._discover(path)
            if collection is None:
                return found
            indexed = {row.href: row for row in collection.index().all(path)}
            seen = set()
            for item in collection.get_all():
                seen.add(item.href)
                row = indexed.get(item.href)
                if row is None:
                    found.append("%s: item %s is missing from the index" % (path, item.href))
                elif row.etag != item.etag or row.uid != item.uid:
                    found.append("%s: index entry of %s is stale" % (path, item.href))
            for href in _stored_names(collection):
                if href not in seen:
                    found.append("%s: item %s can not be read (not valid iCalendar?)"
                                 % (path, href))
            for href in sorted(set(indexed) - seen):
                found.append("%s: index lists %s, which is not in the store" % (path, href))
    return found


def _stored_names(collection) -> List[str]:
    """Every item name the engine holds, readable or not: its files, or (an engine
    without files, storage/sql/) the names it lists itself."""
    listed = getattr(collection, "stored_names", None)
    if listed is not None:
        return listed()
    return [href for href, _, _ in radicale_compat.list_item_files(collection)]


def reindex(store, log: Callable[[str], None]) -> int:
    """Forget the index and rebuild it from the items, the whole store locked."""
    svc = store.services
    paths = store.calendars_on_disk()  # takes the read lock: not inside "w"
    count = 0
    with store.storage.acquire_lock("w", "", request="reindex"):
        svc.index.clear()
        for path in paths:
            collection = store._discover(path)
            if collection is None:
                continue
            svc.registry.register(path)
            read, _removed = svc.index.reconcile(collection)
            log("%s: %d item(s) indexed" % (calid_mod.from_path(path), read))
            count += 1
    return count
