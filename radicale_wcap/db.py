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
import os
import sqlite3
import threading
from typing import Iterator, Sequence


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
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")

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
