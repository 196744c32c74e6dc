"""The user directory: who may log in, and the attributes the legacy APIs need.

Passwords are argon2id hashes (argon2-cffi). Hashing is deliberately slow,
and CalDAV clients send their password with every request, so a verified
password is remembered in memory for a short while under a keyed hash of
name and password: a wrong password can never hit the cache, and a password
change (in any process: the entry also records the change time stored in the
database) drops it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import argon2

from radicale_wcap import calid as calid_mod
from radicale_wcap import timezones
from radicale_wcap.config import Settings
from radicale_wcap.db import Database

logger = logging.getLogger("radicale.wcap.directory")

_EMAIL = re.compile(r"[^@\s<>\"';,]+@[^@\s<>\"';,]+\Z")
MAX_PASSWORD_LENGTH = 4096
MAX_FAILURE_ROWS = 10000
# Taken by every write that reads before it writes (exists? then insert): on
# PostgreSQL two hosts would otherwise both pass the check.
LOCK = "directory"


class DirectoryError(ValueError):
    pass


@dataclass
class User:
    name: str
    email: str
    cn: str
    tz: str
    admin: bool
    prefs: Dict[str, Any] = field(default_factory=dict)
    has_password: bool = True
    password_changed: float = 0.0

    @property
    def default_calid(self) -> str:
        return self.name


def validate_user_name(name: str) -> None:
    if not calid_mod.is_valid_name(name):
        raise DirectoryError(
            "invalid user name %r: use letters, digits and . _ @ + - "
            "(at most 64, starting with a letter or digit)" % name)
    if name.lower() in calid_mod.RESERVED_USER_NAMES:
        raise DirectoryError(
            "user name %r is reserved: it would hide the user's CalDAV home behind "
            "one of the server's own URLs" % name)


def validate_email(email: str) -> None:
    if email and not _EMAIL.match(email):
        raise DirectoryError("invalid mail address %r" % email)


def validate_tz(tz: str) -> None:
    if not timezones.is_valid_tzid(tz):
        raise DirectoryError("unknown time zone %r" % tz)


def _row_to_user(row) -> User:
    return User(name=row.name, email=row.email, cn=row.cn, tz=row.tz,
                admin=bool(row.admin), prefs=json.loads(row.prefs or "{}"),
                has_password=bool(row.password_hash),
                password_changed=row.password_changed)


class Directory:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.get("auth", "argon2_time_cost"),
            memory_cost=settings.get("auth", "argon2_memory_cost"),
            parallelism=1)
        # A hash to verify against when the user does not exist, so that an
        # unknown user costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        self._cache_key = secrets.token_bytes(32)
        self._cache: Dict[str, Tuple[float, float]] = {}
        self._cache_lock = threading.Lock()

    # -- reading
    def get(self, name: str) -> Optional[User]:
        row = self.db.query_one("SELECT * FROM users WHERE name = :name", {"name": name})
        return _row_to_user(row) if row else None

    def by_email(self, email: str) -> Optional[User]:
        row = self.db.query_one(
            "SELECT * FROM users WHERE lower(email) = lower(:email) AND email != ''",
            {"email": email})
        return _row_to_user(row) if row else None

    def revision(self) -> int:
        """Changes whenever a user is added, removed, renamed or re-addressed, in
        any process (schema migration 2)."""
        return self.db.scalar("SELECT rev FROM directory_revision")

    def list(self) -> List[User]:
        return [_row_to_user(r) for r in self.db.query("SELECT * FROM users ORDER BY name")]

    # -- writing
    def add(self, name: str, password: Optional[str], *, email: str = "",
            cn: str = "", tz: str = "UTC", admin: bool = False) -> User:
        validate_user_name(name)
        validate_email(email)
        validate_tz(tz)
        password_hash = self._hash(password) if password is not None else None
        with self.db.transaction() as c:
            c.lock(LOCK)
            if c.query_one("SELECT 1 FROM users WHERE name = :name", {"name": name}):
                raise DirectoryError("user %r exists" % name)
            if email and c.query_one("SELECT 1 FROM users WHERE lower(email) = lower(:email)",
                                     {"email": email}):
                raise DirectoryError("mail address %r belongs to another user" % email)
            now = time.time()
            c.execute("INSERT INTO users (name, password_hash, email, cn, tz, admin, prefs, "
                      "password_changed, created) VALUES (:name, :password_hash, :email, "
                      ":cn, :tz, :admin, '{}', :now, :now)",
                      {"name": name, "password_hash": password_hash, "email": email,
                       "cn": cn or name, "tz": tz, "admin": int(admin), "now": now})
        logger.info("User %r added", name)
        user = self.get(name)
        assert user is not None
        return user

    def update(self, name: str, **changes: Any) -> User:
        allowed = {"email", "cn", "tz", "admin"}
        unknown = set(changes) - allowed
        if unknown:
            raise DirectoryError("unknown user attribute(s): %s" % ", ".join(sorted(unknown)))
        if "email" in changes:
            validate_email(changes["email"])
        if "tz" in changes:
            validate_tz(changes["tz"])
        with self.db.transaction() as c:
            c.lock(LOCK)
            if not c.query_one("SELECT 1 FROM users WHERE name = :name", {"name": name}):
                raise DirectoryError("no such user %r" % name)
            if changes.get("email") and c.query_one(
                    "SELECT 1 FROM users WHERE lower(email) = lower(:email) AND name != :name",
                    {"email": changes["email"], "name": name}):
                raise DirectoryError("mail address %r belongs to another user"
                                     % changes["email"])
            for key, value in changes.items():
                c.execute("UPDATE users SET %s = :value WHERE name = :name" % key,
                          {"value": int(value) if key == "admin" else value, "name": name})
        user = self.get(name)
        assert user is not None
        return user

    def set_prefs(self, name: str, prefs: Dict[str, Any]) -> None:
        with self.db.transaction() as c:
            c.lock(LOCK)
            row = c.query_one("SELECT prefs FROM users WHERE name = :name", {"name": name})
            if row is None:
                raise DirectoryError("no such user %r" % name)
            merged = json.loads(row.prefs or "{}")
            for key, value in prefs.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            c.execute("UPDATE users SET prefs = :prefs WHERE name = :name",
                      {"prefs": json.dumps(merged, sort_keys=True), "name": name})

    def delete(self, name: str) -> None:
        with self.db.transaction() as c:
            c.lock(LOCK)
            named = {"name": name}
            if not c.execute("DELETE FROM users WHERE name = :name", named).rowcount:
                raise DirectoryError("no such user %r" % name)
            c.execute('DELETE FROM sessions WHERE "user" = :name', named)
            c.execute('DELETE FROM apikeys WHERE "user" = :name', named)
            c.execute("DELETE FROM login_failures WHERE name = :name", named)
        self._drop_cache()
        logger.info("User %r deleted, sessions and API keys revoked", name)

    # -- passwords
    def _hash(self, password: str) -> str:
        if not isinstance(password, str) or not password:
            raise DirectoryError("empty password")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise DirectoryError("password too long")
        return self._hasher.hash(password)

    def set_password(self, name: str, password: str) -> None:
        """Also ends every WCAP session of the user, in every process: a session
        lives only while its ``password_changed`` is the user's (sessions.py).
        The stamp only ever grows, so that no later one equals an earlier one
        even when the clock steps back."""
        password_hash = self._hash(password)
        with self.db.transaction() as c:
            if not c.execute(
                    "UPDATE users SET password_hash = :hash, password_changed = CASE WHEN "
                    ":now > password_changed + 0.001 THEN :now ELSE password_changed + 0.001 "
                    "END WHERE name = :name",
                    {"hash": password_hash, "now": time.time(), "name": name}).rowcount:
                raise DirectoryError("no such user %r" % name)
        self._drop_cache()
        logger.info("Password of user %r changed", name)

    def _cache_entry(self, name: str, password: str) -> str:
        return hmac.new(self._cache_key, name.encode() + b"\0" + password.encode(
            "utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def _drop_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def verify_password(self, name: str, password: str) -> bool:
        """Constant-time for unknown users; cached for a short while."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            return False
        row = self.db.query_one(
            "SELECT password_hash, password_changed FROM users WHERE name = :name",
            {"name": name})
        ttl = self.settings.get("auth", "credential_cache_seconds")
        key = self._cache_entry(name, password)
        now = time.monotonic()
        if row is not None and ttl:
            with self._cache_lock:
                entry = self._cache.get(key)
            if entry is not None and entry[0] > now and entry[1] == row.password_changed:
                return True
        stored = row.password_hash if row is not None and row.password_hash else None
        try:
            ok = self._hasher.verify(stored or self._dummy_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            ok = False
        ok = ok and stored is not None
        if ok and ttl:
            with self._cache_lock:
                if len(self._cache) > 10000:
                    self._cache.clear()
                self._cache[key] = (now + ttl, row.password_changed)
        return ok

    # -- failed logins
    def backoff(self, count: int) -> float:
        """Seconds for which logins are refused after the ``count``-th failure in a row."""
        base = self.settings.get("auth", "failed_login_backoff")
        top = self.settings.get("auth", "failed_login_backoff_max")
        if not base or count < 1:
            return 0.0
        return min(top, base * 2.0 ** min(count - 1, 64))

    def login_refused(self, name: str) -> bool:
        """True while the back-off after ``name``'s last failed login lasts;
        ``auth.verify`` then answers a failed login at once, without looking at
        the password or counting the attempt."""
        row = self.db.query_one("SELECT count, last FROM login_failures WHERE name = :name",
                                {"name": name})
        return row is not None and time.time() < row.last + self.backoff(row.count)

    def record_failure(self, name: str) -> int:
        """Count a failed login of ``name``; the number of failures in a row.

        Names that do not exist are counted like users, so that the back-off
        does not tell which names do. The table is bounded all the same: past
        ``MAX_FAILURE_ROWS`` the oldest rows of names that are not users go
        first, so a flood of made-up names neither grows it nor wipes the
        count of a user under attack.
        """
        if not calid_mod.is_valid_name(name):
            return 0
        now = time.time()
        counted = []

        def count_failure(c) -> None:
            c.execute("DELETE FROM login_failures WHERE last < :old", {"old": now - 86400})
            counted.append(c.scalar(
                "INSERT INTO login_failures (name, count, last) VALUES (:name, 1, :now) "
                "ON CONFLICT (name) DO UPDATE SET count = login_failures.count + 1, "
                "last = :now RETURNING count", {"name": name, "now": now}))
            excess = c.scalar("SELECT count(*) FROM login_failures") - MAX_FAILURE_ROWS
            if excess > 0:
                c.execute("DELETE FROM login_failures WHERE name IN (SELECT name FROM "
                          "login_failures WHERE name NOT IN (SELECT name FROM users) "
                          "ORDER BY last LIMIT :excess)", {"excess": excess})

        # Best-effort, never paused: a login whose failure can not be counted (disk
        # full) is still a failed login, not a server error.
        if not self.db.bookkeeping("a failed login", count_failure, pause=0):
            logger.warning("Failed login for user %r (not counted)", name)
            return 0
        logger.warning("Failed login for user %r (%d in a row)", name, counted[-1])
        return counted[-1]

    def clear_failures(self, name: str) -> None:
        named = {"name": name}
        if self.db.query_one("SELECT 1 FROM login_failures WHERE name = :name", named):
            self.db.bookkeeping("the end of a failed-login back-off", lambda c: c.execute(
                "DELETE FROM login_failures WHERE name = :name", named), pause=0)
