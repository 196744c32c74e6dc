"""Radicale's storage API on SQL rows: discover, create, move, lock, verify.

The collection tree is the rows of ``dav_collections`` (the root ``/`` always exists
and has no row); an item is found under its collection's path by its name. Writes lock
what they touch through ``engine.py``: Radicale's ``acquire_lock("w", path=...)`` and
the store's ``calendar_lock`` open the write transaction with the calendars' advisory
locks, a write above the calendars (a new home, a whole-store operation) takes the
store's key exclusively. ``acquire_lock("r")`` and shared calendar locks take nothing:
a read is one statement on one snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
import time
from typing import Iterable, Iterator, List, Optional

from radicale import item as radicale_item
from radicale import pathutils
from radicale import storage as radicale_storage
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from radicale_wcap import calid as calid_mod
from radicale_wcap.state import services
from radicale_wcap.storage import VALIDATED, validate_item
from radicale_wcap.storage.batch import href_for_uid
from radicale_wcap.storage.consistency import calendar_of
from radicale_wcap.storage.locks import EXCLUSIVE

from .collection import Collection
from .engine import SqlEngine, database_url, engine_for
from .schema import alarms, changes, collections, instances, items

logger = logging.getLogger("radicale.wcap.storage.sql")


class SqlStorage(radicale_storage.BaseStorage):
    _collection_class = Collection

    def __init__(self, configuration) -> None:
        super().__init__(configuration)
        url = database_url(configuration)
        if not url:
            raise RuntimeError("[storage] database_url is needed by the SQL storage")
        self.sql: SqlEngine = engine_for(url)

    @property
    def _svc(self):
        return services(self.configuration)

    # -- rows of the collection tree
    def _collection_row(self, connection, key: str):
        return connection.execute(select(collections).where(collections.c.path == key)).first()

    def _collection(self, row) -> Collection:
        return self._collection_class(self, row.path, json.loads(row.props), row.seq,
                                      row.modified, row.pruned_seq)

    def bump(self, connection, key: str):
        """The collection's next change number and this moment, inside the write."""
        now = time.time_ns()
        row = connection.execute(update(collections).where(collections.c.path == key)
                                 .values(seq=collections.c.seq + 1, modified=now)
                                 .returning(collections.c.seq)).first()
        if row is None:
            raise radicale_storage.ComponentNotFoundError(key)
        return row.seq, now

    def note_changes(self, connection, key: str, seq: int, noted) -> None:
        """The change rows of (href, uid, component, deleted), one per name (upserted)."""
        if not noted:
            return
        dialect = pg_dialect if self.sql.postgresql else sqlite_dialect
        statement = dialect.insert(changes)
        statement = statement.on_conflict_do_update(
            index_elements=[changes.c.path, changes.c.href],
            set_={name: statement.excluded[name]
                  for name in ("seq", "uid", "component", "deleted", "at")})
        now = time.time()
        connection.execute(statement, [
            {"path": key, "href": href, "seq": seq, "uid": uid, "component": component,
             "deleted": deleted, "at": now} for href, uid, component, deleted in noted])

    def _insert_missing(self, connection, key: str, props: dict) -> None:
        dialect = pg_dialect if self.sql.postgresql else sqlite_dialect
        parent = posixpath.dirname(key.rstrip("/")) + "/" if key != "/" else ""
        connection.execute(dialect.insert(collections).values(
            path=key, parent=parent.replace("//", "/"), props=json.dumps(props, sort_keys=True),
            seq=0, modified=time.time_ns(), pruned_seq=0).on_conflict_do_nothing())

    # -- Radicale's API
    def discover(self, path: str, depth: str = "0", child_context_manager=None,
                 user_groups=frozenset()) -> Iterator:
        sane = pathutils.strip_path(path)
        key = calid_mod.normalize_path(sane) if sane else "/"
        with self.sql.reading() as connection:
            row = self._collection_row(connection, key) if sane else None
            if sane and row is None:
                parent, _, href = sane.rpartition("/")
                if not parent:
                    return
                found = self._collection_row(connection, calid_mod.normalize_path(parent))
                if found is None:
                    return
                item = self._collection(found)._get(href)
                if item is not None:
                    yield item
                return
            collection = (self._collection(row) if row is not None
                          else self._collection_class(self, ""))
            children = []
            if depth != "0":
                children = [self._collection(r) for r in connection.execute(
                    select(collections).where(collections.c.parent == key)
                    .order_by(collections.c.path))]
        yield collection
        if depth == "0":
            return
        manager = child_context_manager or _no_context
        for item in collection.get_all():
            with manager(sane, item.href):
                yield item
        for child in children:
            with manager(child.path, None):
                yield child

    def create_collection(self, href: str, items=None, props=None):
        sane = pathutils.strip_path(href)
        key = calid_mod.normalize_path(sane) if sane else "/"
        items = list(items) if items is not None else None
        for item in items or ():
            if not getattr(item, VALIDATED, False):
                validate_item(self.configuration, item.serialize())
        scope = [key] if calendar_of(key) == key else []
        with self.sql.writing(scope, store="r" if scope else "w") as tx:
            connection = tx.connection
            for ancestor in _ancestors(key):
                self._insert_missing(connection, ancestor, {})
            if not props:
                self._insert_missing(connection, key, {})
                return self._collection(self._collection_row(connection, key)), {}, []
            self._insert_missing(connection, key, dict(props))
            connection.execute(update(collections).where(collections.c.path == key).values(
                props=json.dumps(dict(props), sort_keys=True)))
            collection = self._collection(self._collection_row(connection, key))
            replaced, new_hrefs = {}, []
            if items is not None and props.get("tag"):
                replaced, new_hrefs = self._replace_items(connection, collection, items)
            collection = self._collection(self._collection_row(connection, key))
        if scope and calid_mod.from_path(key) is not None and props and props.get("tag"):
            self._svc.registry.register(key)
        return collection, replaced, new_hrefs

    def _replace_items(self, connection, collection: Collection, new_items):
        """A whole-calendar PUT: the new items, and deletions of the names not in it."""
        old = {item.href: item for item in collection.get_all()}
        suffix = ".vcf" if collection.tag == "VADDRESSBOOK" else ".ics"
        planned: dict = {}
        for item in new_items:
            href = href_for_uid(item.uid, lambda h: h in planned)
            if suffix != ".ics":
                href = href[:-4] + suffix
            planned[href] = item
        for href in set(old) - set(planned):
            planned[href] = None
        collection.write_many(planned)
        replaced = {href: old[href] for href in planned if href in old and planned[href]}
        return replaced, [href for href in planned if href not in old]

    def drop_tree(self, key: str) -> None:
        """A collection and everything below it; its names stay as deleted changes only
        as long as the collection does (a new one of the same path starts afresh)."""
        like = key.rstrip("/") + "/%"
        with self.sql.writing([key] if calendar_of(key) == key else [],
                              store="r" if calendar_of(key) == key else "w") as tx:
            for table in (items, instances, alarms, changes, collections):
                tx.connection.execute(delete(table).where(
                    or_(table.c.path == key, table.c.path.like(like))))

    def move(self, item: radicale_item.Item, to_collection, to_href: str) -> None:
        source = item.collection
        with self.sql.writing(sorted({source.key, to_collection.key})):
            to_collection.upload(to_href, item)
            source.delete(item.href)

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs) -> Iterator[None]:
        if mode != "w":
            yield
            return
        paths = [p for p in (kwargs.get("path"), kwargs.get("to_path")) if p]
        calendars = [c for c in (calendar_of(p) for p in paths) if c]
        if paths and len(calendars) == len(paths):
            with self.sql.writing(calendars, store="r"):
                yield
        else:
            with self.sql.writing([], store="w"):
                yield

    @contextlib.contextmanager
    def calendar_lock(self, paths: Iterable[str], mode: str) -> Iterator[List[str]]:
        wanted = sorted({calid_mod.normalize_path(p) for p in paths})
        if mode != EXCLUSIVE:
            yield wanted
            return
        with self.sql.writing(wanted, store="r"):
            yield wanted

    def calendar_at(self, path: str):
        found = next(iter(self.discover(path)), None)
        if isinstance(found, radicale_storage.BaseCollection) and found.tag:
            return found
        return None

    def verify(self) -> bool:
        """Every stored text is one valid calendar object with the UID its row names."""
        sound = True
        for row in self.sql.execute(select(items.c.path, items.c.href, items.c.uid,
                                           items.c.text)):
            try:
                vobject_item, = radicale_item.read_components(row.text)
                if radicale_item.get_uid_from_object(vobject_item) != row.uid:
                    raise ValueError("UID %r in the text" %
                                     radicale_item.get_uid_from_object(vobject_item))
            except Exception as e:  # vobject raises many kinds
                logger.error("Item %s%s is damaged: %s", row.path, row.href, e)
                sound = False
        return sound


def _ancestors(key: str) -> List[str]:
    parts = [p for p in key.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts))]


@contextlib.contextmanager
def _no_context(_path, _href) -> Iterator[None]:
    yield
