"""Locked, validated reads and writes for the project's own front doors.

WCAP, the Trumba import and the JSON APIs never touch files: they go through
this module, which follows Radicale's own pattern (parse and validate before
locking; then take the storage-wide lock, discover the collection, write
through the storage plugin so that the index, tombstones and registry stay
right; never call the Radicale application while holding the lock).
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Dict, Iterator, List, Optional, Tuple

import vobject
from radicale import item as radicale_item
from radicale import storage as radicale_storage

from radicale_wcap import calid as calid_mod
from radicale_wcap import radicale_compat
from radicale_wcap.state import services
from radicale_wcap.storage import batch as storage_batch
from radicale_wcap.storage.batch import href_for_uid  # noqa: F401  (doors import it from here)
from radicale_wcap.storage.consistency import calendar_of
from radicale_wcap.storage.locks import EXCLUSIVE, SHARED

logger = logging.getLogger("radicale.wcap.store")

PROP_NAME = "D:displayname"
PROP_DESCRIPTION = "C:calendar-description"
PROP_TIMEZONE = "C:calendar-timezone"
PROP_COMPONENTS = "C:supported-calendar-component-set"


class StoreError(ValueError):
    pass


class CalendarExists(StoreError):
    pass


class CalendarNotFound(StoreError):
    pass


class ItemRefused(StoreError):
    """The item is not valid iCalendar or is over a limit."""


def load_storage(configuration):
    return radicale_storage.load(configuration)


def prepare_item(configuration, collection_path: str, vcalendar) -> radicale_item.Item:
    """Validate one calendar object (one UID) and make a Radicale item of it.

    Runs before any lock is taken. The size limits are checked first, on text before
    it is parsed; then the recurrence limits, because Radicale computes an item's time
    range by expanding its rules.
    """
    from radicale_wcap.storage import VALIDATED, ItemOverLimits, item_limits, validate_item
    limits = item_limits(configuration)
    text = vcalendar if isinstance(vcalendar, str) else None
    try:
        if text is not None:
            limits.check_text(text)
            try:
                components = radicale_item.read_components(text)
            except Exception as e:
                raise ItemRefused("not valid iCalendar: %s" % e) from e
            if len(components) != 1:
                raise ItemRefused("expected one VCALENDAR, got %d" % len(components))
            vcalendar = components[0]
        validate_item(configuration, vcalendar)
    except ItemOverLimits as e:
        raise ItemRefused(str(e)) from e
    svc = services(configuration)
    try:
        radicale_item.check_and_sanitize_items(
            [vcalendar], is_collection=False, tag="VCALENDAR",
            max_vevent_rrule_occurrence=svc.settings.get("storage", "max_occurrences"))
        item = radicale_item.Item(collection_path=collection_path.strip("/"),
                                  vobject_item=vcalendar)
        item.prepare()
    except Exception as e:
        raise ItemRefused(str(e)) from e
    if text is None:
        try:
            # Built from a tree: its size is known once serialized.
            limits.check_text(item.serialize())
        except ItemOverLimits as e:
            raise ItemRefused(str(e)) from e
    setattr(item, VALIDATED, True)
    return item


class CalendarStore:
    def __init__(self, configuration, storage=None) -> None:
        self.configuration = configuration
        self.storage = storage or load_storage(configuration)

    @property
    def services(self):
        return services(self.configuration)

    # -- locking
    @contextlib.contextmanager
    def reading(self, path: str, user: str = "") -> Iterator[Optional[object]]:
        """The calendar at ``path`` held shared for the block: a batch that commits
        meanwhile is seen entirely or not at all."""
        path = calid_mod.normalize_path(path)
        with self.storage.acquire_lock("r", user):
            if calendar_of(path) != path:
                yield self._discover(path)
                return
            with self.storage.calendar_lock([path], SHARED):
                yield self._discover(path)

    def batch(self, paths, user: str = "", request: str = "batch"):
        """All-or-nothing writes of many items in ``paths`` (storage/batch.py)."""
        return storage_batch.Batch(self.storage, paths, user, request)

    @contextlib.contextmanager
    def writing(self, path: str, user: str = "", request: str = "WCAP"
                ) -> Iterator[Optional[object]]:
        with self.storage.acquire_lock("w", user, path=calid_mod.normalize_path(path),
                                       request=request, actor=user):
            yield self._discover(path)

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

    def calendar_at(self, path: str):
        """The calendar at ``path`` or None; the caller holds its lock."""
        return self._discover(path)

    def _discover(self, path: str):
        path = calid_mod.normalize_path(path)
        found = next(iter(self.storage.discover(path)), None)
        if isinstance(found, radicale_storage.BaseCollection) and found.tag:
            return found
        return None

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
        with self.writing(path, user, "delete-calendar") as collection:
            if collection is None:
                raise CalendarNotFound("no calendar %s" % calid)
            collection.delete()
        self.services.registry.remove(path)
        logger.info("Calendar %s deleted", calid)

    def calendar_props(self, calid: str) -> Optional[Dict[str, str]]:
        with self.reading(calid_mod.to_path(calid)) as collection:
            if collection is None:
                return None
            return dict(collection.get_meta())

    def set_calendar_props(self, calid: str, *, name: Optional[str] = None,
                           description: Optional[str] = None, tz: Optional[str] = None,
                           user: str = "") -> None:
        path = calid_mod.to_path(calid)
        if tz:
            tz_prop = _timezone_prop(tz)
        with self.writing(path, user, "set-calendar-props") as collection:
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

    # -- items (call inside writing()/reading())
    def put(self, collection, item: radicale_item.Item,
            href: Optional[str] = None) -> Tuple[radicale_item.Item, bool]:
        """Store one prepared item, replacing the item with the same UID."""
        existing = collection.index().by_uid(collection.key, item.uid)
        if existing is not None:
            href = existing.href
        elif href is None:
            folder = radicale_compat.collection_folder(collection)
            href = href_for_uid(item.uid, lambda h: os.path.lexists(os.path.join(folder, h)))
        uploaded, _ = collection.upload(href, item)
        return uploaded, existing is None

    def delete_uid(self, collection, uid: str) -> bool:
        existing = collection.index().by_uid(collection.key, uid)
        if existing is None:
            return False
        collection.delete(existing.href)
        return True

    def items_in_range(self, collection, start: int, end: int,
                       component: Optional[str] = None) -> List[radicale_item.Item]:
        index = collection.index()
        hrefs = index.hrefs_in_range(collection.key, start, end, component,
                                     collection=collection)
        return collection.get_hrefs(hrefs)


def _timezone_prop(tzid: str) -> str:
    from radicale_wcap import timezones
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
