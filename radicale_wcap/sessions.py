"""WCAP session ids, shared by every worker process through the database.

Ids are 43 letters and digits from ``secrets`` (about 256 bits): Lightning puts
them in URLs without encoding, and older clients cut the id out of the login
answer with ``WCAP-SESSION-ID:(\\w+)`` or take a leading ``-`` for a failed login
(docs/wcap-clients.md#other-clients), so no ``-`` or ``_``. Only a SHA-256 of each id is
stored, so a copy of the database does not hand out live sessions. An id expires after an
idle time and after a maximum lifetime; logout deletes it. ``last_seen`` is
written at most every few seconds so that a busy client does not turn every
read into a database write, and best-effort (``Database.bookkeeping``): on a
full disk it stayed unwritten and every fetch of a live session failed with
errno 13. Deleting an expired row is best-effort too; the id is refused either
way.

A session also ends when its user's password changes, by any door or process:
it records the user's ``password_changed`` at login and lives only while the
two agree (schema migration 4), so no caller of ``Directory.set_password`` can
forget to end them.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from typing import Optional

from radicale_wcap.db import Database

TOUCH_INTERVAL = 10.0
ID_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 43


def _digest(sid: str) -> str:
    # A 2014 client sends ``id=<sid>%0D%0A``; ids never hold white space.
    return hashlib.sha256(sid.strip().encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    def __init__(self, db: Database, idle_timeout: float, max_lifetime: float) -> None:
        self.db = db
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime

    def create(self, user: str) -> str:
        sid = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
        now = time.time()
        with self.db.transaction() as c:
            c.execute("DELETE FROM sessions WHERE last_seen < :idle OR created < :old",
                      {"idle": now - self.idle_timeout, "old": now - self.max_lifetime})
            c.execute('INSERT INTO sessions (id_hash, "user", created, last_seen, '
                      "password_changed) VALUES (:id, :user, :now, :now, (SELECT "
                      "password_changed FROM users WHERE name = :user))",
                      {"id": _digest(sid), "user": user, "now": now})
        return sid

    def user_of(self, sid: Optional[str]) -> Optional[str]:
        """The user of a live session, or None (unknown, expired, malformed, or
        the password changed since the login)."""
        if not sid or len(sid) > 256 or not sid.strip():
            return None
        digest = {"id": _digest(sid)}
        # Read on every request, from the database every host shares: a logout or a
        # password change anywhere decides the next request here (nothing is cached).
        row = self.db.query_one(
            'SELECT s."user" AS name, s.created, s.last_seen, s.password_changed AS stamp, '
            "u.password_changed AS current FROM sessions s "
            'LEFT JOIN users u ON u.name = s."user" WHERE s.id_hash = :id', digest)
        if row is None:
            return None
        now = time.time()
        if (row.stamp != row.current or now - row.last_seen > self.idle_timeout
                or now - row.created > self.max_lifetime):
            self.db.bookkeeping("the end of an expired session", lambda c: c.execute(
                "DELETE FROM sessions WHERE id_hash = :id", digest))
            return None
        if now - row.last_seen > TOUCH_INTERVAL:
            self.db.bookkeeping("a session's last_seen", lambda c: c.execute(
                "UPDATE sessions SET last_seen = :now WHERE id_hash = :id",
                {"now": now, **digest}))
        return row.name

    def revoke(self, sid: str) -> bool:
        return bool(self.db.execute("DELETE FROM sessions WHERE id_hash = :id",
                                    {"id": _digest(sid)}))

    def revoke_user(self, user: str, keep: Optional[str] = None) -> int:
        """End every session of ``user``, except ``keep`` (the caller's own).

        ``keep`` also outlives a password change the caller has just made
        (WCAP change_password): it is stamped with the new ``password_changed``.
        """
        with self.db.transaction() as c:
            if not keep:
                return c.execute('DELETE FROM sessions WHERE "user" = :user',
                                 {"user": user}).rowcount
            named = {"user": user, "id": _digest(keep)}
            ended = c.execute('DELETE FROM sessions WHERE "user" = :user AND id_hash != :id',
                              named).rowcount
            c.execute("UPDATE sessions SET password_changed = (SELECT password_changed "
                      'FROM users WHERE name = :user) WHERE id_hash = :id AND "user" = :user',
                      named)
            return ended
