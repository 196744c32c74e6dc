"""Where the database is (``[storage] database_url``), its versioned schemas for both
engines, and the lock key every host computes alike.

A ``Schema`` is a database's migrations, one list per engine, appended to and never
edited: version N is the Nth script of each list, so version N has the same tables on
SQLite and on PostgreSQL. SQLite records the version in the file (``PRAGMA
user_version``), as the project always has, so an existing store upgrades exactly as
before. PostgreSQL may hold several schemas' tables in one database (the durable tables,
the SQL storage's): ``schema_version`` has a row per ``Schema.name``, and migrations run
under an advisory lock, so hosts that start together migrate once.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Sequence

import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import Connection

EMBEDDED = "wcap.sqlite"

# How long a new connection keeps asking for WAL mode while another one holds the file.
WAL_WAIT_SECONDS = 30.0


def prepare_sqlite(connection, synchronous: str) -> None:
    """A new sqlite3 connection set up as every one of ours is: WAL, ``synchronous``,
    foreign keys.

    WAL mode is a property of the file, so it is only asked for while the file is not in
    it yet. Switching needs the file to itself, and SQLite answers "database is locked"
    at once, without its busy timeout, when another connection is in a transaction: that
    happened to threads and processes opening a new store together, so the switch is
    retried until ``WAL_WAIT_SECONDS`` have passed."""
    deadline = time.monotonic() + WAL_WAIT_SECONDS
    while connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    connection.execute("PRAGMA synchronous=%s" % synchronous)
    connection.execute("PRAGMA foreign_keys=ON")


def url_for(setting: str, folder: str) -> str:
    """The SQLAlchemy URL of ``[storage] database_url``: empty is the embedded
    ``wcap.sqlite`` in ``folder``; ``postgresql://`` (or ``postgres://``) runs on
    psycopg 3, SQLAlchemy's default being psycopg2."""
    setting = (setting or "").strip()
    if not setting:
        return "sqlite:///" + os.path.join(folder, EMBEDDED)
    scheme, sep, rest = setting.partition("://")
    if not sep:
        raise ValueError("database_url is not a URL (postgresql://user@host/db)")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return "postgresql+psycopg://" + rest
    if scheme == "sqlite":
        return setting
    raise ValueError("database_url: %r is neither postgresql:// nor sqlite://" % scheme)


def shown(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)


def lock_key(name: str) -> int:
    """A stable signed 64-bit number for ``name`` (advisory locks take a bigint), the
    same in every process and on every host."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(),
                          "big", signed=True)


@dataclass(frozen=True)
class Schema:
    """A database's migrations, one list per engine, appended to and never edited:
    version N is the Nth script of each list (an empty script: nothing to do on that
    engine). SQLite scripts are split at ``;`` + newline; a PostgreSQL script runs
    whole (function bodies hold semicolons)."""

    name: str
    sqlite: Sequence[str]
    postgresql: Sequence[str]

    def __post_init__(self) -> None:
        if len(self.sqlite) != len(self.postgresql):
            raise ValueError("schema %s: each engine needs every version" % self.name)

    @property
    def version(self) -> int:
        return len(self.sqlite)

    def upto(self, version: int) -> "Schema":
        """The schema as it was at ``version`` (tests of upgrades)."""
        return Schema(self.name, self.sqlite[:version], self.postgresql[:version])


def migrate(connection: Connection, kind: str, schema: Schema) -> None:
    """Bring the database to ``schema``'s version inside the caller's transaction (on
    SQLite an IMMEDIATE one)."""
    if kind == "sqlite":
        version = connection.exec_driver_sql("PRAGMA user_version").scalar()
        for number, script in enumerate(schema.sqlite, start=1):
            if number > version:
                for statement in script.split(";\n"):
                    if statement.strip():
                        connection.exec_driver_sql(statement)
                connection.exec_driver_sql("PRAGMA user_version=%d" % number)
        return
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%d)" % lock_key("schema_version"))
    connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS schema_version "
                               "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    version = connection.execute(text("SELECT version FROM schema_version WHERE name = :name"),
                                 {"name": schema.name}).scalar() or 0
    for number, script in enumerate(schema.postgresql, start=1):
        if number > version and script.strip():
            connection.exec_driver_sql(script)  # whole: function bodies hold semicolons
    if schema.version > version:
        connection.execute(text(
            "INSERT INTO schema_version (name, version) VALUES (:name, :version) "
            "ON CONFLICT (name) DO UPDATE SET version = excluded.version"),
            {"name": schema.name, "version": schema.version})
