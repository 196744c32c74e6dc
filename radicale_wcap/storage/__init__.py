"""Storage plugin: Radicale's multifilesystem store plus a side index.

``[storage] type = radicale_wcap.storage``. Items stay in Radicale's own
folders, so every CalDAV client keeps working on the same collections. What
this adds, on every write path (CalDAV PUT, DELETE, MOVE, MKCALENDAR,
whole-calendar PUT, and the project's own writes, which all end here):

* the index (``storage/index.py``) is updated, so that Radicale's own
  calendar-query REPORT (through ``get_filtered``) and its UID check on every
  PUT (``has_uid``) read the index instead of every item;
* tombstones and stable item ids (``storage/ledger.py``) are kept;
* calendars are registered with the default ACL (``registry.py``);
* items are checked against the size limits (``limits.py``) and
  their recurrence rules against the recurrence limits before they are
  written, so that no later query can be made to parse or expand without end.

Radicale calls all of these inside its storage-wide write lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from typing import Iterable, Iterator, List, Optional, Tuple

import vobject
from radicale import item as radicale_item
from radicale.item import filter as radicale_filter
from radicale.storage import multifilesystem

from radicale_wcap import calid as calid_mod
from radicale_wcap import icalparse
from radicale_wcap import radicale_compat
from radicale_wcap import recurrence
from radicale_wcap.state import services
from radicale_wcap.storage import consistency
from radicale_wcap.storage import privacy as privacy_hooks
from radicale_wcap.storage.sharing import SharingStorage
from radicale_wcap.limits import ItemLimits, ItemOverLimits

logger = logging.getLogger("radicale.wcap.storage")


# Set on items that prepare_item() has already checked, so upload() does not
# parse and check them a second time.
VALIDATED = "_radicale_wcap_validated"


#: The name caldav_guard catches; size limits are refused with the same class.
RecurrenceRefused = ItemOverLimits


def item_limits(configuration) -> ItemLimits:
    return ItemLimits.from_settings(services(configuration).settings.get)


def validate_item(configuration, vobject_item, text: Optional[str] = None) -> None:
    """The one check of a calendar object before it is written, whatever the door:
    its size (``limits.py``) and its recurrence rules.  Raises
    :class:`ItemOverLimits`.

    Given its *text* (or text as *vobject_item*), the sizes are counted on the text,
    before anything parses it, and the text is parsed only when it has rules and no
    parsed form is given.
    """
    if isinstance(vobject_item, (str, bytes)):
        text, vobject_item = vobject_item, None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    limits = item_limits(configuration)
    if text is not None:
        limits.check_text(text)
        extreme = bool(EXTREME_DATE.search(text))
        if not extreme and not _text_has_rules(text):
            return
        if vobject_item is None:
            try:
                vobject_item, = icalparse.read_components(text)
            except Exception as e:  # vobject raises many kinds; Radicale refuses it too
                raise ItemOverLimits("not one valid calendar object: %s" % e) from e
    elif vobject_item is not None:
        limits.check_component(vobject_item)
    if vobject_item is None:
        return
    _check_dates(vobject_item)
    if text is not None and not _text_has_rules(text):
        return
    s = services(configuration).settings
    try:
        recurrence.validate_rules(
            vobject_item, max_count=s.get("storage", "max_occurrences"),
            budget_s=s.get("storage", "recurrence_budget_seconds"),
            max_infinite_freq=s.get("storage", "max_infinite_frequency"))
    except ValueError as e:
        raise ItemOverLimits(str(e)) from e


# A date property in the first or last year the datetime type holds: only then is the
# text parsed for `_check_dates` (most items have no rule and are never parsed here).
EXTREME_DATE = re.compile(r"^(?:DTSTART|DTEND|DUE|RECURRENCE-ID|RDATE|EXDATE)\b[^\r\n]*?"
                          r"[:,](?:000[01]|9999)\d{4}", re.MULTILINE | re.IGNORECASE)
DATED = ("dtstart", "dtend", "due", "recurrence-id", "rdate", "exdate")
FIRST_DAY = dt.datetime(1, 1, 2, tzinfo=dt.timezone.utc)
LAST_DAY = dt.datetime(9999, 12, 30, tzinfo=dt.timezone.utc)


def _check_dates(vobject_item) -> None:
    """Refuse a date whose UTC instant is not between 0001-01-02 and 9999-12-30: the
    index, expansion and every door's output compute in UTC, and such an item, once
    written, made every later read of its calendar fail. (The WCAP and JSON doors
    refuse these values as parameters already; this is the rule for every door.)"""
    for component in vobject_item.getChildren():
        if not isinstance(component, vobject.base.Component):
            continue
        for name in DATED:
            for line in component.contents.get(name, []):
                values = line.value if isinstance(line.value, list) else [line.value]
                for value in values:
                    if isinstance(value, tuple):  # an RDATE period
                        value = value[0]
                    if not _within(value):
                        raise ItemOverLimits("%s %s is outside the years 1-9999 in UTC"
                                             % (name.upper(), value))


def _within(value) -> bool:
    if isinstance(value, dt.datetime):
        try:
            instant = (value if value.tzinfo is not None
                       else value.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
        except (OverflowError, ValueError):
            return False
        return FIRST_DAY <= instant <= LAST_DAY
    if isinstance(value, dt.date):
        return FIRST_DAY.date() <= value <= LAST_DAY.date()
    return True


def _text_has_rules(text: str) -> bool:
    return "RRULE" in text or "EXRULE" in text


class Collection(multifilesystem.Collection):

    @property
    def _services(self):
        return services(self._storage.configuration)

    @property
    def key(self) -> str:
        """The collection path as the index and registry spell it: /user/cal/."""
        return calid_mod.normalize_path(self.path)

    def _is_calendar_path(self) -> bool:
        return calid_mod.from_path(self.path) is not None

    def _ensure_index(self) -> None:
        self._services.index.ensure_fresh(self, on_removed=self._bury_unnoticed)

    def _bury_unnoticed(self, href: str, uid: str, component: str) -> None:
        self._services.ledger.bury(self.key, uid, href, component)

    # -- writes
    def upload(self, href: str, item: radicale_item.Item
               ) -> Tuple[radicale_item.Item, Optional[radicale_item.Item]]:
        if not getattr(item, VALIDATED, False):
            validate_item(self._storage.configuration, radicale_compat.parsed_form(item),
                          item.serialize())
        svc = self._services
        if self.tag:
            self._ensure_index()
        before = svc.index.by_href(self.key, href)
        announced = self._announce(href)
        uploaded, replaced = super().upload(href, item)
        if self.tag:
            stat = radicale_compat.item_file_stat(self, href)
            if stat is not None:
                # The uploaded item comes from the cache without its parsed form;
                # the item we were given usually still has it: no second parse.
                svc.index.upsert(self.key, href, uploaded, stat.st_mtime_ns, stat.st_size,
                                 vobject_item=radicale_compat.parsed_form(item),
                                 inode=stat.st_ino)
            if before is not None and before.uid and before.uid != uploaded.uid:
                svc.ledger.bury(self.key, before.uid, href, before.component)
            svc.ledger.revive(self.key, uploaded.uid)
            svc.index.record_folder(self.key, radicale_compat.collection_folder(self))
            if self._is_calendar_path() and svc.registry.get(self.key) is None:
                svc.registry.register(self.key)
        if announced:
            svc.intents.drop(self.key, [href])
        return uploaded, replaced

    def _announce(self, href: str) -> bool:
        """Record the intent to write ``href`` (storage/intents.py) unless a batch's
        journal already names it."""
        if not self.tag or consistency.in_batch(self.key):
            return False
        self._services.intents.note(self.key, href)
        return True

    def reconcile_files(self, hrefs) -> None:
        """Re-read just these files into the index (after a crash; see consistency.py)."""
        ledger = self._services.ledger
        self._services.index.reconcile_hrefs(
            self, hrefs, on_removed=self._bury_unnoticed,
            on_added=lambda href, uid: ledger.revive(self.key, uid))

    def delete(self, href: Optional[str] = None) -> None:
        svc = self._services
        if href is None:
            super().delete(href)
            svc.index.drop(self.key)
            if self._is_calendar_path():
                svc.registry.remove(self.key)
                svc.ledger.forget_collection(self.key)
            return
        if self.tag:
            self._ensure_index()
        before = svc.index.by_href(self.key, href)
        announced = self._announce(href)
        super().delete(href)
        if self.tag:
            svc.index.remove(self.key, href)
            if before is not None:
                svc.ledger.bury(self.key, before.uid, href, before.component)
            svc.index.record_folder(self.key, radicale_compat.collection_folder(self))
        if announced:
            svc.intents.drop(self.key, [href])

    def _clean_history(self):
        radicale_compat.throttled_clean_history(self, super()._clean_history)

    def _atomic_write(self, path, mode="w", newline=None):
        return radicale_compat.cache_write(
            path, mode, newline, radicale_compat.atomic_writer(self, super()._atomic_write))

    def _store_item_cache(self, href, item, cache_hash=""):
        # In a batch the memo stands in for the cache file (radicale_compat.one_sync).
        return radicale_compat.store_item_cache(self, href, item, cache_hash,
                                                super()._store_item_cache)

    def _get(self, href: str, verify_href: bool = True):
        return radicale_compat.memoized_get(self, href, verify_href, super()._get,
                                            known=self._indexed)

    def _indexed(self, href: str, stat) -> Optional[radicale_item.Item]:
        """The item from its index row, when the row was read from this very file:
        the index holds what Radicale's item cache would, and building it writes no
        cache file (``storage/index_files.py``)."""
        if not self.tag:
            return None
        found = self._services.index.cached(self.key, href, stat)
        if found is None:
            return None
        etag, text, uid, component, time_range = found
        name = text[6:text.find("\n")].strip().upper() if text.startswith("BEGIN:") else ""
        return radicale_compat.item_from_fields(self, href, stat, etag, text, uid, name,
                                                component, time_range)

    # -- reads through the index
    def get_filtered(self, filters: Iterable) -> Iterator[Tuple[radicale_item.Item, bool]]:
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        self._ensure_index()
        candidates = self._services.index.range_candidates(self.key, start, end, tag,
                                                           collection=self)
        for href, confirmed in candidates:
            item = radicale_compat.get_item(self, href)
            if item is None:
                continue
            if tag is not None and tag != item.component_name:
                continue
            istart, iend = item.time_range
            if istart >= end or iend <= start:
                continue
            # For a plain time-range query on events, an overlap the index has
            # confirmed (a single event's span, or an indexed instance) is a
            # match: Radicale need not parse the item and walk its rule again,
            # which is most of a REPORT's time on a big calendar.
            fully = start <= istart or iend <= end or (confirmed and tag == "VEVENT")
            yield item, simple and fully

    def has_uid(self, uid: str) -> bool:
        if not self.tag:
            return super().has_uid(uid)
        self._ensure_index()
        return self._services.index.by_uid(self.key, uid) is not None

    @property
    def last_modified(self) -> str:
        """Radicale's value (newest of folder, props file and items) without a
        stat of every item: the index holds each item's mtime. Radicale's own
        version costs ~80 ms on a 10,000-item calendar, on every WCAP fetch
        (calprops) and every CalDAV PROPFIND of the collection."""
        if not self.tag:
            return super().last_modified
        self._ensure_index()
        folder = radicale_compat.collection_folder(self)
        stamps = [os.path.getmtime(folder)]
        try:
            stamps.append(os.path.getmtime(radicale_compat.props_file(self)))
        except OSError:
            pass
        newest = self._services.index.newest_mtime_ns(self.key)
        if newest is not None:
            stamps.append(newest / 1e9)
        return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(max(stamps)))

    # -- helpers for the project's front doors
    def index(self):
        """The (fresh) index of this collection."""
        self._ensure_index()
        return self._services.index

    def get_by_uid(self, uid: str) -> Optional[radicale_item.Item]:
        self._ensure_index()
        row = self._services.index.by_uid(self.key, uid)
        if row is None:
            return None
        return radicale_compat.get_item(self, row.href)

    def get_hrefs(self, hrefs: Iterable[str]) -> List[radicale_item.Item]:
        items = []
        for href in hrefs:
            item = radicale_compat.get_item(self, href)
            if item is not None:
                items.append(item)
        return items


class Storage(SharingStorage, privacy_hooks.StorageGuard, consistency.ConsistentStorage,
              multifilesystem.Storage):
    _collection_class = privacy_hooks.guarded(consistency.locked_reads(Collection))

    def _makedirs_synced(self, filesystem_path: str) -> None:
        radicale_compat.cache_makedirs(filesystem_path, super()._makedirs_synced)

    # A batch pays one file-system sync at its end instead of these (radicale_compat.one_sync).
    def _fsync(self, f) -> None:
        radicale_compat.deferred_fsync(self, f, super()._fsync)

    def _sync_directory(self, path: str) -> None:
        radicale_compat.deferred_sync_directory(self, path, super()._sync_directory)

    def create_collection(self, href: str, items=None, props=None):
        # Radicale's whole-calendar PUT: its items do not pass through upload().
        # They arrive as a one-pass iterator, which the check must not use up.
        items = list(items) if items is not None else None
        for item in items or ():
            if not getattr(item, VALIDATED, False):
                validate_item(self.configuration, radicale_compat.parsed_form(item),
                              item.serialize())
        result = super().create_collection(href, items, props)
        collection = result[0]
        path = calid_mod.normalize_path(href)
        svc = services(self.configuration)
        if props and props.get("tag") and calid_mod.from_path(path) is not None:
            svc.registry.register(path)
            if items is not None:
                for item in items:
                    svc.ledger.revive(path, item.uid)
            svc.index.reconcile(
                collection, on_removed=lambda h, uid, comp: svc.ledger.bury(path, uid, h, comp))
        return result

    def move(self, item: radicale_item.Item, to_collection, to_href: str) -> None:
        svc = services(self.configuration)
        from_collection = item.collection
        from_href = item.href
        uid = item.uid
        component = item.component_name
        super().move(item, to_collection, to_href)
        to_key = calid_mod.normalize_path(to_collection.path)
        if from_collection is not None and from_href:
            from_key = calid_mod.normalize_path(from_collection.path)
            svc.index.remove(from_key, from_href)
            if from_key != to_key:
                svc.ledger.bury(from_key, uid, from_href, component)
            svc.index.record_folder(from_key,
                                    radicale_compat.collection_folder(from_collection))
        moved = radicale_compat.get_item(to_collection, to_href)
        stat = radicale_compat.item_file_stat(to_collection, to_href)
        if moved is not None and stat is not None:
            svc.index.upsert(to_key, to_href, moved, stat.st_mtime_ns, stat.st_size,
                             inode=stat.st_ino)
            svc.ledger.revive(to_key, moved.uid)
        svc.index.record_folder(to_key,
                                radicale_compat.collection_folder(to_collection))
