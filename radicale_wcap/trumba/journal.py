"""The import journal: a feed is applied all or not at all.

Radicale writes one item file at a time (each write atomic by rename), so a
feed of many events that fails part-way (disk full, killed process) would
leave the calendar half old, half new.  Before the first write the plan is
recorded durably in the ``journal`` table: per event its href, the old text
(``None`` for an added event) and the ETag the new text will have (``None``
for a deletion).  The row is removed in the same database transaction that
records the origins, once every write is done.

A row still present is an interrupted feed, and it is rolled BACK, not
forward: the client never got its response, so "as before" is what it
believes, a connector retries the whole file anyway, and undoing needs only
what is certain (old texts) while redoing would need the whole new feed kept
in the journal.  Rollback only touches items that are still exactly what the
feed wrote (same ETag, or still absent for a deletion), so an edit someone
made after the crash is never clobbered.

``recover(instance)`` runs at startup and at the start of every feed PUT.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import List, Optional

from radicale_wcap import store as store_mod

logger = logging.getLogger("radicale.wcap.trumba.journal")

PENDING = "pending"


@dataclass(frozen=True)
class Entry:
    uid: str
    href: str
    old: Optional[str]       # text before the feed; None: the feed adds the event
    new_etag: Optional[str]  # ETag after the feed; None: the feed deletes the event


@dataclass(frozen=True)
class Pending:
    id: int
    path: str
    entries: List[Entry]


class Journal:
    def __init__(self, db) -> None:
        self.db = db

    def begin(self, path: str, entries: List[Entry]) -> int:
        # WAL with synchronous=NORMAL may lose the last commit on power loss;
        # this one must reach the disk before any item file changes.
        connection = self.db.connection
        connection.execute("PRAGMA synchronous=FULL")
        try:
            payload = json.dumps([asdict(e) for e in entries], ensure_ascii=False)
            with self.db.transaction() as c:
                cursor = c.execute(
                    "INSERT INTO journal (path, created, state, payload) VALUES (?, ?, ?, ?)",
                    (path, time.time(), PENDING, payload))
            return cursor.lastrowid
        finally:
            connection.execute("PRAGMA synchronous=NORMAL")

    @staticmethod
    def finish(connection, journal_id: int) -> None:
        """Inside the caller's transaction (the one recording origins)."""
        connection.execute("DELETE FROM journal WHERE id = ?", (journal_id,))

    def pending(self, path: Optional[str] = None) -> List[Pending]:
        sql, args = "SELECT id, path, payload FROM journal WHERE state = ?", [PENDING]
        if path is not None:
            sql += " AND path = ?"
            args.append(path)
        return [Pending(row["id"], row["path"],
                        [Entry(**e) for e in json.loads(row["payload"])])
                for row in self.db.query(sql + " ORDER BY id", args)]


def collection_at(store, path: str):
    """The calendar collection at ``path`` (None if gone); the caller holds the lock."""
    from radicale import storage as radicale_storage
    found = next(iter(store.storage.discover(path)), None)
    if isinstance(found, radicale_storage.BaseCollection) and found.tag:
        return found
    return None


def roll_back(store, collection, entries: List[Entry]) -> int:
    """Undo what the feed wrote; the caller holds the write lock. Returns items restored."""
    configuration = store.configuration
    index = collection.index()
    undone = 0
    for entry in reversed(entries):
        current = index.by_uid(collection.key, entry.uid)
        if entry.new_etag is None:
            if current is not None or entry.old is None:
                continue  # not deleted yet, or re-created by someone since
        elif current is None or current.etag != entry.new_etag:
            continue  # not written yet, or edited by someone since
        if entry.old is None:
            store.delete_uid(collection, entry.uid)
        else:
            try:
                item = store_mod.prepare_item(configuration, collection.key, entry.old)
            except store_mod.ItemRefused as e:
                logger.error("Feed rollback of %r in %s: old text refused (%s)",
                             entry.uid, collection.key, e)
                continue
            store.put(collection, item, entry.href)
        undone += 1
    return undone


def recover_locked(store, journal: Journal, path: Optional[str] = None) -> int:
    """Roll back interrupted feeds (of ``path``, or all); the write lock is held."""
    count = 0
    for pending in journal.pending(path):
        collection = collection_at(store, pending.path)
        undone = 0
        if collection is not None:
            undone = roll_back(store, collection, pending.entries)
        with journal.db.transaction() as c:
            Journal.finish(c, pending.id)
        logger.warning("Interrupted feed import into %s rolled back (%d item(s) restored)",
                       pending.path, undone)
        count += 1
    return count


def recover(instance) -> int:
    """Roll back every interrupted feed import; call at startup. Returns feeds recovered."""
    journal = Journal(instance.services.db)
    count = 0
    for pending in journal.pending():
        with instance.store.writing(pending.path, "", "feed-recovery"):
            count += recover_locked(instance.store, journal, pending.path)
    return count
