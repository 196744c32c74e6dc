"""Which stored events came from a feed, and in what state (the ``origins`` table).

A re-upload must leave unchanged events byte-for-byte alone, and telling
"unchanged" from the stored files would mean parsing every item on every
upload.  So each imported event keeps the feed's fingerprint (DTSTAMP
ignored, see events.py) and the ETag the store gave it: an event is unchanged
when the fingerprint matches AND the item still has that ETag; a different
ETag means a CalDAV or WCAP user edited it since, and the feed wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable


@dataclass(frozen=True)
class Origin:
    uid: str
    feed: str
    fingerprint: str
    etag: str


class Origins:
    def __init__(self, db) -> None:
        self.db = db

    def of_calendar(self, path: str) -> Dict[str, Origin]:
        return {row.uid: Origin(row.uid, row.feed, row.fingerprint, row.etag)
                for row in self.db.query("SELECT uid, feed, fingerprint, etag FROM origins "
                                         "WHERE path = :path", {"path": path})}

    @staticmethod
    def record(tx, path: str, origins: Iterable[Origin]) -> None:
        """Insert or replace rows inside the caller's transaction (``db.Transaction``)."""
        tx.execute(
            "INSERT INTO origins (path, uid, feed, fingerprint, etag) "
            "VALUES (:path, :uid, :feed, :fingerprint, :etag) ON CONFLICT (path, uid) "
            "DO UPDATE SET feed = excluded.feed, fingerprint = excluded.fingerprint, "
            "etag = excluded.etag",
            [{"path": path, "uid": o.uid, "feed": o.feed, "fingerprint": o.fingerprint,
              "etag": o.etag} for o in origins])

    @staticmethod
    def forget(tx, path: str, uids: Iterable[str]) -> None:
        tx.execute("DELETE FROM origins WHERE path = :path AND uid = :uid",
                   [{"path": path, "uid": uid} for uid in uids])
