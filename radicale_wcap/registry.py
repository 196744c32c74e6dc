"""Calendar metadata that must not live in ``.Radicale.props``.

Any CalDAV user with write access could PROPPATCH ``.Radicale.props``, and a
whole-calendar PUT rewrites it, so the ACL, the owners, the web name and the
stable number are kept here, keyed by collection path. Display name,
description and time zone stay in ``.Radicale.props`` where CalDAV clients
see them.

A collection that is not registered (a store written by plain Radicale, or a
calendar that does not exist yet) gets the default ACL with the user of its
path as primary owner; it is registered when first written.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap.acl.ace import InvalidACL, normalize_acl, parse_acl
from radicale_wcap.acl.evaluate import CalendarACL
from radicale_wcap.db import Database

WEBNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\Z")

# Per-calendar settings and their defaults (stored as JSON).
CALENDAR_SETTINGS = {
    "tzid": "",
    "allow_double_booking": True,
    "categories": [],
    "feed_deletes_own_only": False,
    "feed_allow_mass_delete": False,
}


class RegistryError(ValueError):
    pass


@dataclass
class CalendarRecord:
    path: str
    calid: str
    owner: str
    owners: List[str]
    acl: str
    number: int
    webname: Optional[str]
    parent: Optional[str]
    settings: Dict[str, Any] = field(default_factory=dict)
    registered: bool = True
    created: Optional[float] = None  # when registered (WCAP's X-NSCP-CALPROPS-CREATED)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, CALENDAR_SETTINGS.get(name))


def _row(row) -> CalendarRecord:
    return CalendarRecord(
        path=row.path, calid=row.calid, owner=row.owner, owners=json.loads(row.owners),
        acl=row.acl, number=row.number, webname=row.webname, parent=row.parent,
        settings=json.loads(row.settings), created=row.created)


# Taken by every write of the registry: a new calendar's number is the highest plus one,
# and on PostgreSQL two hosts would otherwise pick the same (SQLite's BEGIN IMMEDIATE
# serialises them already); it also orders the revision row's lock after the rows'.
LOCK = "registry"


class Registry:
    def __init__(self, db: Database, default_acl: str) -> None:
        self.db = db
        self.default_acl = normalize_acl(default_acl)
        self._cache: Dict[str, CalendarACL] = {}
        self._cache_revision: Optional[int] = None
        self._lock = threading.Lock()

    # -- cache
    def revision(self) -> int:
        """Changes in the transaction that changes any calendar row, whoever
        commits it, in any process or on any host (schema migration 3)."""
        return self.db.scalar("SELECT rev FROM registry_revision")

    def acl_for(self, path: str) -> CalendarACL:
        """The parsed ACL of a collection path (cached; hot in rights checks).

        The cache holds only what was read at the registry revision read first,
        so a change of ACL committed anywhere decides the very next call, in
        every thread and process.
        """
        path = calid_mod.normalize_path(path)
        revision = self.revision()
        with self._lock:
            if revision != self._cache_revision:
                self._cache.clear()
                self._cache_revision = revision
            cached = self._cache.get(path)
        if cached is not None:
            return cached
        record = self.get(path)
        if record is None:
            record = self.default_record(path)
        acl = CalendarACL(path=path, primary_owner=record.owner,
                          owners=frozenset(record.owners),
                          aces=parse_acl(record.acl))
        with self._lock:
            # Another thread may have moved the cache on to a newer revision
            # while this one read the row: then the row is not filed under it.
            if self._cache_revision == revision:
                if len(self._cache) > 50000:
                    self._cache.clear()
                self._cache[path] = acl
        return acl

    # -- reading
    def default_record(self, path: str) -> CalendarRecord:
        path = calid_mod.normalize_path(path)
        owner = path.strip("/").split("/")[0] if path != "/" else ""
        return CalendarRecord(path=path, calid=calid_mod.from_path(path) or "",
                              owner=owner, owners=[], acl=self.default_acl, number=0,
                              webname=None, parent=None, settings={}, registered=False)

    def get(self, path: str) -> Optional[CalendarRecord]:
        row = self.db.query_one("SELECT * FROM calendars WHERE path = :path",
                                {"path": calid_mod.normalize_path(path)})
        return _row(row) if row else None

    def get_by_calid(self, calid: str) -> Optional[CalendarRecord]:
        row = self.db.query_one("SELECT * FROM calendars WHERE calid = :calid",
                                {"calid": calid})
        return _row(row) if row else None

    def get_by_webname(self, webname: str) -> Optional[CalendarRecord]:
        if not WEBNAME.match(webname or ""):
            return None
        # Web names are case-blind (schema migration 6 indexes lower(webname)).
        row = self.db.query_one("SELECT * FROM calendars WHERE lower(webname) = "
                                "lower(:webname)", {"webname": webname})
        return _row(row) if row else None

    def get_by_number(self, number: int) -> Optional[CalendarRecord]:
        row = self.db.query_one("SELECT * FROM calendars WHERE number = :number",
                                {"number": number})
        return _row(row) if row else None

    def list(self, owner: Optional[str] = None) -> List[CalendarRecord]:
        if owner:
            rows = self.db.query("SELECT * FROM calendars WHERE owner = :owner "
                                 "ORDER BY calid", {"owner": owner})
        else:
            rows = self.db.query("SELECT * FROM calendars ORDER BY calid")
        return [_row(r) for r in rows]

    def children(self, path: str) -> List[CalendarRecord]:
        return [_row(r) for r in self.db.query(
            "SELECT * FROM calendars WHERE parent = :path ORDER BY calid",
            {"path": calid_mod.normalize_path(path)})]

    # -- writing
    def register(self, path: str, *, owner: Optional[str] = None,
                 acl: Optional[str] = None) -> CalendarRecord:
        """Register a collection (idempotent); returns its record."""
        path = calid_mod.normalize_path(path)
        calid = calid_mod.from_path(path)
        if calid is None:
            raise RegistryError("%r is not a calendar collection path" % path)
        existing = self.get(path)
        if existing is not None:
            return existing
        acl_text = normalize_acl(acl) if acl else self.default_acl
        owner = owner or calid_mod.owner_of(calid)
        with self.db.transaction() as c:
            c.lock(LOCK)
            if c.query_one("SELECT 1 FROM calendars WHERE path = :path",
                           {"path": path}) is None:
                number = c.scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM calendars")
                c.execute("INSERT INTO calendars (path, calid, owner, owners, acl, number, "
                          "created) VALUES (:path, :calid, :owner, '[]', :acl, :number, :now)",
                          {"path": path, "calid": calid, "owner": owner, "acl": acl_text,
                           "number": number, "now": time.time()})
        record = self.get(path)
        assert record is not None
        return record

    def _update(self, path: str, column: str, value: Any) -> CalendarRecord:
        path = calid_mod.normalize_path(path)
        self.register(path)
        with self.db.transaction() as c:
            c.lock(LOCK)
            c.execute("UPDATE calendars SET %s = :value WHERE path = :path" % column,
                      {"value": value, "path": path})
        record = self.get(path)
        assert record is not None
        return record

    def set_acl(self, path: str, acl: str) -> CalendarRecord:
        try:
            text = normalize_acl(acl)
        except InvalidACL:
            raise
        return self._update(path, "acl", text)

    def set_owners(self, path: str, owners: List[str]) -> CalendarRecord:
        for owner in owners:
            if not calid_mod.is_valid_name(owner):
                raise RegistryError("invalid owner %r" % owner)
        return self._update(path, "owners", json.dumps(sorted(set(owners))))

    def set_primary_owner(self, path: str, owner: str) -> CalendarRecord:
        if not calid_mod.is_valid_name(owner):
            raise RegistryError("invalid owner %r" % owner)
        return self._update(path, "owner", owner)

    def set_webname(self, path: str, webname: Optional[str]) -> CalendarRecord:
        if webname:
            if not WEBNAME.match(webname):
                raise RegistryError(
                    "invalid web name %r: letters, digits, - and _ only (at most 100)"
                    % webname)
            other = self.get_by_webname(webname)
            if other is not None and other.path != calid_mod.normalize_path(path):
                raise RegistryError("web name %r is used by calendar %s"
                                    % (webname, other.calid))
        return self._update(path, "webname", webname or None)

    def set_parent(self, path: str, parent: Optional[str]) -> CalendarRecord:
        if parent:
            parent = calid_mod.normalize_path(parent)
            if parent == calid_mod.normalize_path(path):
                raise RegistryError("a calendar can not be its own parent")
            if self.get(parent) is None:
                raise RegistryError("no such parent calendar %r" % parent)
        return self._update(path, "parent", parent or None)

    def update_settings(self, path: str, **values: Any) -> CalendarRecord:
        unknown = set(values) - set(CALENDAR_SETTINGS)
        if unknown:
            raise RegistryError("unknown calendar setting(s): %s" % ", ".join(sorted(unknown)))
        with self.db.transaction() as c:
            c.lock(LOCK)  # read, merge, write: no other host's change in between
            record = self.register(path)
            merged = dict(record.settings)
            merged.update(values)
            return self._update(path, "settings", json.dumps(merged, sort_keys=True))

    def remove(self, path: str) -> None:
        path = calid_mod.normalize_path(path)
        with self.db.transaction() as c:
            c.lock(LOCK)
            c.execute("DELETE FROM calendars WHERE path = :path", {"path": path})
            c.execute("UPDATE calendars SET parent = NULL WHERE parent = :path",
                      {"path": path})

    @staticmethod
    def validate_acl(acl: str) -> str:
        """Normalised ACL text, or InvalidACL naming the bad ACE."""
        return normalize_acl(acl)
