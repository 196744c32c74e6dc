"""SQLite access shared by every worker process.

Why SQLite: sessions, users, ACLs and tombstones must be visible at once to
every worker process on the same store (the brief requires sessions shared
across processes), updates must be atomic, and the store must stay a plain
folder that an administrator can back up. WAL mode lets readers run while one
writer commits. One connection per thread and database file, because sqlite3
connections must not be shared between threads.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
from typing import Callable, Dict, Iterator, Sequence

logger = logging.getLogger("radicale.wcap.db")

# After a bookkeeping write has failed, that kind of write is not tried again for
# this long: on a full disk or a stuck lock every read would otherwise pay for a
# failing write (and log it).
BOOKKEEPING_PAUSE = 30.0
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from, says there is no room
    left: an ``OSError`` ENOSPC/EDQUOT, SQLite's SQLITE_FULL ("database or disk is
    full"), or Radicale's ``ValueError`` that carries the OSError's text."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return True
        if isinstance(error, sqlite3.Error) and (
                getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "database or disk is full" in str(error)):
            return True
        if isinstance(error, ValueError) and any(
                "[Errno %d]" % number in str(error) for number in _FULL_ERRNOS):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


class Database:
    """A database file with a list of schema migrations applied in order."""

    def __init__(self, path: str, migrations: Sequence[str],
                 synchronous: str = "FULL") -> None:
        self.path = path
        # FULL: a commit is on disk when it returns (WAL with NORMAL may lose the last
        # commits on power loss while the item files they describe survive). A
        # rebuildable cache (the index) runs NORMAL and asks for a durable commit
        # where it must (``durable_transaction``).
        self.synchronous = synchronous
        self._migrations = migrations
        self._migrated = False
        self._lock = threading.Lock()
        self._paused_until: Dict[str, float] = {}
        # Per database object and thread: when the object goes, so do the
        # connections of every thread (and their file descriptors).
        self._local = threading.local()

    def _open(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                     check_same_thread=True)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=%s" % self.synchronous)
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    @property
    def connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or not os.path.exists(self.path):
            if connection is not None:
                connection.close()
            connection = self._open()
            self._local.connection = connection
            self._migrated = False
        if not self._migrated:
            with self._lock:
                self._migrate(connection)
                self._migrated = True
        return connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(self._migrations, start=1):
                if number > version:
                    for statement in script.split(";\n"):
                        if statement.strip():
                            connection.execute(statement)
                    connection.execute("PRAGMA user_version=%d" % number)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def execute(self, sql: str, parameters: Sequence = ()) -> sqlite3.Cursor:
        return self.connection.execute(sql, parameters)

    def query(self, sql: str, parameters: Sequence = ()) -> list:
        return self.connection.execute(sql, parameters).fetchall()

    def query_one(self, sql: str, parameters: Sequence = ()):
        return self.connection.execute(sql, parameters).fetchone()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: the write lock is taken at the start, so
        two processes never both read-then-write the same rows."""
        connection = self.connection
        if connection.in_transaction:
            yield connection
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        try:
            connection.execute("COMMIT")
        except BaseException:
            # A COMMIT that failed (disk full, I/O error) may leave the transaction
            # open; this thread's next "transaction" would then join it and never
            # commit, holding the write lock for every process.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def durable_transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction whose commit reaches the disk whatever ``synchronous`` is:
        for records that must exist before the files they describe are written."""
        connection = self.connection
        if self.synchronous == "FULL" or connection.in_transaction:
            with self.transaction() as c:
                yield c
            return
        connection.execute("PRAGMA synchronous=FULL")
        try:
            with self.transaction() as c:
                yield c
        finally:
            connection.execute("PRAGMA synchronous=%s" % self.synchronous)

    def bookkeeping(self, what: str, write: Callable[[sqlite3.Connection], object],
                    pause: float = BOOKKEEPING_PAUSE) -> bool:
        """A write that a read merely notes (a session's ``last_seen``, a key's
        ``last_used``, a failed-login count), made best-effort: when it fails (disk
        full, database locked past the busy timeout, read-only file) it is logged and
        dropped, so that the read it rides on still gets its answer. Writes of the same
        ``what`` are then skipped for ``pause`` seconds. False when nothing was written.
        """
        now = time.monotonic()
        if self._paused_until.get(what, 0.0) > now:
            return False
        try:
            with self.transaction() as connection:
                write(connection)
            return True
        except sqlite3.Error as e:
            if pause:
                self._paused_until[what] = now + pause
            logger.warning("Could not record %s (%s)%s", what, e,
                           "; not tried again for %d s" % pause if pause else "")
            return False


def copy_database(source: str, target: str) -> int:
    """A snapshot of the database file ``source`` into the new file ``target`` with
    SQLite's online backup API (no writer is blocked), checked; its schema version.
    Raises ``ValueError`` when the copy fails its integrity check."""
    origin = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(target)
    try:
        origin.backup(copy)
        result = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise ValueError("the copy of %s fails its integrity check: %s" % (source, result))
        return copy.execute("PRAGMA user_version").fetchone()[0]
    finally:
        copy.close()
        origin.close()
