"""One lock per calendar, shared by every thread and process on the store.

Radicale takes one lock for the whole store, so a 3,000-event feed import
into one calendar made every other user's write wait for it. Here a write to
a calendar holds the store lock *shared* (so store-wide operations, which
still take it exclusively, exclude it) and its calendar's lock exclusively;
a read of a calendar holds that calendar's lock shared for the length of one
read. Writers to different calendars therefore never wait for each other,
and a reader never sees a calendar between two items of a batch.

The locks are ``flock`` locks on files under the project's data folder:
``flock`` belongs to an open file description, so it excludes threads of one
process as well as other processes, and the kernel drops it when a process
dies, which is what lets the next process roll back a dead writer's batch.
Several calendars are always locked in sorted order, so two writers can not
deadlock; a reader holds at most one calendar lock at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from typing import Iterable, Iterator, List

SHARED, EXCLUSIVE = "r", "w"


class CalendarLocks:
    def __init__(self, folder: str) -> None:
        self.folder = os.path.join(folder, "locks")
        self._held = threading.local()

    def _file(self, path: str) -> str:
        digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()
        # Two hex digits of fan-out: a store of 200,000 calendars is 256
        # folders of under a thousand lock files, not one huge folder.
        return os.path.join(self.folder, digest[:2], digest[2:32] + ".lock")

    def held(self, path: str) -> str:
        """The mode this thread holds ``path`` in ('' when not held)."""
        return getattr(self._held, "modes", {}).get(path, "")

    def holding_any(self) -> bool:
        """Whether this thread holds some calendar's lock already."""
        return bool(getattr(self._held, "modes", None))

    @contextlib.contextmanager
    def hold(self, paths: Iterable[str], mode: str) -> Iterator[List[str]]:
        """Lock every calendar of ``paths`` (sorted, each once) in ``mode``.

        A calendar this thread already holds is not locked again: a write
        that reads its own calendar must not wait for itself. A shared hold
        can not be turned into an exclusive one here (flock would let another
        writer in between); callers take the exclusive lock first.
        """
        modes = getattr(self._held, "modes", None)
        if modes is None:
            modes = self._held.modes = {}
        wanted = sorted(set(paths))
        for path in wanted:
            if modes.get(path) == SHARED and mode == EXCLUSIVE:
                raise RuntimeError("calendar %s is held shared by this thread; "
                                   "an exclusive lock would deadlock" % path)
        taken = []
        try:
            for path in wanted:
                if path in modes:
                    continue
                taken.append((path, self._acquire(path, mode)))
                modes[path] = mode
            yield wanted
        finally:
            for path, handle in reversed(taken):
                modes.pop(path, None)
                handle.close()  # closing the descriptor drops its flock

    def _acquire(self, path: str, mode: str):
        name = self._file(path)
        try:
            handle = open(name, "a+b")
        except FileNotFoundError:
            os.makedirs(os.path.dirname(name), exist_ok=True)
            handle = open(name, "a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if mode == EXCLUSIVE else fcntl.LOCK_SH)
        except BaseException:
            handle.close()
            raise
        return handle
