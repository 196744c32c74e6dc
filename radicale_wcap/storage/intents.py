"""Write intents: the index is never blind to a file a write may have touched.

A write of one item goes: intent (a durable row naming the calendar and the
item's file), then the file, then the index row, then the intent's removal. A process killed between the file and the index leaves the
intent behind, and whoever next locks that calendar re-reads exactly those
files (``storage/consistency.py``). The folder's modification time, which
many file systems keep coarsely, is not what this relies on.

Intents live in the index's database: if that is lost, the whole index is
rebuilt from the files anyway. A batch needs no intents of its own; its
journal names every file it touches.
"""

from __future__ import annotations

import time
from typing import Iterable, List, Optional

from radicale_wcap.db import Database


class Intents:
    def __init__(self, db: Database) -> None:
        self.db = db

    def note(self, path: str, href: str) -> None:
        with self.db.durable_transaction() as c:
            c.execute("INSERT OR REPLACE INTO intents (path, href, created) VALUES (?, ?, ?)",
                      (path, href, time.time()))

    def pending(self, paths: Optional[Iterable[str]] = None) -> List[tuple]:
        """(path, href) of intents left by a dead writer in any of ``paths`` (all when None)."""
        if paths is None:
            return [(row["path"], row["href"]) for row in self.db.query(
                "SELECT path, href FROM intents ORDER BY path")]
        wanted = sorted(set(paths))
        if not wanted:
            return []
        return [(row["path"], row["href"]) for row in self.db.query(
            "SELECT path, href FROM intents WHERE path IN (%s)" % ",".join("?" * len(wanted)),
            wanted)]

    def drop(self, path: str, hrefs: Iterable[str]) -> None:
        with self.db.transaction() as c:
            c.executemany("DELETE FROM intents WHERE path = ? AND href = ?",
                          [(path, h) for h in hrefs])
