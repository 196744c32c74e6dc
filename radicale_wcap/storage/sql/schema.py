"""The SQL engine's tables (SQLAlchemy Core; the same DDL on PostgreSQL and SQLite).

Laid out after Apple CalendarServer's CALENDAR_OBJECT / TIME_RANGE / *_REVISIONS and
sabre/dav's calendarobjects / calendarchanges: a collection row with its properties and
its change counter; one row per item holding its text beside what queries need (UID,
ETag, component, enclosing span); instances of recurring items and alarm triggers as
rows of their own; and one change row per resource name carrying the counter value of
its last change, kept after a deletion, which answers CalDAV sync tokens and WCAP's
deleted-since alike.

Paths are spelled as the index and registry spell them (``/user/cal/``). Times are POSIX
seconds (spans, as Radicale's ``time_range``) and nanoseconds (``modified``, as the file
engine's mtime).
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Float, Index, Integer, MetaData,
                        String, Table, Text)

metadata = MetaData()

#: One row: the schema version, and on SQLite the row every write updates first.
store = Table(
    "dav_store", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("writes", BigInteger, nullable=False, default=0),
)

collections = Table(
    "dav_collections", metadata,
    Column("path", String(1024), primary_key=True),
    Column("parent", String(1024), nullable=False, index=True),
    Column("props", Text, nullable=False),          # JSON, Radicale's .Radicale.props
    Column("seq", BigInteger, nullable=False),      # change counter of the collection
    Column("modified", BigInteger, nullable=False),  # ns
    # Tokens older than this were answered from rows since pruned: they are refused.
    Column("pruned_seq", BigInteger, nullable=False, default=0),
)

items = Table(
    "dav_items", metadata,
    Column("path", String(1024), primary_key=True),
    Column("href", String(1024), primary_key=True),
    Column("uid", Text, nullable=False),
    Column("etag", String(200), nullable=False),
    Column("component", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    Column("recurring", Boolean, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("expanded_until", BigInteger, nullable=False),
    Column("hostile", Boolean, nullable=False),
    Column("long", Boolean, nullable=False),
    Column("has_alarm", Boolean, nullable=False),
    Column("modified", BigInteger, nullable=False),  # ns
    Column("seq", BigInteger, nullable=False),
    Index("dav_items_uid", "path", "uid"),
    Index("dav_items_short", "path", "recurring", "long", "start"),
    Index("dav_items_beyond", "path", "recurring", "complete", "expanded_until"),
    Index("dav_items_modified", "path", "modified"),
)

instances = Table(
    "dav_instances", metadata,
    Column("path", String(1024), nullable=False),
    Column("href", String(1024), nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    Column("long", Boolean, nullable=False),
    Index("dav_instances_short", "path", "long", "start"),
    Index("dav_instances_href", "path", "href"),
)

alarms = Table(
    "dav_alarms", metadata,
    Column("path", String(1024), nullable=False),
    Column("href", String(1024), nullable=False),
    Column("trigger", BigInteger, nullable=False),
    Index("dav_alarms_trigger", "path", "trigger"),
    Index("dav_alarms_href", "path", "href"),
)

changes = Table(
    "dav_changes", metadata,
    Column("path", String(1024), primary_key=True),
    Column("href", String(1024), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("uid", Text, nullable=False),
    Column("component", String(32), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("at", Float, nullable=False),
    Index("dav_changes_seq", "path", "seq"),
    Index("dav_changes_deleted", "path", "deleted", "at"),
)

SCHEMA_VERSION = 1
