"""The one place a door reads or writes calendar data.

Every read or write of items goes through a handle bound to one calendar, opened for a
principal and a purpose (``store/access.py``), under that calendar's lock:

    with store.reading(path, user, READ) as calendar:        # shared lock
        items = calendar.in_range(start, end, "VEVENT")
    with store.writing(path, user, WRITE) as calendar:       # exclusive lock
        calendar.put(item, if_etag=seen)                      # written when the block ends
    with store.batch(paths, organizer, SCHEDULE) as batch:   # several calendars
        batch.calendar(path).put(copy)

The store asks the one ACE evaluator before it hands out a handle and before each
change (`AccessDenied`, `ForeignItem`), and a missing calendar is `CalendarNotFound`;
each door turns these into its own answer. Every change of a handle is part of a batch
(``storage/batch.py``): all of it is written, or none of it, whatever stops it. Items
are validated before any lock (`prepare_item`), following Radicale's own pattern; the
storage plugin keeps the index, tombstones and registry right on every write.

Calendar-level operations (create, delete, properties, which calendars exist) and
maintenance (``verify``, ``reindex``, recovery, backup) are methods of `CalendarStore`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Dict, Iterable, Iterator, List, Optional

import vobject
from radicale import storage as radicale_storage

from radicale_wcap import calid as calid_mod
from radicale_wcap import timezones
from radicale_wcap.state import services
from radicale_wcap.storage import batch as storage_batch
from radicale_wcap.storage.consistency import calendar_of
from radicale_wcap.storage.locks import EXCLUSIVE, SHARED

from .access import (DELETE, FEED, FREEBUSY, READ, REPLY, SCHEDULE, SYSTEM, WRITE,
                     AccessDenied, ForeignItem, Gate, Principal, Purpose, StoreError)
from .handle import ANY, CalendarReader, CalendarWriter, Changed, Properties, properties_of
from . import maintenance
from .items import ItemRefused, StoredText, lean, prepare_item

__all__ = [
    "ANY", "DELETE", "FEED", "FREEBUSY", "READ", "REPLY", "SCHEDULE", "SYSTEM", "WRITE",
    "AccessDenied", "Batch", "CalendarExists", "CalendarNotFound", "CalendarReader",
    "CalendarStore", "CalendarWriter", "Changed", "ForeignItem", "ItemRefused",
    "Principal", "Properties", "Purpose", "StoreError", "StoredText",
    "create_default_calendar", "lean", "prepare_item"]

logger = logging.getLogger("radicale.wcap.store")

PROP_NAME = "D:displayname"
PROP_DESCRIPTION = "C:calendar-description"
PROP_TIMEZONE = "C:calendar-timezone"
PROP_COMPONENTS = "C:supported-calendar-component-set"


class CalendarExists(StoreError):
    pass


class CalendarNotFound(StoreError):
    pass


def load_storage(configuration):
    return radicale_storage.load(configuration)


class CalendarStore:
    def __init__(self, configuration, storage=None) -> None:
        self.configuration = configuration
        self.storage = storage or load_storage(configuration)

    @property
    def services(self):
        return services(self.configuration)

    # -- handles
    def check(self, path: str, principal: Principal, purpose: Purpose) -> None:
        """Raise `AccessDenied` unless ``principal`` may open ``path`` for ``purpose``:
        the decision a handle makes, for a door that refuses before costly work."""
        Gate(self.configuration, calid_mod.normalize_path(path), principal, purpose).open()

    @contextlib.contextmanager
    def reading(self, path: str, principal: Principal, purpose: Purpose, *,
                organizer: Optional[str] = None) -> Iterator[CalendarReader]:
        """The calendar at ``path`` for ``principal``, held shared for the block: a batch
        that commits meanwhile is seen entirely or not at all."""
        path = calid_mod.normalize_path(path)
        gate = Gate(self.configuration, path, principal, purpose, organizer)
        gate.open()
        with self._held(path, gate.user) as collection:
            if collection is None or collection.tag != "VCALENDAR":
                raise CalendarNotFound("no calendar %s" % path)
            yield CalendarReader(collection, gate)

    @contextlib.contextmanager
    def writing(self, path: str, principal: Principal, purpose: Purpose, *,
                label: Optional[str] = None, organizer: Optional[str] = None
                ) -> Iterator[CalendarWriter]:
        """The calendar at ``path`` for ``principal``, held exclusively for the block;
        what the handle queues is written, all or nothing, when the block ends
        without an exception."""
        with self.batch([path], principal, purpose, label=label,
                        organizer=organizer) as batch:
            yield batch.calendar(path)

    def batch(self, paths: Iterable[str], principal: Principal, purpose: Purpose, *,
              label: Optional[str] = None, organizer: Optional[str] = None) -> "Batch":
        """All-or-nothing writes in the calendars of ``paths`` (`Batch`)."""
        return Batch(self, paths, principal, purpose, label=label, organizer=organizer)

    # -- facts about calendars, not their items: doors decide who may learn them
    def exists(self, path: str) -> bool:
        with self._held(path) as collection:
            return collection is not None and collection.tag == "VCALENDAR"

    def properties(self, path: str) -> Optional[Properties]:
        """The calendar's own properties and last change (None: no calendar)."""
        with self._held(path) as collection:
            if collection is None or collection.tag != "VCALENDAR":
                return None
            return properties_of(collection)

    def uids_in(self, paths: Iterable[str]) -> Dict[str, str]:
        """UID -> the first calendar of ``paths`` that holds it (one UID per calendar
        tree, which calendar holds an event), each read under its own lock in turn."""
        found: Dict[str, str] = {}
        for path in paths:
            for uid in self._uids(path):
                found.setdefault(uid, calid_mod.normalize_path(path))
        return found

    def holding(self, uid: str, paths: Iterable[str]) -> List[str]:
        """The calendars of ``paths`` that hold an item with ``uid``."""
        return [calid_mod.normalize_path(p) for p in paths if uid in self._uids(p)]

    def _uids(self, path: str) -> set:
        with self._held(path) as collection:
            if collection is None or collection.tag != "VCALENDAR":
                return set()
            return {row.uid for row in collection.index().all(collection.key)}

    def calendars_on_disk(self) -> List[str]:
        """Every calendar collection path in the store (two levels deep)."""
        paths = []
        with self.storage.acquire_lock("r"):
            for home in self.storage.discover("/", depth="1"):
                if not isinstance(home, radicale_storage.BaseCollection) or home.path == "":
                    continue
                for child in self.storage.discover("/%s/" % home.path, depth="1"):
                    if (isinstance(child, radicale_storage.BaseCollection)
                            and child.path != home.path and child.tag == "VCALENDAR"):
                        paths.append(calid_mod.normalize_path(child.path))
        return sorted(paths)

    @contextlib.contextmanager
    def _held(self, path: str, user: str = "") -> Iterator[Optional[object]]:
        """The collection at the calendar path ``path`` (None: none), its lock shared."""
        path = calid_mod.normalize_path(path)
        if calendar_of(path) != path:
            yield None
            return
        with self.storage.acquire_lock("r", user):
            with self.storage.calendar_lock([path], SHARED):
                yield self._discover(path)

    @contextlib.contextmanager
    def _changing(self, path: str, user: str, request: str) -> Iterator[Optional[object]]:
        """The collection at ``path`` for a change of the calendar itself."""
        with self.storage.acquire_lock("w", user, path=path, request=request, actor=user):
            yield self._discover(path)

    def _discover(self, path: str):
        return self.storage.calendar_at(calid_mod.normalize_path(path))

    # -- calendars
    def create_calendar(self, calid: str, *, owner: Optional[str] = None,
                        name: Optional[str] = None, tz: Optional[str] = None,
                        description: Optional[str] = None, acl: Optional[str] = None,
                        user: str = "") -> None:
        path = calid_mod.to_path(calid)
        props: Dict[str, str] = {"tag": "VCALENDAR",
                                 PROP_COMPONENTS: "VEVENT,VTODO,VJOURNAL"}
        props[PROP_NAME] = name or calid
        if description:
            props[PROP_DESCRIPTION] = description
        if tz:
            props[PROP_TIMEZONE] = _timezone_prop(tz)
        registry = self.services.registry
        if acl:
            registry.validate_acl(acl)
        with self.storage.acquire_lock("w", user, path=path, request="create-calendar"):
            if next(iter(self.storage.discover(path)), None) is not None:
                raise CalendarExists("calendar %s exists" % calid)
            home = "/%s/" % calid_mod.owner_of(calid)
            if next(iter(self.storage.discover(home)), None) is None:
                self.storage.create_collection(home)
            self.storage.create_collection(path, props=props)
            # The storage plugin registered the new collection (default ACL,
            # the path's user as primary owner); only what differs is set here.
            if acl:
                registry.set_acl(path, acl)
            if owner and owner != calid_mod.owner_of(calid):
                registry.set_primary_owner(path, owner)
            if tz:
                registry.update_settings(path, tzid=tz)
        logger.info("Calendar %s created at %s", calid, path)

    def delete_calendar(self, calid: str, user: str = "") -> None:
        path = calid_mod.to_path(calid)
        with self._changing(path, user, "delete-calendar") as collection:
            if collection is None:
                raise CalendarNotFound("no calendar %s" % calid)
            collection.delete()
        self.services.registry.remove(path)
        logger.info("Calendar %s deleted", calid)

    def calendar_props(self, calid: str) -> Optional[Dict[str, str]]:
        with self._held(calid_mod.to_path(calid)) as collection:
            if collection is None:
                return None
            return dict(collection.get_meta())

    def set_calendar_props(self, calid: str, *, name: Optional[str] = None,
                           description: Optional[str] = None, tz: Optional[str] = None,
                           user: str = "") -> None:
        path = calid_mod.to_path(calid)
        if tz:
            tz_prop = _timezone_prop(tz)
        with self._changing(path, user, "set-calendar-props") as collection:
            if collection is None:
                raise CalendarNotFound("no calendar %s" % calid)
            props = dict(collection.get_meta())
            if name is not None:
                props[PROP_NAME] = name
            if description is not None:
                props[PROP_DESCRIPTION] = description
            if tz:
                props[PROP_TIMEZONE] = tz_prop
            collection.set_meta(props)
        if tz:
            self.services.registry.update_settings(path, tzid=tz)

    # -- maintenance (store/maintenance.py)
    def recover(self) -> int:
        """Finish what dead writers left (rolled-back batches, announced files), one
        calendar at a time under that calendar's lock only; the next use of a
        calendar does the same, so this only saves a first request the wait."""
        svc = self.services
        groups = {tuple(p.paths) for p in svc.journal.pending()}
        groups |= {(path,) for path, _ in svc.intents.pending()}
        for paths in sorted(groups):
            with self.storage.acquire_lock("r"):
                with self.storage.calendar_lock(paths, EXCLUSIVE):
                    pass
        return len(groups)

    def integrity(self) -> List[str]:
        """What SQLite's own check finds wrong in the project's databases."""
        return maintenance.integrity(self.services)

    def storage_is_sound(self) -> bool:
        return maintenance.storage_is_sound(self)

    def calendar_damage(self, path: str) -> List[str]:
        """How the index of one calendar differs from its files (nothing: sound)."""
        return maintenance.calendar_damage(self, calid_mod.normalize_path(path))

    def reindex(self, log) -> int:
        """Rebuild the index from the items; the number of calendars indexed."""
        return maintenance.reindex(self, log)


class Batch:
    """Changes in several calendars, all written or none (``storage/batch.py``).

    Every calendar is opened for the same principal and purpose; the decision is made
    for each before any lock is taken (`AccessDenied`), so a door that must refuse some
    calendars and write the others (scheduling's fan-out) asks `CalendarStore.check`
    first. The block's end writes what was queued; an exception writes nothing.
    """

    def __init__(self, store: CalendarStore, paths: Iterable[str], principal,
                 purpose: Purpose, *, label: Optional[str] = None,
                 organizer: Optional[str] = None) -> None:
        self.paths = sorted({calid_mod.normalize_path(p) for p in paths})
        self._gates = {path: Gate(store.configuration, path, principal, purpose, organizer)
                       for path in self.paths}
        self._store = store
        self._label = label or purpose.name
        self._purpose = purpose
        self._user = "" if principal is SYSTEM else str(principal or "")
        self._batch = None
        self._handles: Dict[str, CalendarWriter] = {}

    def __enter__(self) -> "Batch":
        for gate in self._gates.values():
            gate.open()
        # The engine's own batch when it has one (SQL: one transaction), else the
        # file engine's journaled batch.
        opened = getattr(self._store.storage, "batch_class", storage_batch.Batch)
        self._batch = opened(
            self._store.storage, self.paths, self._user, self._label,
            on_behalf=self._purpose.on_behalf or any(g.system for g in self._gates.values()))
        self._batch.__enter__()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None and not self._batch.committed:
                self._batch.commit()
        finally:
            self._batch.__exit__(kind, value, traceback)

    def calendar(self, path: str) -> CalendarWriter:
        """The handle of one calendar of the batch (`CalendarNotFound`: there is none)."""
        path = calid_mod.normalize_path(path)
        handle = self._handles.get(path)
        if handle is None:
            if path not in self._gates:
                raise ValueError("%s is not a calendar of this batch" % path)
            collection = self._batch.calendar(path)
            if collection is None or collection.tag != "VCALENDAR":
                raise CalendarNotFound("no calendar %s" % path)
            handle = self._handles[path] = CalendarWriter(collection, self._gates[path],
                                                          self._batch)
        return handle

    def commit(self, on_commit=None) -> list:
        """Write what was queued now; ``on_commit(connection)`` runs in the project
        database's transaction that ends the batch, for what must be recorded exactly
        when the items are (a feed's origins)."""
        return self._batch.commit(on_commit=on_commit)


def _timezone_prop(tzid: str) -> str:
    vtz = timezones.vtimezone(tzid)
    cal = vobject.iCalendar()
    cal.add(vtz)
    return cal.serialize()


def create_default_calendar(configuration, user: str, store: Optional[CalendarStore] = None
                            ) -> bool:
    """Create a user's default calendar (calid = user name) if it is missing."""
    store = store or CalendarStore(configuration)
    directory_user = services(configuration).directory.get(user)
    tz = directory_user.tz if directory_user else None
    name = (directory_user.cn if directory_user else "") or user
    try:
        store.create_calendar(user, owner=user, name=name, tz=tz, user=user)
    except CalendarExists:
        return False
    return True
