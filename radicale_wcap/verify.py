"""``verify`` and ``reindex``: store and index consistency.

``verify`` runs Radicale's own storage check, then, for every calendar,
brings the index up to date the way a query would and compares it with a
full scan of the items; whatever still differs is damage (a bug, or a
corrupt index file), reported per item. ``reindex`` drops the index and
rebuilds it from the items; tombstones, item ids and ACLs are durable data
in another database and are not touched.
"""

from __future__ import annotations

import logging
from typing import Callable

from radicale_wcap import calid as calid_mod
from radicale_wcap import radicale_compat

logger = logging.getLogger("radicale.wcap.verify")


def _integrity(db, name: str, log: Callable) -> int:
    try:
        result = db.query_one("PRAGMA integrity_check")[0]
    except Exception as e:
        log("%s: can not be read: %s" % (name, e))
        return 1
    if result != "ok":
        log("%s: integrity check failed: %s" % (name, result))
        return 1
    return 0


def verify_store(instance, log: Callable = print) -> int:
    problems = 0
    svc = instance.services
    problems += _integrity(svc.db, "wcap.sqlite", log)
    problems += _integrity(svc.index_db, "index.sqlite", log)
    storage = instance.store.storage
    with storage.acquire_lock("r"):
        if not storage.verify():
            log("Radicale's storage check found errors (see the log)")
            problems += 1
    for path in instance.store.calendars_on_disk():
        with instance.store.reading(path) as collection:
            if collection is None:
                continue
            index = collection.index()
            indexed = {row.href: row for row in index.all(collection.key)}
            seen = set()
            for item in collection.get_all():
                seen.add(item.href)
                row = indexed.get(item.href)
                if row is None:
                    log("%s: item %s is missing from the index" % (path, item.href))
                    problems += 1
                elif row.etag != item.etag or row.uid != item.uid:
                    log("%s: index entry of %s is stale" % (path, item.href))
                    problems += 1
            for href, _, _ in radicale_compat.list_item_files(collection):
                if href not in seen:
                    log("%s: item %s can not be read (not valid iCalendar?)" % (path, href))
                    problems += 1
            for href in set(indexed) - seen:
                log("%s: index lists %s, which is not in the store" % (path, href))
                problems += 1
    on_disk = set(instance.store.calendars_on_disk())
    for record in svc.registry.list():
        if record.path not in on_disk:
            log("registry: calendar %s (%s) has no collection" % (record.calid, record.path))
            problems += 1
    return problems


def reindex_store(instance, log: Callable = print) -> int:
    svc = instance.services
    paths = instance.store.calendars_on_disk()  # takes the read lock: not inside "w"
    with instance.store.storage.acquire_lock("w", "", request="reindex"):
        with svc.index_db.transaction() as c:
            for table in ("items", "instances", "alarms", "collections"):
                c.execute("DELETE FROM %s" % table)
        count = 0
        for path in paths:
            collection = instance.store._discover(path)
            if collection is None:
                continue
            svc.registry.register(path)
            read, removed = svc.index.reconcile(collection)
            log("%s: %d item(s) indexed" % (calid_mod.from_path(path), read))
            count += 1
    return count
