"""The store's all-or-nothing write of many items, as one database transaction.

The same API as ``storage/batch.py`` (the store's `Batch` drives either), without its
journal and rollback: the block is one transaction holding its calendars' advisory
locks from the start, so the look-then-write of the caller is safe; ``commit`` writes
every queued item in it, and the database keeps all of it or none. An exception, a
worker's ``SystemExit`` or a ``kill -9`` anywhere before the commit leaves every
calendar as it was, on every host; readers elsewhere see before or after, never between.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from radicale_wcap.storage import privacy as privacy_hooks
from radicale_wcap.storage import batch as file_batch
from radicale_wcap.storage.batch import Write, href_for_uid

from .index import SqlIndex


class SqlBatch(file_batch.Planned):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._rows: Dict[str, tuple] = {}

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

    def _stored_href(self, collection, uid: str) -> Optional[str]:
        return self._known(collection.key)[0].get(uid)

    def _new_href(self, collection, uid: str) -> str:
        key = collection.key
        hrefs = self._known(key)[1]
        return href_for_uid(uid, lambda h: h in self._taken.get(key, ()) or h in hrefs)

    def _known(self, key: str):
        """UID -> href and the hrefs of a calendar, read once per batch (under its lock,
        so nobody else changes them meanwhile)."""
        if key not in self._rows:
            rows = self._index.all(key)
            self._rows[key] = ({r.uid: r.href for r in rows}, {r.href for r in rows})
        return self._rows[key]

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
