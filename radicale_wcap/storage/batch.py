"""The one all-or-nothing write of many items, in one or several calendars.

Every multi-item write goes through here: a feed import, WCAP ``import`` and
the range deletes, the JSON fork, scheduling's fan-out, the migration tool.
Under the locks of all its calendars (taken together, in sorted order) the
caller looks, then queues puts and deletes; ``commit`` records the plan in
the journal (``storage/journal.py``), writes the files without Radicale's
per-file fsyncs, makes them durable with one file-system sync, and removes the
journal row in the transaction that also records what the caller keeps
beside the items. Whatever stops the writes part-way, an exception or a
``SystemExit`` from a worker's timeout, rolls them back before the locks
go; a ``kill -9`` leaves the row for whoever next locks one of the
calendars. Readers wait on the calendar locks, so they never see a half.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Set

from radicale import item as radicale_item
from radicale import pathutils

from radicale_wcap import radicale_compat
from radicale_wcap.calid import normalize_path
from radicale_wcap.storage import privacy as privacy_hooks
from radicale_wcap.storage.consistency import batch_scope
from radicale_wcap.storage.journal import Entry, Journal
from radicale_wcap.storage.locks import EXCLUSIVE

logger = logging.getLogger("radicale.wcap.storage.batch")

# Test-only: called with the 0-based number of each write before it happens,
# so tests can fail (or kill the process at) the nth write without mocking Radicale.
before_write: Optional[Callable[[int], None]] = None


def href_for_uid(uid: str, taken: Callable[[str], bool]) -> str:
    """A safe file name for a new item: the UID where it is safe, else a hash."""
    candidate = uid + ".ics"
    if (len(candidate) <= 200 and pathutils.is_safe_filesystem_path_component(candidate)
            and all(c.isalnum() or c in "-_.@+=" for c in uid) and not taken(candidate)):
        return candidate
    digest = hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    candidate = digest + ".ics"
    n = 1
    while taken(candidate):
        candidate = "%s-%d.ics" % (digest, n)
        n += 1
    return candidate


@dataclass
class Write:
    path: str
    uid: str
    href: str
    item: Optional[radicale_item.Item]   # None: delete
    result: Optional[radicale_item.Item] = None


class BatchFailed(Exception):
    """The batch was rolled back; ``__cause__`` says why."""


class Planned:
    """What both engines' batches share: the calendars they hold, and the queue of
    puts and deletes the caller plans before ``commit``. An engine says where an
    item with a UID is stored (``_stored_href``) and what a new one is named
    (``_new_href``); the locking and the writing are its own."""

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
        self._last: Dict[tuple, Write] = {}   # (path, uid) -> the last write queued
        self._stack = contextlib.ExitStack()

    def calendar(self, path: str):
        """The calendar collection at ``path`` (None when there is none); locked."""
        path = normalize_path(path)
        if path not in self.paths:
            raise ValueError("%s is not locked by this batch" % path)
        if path not in self._collections:
            self._collections[path] = self.storage.calendar_at(path)
        return self._collections[path]

    # -- planning
    def put(self, path: str, item: radicale_item.Item, href: Optional[str] = None) -> str:
        """Queue ``item`` for ``path``, replacing the item with its UID; returns its href."""
        collection = self._existing(path)
        if href is None:
            # A UID queued twice (two files of one import) is one item, written twice.
            queued = self._last.get((collection.key, item.uid))
            href = queued.href if queued is not None else None
        if href is None:
            href = (self._stored_href(collection, item.uid)
                    or self._new_href(collection, item.uid))
        # Refused now, before anything is written, rather than by the upload's own check.
        privacy_hooks.refuse_change(self.storage.configuration, collection, href)
        self._taken.setdefault(collection.key, set()).add(href)
        self._queue(Write(collection.key, item.uid, href, item))
        return href

    def delete(self, path: str, uid: str) -> bool:
        """Queue the deletion of the item with ``uid``; False when there is none."""
        collection = self._existing(path)
        queued = self._last.get((collection.key, uid))
        if queued is not None:
            if queued.item is None:
                return False
            href = queued.href
        else:
            href = self._stored_href(collection, uid)
            if href is None:
                return False
        privacy_hooks.refuse_change(self.storage.configuration, collection, href)
        self._queue(Write(collection.key, uid, href, None))
        return True

    def _queue(self, write: Write) -> None:
        self.writes.append(write)
        self._last[(write.path, write.uid)] = write

    def _existing(self, path: str):
        collection = self.calendar(path)
        if collection is None:
            raise ValueError("no calendar at %s" % path)
        return collection

    def _stored_href(self, collection, uid: str) -> Optional[str]:
        raise NotImplementedError

    def _new_href(self, collection, uid: str) -> str:
        raise NotImplementedError


class Batch(Planned):
    # -- locking
    def __enter__(self) -> "Batch":
        stack = self._stack
        try:
            stack.enter_context(self.storage.acquire_lock("r", self.user))
            stack.enter_context(self.storage.calendar_lock(self.paths, EXCLUSIVE))
            for path in self.paths:
                # What a killed batch left (its temporary files) goes before this one.
                self.storage.tidy_calendar(path)
            stack.enter_context(privacy_hooks.acting(self.request, self.user,
                                                     self.on_behalf))
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _stored_href(self, collection, uid: str) -> Optional[str]:
        row = collection.index().by_uid(collection.key, uid)
        return row.href if row is not None else None

    def _new_href(self, collection, uid: str) -> str:
        folder = radicale_compat.collection_folder(collection)
        taken = self._taken.get(collection.key, set())
        return href_for_uid(uid, lambda h: h in taken or os.path.lexists(os.path.join(folder, h)))

    # -- writing
    def commit(self, on_commit: Optional[Callable[[object], None]] = None) -> List[Write]:
        """Write everything queued, all or nothing.

        ``on_commit(connection)`` runs in the project database's transaction that
        ends the batch, for what must be recorded exactly when the items are."""
        if self.committed:
            raise RuntimeError("batch committed twice")
        self.committed = True
        if not self.writes:
            return []
        svc = self.storage._svc
        entries = self._entries()
        journal_id = svc.journal.begin(self.request, entries)
        try:
            # Durable once, at the end of the writes and before the journal row goes:
            # Radicale's per-item fsyncs were most of a bulk write's time.
            with batch_scope(self.paths), radicale_compat.one_sync(self.storage):
                for number, write in enumerate(self.writes):
                    if before_write is not None:
                        before_write(number)
                    collection = self.calendar(write.path)
                    if write.item is None:
                        collection.delete(write.href)
                    else:
                        write.result, _ = collection.upload(write.href, write.item)
            with svc.db.transaction() as connection:
                if on_commit is not None:
                    on_commit(connection)
                Journal.finish(connection, journal_id)
        except BaseException as e:
            self._undo(entries, journal_id, e)
            raise
        return self.writes

    def _entries(self) -> List[Entry]:
        entries = []
        for write in self.writes:
            collection = self.calendar(write.path)
            current = radicale_compat.get_item(collection, write.href)
            old = current.serialize() if current is not None else None
            new_etag = write.item.etag if write.item is not None else None
            entries.append(Entry(write.path, write.uid, write.href, old, new_etag))
        return entries

    def _undo(self, entries: List[Entry], journal_id: int, error: BaseException) -> None:
        logger.error("%s into %s stopped part-way (%s: %s); rolling back", self.request,
                     ", ".join(self.paths), type(error).__name__, error)
        svc = self.storage._svc
        try:
            with batch_scope(self.paths), privacy_hooks.acting("batch-recovery",
                                                                on_behalf=True):
                self.storage.roll_back(entries)
            svc.journal.close(journal_id)
        except BaseException:
            # The journal row stays: whoever next locks these calendars tries again.
            logger.exception("Rollback of %s into %s failed; it is retried when the "
                             "calendar is next used", self.request, ", ".join(self.paths))


@contextlib.contextmanager
def batch(storage, paths: Iterable[str], user: str = "", request: str = "batch",
          on_behalf: bool = False) -> Iterator[Batch]:
    with Batch(storage, paths, user, request, on_behalf) as opened:
        yield opened
