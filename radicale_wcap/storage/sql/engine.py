"""Connections, transactions and per-calendar locks of the SQL storage engine.

One SQLAlchemy engine per database URL and process (a pool shared by every thread and
every Storage object Radicale makes). A write is one database transaction per thread:
Radicale's own writes run inside ``acquire_lock("w")`` and the store's batches inside
their own block, and everything written there commits together or not at all. Reads
need no lock: outside a write, each read runs on a connection of its own and a single
statement sees the database as of one moment (PostgreSQL's MVCC), before or after any
other host's write, never between; inside a write, reads see that write's own rows.

Locks are PostgreSQL's transaction-level advisory locks, one per calendar, taken in
sorted order at the start of a write (writers to different calendars never wait for each
other; the database drops them with the transaction, also when a host dies), plus one
store-wide key that calendar writes take shared and store-wide writes exclusively. On
SQLite, which has one writer at a time anyway, a write takes the database's write lock
at its start instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, Optional, Set

import sqlalchemy
from sqlalchemy import event

from .schema import SCHEMA_VERSION, metadata, store as store_table

#: The advisory lock key of the whole store (calendar keys are hashes of their path).
STORE_KEY = 0x5741_4350_0000_0001

_engines: Dict[str, "SqlEngine"] = {}
_engines_lock = threading.Lock()


def driver_url(url: str) -> str:
    """``postgresql://`` as users write it, with psycopg 3 as the driver (SQLAlchemy's
    default for that scheme is psycopg2, which is not a dependency)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_postgresql(url: Optional[str]) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def database_url(configuration) -> Optional[str]:
    """``[storage] database_url``: a Radicale plugin option, so it is in Radicale's
    configuration whether or not the project's settings table names it."""
    try:
        return configuration.get("storage", "database_url") or None
    except KeyError:
        return None


def lock_key(path: str) -> int:
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass
class Transaction:
    connection: sqlalchemy.Connection
    locked: Set[str] = field(default_factory=set)
    store_mode: str = ""
    after_commit: list = field(default_factory=list)


class SqlEngine:
    def __init__(self, url: str) -> None:
        self.url = driver_url(url)
        self.postgresql = is_postgresql(self.url)
        if self.postgresql:
            self.engine = sqlalchemy.create_engine(
                self.url, pool_size=10, max_overflow=40, pool_pre_ping=True,
                future=True)
        else:
            self.engine = sqlalchemy.create_engine(self.url, future=True)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._local = threading.local()
        self._create_schema()

    def _create_schema(self) -> None:
        # Several hosts may start at once on an empty database: one creates, the
        # others wait for it (CREATE TABLE IF NOT EXISTS alone races in PostgreSQL).
        with self.engine.begin() as connection:
            if self.postgresql:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"),
                                   {"k": STORE_KEY - 1})
            metadata.create_all(connection)
            if connection.execute(sqlalchemy.select(store_table.c.id)).first() is None:
                connection.execute(store_table.insert().values(
                    id=1, version=SCHEMA_VERSION, writes=0))

    # -- transactions
    @property
    def current(self) -> Optional[Transaction]:
        return getattr(self._local, "tx", None)

    @contextlib.contextmanager
    def writing(self, paths: Iterable[str] = (), store: str = "r") -> Iterator[Transaction]:
        """A write transaction holding ``paths`` exclusively and the store in mode
        ``store`` ("r": shared, "w": exclusive). Nested calls join the open transaction
        and add the locks it lacks (a lock taken late can wait, never deadlock silently:
        PostgreSQL detects a circle and fails one transaction)."""
        wanted = sorted(set(paths))
        tx = self.current
        if tx is not None:
            self._lock(tx, wanted, store)
            yield tx
            return
        with self.engine.connect() as connection:
            tx = Transaction(connection)
            self._local.tx = tx
            try:
                with connection.begin():
                    if not self.postgresql:
                        # The write lock now, not at the first write: two writers that
                        # both read first would otherwise fail at the upgrade.
                        connection.exec_driver_sql("UPDATE dav_store SET writes = writes + 1")
                    self._lock(tx, wanted, store)
                    with self._sharing(connection):
                        yield tx
            finally:
                self._local.tx = None
        for callback in tx.after_commit:
            callback()

    def share_with(self, db) -> None:
        """The project database (``db.Database``), when it is this very database: its
        statements made during a write then run in the write's transaction (the
        registry and tombstone rows, a feed's origins commit or roll back with the
        items, and SQLite sees one writer instead of two waiting on each other)."""
        self._shared_db = db if str(getattr(db, "url", "")) == self.url else None

    @contextlib.contextmanager
    def _sharing(self, connection) -> Iterator[None]:
        db = getattr(self, "_shared_db", None)
        if db is None:
            yield
            return
        try:
            shared = db.sharing(connection)
            shared.__enter__()
        except RuntimeError:  # this thread is inside a project-database transaction
            yield
            return
        try:
            yield
        finally:
            shared.__exit__(None, None, None)

    def _lock(self, tx: Transaction, paths, store: str) -> None:
        if not self.postgresql:
            return
        connection = tx.connection
        if store == "w" and tx.store_mode != "w":
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": STORE_KEY})
            tx.store_mode = "w"
        elif not tx.store_mode:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock_shared(:k)"),
                               {"k": STORE_KEY})
            tx.store_mode = "r"
        for path in paths:
            if path in tx.locked:
                continue
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": lock_key(path)})
            tx.locked.add(path)

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlalchemy.Connection]:
        """The open write's connection, or a connection for one read."""
        tx = self.current
        if tx is not None:
            yield tx.connection
            return
        with self.engine.connect() as connection:
            yield connection

    def execute(self, statement, parameters=None):
        """One read statement, its rows fetched before the connection goes back."""
        with self.reading() as connection:
            return connection.execute(statement, parameters or {}).fetchall()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def engine_for(url: str) -> SqlEngine:
    """The process's engine for ``url`` (made, and its tables created, on first use)."""
    key = driver_url(url)
    found = _engines.get(key)
    if found is not None:
        return found
    with _engines_lock:
        found = _engines.get(key)
        if found is None:
            found = _engines[key] = SqlEngine(url)
        return found


def forget(url: str) -> None:
    """Tests drop a database: its pool must let go of the connections first."""
    with _engines_lock:
        found = _engines.pop(driver_url(url), None)
    if found is not None:
        found.dispose()
