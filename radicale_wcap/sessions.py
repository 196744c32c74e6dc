"""WCAP session ids, shared by every worker process through the database.

Ids come from ``secrets`` (256 bits, URL-safe, because Lightning puts them in
URLs without encoding). Only a SHA-256 of each id is stored, so a copy of the
database does not hand out live sessions. An id expires after an idle time
and after a maximum lifetime; logout deletes it. ``last_seen`` is written at
most every few seconds so that a busy client does not turn every read into a
database write.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Optional

from radicale_wcap.db import Database

TOUCH_INTERVAL = 10.0


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    def __init__(self, db: Database, idle_timeout: float, max_lifetime: float) -> None:
        self.db = db
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime

    def create(self, user: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.transaction() as c:
            c.execute("DELETE FROM sessions WHERE last_seen < ? OR created < ?",
                      (now - self.idle_timeout, now - self.max_lifetime))
            c.execute("INSERT INTO sessions (id_hash, user, created, last_seen) "
                      "VALUES (?, ?, ?, ?)", (_digest(sid), user, now, now))
        return sid

    def user_of(self, sid: Optional[str]) -> Optional[str]:
        """The user of a live session, or None (unknown, expired, malformed)."""
        if not sid or len(sid) > 256:
            return None
        digest = _digest(sid)
        row = self.db.query_one(
            "SELECT user, created, last_seen FROM sessions WHERE id_hash = ?", (digest,))
        if row is None:
            return None
        now = time.time()
        if (now - row["last_seen"] > self.idle_timeout
                or now - row["created"] > self.max_lifetime):
            self.db.execute("DELETE FROM sessions WHERE id_hash = ?", (digest,))
            return None
        if now - row["last_seen"] > TOUCH_INTERVAL:
            self.db.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?",
                            (now, digest))
        return row["user"]

    def revoke(self, sid: str) -> bool:
        return bool(self.db.execute("DELETE FROM sessions WHERE id_hash = ?",
                                    (_digest(sid),)).rowcount)

    def revoke_user(self, user: str, keep: Optional[str] = None) -> int:
        """End every session of ``user``, except ``keep`` (the caller's own)."""
        if keep:
            return self.db.execute("DELETE FROM sessions WHERE user = ? AND id_hash != ?",
                                   (user, _digest(keep))).rowcount
        return self.db.execute("DELETE FROM sessions WHERE user = ?", (user,)).rowcount
