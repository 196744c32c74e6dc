"""``verify`` and ``reindex``: store and index consistency, through the store's API.

``verify`` reports what SQLite and Radicale find wrong, then, per calendar, how its
index (brought up to date the way a query would) differs from a full scan of its items
(``store/maintenance.py``), then registry entries without a calendar; each finding is
one line. ``reindex`` rebuilds the index from the items; tombstones, item ids and ACLs
are durable data in another database and are not touched.
"""

from __future__ import annotations

import logging
from typing import Callable

logger = logging.getLogger("radicale.wcap.verify")


def verify_store(instance, log: Callable = print) -> int:
    store = instance.store
    problems = 0
    for finding in store.integrity():
        log(finding)
        problems += 1
    if not store.storage_is_sound():
        log("Radicale's storage check found errors (see the log)")
        problems += 1
    on_disk = store.calendars_on_disk()
    for path in on_disk:
        for finding in store.calendar_damage(path):
            log(finding)
            problems += 1
    on_disk = set(on_disk)
    for record in instance.registry.list():
        if record.path not in on_disk:
            log("registry: calendar %s (%s) has no collection" % (record.calid, record.path))
            problems += 1
    return problems


def reindex_store(instance, log: Callable = print) -> int:
    return instance.store.reindex(log)
