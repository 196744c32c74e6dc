"""Per-calendar locks and crash recovery, mixed into the storage plugin.

What the store promises (docs/design.md, "Writes"): a write to one calendar
never waits for a write to another; a reader never sees a calendar between
two items of a batch; after a crash at any point every calendar is as before
or as after, and its index knows every file the crash may have touched.

* ``acquire_lock("w", path=...)``, which Radicale calls for every write it
  makes and the project's doors for theirs, locks the store *shared* and the
  calendars of ``path`` and ``to_path`` exclusively (``storage/locks.py``).
  Writes above the calendars (a home, the root) and any write while a storage
  hook is configured (the hook expects the store to itself) still lock the
  whole store exclusively.
* Each of Radicale's reads of a calendar (`LockedReads`) holds that
  calendar's lock shared for the call, and reads everything it returns
  before letting go.
* Whoever locks a calendar first finishes what a dead writer left there: it
  rolls back an interrupted batch (``storage/journal.py``) and re-reads the
  files that single writes announced (``storage/intents.py``). Recovery of
  one calendar holds that calendar's lock, nobody else's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from typing import Iterable, Iterator, List, Optional

from radicale import item as radicale_item
from radicale import storage as radicale_storage
from radicale.storage import multifilesystem

from radicale_wcap import radicale_compat
from radicale_wcap.calid import normalize_path
from radicale_wcap.state import services
from radicale_wcap.storage.journal import Entry, Pending
from radicale_wcap.storage.locks import EXCLUSIVE, SHARED
from radicale_wcap.storage.privacy import acting

logger = logging.getLogger("radicale.wcap.storage.consistency")

#: The request name of recovery writes (a rollback is nobody's own edit).
RECOVERY = "batch-recovery"

_batch = threading.local()

TIDY_INTERVAL = 3600.0
TEMPORARY_AGE = 3600.0
_tidied: dict = {}


def calendar_of(path: Optional[str]) -> Optional[str]:
    """``/user/cal/`` for a path at or below a calendar, None above one."""
    if not path:
        return None
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2:
        return None
    return "/%s/%s/" % (parts[0], parts[1])


def in_batch(path: str) -> bool:
    """True while this thread writes ``path`` inside a batch (its journal names the files)."""
    return path in getattr(_batch, "paths", ())


@contextlib.contextmanager
def batch_scope(paths: Iterable[str]) -> Iterator[None]:
    previous = getattr(_batch, "paths", frozenset())
    _batch.paths = previous | frozenset(paths)
    try:
        yield
    finally:
        _batch.paths = previous


class ConsistentStorage:
    """Mixed into the plugin's Storage, after the privacy guard and before
    ``multifilesystem.Storage`` (the guard must see the request's own mode)."""

    @property
    def _svc(self):
        return services(self.configuration)

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs) -> Iterator[None]:
        calendars = [c for c in (calendar_of(kwargs.get("path")),
                                 calendar_of(kwargs.get("to_path"))) if c]
        scoped = (mode == "w" and calendars and not self._hook
                  and len(calendars) == len([p for p in (kwargs.get("path"),
                                                        kwargs.get("to_path")) if p]))
        if not scoped:
            with super().acquire_lock(mode, user, *args, **kwargs):
                yield
            return
        with super().acquire_lock("r", user):
            with self.calendar_lock(calendars, EXCLUSIVE):
                for calendar in calendars:
                    self._tidy_home(calendar)
                yield

    def tidy_calendar(self, calendar: str) -> None:
        """For a writer that holds ``calendar``'s lock exclusively (a batch)."""
        self._tidy_home(calendar)

    def _tidy_home(self, calendar: str) -> None:
        """Remove the ``.Radicale.tmp-*`` folders a crashed whole-calendar PUT or
        calendar delete left in the calendar's home, and the files a killed batch left
        in the calendar (Radicale removes them only on its way out). Once an hour per
        calendar and process, and only old ones: a live request in another process may
        be filling a young one."""
        home = calendar_of(calendar).strip("/").split("/")[0]
        now = time.monotonic()
        last = _tidied.get((id(self), calendar))
        if last is not None and now - last < TIDY_INTERVAL:
            return
        _tidied[(id(self), calendar)] = now
        folder = os.path.join(radicale_compat.collection_root_folder(self), home)
        # A batch's writes leave .Radicale.tmp- files in the calendar and its history.
        own = os.path.join(folder, calendar.strip("/").split("/")[1])
        entries = []
        for place in (folder, own, os.path.join(own, ".Radicale.cache", "history"),
                      os.path.join(own, ".Radicale.cache", "item")):
            try:
                entries.extend(os.scandir(place))
            except OSError:
                pass
        for entry in entries:
            if not entry.name.startswith(".Radicale.tmp-"):
                continue
            try:
                if time.time() - entry.stat(follow_symlinks=False).st_mtime < TEMPORARY_AGE:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                logger.warning("Removed %s, left by an interrupted write", entry.path)
            except OSError as e:
                logger.warning("Could not remove %s: %s", entry.path, e)

    @contextlib.contextmanager
    def calendar_lock(self, paths: Iterable[str], mode: str) -> Iterator[List[str]]:
        """Hold ``paths`` in ``mode`` after finishing what dead writers left there.

        The caller holds the store lock (shared or exclusive)."""
        locks = self._svc.calendar_locks
        wanted = sorted({normalize_path(p) for p in paths})
        fresh = [p for p in wanted if not locks.held(p)]
        if mode == SHARED and fresh and locks.holding_any():
            # This thread holds another calendar (a write looking at the other
            # calendars of a feed's tree, say). Writers lock all their calendars up
            # front in order; a reader that waited here while holding one could close
            # a circle with them, so it reads these as it would without locks.
            yield wanted
            return
        while True:
            with locks.hold(wanted, mode) as held:
                leftover = self._leftovers(fresh)
                if leftover is None:
                    yield held
                    return
            # A dead writer's work: finish it holding exactly what it held, then retry.
            self._recover(*leftover)

    def _leftovers(self, paths: List[str]):
        if not paths:
            return None
        svc = self._svc
        pending = svc.journal.pending(paths)
        intents = svc.intents.pending(paths)
        if not pending and not intents:
            return None
        return pending, intents

    def _recover(self, pending: List[Pending], intents: List[tuple]) -> None:
        svc = self._svc
        paths = sorted({p for batch in pending for p in batch.paths}
                       | {path for path, _ in intents})
        with svc.calendar_locks.hold(paths, EXCLUSIVE), acting_as_recovery(), \
                batch_scope(paths):
            for batch in svc.journal.pending(paths):
                restored = self.roll_back(batch.entries)
                svc.journal.close(batch.id)
                logger.warning("Interrupted %s rolled back in %s (%d item(s) restored)",
                               batch.request, ", ".join(batch.paths), restored)
            by_path: dict = {}
            for path, href in svc.intents.pending(paths):
                by_path.setdefault(path, []).append(href)
            for path, hrefs in by_path.items():
                collection = self.calendar_at(path)
                if collection is not None:
                    collection.reconcile_files(hrefs)
                svc.intents.drop(path, hrefs)
                logger.warning("Index of %s brought up to date with %d file(s) an "
                               "interrupted write touched", path, len(hrefs))

    def discover(self, path: str, depth: str = "0", *args, **kwargs):
        """Radicale's discover, under the calendar's shared lock when ``path`` is in an
        existing calendar: a GET of one item, or a PROPFIND of a calendar with its
        items, sees a batch before or after it, like every other read. (Only existing
        calendars are locked: a request for a made-up path creates no lock file.)"""
        calendar = calendar_of(path)
        if calendar is None or not os.path.isdir(os.path.join(
                radicale_compat.collection_root_folder(self), calendar.strip("/"))):
            yield from super().discover(path, depth, *args, **kwargs)
            return
        with self.calendar_lock([calendar], SHARED):
            found = list(super().discover(path, depth, *args, **kwargs))
        yield from found

    def calendar_at(self, path: str):
        found = next(iter(self.discover(path)), None)
        if isinstance(found, radicale_storage.BaseCollection) and found.tag:
            return found
        return None

    def roll_back(self, entries: List[Entry]) -> int:
        """Undo a batch, looking at the files (the index may be behind): the items it
        added, then the others, each newest first.

        Only an item that is still exactly what the batch wrote is touched."""
        undone = 0
        collections = {path: self.calendar_at(path) for path in {e.path for e in entries}}
        touched: dict = {}
        # What the batch added goes first: on a disk the batch filled, that makes the
        # room that restoring what it changed or deleted needs.
        added = [e for e in reversed(entries) if e.old is None]
        for entry in added + [e for e in reversed(entries) if e.old is not None]:
            collection = collections[entry.path]
            if collection is None:
                continue
            touched.setdefault(entry.path, (collection, set()))[1].add(entry.href)
            current = radicale_compat.get_item(collection, entry.href)
            if entry.new_etag is None:
                if current is not None or entry.old is None:
                    continue  # never deleted, or created again since
            elif current is None or current.etag != entry.new_etag:
                continue  # never written, or changed since
            # Radicale's own writes, files only: the index and the ledger follow from
            # the files at the end (reconcile_files), so an undo never waits on a full
            # reconcile of a folder the batch left changed.
            if entry.old is None:
                multifilesystem.Collection.delete(collection, entry.href)
            else:
                item = radicale_item.Item(collection_path=collection.path, text=entry.old)
                multifilesystem.Collection.upload(collection, entry.href, item)
            undone += 1
        for collection, hrefs in touched.values():
            collection.reconcile_files(hrefs)
        return undone


@contextlib.contextmanager
def acting_as_recovery() -> Iterator[None]:
    with acting(RECOVERY, on_behalf=True):
        yield


class LockedReads:
    """Radicale's reads of a calendar, each under that calendar's shared lock.

    Everything a call returns is read before the lock goes, so a batch that
    commits meanwhile is seen entirely or not at all."""

    def _read_lock(self):
        path = normalize_path(self.path)
        if calendar_of(path) != path or not self.tag:
            return contextlib.nullcontext()
        return self._storage.calendar_lock([path], SHARED)

    def get_multi(self, hrefs):
        with self._read_lock():
            return iter(list(super().get_multi(hrefs)))

    def get_all(self):
        with self._read_lock():
            return iter(list(super().get_all()))

    def get_filtered(self, filters):
        with self._read_lock():
            return iter(list(super().get_filtered(filters)))

    def has_uid(self, uid: str) -> bool:
        with self._read_lock():
            return super().has_uid(uid)

    def sync(self, old_token: str = ""):
        with self._read_lock():
            token, hrefs = super().sync(old_token)
            return token, iter(list(hrefs))

    @property
    def etag(self) -> str:
        with self._read_lock():
            return super().etag

    @property
    def last_modified(self) -> str:
        with self._read_lock():
            return super().last_modified


def locked_reads(collection_class):
    """``collection_class`` with `LockedReads` in front of it."""
    return type(collection_class.__name__, (LockedReads, collection_class),
                {"__module__": collection_class.__module__,
                 "__qualname__": collection_class.__qualname__,
                 "__doc__": collection_class.__doc__})
