"""Handles: one calendar, opened for a principal and a purpose, under its lock.

A `CalendarReader` (``store.reading``) holds the calendar's lock shared: a batch that
commits meanwhile is seen entirely or not at all. A `CalendarWriter` (``store.writing``,
or ``batch.calendar(path)`` of a `Batch` over several calendars) holds it exclusively;
its ``put`` and ``delete`` only queue, after the store's decision (`access.Gate`), and
the batch writes them all or nothing when the block ends (``storage/batch.py``), so
reads in the block see the calendar as it was before it.

Queries go through the index (``storage/index.py``), which each one brings up to date
first; doors never see its rows' keys. ``texts=True`` answers `StoredText`s from the
index instead of Radicale items from the files, for reads that only render text.
"""

from __future__ import annotations

import email.utils
import datetime as dt
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from radicale import item as radicale_item

from radicale_wcap import calid as calid_mod
from radicale_wcap.state import services

from .access import Gate, StoreError
from .items import StoredText


class Changed(StoreError):
    """The item is no longer the one ``if_etag`` names (someone wrote it meanwhile)."""


class _Any:
    def __repr__(self) -> str:
        return "ANY"


#: ``if_etag`` default: write whatever is stored now.
ANY = _Any()


@dataclass(frozen=True)
class Properties:
    """A calendar's own properties (``.Radicale.props``) and when it last changed."""
    meta: Dict[str, str]
    last_modified: Optional[dt.datetime]


def properties_of(collection) -> Properties:
    meta = dict(collection.get_meta() or {})
    try:
        modified = email.utils.parsedate_to_datetime(collection.last_modified)
    except (OSError, TypeError, ValueError):
        modified = None
    return Properties(meta, modified)


class CalendarReader:
    def __init__(self, collection, gate: Gate) -> None:
        self._collection = collection
        self._gate = gate
        self.path = gate.path
        self._view = None

    @property
    def calid(self) -> str:
        return calid_mod.from_path(self.path) or self.path

    @property
    def user(self) -> str:
        """The principal's name ("" for SYSTEM and anonymous requests)."""
        return self._gate.user

    @property
    def view(self):
        """The principal's view of private and confidential items (``privacy.View``):
        the reads answer stored items, a door shows them through this."""
        if self._view is None:
            self._view = self._gate.view()
        return self._view

    def _index(self):
        return self._collection.index()

    # -- one item
    def by_uid(self, uid: str) -> Optional[radicale_item.Item]:
        return self._collection.get_by_uid(uid)

    def by_uids(self, uids: Iterable[str]) -> Dict[str, radicale_item.Item]:
        found = {}
        for uid in dict.fromkeys(uids):
            item = self._collection.get_by_uid(uid)
            if item is not None:
                found[uid] = item
        return found

    def by_href(self, href: str) -> Optional[radicale_item.Item]:
        """The item of one CalDAV resource name."""
        items = self._collection.get_hrefs([href])
        return items[0] if items else None

    def etag(self, uid: str) -> Optional[str]:
        """The stored item's ETag (None: no item with this UID), from the index."""
        row = self._index().by_uid(self.path, uid)
        return row.etag if row is not None else None

    def entries(self, component: Optional[str] = None) -> Dict[str, object]:
        """UID -> what the index knows of each item (``uid``, ``etag``, ``component``,
        ``start``, ``end``, ``last_modified``), without reading an item."""
        return {row.uid: row for row in self._index().all(self.path)
                if component is None or row.component == component}

    # -- many items
    def items(self, component: Optional[str] = None, *, texts: bool = False) -> list:
        hrefs = [row.href for row in self._index().all(self.path)
                 if component is None or row.component == component]
        return self._load(hrefs, texts)

    def in_range(self, start: int, end: int, component: Optional[str] = None, *,
                 texts: bool = False) -> list:
        """Items with something in [start, end) (POSIX seconds); a recurring item is
        indexed up to ``end`` first, so a series with no instance there is left out."""
        hrefs = self._index().hrefs_in_range(self.path, start, end, component,
                                             collection=self._collection)
        return self._load(hrefs, texts)

    def within(self, start: int, end: int, component: Optional[str] = None
               ) -> List[Tuple[str, radicale_item.Item]]:
        """(uid, item) of the items that lie completely within [start, end]."""
        index = self._index()
        out = []
        for href in index.hrefs_in_range(self.path, start, end + 1, component,
                                         collection=self._collection):
            row = index.by_href(self.path, href)
            if row is None or row.start < start or row.end > end:
                continue
            items = self._collection.get_hrefs([href])
            if items:
                out.append((row.uid, items[0]))
        return out

    def changed_since(self, since: float, until: Optional[float] = None,
                      component: Optional[str] = None, *, texts: bool = False) -> list:
        rows = self._index().changed_since(self.path, since, until, component)
        return self._load([row.href for row in rows], texts)

    def alarms_between(self, start: int, end: int, *, texts: bool = False) -> list:
        """Items with an alarm that triggers in [start, end)."""
        return self._load(self._index().hrefs_with_alarm_between(self.path, start, end),
                          texts)

    def ending_after(self, ts: int, like: Optional[str] = None) -> List[Tuple[str, str]]:
        """(etag, text) of the items that end at or after ``ts`` (see
        ``ItemIndex.texts_ending_after`` for ``like``), from the index."""
        return self._index().texts_ending_after(self.path, ts, like)

    def confirmed_in_range(self, start: int, end: int, component: str
                           ) -> Optional[List[Tuple[str, str, str, int, int, str]]]:
        """(href, etag, text, start, end, component) of every candidate for [start,
        end), or None when the index alone can not tell (a recurring item not indexed
        that far, or a text it does not hold): no item file is opened."""
        index = self._index()
        candidates = index.range_candidates(self.path, start, end, component,
                                            collection=None)
        if not all(confirmed for _, confirmed in candidates):
            return None
        rows = index.texts(self.path, [href for href, _ in candidates])
        out = []
        for href, _ in candidates:
            row = rows.get(href)
            if row is None or not row[1]:
                return None
            out.append((href,) + tuple(row))
        return out

    def deleted_since(self, since: float, until: Optional[float] = None,
                      component: Optional[str] = None) -> list:
        """Tombstones of the items deleted in [since, until]."""
        return services(self._gate.configuration).ledger.deleted_since(
            self.path, since, until, component)

    # -- the calendar itself
    def properties(self) -> Properties:
        return properties_of(self._collection)

    def _load(self, hrefs: Sequence[str], texts: bool) -> list:
        if not texts:
            return self._collection.get_hrefs(hrefs)
        rows = self._index().texts(self.path, hrefs)
        items, missing = [], []
        for href in hrefs:
            row = rows.get(href)
            if row is not None and row[0] and row[1]:
                items.append(StoredText(href, row[0], row[1]))
            else:  # an index written before it kept texts
                missing.append(href)
        return items + self._collection.get_hrefs(missing)


class CalendarWriter(CalendarReader):
    """A calendar in a `Batch`: reads as it was, queues changes the store allows."""

    def __init__(self, collection, gate: Gate, batch) -> None:
        super().__init__(collection, gate)
        self._batch = batch

    def _stored_tree(self, uid: str):
        stored = self.by_uid(uid)
        return stored.vobject_item if stored is not None else None

    def put(self, item: radicale_item.Item, *, if_etag=ANY):
        """Queue a prepared item, replacing the item with its UID. ``if_etag``: the
        ETag the stored item must still have (None: there must be none), else
        `Changed`. Returns the write; its ``result`` is the stored item once written."""
        gate = self._gate
        gate.require(gate.purpose.puts)
        if gate.mandated:
            gate.within_mandate(item.uid, self._stored_tree(item.uid), item.vobject_item)
        if if_etag is not ANY and self.etag(item.uid) != if_etag:
            raise Changed("%s in %s changed" % (item.uid, self.path))
        self._batch.put(self.path, item)
        return self._batch.writes[-1]

    def delete(self, uid: str, *, if_etag=ANY) -> bool:
        """Queue the deletion of the item with ``uid``; False when there is none."""
        gate = self._gate
        gate.require(gate.purpose.deletes)
        current = self.etag(uid)
        if if_etag is not ANY and current != if_etag:
            raise Changed("%s in %s changed" % (uid, self.path))
        if current is None:
            return False
        if gate.mandated:
            gate.within_mandate(uid, self._stored_tree(uid), None)
        return self._batch.delete(self.path, uid)

    def commit(self, on_commit: Optional[Callable[[object], None]] = None) -> list:
        """Write what the whole batch queued now (else when its block ends)."""
        return self._batch.commit(on_commit=on_commit)
