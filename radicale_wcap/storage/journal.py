"""The batch journal: many item writes, in one or several calendars, all or nothing.

Radicale writes one item file at a time (each atomic by rename), so a batch
that fails part-way (disk full, a killed worker) would leave calendars half
old, half new. Before the first write the plan is recorded durably: per item
its calendar, href, the text before (``None`` for an added item) and the
ETag the new text will have (``None`` for a deletion). The row goes in the
same database transaction that records what the batch's caller keeps beside
the items (a feed's origins), once every write is done.

A row still present is an interrupted batch, and it is rolled BACK, not
forward: its client never got an answer, so "as before" is what it believes,
and undoing needs only what is certain (the old texts). Rollback looks at the
item files, not at the index, which a crash may have left behind, and only
touches an item that is still exactly what the batch wrote.

Which process rolls back: whichever next locks one of the batch's calendars
(``storage/consistency.py``). A batch's writer holds all its calendars' locks
until the row is gone, so a row seen under a calendar lock is a dead writer's.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Iterable, List, Optional

from radicale_wcap.db import Database

PENDING = "pending"


@dataclass(frozen=True)
class Entry:
    path: str
    uid: str
    href: str
    old: Optional[str]       # text before the batch; None: the batch adds the item
    new_etag: Optional[str]  # ETag after the batch; None: the batch deletes the item


@dataclass(frozen=True)
class Pending:
    id: int
    request: str
    entries: List[Entry]

    @property
    def paths(self) -> List[str]:
        return sorted({e.path for e in self.entries})


class Journal:
    def __init__(self, db: Database) -> None:
        self.db = db

    def begin(self, request: str, entries: List[Entry]) -> int:
        paths = sorted({e.path for e in entries})
        payload = json.dumps([asdict(e) for e in entries], ensure_ascii=False)
        with self.db.durable_transaction() as c:
            journal_id = c.scalar(
                "INSERT INTO journal (path, created, state, payload) "
                "VALUES (:path, :now, :state, :payload) RETURNING id",
                {"path": paths[0] if paths else "", "now": time.time(),
                 "state": request or PENDING, "payload": payload})
            c.execute("INSERT INTO journal_paths (journal_id, path) VALUES (:id, :path)",
                      [{"id": journal_id, "path": p} for p in paths])
        return journal_id

    @staticmethod
    def finish(tx, journal_id: int) -> None:
        """Inside the caller's transaction; the paths go with the row (ON DELETE CASCADE)."""
        tx.execute("DELETE FROM journal_paths WHERE journal_id = :id", {"id": journal_id})
        tx.execute("DELETE FROM journal WHERE id = :id", {"id": journal_id})

    def close(self, journal_id: int) -> None:
        with self.db.transaction() as c:
            self.finish(c, journal_id)

    def pending(self, paths: Optional[Iterable[str]] = None) -> List[Pending]:
        """Interrupted batches touching any of ``paths`` (all when None)."""
        if paths is None:
            rows = self.db.query("SELECT id, path, state, payload FROM journal ORDER BY id")
        else:
            wanted = sorted(set(paths))
            if not wanted:
                return []
            rows = self.db.query(
                "SELECT j.id, j.path, j.state, j.payload FROM journal j WHERE j.id IN "
                "(SELECT journal_id FROM journal_paths WHERE path IN :paths) ORDER BY j.id",
                {"paths": wanted})
        found = []
        for row in rows:
            entries = []
            for e in json.loads(row.payload):
                e.setdefault("path", row.path)  # rows older than migration 5
                entries.append(Entry(**e))
            found.append(Pending(row.id, row.state, entries))
        return found
