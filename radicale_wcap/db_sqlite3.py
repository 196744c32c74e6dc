"""SQLite through ``sqlite3`` itself: the backup's snapshot of ``wcap.sqlite``
(``copy_database``, SQLite's online backup API), and ``SQLiteFile``, the wrapper the
index cache (``index.sqlite``: storage/index.py, storage/intents.py) is still written
against: positional ``?`` parameters, rows by name (``row["href"]``), ``transaction()``
yielding the ``sqlite3`` connection.

Everything durable moved to ``db.Database`` (SQLAlchemy Core, SQLite or PostgreSQL);
the index keeps ``SQLiteFile`` until part 2 of issue 15 moves it. Same
guarantees as before: WAL, IMMEDIATE transactions that nest by joining, a failed
COMMIT rolled back, durable commits on demand, best-effort bookkeeping writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from typing import Callable, Dict, Iterator, Sequence

from radicale_wcap.db import BOOKKEEPING_PAUSE
from radicale_wcap.db_schema import prepare_sqlite

logger = logging.getLogger("radicale.wcap.db")


class SQLiteFile:
    """A SQLite file with a list of migrations applied in order (``PRAGMA user_version``),
    on one ``sqlite3`` connection per thread."""

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
        prepare_sqlite(connection, self.synchronous)
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

    def ping(self) -> None:
        """One read of the file's schema (the health check's probe)."""
        self.query_one("SELECT COUNT(*) FROM sqlite_master")

    def check(self) -> list:
        """What SQLite's own integrity check finds wrong (empty when sound)."""
        rows = [row[0] for row in self.query("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows


def copy_database(source: str, target: str) -> int:
    """A snapshot of the SQLite file ``source`` into the new file ``target`` with
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
