"""The durable database, on SQLite (embedded default) or PostgreSQL, through SQLAlchemy.

Why a database: sessions, users, ACLs, tombstones and the batch journal must be visible
at once to every worker process, and with PostgreSQL to every host; updates must be
atomic. One code path for both engines: SQLAlchemy makes the engines, pools and
transactions (events, isolation, BEGIN, COMMIT, errors); every statement is SQL text
with named binds (``:name``) in the dialect both engines speak (``INSERT ... ON
CONFLICT``, ``RETURNING``, ``"user"`` quoted, no ``INSERT OR REPLACE``, no ``rowid``),
run on the connection's DBAPI cursor (``Transaction`` says why); rows are tuples with
an attribute per column (``row.name``, ``row[0]``).

The API (everything callers use)::

    db = Database(url_or_path, schema)         # schema: a ``Schema`` (migrations per engine)
    db.query(sql, params) -> [Row]             # reads; outside a transaction, no transaction
    db.query_one(sql, params) -> Row | None
    db.scalar(sql, params)
    db.execute(sql, params) -> rowcount        # one statement, its own transaction (retried)
    with db.transaction() as tx:               # joins the thread's open transaction
        tx.execute(sql, params) -> Result      # .rows .rowcount .first() .scalar();
                                               # params: a dict, or a list of dicts (many)
        tx.query / tx.query_one / tx.scalar
        tx.lock(name, shared=False)            # held to the end of the transaction
    with db.durable_transaction() as tx: ...   # on disk at commit whatever ``synchronous`` is
    with db.sharing(sqlalchemy_connection):    # statements join another engine's transaction
    db.run(fn)                                 # fn(tx) in a transaction, run again after a
                                               # serialization failure or a deadlock
    db.bookkeeping(what, fn)                   # best-effort write: logged and dropped
    db.ping(); db.check() -> [problems]; db.kind ("sqlite" | "postgresql"); db.path

A list or tuple bound to a name expands into an IN list (``path IN :paths``). Inside a
transaction every statement of the thread, reads included, runs on its connection, so a
read sees the block's own writes and never waits for them.

SQLite keeps what the sqlite3 wrapper gave: WAL, ``synchronous`` FULL (NORMAL for a
cache, durable commits on demand), foreign keys, and ``BEGIN IMMEDIATE`` for every
write transaction (SQLAlchemy's pysqlite recipe: the driver's own BEGIN is off, the
``begin`` event emits ours), so that two processes never both read-then-write the same
rows; reads run outside any transaction. PostgreSQL: a connection pool, READ
COMMITTED, reads in autocommit; a block that reads then writes takes ``tx.lock(name)``
(a transaction-level advisory lock on a stable 64-bit hash of the name), which on
SQLite is a no-op because BEGIN IMMEDIATE already serialises writers.

Versions: SQLite keeps ``PRAGMA user_version`` per file (existing stores upgrade as they
always did); PostgreSQL holds every schema in the connection's one schema, its version
in ``schema_version`` (a row per ``Schema.name``), migrated under an advisory lock so
that hosts starting together migrate once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from typing import Any, Callable, Dict, Iterator, List, Optional

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from radicale_wcap.db_schema import (  # noqa: F401
    Schema, migrate, prepare_sqlite, shown, url_for)
from radicale_wcap.db_statements import (  # noqa: F401 (the API callers import from here)
    Params, Result, Row, Transaction, is_disk_full, retryable)

logger = logging.getLogger("radicale.wcap.db")

# After a bookkeeping write has failed, that kind of write is not tried again for
# this long: on a full disk or a stuck lock every read would otherwise pay for a
# failing write (and log it).
BOOKKEEPING_PAUSE = 30.0
RETRIES = 5
_BEGIN = "radicale_wcap_begin"


class Database:
    """One database (an engine and its pool) with a ``Schema`` applied on first use."""

    def __init__(self, url: str, schema: Schema, synchronous: str = "FULL",
                 pool_size: int = 5) -> None:
        self.url = url if "://" in url else "sqlite:///" + url
        self.schema = schema
        parsed = sqlalchemy.engine.make_url(self.url)
        self.kind = parsed.get_backend_name()
        if self.kind not in ("sqlite", "postgresql"):
            raise ValueError("unsupported database %s" % shown(self.url))
        self.path: Optional[str] = parsed.database if self.kind == "sqlite" else None
        # FULL: a commit is on disk when it returns (WAL with NORMAL may lose the last
        # commits on power loss while the item files they describe survive). A
        # rebuildable cache runs NORMAL and asks for a durable commit where it must.
        self._pragmas = {"synchronous": synchronous}  # read by each new connection
        self._migrated = False
        self._lock = threading.Lock()
        self._paused_until: Dict[str, float] = {}
        # The thread's open transaction, which every statement of the thread joins.
        self._local = threading.local()
        self._generation = 0  # of the pool: a thread's kept reader from an older one goes
        self.engine = self._engine(pool_size)
        weakref.finalize(self, self.engine.dispose)

    def _engine(self, pool_size: int) -> sqlalchemy.Engine:
        if self.kind == "postgresql":
            engine = sqlalchemy.create_engine(
                self.url, isolation_level="READ COMMITTED", pool_size=pool_size,
                max_overflow=3 * pool_size, pool_timeout=30, pool_recycle=1800,
                connect_args={"connect_timeout": 10, "application_name": "radicale_wcap"})
            return engine
        # sqlite3 connections are cheap and local: the pool only saves re-opening them,
        # and a limit would only make threads wait for each other.
        # No reset on return: a read ran without a transaction, and ``transaction()``
        # ends its own (rolled back, or the connection dropped); the pool's ROLLBACK
        # on every return cost a third of a read.
        engine = sqlalchemy.create_engine(
            self.url, poolclass=sqlalchemy.pool.QueuePool, pool_size=pool_size,
            max_overflow=-1, pool_reset_on_return=None,
            connect_args={"timeout": 30, "check_same_thread": False})
        pragmas = self._pragmas

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record) -> None:
            # The recipe: pysqlite's own BEGIN (deferred, before DML only) is off.
            dbapi_connection.isolation_level = None
            prepare_sqlite(dbapi_connection, pragmas["synchronous"])

        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:
            statement = connection.get_execution_options().get(_BEGIN)
            if statement:
                connection.exec_driver_sql(statement)

        return engine

    @property
    def synchronous(self) -> str:
        return self._pragmas["synchronous"]

    @synchronous.setter
    def synchronous(self, mode: str) -> None:
        """For connections opened from now on: the pool's idle ones are closed."""
        self._pragmas["synchronous"] = mode
        self._drop_pool()

    # -- schema
    def _ready(self) -> None:
        if self._migrated and (self.path is None or os.path.exists(self.path)):
            return
        with self._lock:
            if self.path is not None and not os.path.exists(self.path):
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                if self._migrated:  # removed under us: pooled connections hold the old file
                    self._drop_pool()
                self._migrated = False
            if not self._migrated:
                self._migrate()
                self._migrated = True

    def _migrate(self) -> None:
        with self.engine.connect() as connection:
            if self.kind == "sqlite":
                connection.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
            with connection.begin():
                migrate(connection, self.kind, self.schema)

    # -- reads
    def _read(self, sql: str, params: Params, answer: Callable[[Result], Any]) -> Any:
        current = getattr(self._local, "tx", None)
        if current is not None:
            return answer(current.execute(sql, params))
        self._ready()
        if self.kind == "sqlite":
            return answer(Transaction(self, self._kept_reader()).execute(sql, params))
        try:
            return self._autocommitted(sql, params, answer)
        except DBAPIError as e:
            if not e.connection_invalidated:
                raise
            self._server_gone(e)
            return self._autocommitted(sql, params, answer)

    def _autocommitted(self, sql: str, params: Params, answer: Callable[[Result], Any]) -> Any:
        # The pool's connection itself: SQLAlchemy's Connection around it cost twice
        # the statement. The read autocommits (no BEGIN, no ROLLBACK).
        dbapi = self.engine.raw_connection()
        try:
            dbapi.driver_connection.autocommit = True
            return answer(Transaction(self, dbapi).execute(sql, params))
        finally:
            if dbapi.dbapi_connection is not None:
                with contextlib.suppress(Exception):
                    dbapi.driver_connection.autocommit = False
            dbapi.close()

    def _server_gone(self, error: DBAPIError) -> None:
        """A connection found the server gone (a restart, a failover): the pool's other
        connections are as dead, so they go too, and the read or write runs once more."""
        logger.warning("The database connection was lost (%s); reconnecting",
                       error.orig.__class__.__name__)
        self._drop_pool()

    def _kept_reader(self):
        """SQLite: the thread's own pooled connection for reads, kept as the sqlite3
        wrapper kept one per thread (a checkout per read cost more than the read). It
        goes back to the pool when the thread or this object goes, or the pool is
        emptied (``_drop_pool``)."""
        kept = getattr(self._local, "reader", None)
        if kept is not None and kept[0] == self._generation:
            return kept[1]
        if kept is not None:
            with contextlib.suppress(Exception):
                kept[1].close()
        dbapi = self.engine.raw_connection()
        self._local.reader = (self._generation, dbapi)
        return dbapi

    def _drop_pool(self) -> None:
        """Close the pool's idle connections; the threads' kept ones go at their next
        read."""
        self._generation += 1
        self.engine.dispose()

    def query(self, sql: str, params: Params = None) -> List[Row]:
        return self._read(sql, params, lambda result: result.rows)

    def query_one(self, sql: str, params: Params = None) -> Optional[Row]:
        return self._read(sql, params, lambda result: result.first())

    def scalar(self, sql: str, params: Params = None) -> Any:
        return self._read(sql, params, lambda result: result.scalar())

    # -- writes
    def execute(self, sql: str, params: Params = None) -> int:
        """One write statement in its own transaction (or the thread's); rows touched."""
        return self.run(lambda tx: getattr(tx.execute(sql, params), "rowcount", 0))

    @contextlib.contextmanager
    def transaction(self, durable: bool = False) -> Iterator[Transaction]:
        """An IMMEDIATE transaction on SQLite (the write lock is taken at the start),
        READ COMMITTED on PostgreSQL. Nested blocks join the thread's open one."""
        current = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        self._ready()
        connection = self.engine.connect()
        relaxed = False
        try:
            if self.kind == "sqlite":
                if durable and self.synchronous != "FULL":
                    connection.connection.driver_connection.execute("PRAGMA synchronous=FULL")
                    relaxed = True
                connection.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
            connection.begin()
            tx = Transaction(self, connection.connection, connection)
            self._local.tx = tx
            try:
                yield tx
            except BaseException:
                self._local.tx = None
                self._abandon(connection)
                raise
            self._local.tx = None
            try:
                connection.commit()
            except BaseException:
                # A COMMIT that failed (disk full, I/O error) may leave the transaction
                # open on SQLite: a pooled connection would carry it, and the write
                # lock, into the next block.
                self._abandon(connection)
                raise
        finally:
            self._local.tx = None
            if relaxed and not connection.invalidated:
                with contextlib.suppress(Exception):
                    connection.connection.driver_connection.execute(
                        "PRAGMA synchronous=%s" % self.synchronous)
            connection.close()

    @contextlib.contextmanager
    def sharing(self, connection: Connection) -> Iterator[Transaction]:
        """Every statement of this thread runs on ``connection`` until the block ends:
        an open transaction of another engine on the same database (the SQL storage's
        write), so that these rows commit or roll back together with its own, by it."""
        if getattr(self._local, "tx", None) is not None:
            raise RuntimeError("this thread is in a transaction of its own already")
        self._ready()
        tx = Transaction(self, connection.connection, connection)
        self._local.tx = tx
        try:
            yield tx
        finally:
            self._local.tx = None

    def _abandon(self, connection: Connection) -> None:
        try:
            connection.rollback()
        except Exception as e:
            logger.warning("Rollback failed (%s); the connection is dropped", e)
            connection.invalidate()
            return
        if self.kind == "sqlite" and not connection.invalidated \
                and connection.connection.driver_connection.in_transaction:
            connection.invalidate()

    def durable_transaction(self):
        """A transaction whose commit reaches the disk whatever ``synchronous`` is:
        for records that must exist before the files they describe are written."""
        return self.transaction(durable=True)

    def run(self, work: Callable[[Transaction], Any], durable: bool = False) -> Any:
        """``work(tx)`` in a transaction, run again (at most ``RETRIES`` times) when
        PostgreSQL undid it for a serialization failure or a deadlock, or once when the
        connection was lost before the COMMIT. Joined to the thread's open transaction
        it is not retried: the error ends the outer one."""
        for attempt in range(RETRIES + 1):
            joined = getattr(self._local, "tx", None) is not None
            in_work = None
            try:
                with self.transaction(durable=durable) as tx:
                    try:
                        return work(tx)
                    except DBAPIError as e:
                        in_work = e
                        raise
            except DBAPIError as e:
                # A connection lost before the COMMIT was sent took the transaction
                # with it; one lost during the COMMIT leaves its outcome unknown.
                lost = e is in_work and e.connection_invalidated and attempt == 0
                if joined or attempt == RETRIES or not (lost or retryable(e)):
                    raise
                if lost:
                    self._server_gone(e)
                else:
                    logger.info("Transaction run again after %s", e.orig.__class__.__name__)
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def bookkeeping(self, what: str, write: Callable[[Transaction], object],
                    pause: float = BOOKKEEPING_PAUSE) -> bool:
        """A write that a read merely notes (a session's ``last_seen``, a key's
        ``last_used``, a failed-login count), made best-effort: when it fails (disk
        full, database locked past the busy timeout, read-only file, PostgreSQL gone)
        it is logged and dropped, so that the read it rides on still gets its answer.
        Writes of the same ``what`` are then skipped for ``pause`` seconds. False when
        nothing was written. Inside the thread's transaction it runs in a savepoint:
        PostgreSQL aborts a whole transaction at its first failed statement."""
        now = time.monotonic()
        if self._paused_until.get(what, 0.0) > now:
            return False
        try:
            current = getattr(self._local, "tx", None)
            if current is not None:
                with current.connection.begin_nested():
                    write(current)
            else:
                self.run(write)
            return True
        except (SQLAlchemyError, sqlite3.Error) as e:
            if pause:
                self._paused_until[what] = now + pause
            logger.warning("Could not record %s (%s)%s", what,
                           getattr(e, "orig", None) or e,
                           "; not tried again for %d s" % pause if pause else "")
            return False

    # -- operations
    def ping(self) -> None:
        """One read of the database's own tables (the health check's probe)."""
        if self.kind == "sqlite":
            self.scalar("SELECT COUNT(*) FROM sqlite_master")
        else:
            self.scalar("SELECT version FROM schema_version WHERE name = :name",
                        {"name": self.schema.name})

    def check(self) -> List[str]:
        """What the engine can tell is wrong (empty when sound): SQLite's integrity
        check of the file; on PostgreSQL, which checks its own pages, that the schema
        is at this code's version."""
        if self.kind == "sqlite":
            rows = [row[0] for row in self.query("PRAGMA integrity_check")]
            return [] if rows == ["ok"] else rows
        version = self.scalar("SELECT version FROM schema_version WHERE name = :name",
                              {"name": self.schema.name})
        if version != self.schema.version:
            return ["schema %s is at version %s, this code expects %d"
                    % (self.schema.name, version, self.schema.version)]
        return []

    def dispose(self) -> None:
        """Close the pool's connections (a server that is done with this database)."""
        self._drop_pool()
