"""API keys for the JSON front doors.

A key is ``rwk_<id>_<secret>``; only the SHA-256 of the whole key is stored.
The id lets an administrator list and revoke keys without ever seeing them
again.

``last_used`` tells an administrator which keys are still in use, so it is
written at most once a minute per key, and best-effort: a failed write (on a full
disk, every JSON request answered 500) does not refuse the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import List, Optional

from radicale_wcap.db import Database

_KEY = re.compile(r"rwk_(\d{1,12})_[A-Za-z0-9_-]{20,100}\Z")
TOUCH_INTERVAL = 60.0


@dataclass
class ApiKey:
    id: int
    user: str
    label: str
    created: float
    last_used: Optional[float]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user: str, label: str = "") -> str:
        with self.db.transaction() as c:
            key_id = c.scalar(
                'INSERT INTO apikeys ("user", key_hash, label, created) '
                "VALUES (:user, :pending, :label, :now) RETURNING id",
                {"user": user, "pending": "pending-" + secrets.token_hex(16), "label": label,
                 "now": time.time()})
            key = "rwk_%d_%s" % (key_id, secrets.token_urlsafe(32))
            c.execute("UPDATE apikeys SET key_hash = :hash WHERE id = :id",
                      {"hash": _digest(key), "id": key_id})
        return key

    def list(self, user: Optional[str] = None) -> List[ApiKey]:
        rows = self.db.query(
            'SELECT id, "user" AS name, label, created, last_used FROM apikeys %s ORDER BY id'
            % ('WHERE "user" = :user' if user else ""), {"user": user})
        return [ApiKey(r.id, r.name, r.label, r.created, r.last_used) for r in rows]

    def revoke(self, key_id: int) -> bool:
        return bool(self.db.execute("DELETE FROM apikeys WHERE id = :id", {"id": key_id}))

    def user_of(self, key: Optional[str]) -> Optional[str]:
        if not key:
            return None
        match = _KEY.match(key.strip())
        if not match:
            return None
        key_id = int(match.group(1))
        row = self.db.query_one(
            'SELECT "user" AS name, key_hash, last_used FROM apikeys WHERE id = :id',
            {"id": key_id})
        if row is None or not hmac.compare_digest(row.key_hash, _digest(key.strip())):
            return None
        now = time.time()
        if row.last_used is None or not 0 <= now - row.last_used < TOUCH_INTERVAL:
            self.db.bookkeeping("an API key's last_used", lambda c: c.execute(
                "UPDATE apikeys SET last_used = :now WHERE id = :id", {"now": now, "id": key_id}))
        return row.name
