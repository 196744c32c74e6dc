"""The store's all-or-nothing write of many items, as one database transaction.

The same API as ``storage/batch.py`` (the store's `Batch` drives either), without its
journal and rollback: the block is one transaction holding its calendars' advisory
locks from the start, so the look-then-write of the caller is safe; ``commit`` writes
every queued item in it, and the database keeps all of it or none. An exception, a
worker's ``SystemExit`` or a ``kill -9`` anywhere before the commit leaves every
calendar as it was, on every host; readers elsewhere see before or after, never between.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterable, List, Optional, Set

from radicale import item as radicale_item

from radicale_wcap.calid import normalize_path
from radicale_wcap.storage import privacy as privacy_hooks
from radicale_wcap.storage import batch as file_batch
from radicale_wcap.storage.batch import Write, href_for_uid

from .index import SqlIndex


class SqlBatch:
    def __init__(self, storage, paths: Iterable[str], user: str = "",
                 request: str = "batch", on_behalf: bool = False) -> None:
        self.storage = storage
        self.paths = sorted({normalize_path(p) for p in paths})
        self.user = user or ""
        self.request = request
        self.on_behalf = on_behalf
        self.writes: List[Write] = []
        self.committed = False
        self._collections: Dict[str, object] = {}
        self._taken: Dict[str, Set[str]] = {}
        self._last: Dict[tuple, Write] = {}
        self._rows: Dict[str, tuple] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "SqlBatch":
        try:
            self._stack.enter_context(self.storage.sql.writing(self.paths, store="r"))
            self._stack.enter_context(privacy_hooks.acting(self.request, self.user,
                                                           self.on_behalf))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        # The exception, if any, reaches the transaction: it rolls back.
        self._stack.__exit__(*exc)

    @property
    def _index(self) -> SqlIndex:
        return self.storage._svc.index

    def calendar(self, path: str):
        path = normalize_path(path)
        if path not in self.paths:
            raise ValueError("%s is not locked by this batch" % path)
        if path not in self._collections:
            self._collections[path] = self.storage.calendar_at(path)
        return self._collections[path]

    def _existing(self, path: str):
        collection = self.calendar(path)
        if collection is None:
            raise ValueError("no calendar at %s" % path)
        return collection

    def put(self, path: str, item: radicale_item.Item, href: Optional[str] = None) -> str:
        collection = self._existing(path)
        key = collection.key
        if href is None:
            queued = self._last.get((key, item.uid))
            href = queued.href if queued is not None else None
        if href is None:
            by_uid, hrefs = self._known(key)
            href = by_uid.get(item.uid) or href_for_uid(
                item.uid, lambda h: h in self._taken.get(key, ()) or h in hrefs)
        privacy_hooks.refuse_change(self.storage.configuration, collection, href)
        self._taken.setdefault(key, set()).add(href)
        self._queue(Write(key, item.uid, href, item))
        return href

    def delete(self, path: str, uid: str) -> bool:
        collection = self._existing(path)
        key = collection.key
        queued = self._last.get((key, uid))
        if queued is not None:
            if queued.item is None:
                return False
            href = queued.href
        else:
            href = self._known(key)[0].get(uid)
            if href is None:
                return False
        privacy_hooks.refuse_change(self.storage.configuration, collection, href)
        self._queue(Write(key, uid, href, None))
        return True

    def _known(self, key: str):
        """UID -> href and the hrefs of a calendar, read once per batch (under its lock,
        so nobody else changes them meanwhile)."""
        if key not in self._rows:
            rows = self._index.all(key)
            self._rows[key] = ({r.uid: r.href for r in rows}, {r.href for r in rows})
        return self._rows[key]

    def _queue(self, write: Write) -> None:
        self.writes.append(write)
        self._last[(write.path, write.uid)] = write

    def commit(self, on_commit: Optional[Callable[[object], None]] = None) -> List[Write]:
        """Write everything queued into the open transaction; it commits when the
        block ends. ``on_commit(connection)`` records what the caller keeps beside the
        items: in the same transaction when the project database is this database
        (PostgreSQL), else in a transaction of its own just before the items commit,
        so that a failure there undoes the items too."""
        if self.committed:
            raise RuntimeError("batch committed twice")
        self.committed = True
        final: Dict[str, Dict[str, object]] = {}
        for number, write in enumerate(self.writes):
            if file_batch.before_write is not None:
                file_batch.before_write(number)
            final.setdefault(write.path, {})[write.href] = write.item
        stored: Dict[tuple, object] = {}
        for path, planned in final.items():
            for href, item in self.calendar(path).write_many(planned).items():
                stored[(path, href)] = item
        for write in self.writes:
            if write.item is not None:
                write.result = stored.get((write.path, write.href))
        if on_commit is not None and self.writes:
            # Joins the items' transaction when the project database is this database
            # (engine.share_with), else a transaction of its own just before theirs.
            with self.storage._svc.db.transaction() as connection:
                on_commit(connection)
        return self.writes
