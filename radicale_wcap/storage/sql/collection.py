"""A Radicale collection whose items are rows (``schema.py``).

Every change of an item writes, in the one transaction of the write (``engine.py``): the
item row with its index columns, instances and alarms (``index.py``), the collection's
next change number, and the change row of the item's name, which stays when the item is
deleted. The change numbers answer CalDAV's sync-collection (a token is a number: the
names changed since are the rows above it) and WCAP's deleted-since.

Nothing is kept between requests but what can not go stale: an item read is built from
its row each time (text, ETag and span come with it, nothing is parsed unless a filter
needs it), so a write committed on another host is seen by the next read here.
"""

from __future__ import annotations

import hashlib
import json
import time
from email.utils import formatdate
from typing import Iterable, Iterator, List, Optional, Tuple

from radicale import item as radicale_item
from radicale import storage as radicale_storage
from radicale.item import filter as radicale_filter
from sqlalchemy import select, update

from radicale_wcap import calid as calid_mod
from radicale_wcap import radicale_compat
from radicale_wcap.state import services
from radicale_wcap.storage import VALIDATED, validate_item

from .schema import changes, collections, items

#: Calendars this process has seen in the registry (registration is idempotent and a
#: calendar deleted elsewhere takes its items with it, so a stale entry costs nothing).
_registered: set = set()

TOKEN_PREFIX = "http://radicale.org/ns/sync/"
TOKEN_KIND = "sql-"

ITEM_COLUMNS = (items.c.href, items.c.uid, items.c.etag, items.c.component, items.c.text,
                items.c.start, items.c.end, items.c.modified)


def http_date(ns: int) -> str:
    return formatdate(ns / 1e9, usegmt=True)


class Collection(radicale_storage.BaseCollection):

    def __init__(self, storage, path: str, props: Optional[dict] = None, seq: int = 0,
                 modified: int = 0, pruned_seq: int = 0) -> None:
        self._storage = storage
        self._path = path.strip("/")
        self._props = props if props is not None else {}
        self._seq = seq
        self._modified = modified
        self._pruned_seq = pruned_seq

    # -- identity
    @property
    def path(self) -> str:
        return self._path

    @property
    def key(self) -> str:
        """The collection path as the index and registry spell it: /user/cal/."""
        return calid_mod.normalize_path(self._path)

    @property
    def _services(self):
        return services(self._storage.configuration)

    @property
    def _sql(self):
        return self._storage.sql

    def _is_calendar_path(self) -> bool:
        return calid_mod.from_path(self.key) is not None

    # -- properties
    def get_meta(self, key: Optional[str] = None):
        return dict(self._props) if key is None else self._props.get(key)

    def set_meta(self, props) -> None:
        self._props = dict(props)
        with self._sql.writing([self.key]) as tx:
            self._seq, self._modified = self._storage.bump(tx.connection, self.key)
            tx.connection.execute(update(collections).where(
                collections.c.path == self.key).values(
                    props=json.dumps(self._props, sort_keys=True)))

    @property
    def etag(self) -> str:
        # The change number moves with every item write and property change.
        digest = hashlib.sha256(("%s/%d/" % (self.key, self._seq)).encode()
                                + json.dumps(self._props, sort_keys=True).encode())
        return '"%s"' % digest.hexdigest()

    @property
    def last_modified(self) -> str:
        return http_date(self._modified or time.time_ns())

    # -- reads
    def _item(self, row) -> radicale_item.Item:
        return radicale_item.Item(
            collection=self, href=row.href, text=row.text, etag=row.etag, uid=row.uid,
            name="VCALENDAR" if row.component != "VCARD" else "VCARD",
            component_name=row.component or None, time_range=(row.start, row.end),
            last_modified=http_date(row.modified))

    def item_from_text(self, href: str, text: str) -> radicale_item.Item:
        """An item made from stored text alone (``reindex``)."""
        return radicale_item.Item(collection=self, href=href, text=text)

    def _get(self, href: str, verify_href: bool = True) -> Optional[radicale_item.Item]:
        rows = self._sql.execute(select(*ITEM_COLUMNS).where(
            items.c.path == self.key, items.c.href == href))
        return self._item(rows[0]) if rows else None

    def get_multi(self, hrefs: Iterable[str]
                  ) -> Iterator[Tuple[str, Optional[radicale_item.Item]]]:
        wanted = list(dict.fromkeys(hrefs))
        found = {}
        for offset in range(0, len(wanted), 1000):
            for row in self._sql.execute(select(*ITEM_COLUMNS).where(
                    items.c.path == self.key, items.c.href.in_(wanted[offset:offset + 1000]))):
                found[row.href] = self._item(row)
        return iter([(href, found.get(href)) for href in wanted])

    def get_all(self) -> Iterator[radicale_item.Item]:
        rows = self._sql.execute(select(*ITEM_COLUMNS).where(
            items.c.path == self.key).order_by(items.c.href))
        return iter([self._item(row) for row in rows])

    def get_filtered(self, filters) -> Iterator[Tuple[radicale_item.Item, bool]]:
        if not self.tag:
            return iter(())
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        candidates = self._services.index.range_candidates(self.key, start, end, tag,
                                                           collection=self)
        confirmed = dict(candidates)
        out = []
        for href, item in self.get_multi([href for href, _ in candidates]):
            if item is None or (tag is not None and tag != item.component_name):
                continue
            istart, iend = item.time_range
            if istart >= end or iend <= start:
                continue
            # As in the file engine: an overlap the index confirmed needs no second walk.
            fully = start <= istart or iend <= end or (confirmed[href] and tag == "VEVENT")
            out.append((item, simple and fully))
        return iter(out)

    def has_uid(self, uid: str) -> bool:
        return bool(self._sql.execute(select(items.c.href).where(
            items.c.path == self.key, items.c.uid == uid).limit(1)))

    def sync(self, old_token: str = "") -> Tuple[str, Iterable[str]]:
        # The number first, then the names: a write committing in between shows up in
        # both answers at worst (sent twice), never in neither.
        current = self._sql.execute(select(collections.c.seq, collections.c.pruned_seq)
                                    .where(collections.c.path == self.key))
        seq, pruned = (current[0].seq, current[0].pruned_seq) if current else (0, 0)
        token = "%s%s%d" % (TOKEN_PREFIX, TOKEN_KIND, seq)
        if not old_token:
            return token, iter([item.href for item in self.get_all()])
        if not old_token.startswith(TOKEN_PREFIX + TOKEN_KIND):
            raise ValueError("Malformed token: %r" % old_token)
        try:
            old = int(old_token[len(TOKEN_PREFIX + TOKEN_KIND):])
        except ValueError:
            raise ValueError("Malformed token: %r" % old_token) from None
        if old > seq or old < pruned:
            raise ValueError("Token %r is not of this collection's history" % old_token)
        rows = self._sql.execute(select(changes.c.href).where(
            changes.c.path == self.key, changes.c.seq > old).order_by(changes.c.href))
        return token, iter([row.href for row in rows])

    # -- writes
    def upload(self, href: str, item: radicale_item.Item
               ) -> Tuple[radicale_item.Item, Optional[radicale_item.Item]]:
        replaced = self._get(href)
        return self.write_many({href: item})[href], replaced

    def write_many(self, changes_by_href) -> dict:
        """Puts (href: item) and deletions (href: None) in one transaction, with one
        change number and one round trip per table: the store's batches and a
        whole-calendar PUT come here. Returns href: the stored item for the puts."""
        svc = self._services
        configuration = self._storage.configuration
        for item in changes_by_href.values():
            if item is not None and not getattr(item, VALIDATED, False):
                validate_item(configuration, radicale_compat.parsed_form(item),
                              item.serialize())
        hrefs = list(changes_by_href)
        with self._sql.writing([self.key]) as tx:
            connection = tx.connection
            self._seq, self._modified = self._storage.bump(connection, self.key)
            stored = svc.index.remove_many(connection, self.key, hrefs)
            rows, spans, triggers, noted, results = [], [], [], [], {}
            for href, item in changes_by_href.items():
                if item is None:
                    if href in stored:
                        noted.append((href, stored[href].uid, stored[href].component, True))
                    continue
                row, instance_rows, alarm_rows = svc.index.rows(
                    self.key, href, item, self._modified, self._seq,
                    vobject_item=radicale_compat.parsed_form(item))
                rows.append(row)
                spans.extend(instance_rows)
                triggers.extend(alarm_rows)
                noted.append((href, row["uid"], row["component"], False))
                results[href] = self._item(_Row(row))
            svc.index.insert(connection, rows, spans, triggers)
            self._storage.note_changes(connection, self.key, self._seq, noted)
            if results and self._is_calendar_path() and self.key not in _registered:
                tx.after_commit.append(self._register)
        return results

    def _register(self) -> None:
        """A calendar written to is in the registry (the file engine does the same);
        asked once per process and calendar, not at every write."""
        registry = self._services.registry
        if registry.get(self.key) is None:
            registry.register(self.key)
        _registered.add(self.key)

    def delete(self, href: Optional[str] = None) -> None:
        svc = self._services
        if href is None:
            self._storage.drop_tree(self.key)
            _registered.discard(self.key)
            if self._is_calendar_path():
                svc.registry.remove(self.key)
                svc.ledger.forget_collection(self.key)
            return
        if self._get(href) is None:
            raise radicale_storage.ComponentNotFoundError(href)
        self.write_many({href: None})

    # -- what the store's handles ask of a collection (as of the file engine)
    def index(self):
        return self._services.index

    def get_by_uid(self, uid: str) -> Optional[radicale_item.Item]:
        rows = self._sql.execute(select(*ITEM_COLUMNS).where(
            items.c.path == self.key, items.c.uid == uid).limit(1))
        return self._item(rows[0]) if rows else None

    def get_hrefs(self, hrefs: Iterable[str]) -> List[radicale_item.Item]:
        return [item for _, item in self.get_multi(hrefs) if item is not None]

    def stored_names(self) -> List[str]:
        """Every item name (``verify`` compares them with what reads return)."""
        return [row.href for row in self._sql.execute(
            select(items.c.href).where(items.c.path == self.key).order_by(items.c.href))]

    def reconcile_files(self, hrefs) -> None:
        """Nothing to reconcile: there are no files."""


class _Row:
    """A row written in this transaction, read as a selected row is."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)
