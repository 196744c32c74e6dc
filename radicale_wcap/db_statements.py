"""Statements on a connection that SQLAlchemy manages: SQL text with named binds
(``:name``) in the dialect both engines speak, run on the DBAPI cursor, answered as
tuples with an attribute per column. ``db.Database`` hands these out; its docstring is
the API.
"""

from __future__ import annotations

import errno
import functools
import operator
import re
import sqlite3
from typing import Any, List, Mapping, Optional, Sequence, Union

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from radicale_wcap.db_schema import lock_key

Params = Union[None, Mapping[str, Any], Sequence[Mapping[str, Any]]]
Row = tuple  # with an attribute per column (``_row_class``)
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_PG_DISK_FULL = "53100"
# serialization_failure, deadlock_detected: PostgreSQL undid the whole transaction and
# says that running it again may succeed.
_PG_RETRIED = ("40001", "40P01")

_BIND = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=2048)
def _native(sql: str, kind: str) -> str:
    """``sql`` in the driver's own parameter style: sqlite3 reads ``:name`` itself,
    psycopg wants ``%(name)s`` (and a literal ``%`` doubled)."""
    if kind == "sqlite":
        return sql
    return _BIND.sub(r"%(\1)s", sql.replace("%", "%%"))


def _expanded(sql: str, params: Mapping[str, Any]):
    """A list or tuple bound to a name becomes one bind per element (``IN :paths``)."""
    lists = [name for name, value in params.items() if isinstance(value, (list, tuple))]
    if not lists:
        return sql, params
    params = dict(params)
    for name in lists:
        values = params.pop(name)
        names = ["%s_%d" % (name, n) for n in range(len(values))]
        params.update(zip(names, values))
        sql = re.sub(r":%s\b" % name, "(%s)" % ", ".join(":" + n for n in names)
                     if names else "(NULL)", sql)
    return sql, params


@functools.lru_cache(maxsize=512)
def _row_class(names: tuple) -> type:
    """A tuple with an attribute per column (``row.name``, ``row[0]``); properties, so
    that a column called ``count`` or ``index`` wins over tuple's methods."""
    return type("Row", (tuple,), {"__slots__": (), **{
        name: property(operator.itemgetter(number)) for number, name in enumerate(names)}})


class Result:
    """What a statement answered: its rows (read at once) and the rows it touched."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows: list, rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Optional[tuple]:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def fetchall(self) -> list:
        return self.rows


class Transaction:
    """Statements on one connection: a transaction's, or a read's outside any.

    SQLAlchemy owns the connection (pool, events, BEGIN, isolation, COMMIT); the
    statement itself goes to the DBAPI cursor. SQLAlchemy's statement execution cost
    200 to 400 us of CPU per statement on the development machine, some fifteen
    statements a CalDAV PUT, which made a single write half again as slow; the driver
    call costs under 10 us. Errors come out as SQLAlchemy's (``DBAPIError`` with
    ``.orig``), parameters hidden (they hold password hashes and session digests).
    """

    def __init__(self, db, dbapi, connection: Optional[Connection] = None) -> None:
        self.db = db
        self.dbapi = dbapi  # the pool's connection (``.cursor()``, ``.invalidate()``)
        self.connection = connection  # SQLAlchemy's, in a transaction

    def execute(self, sql: str, params: Params = None) -> Optional[Result]:
        """A list of dicts runs the statement once per dict (None when empty)."""
        many = isinstance(params, (list, tuple))
        if many and not params:
            return None
        if not many:
            sql, params = _expanded(sql, params or {})
        statement = _native(sql, self.db.kind)
        cursor = self.dbapi.cursor()
        try:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)
            rows: list = []
            if cursor.description:
                make = _row_class(tuple(column[0] for column in cursor.description))
                rows = [make(row) for row in cursor.fetchall()]
            return Result(rows, cursor.rowcount)
        except self.db.engine.dialect.loaded_dbapi.Error as e:
            gone = self.db.engine.dialect.is_disconnect(e, self.dbapi.dbapi_connection, cursor)
            if gone:
                (self.connection or self.dbapi).invalidate(e)
            raise DBAPIError.instance(sql, None, e, self.db.engine.dialect.loaded_dbapi.Error,
                                      hide_parameters=True, connection_invalidated=gone) from e
        finally:
            cursor.close()

    def query(self, sql: str, params: Params = None) -> List[tuple]:
        return self.execute(sql, params).rows

    def query_one(self, sql: str, params: Params = None) -> Optional[tuple]:
        return self.execute(sql, params).first()

    def scalar(self, sql: str, params: Params = None) -> Any:
        return self.execute(sql, params).scalar()

    def lock(self, name: str, shared: bool = False) -> None:
        """Wait for and hold the lock ``name`` until the transaction ends: exclusive,
        or shared with other shared holders. A no-op on SQLite, where the transaction
        already holds the database's one write lock."""
        if self.db.kind == "postgresql":
            self.execute("SELECT pg_advisory_xact_lock_shared(:key)" if shared
                         else "SELECT pg_advisory_xact_lock(:key)", {"key": lock_key(name)})


def is_disk_full(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from, says there is no room
    left: an ``OSError`` ENOSPC/EDQUOT, SQLite's SQLITE_FULL ("database or disk is
    full"), PostgreSQL's disk_full (SQLSTATE 53100), or Radicale's ``ValueError`` that
    carries the OSError's text."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return True
        if isinstance(error, sqlite3.Error) and (
                getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "database or disk is full" in str(error)):
            return True
        if getattr(error, "sqlstate", None) == _PG_DISK_FULL:
            return True
        if isinstance(error, ValueError) and any(
                "[Errno %d]" % number in str(error) for number in _FULL_ERRNOS):
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
        seen += 1
    return False


def retryable(error: BaseException) -> bool:
    """PostgreSQL undid the transaction and says running it again may succeed."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in _PG_RETRIED
