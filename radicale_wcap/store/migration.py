"""``migrate-store``: copy a whole store into another engine, and back.

A file-and-SQLite instance into PostgreSQL (``--to postgresql://...``, the SQL storage
plugin), or a PostgreSQL instance back to files (``--to /new/folder``). What moves:

* every collection with its properties, and every item under its own name (CalDAV
  clients keep their hrefs; their sync tokens start afresh, a token of the other engine
  is refused and they re-sync once);
* every table of the project database (users, sessions, API keys, registry, item ids,
  tombstones, feed origins), rows as they are; each table in one transaction, replaced.

Resumable: a calendar whose names and ETags are already the same in the target is
skipped, any other is replaced whole, in one write (one transaction on SQL); run it again
after an interruption and it carries on where it stopped. Verified at the end: names,
ETags and properties of every calendar and the row count of every table; what differs
is reported, one line each. Stop the servers (or put them read-only) while it runs:
writes made meanwhile to the source are not followed.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import sqlalchemy
from radicale import item as radicale_item
from radicale import storage as radicale_storage

from radicale_wcap import calid as calid_mod

logger = logging.getLogger("radicale.wcap.store.migration")

SQL_STORAGE = "radicale_wcap.storage.sql"
FILE_STORAGE = "radicale_wcap.storage"
CHUNK = 1000


@dataclass
class Outcome:
    calendars: int = 0
    copied: int = 0           # calendars written this run
    items: int = 0
    rows: Dict[str, int] = field(default_factory=dict)
    problems: List[str] = field(default_factory=list)


def target_overrides(destination: str, work: str) -> Dict[str, Dict[str, str]]:
    """The settings that turn the source's config into the target's: a database URL
    (SQL engine, the host-local folder under ``work``), or a folder (file engine with
    its embedded database)."""
    if "://" in destination:
        os.makedirs(work, exist_ok=True)
        return {"storage": {"type": SQL_STORAGE, "database_url": destination,
                            "filesystem_folder": os.path.join(work, "collections"),
                            "wcap_folder": os.path.join(work, "wcap")}}
    folder = os.path.abspath(destination)
    return {"storage": {"type": FILE_STORAGE, "database_url": "",
                        "filesystem_folder": folder,
                        "wcap_folder": os.path.join(folder, "collection-db", "wcap")}}


def collections(storage) -> List[radicale_storage.BaseCollection]:
    """Every collection two levels deep (homes, then their calendars and books)."""
    found = []
    with storage.acquire_lock("r"):
        for home in storage.discover("/", depth="1"):
            if not isinstance(home, radicale_storage.BaseCollection) or not home.path:
                continue
            found.append(home)
            for child in storage.discover("/%s/" % home.path, depth="1"):
                if isinstance(child, radicale_storage.BaseCollection) and child.path != home.path:
                    found.append(child)
    return found


def bar(done: int, total: int, width: int = 30) -> str:
    """``[#########.....] 12/40``: where a long run is, one line per step."""
    filled = width * done // total if total else width
    return "[%s%s] %d/%d" % ("#" * filled, "." * (width - filled), done, total)


def _state(collection) -> Dict[str, str]:
    return {item.href: item.etag for item in collection.get_all()}


def copy_collections(source, target, progress: Callable[[str], None]) -> Outcome:
    outcome = Outcome()
    found = collections(source.store.storage)
    calendars = [c for c in found if c.tag]
    outcome.calendars = len(calendars)
    storage = target.store.storage
    for home in (c for c in found if not c.tag):
        with storage.acquire_lock("w", "", request="migrate-store"):
            storage.create_collection("/%s/" % home.path)
    for number, collection in enumerate(calendars, start=1):
        path = calid_mod.normalize_path(collection.path)
        items = list(collection.get_all())
        props = dict(collection.get_meta())
        existing = storage.calendar_at(path) if collection.tag == "VCALENDAR" else None
        if (existing is not None and _state(existing) == {i.href: i.etag for i in items}
                and dict(existing.get_meta()) == props):
            progress("%s %s: already there (%d items)" % (bar(number, len(calendars)),
                                                         path, len(items)))
            continue
        _write(storage, path, props, items)
        outcome.copied += 1
        outcome.items += len(items)
        progress("%s %s: %d items" % (bar(number, len(calendars)), path, len(items)))
    return outcome


def _write(storage, path: str, props: Dict[str, str], items) -> None:
    """The calendar as the source has it, names kept: created (or its properties set),
    then every item written and every other name deleted, in one write."""
    with storage.acquire_lock("w", "", path=path, request="migrate-store"):
        storage.create_collection(path, props=props)
        target = next(iter(storage.discover(path)))
        wanted = {item.href: _detached(item, target) for item in items}
        stale = [href for href in _state(target) if href not in wanted]
        if hasattr(target, "write_many"):   # the SQL engine: one transaction
            target.write_many(dict(wanted, **{href: None for href in stale}))
            return
        for href in stale:
            target.delete(href)
        for href, item in wanted.items():
            target.upload(href, item)


def _detached(item, collection):
    """The item's text and name, free of the source collection it was read from."""
    # With what the source already knows (ETag, UID, span): no parse to find them again.
    return radicale_item.Item(collection_path=collection.path, text=item.serialize(),
                              href=item.href, etag=item.etag, uid=item.uid,
                              name=item.name, component_name=item.component_name,
                              time_range=item.time_range)


def _url(db) -> str:
    """SQLAlchemy URL of a project database (either generation of ``db.Database``)."""
    url = getattr(db, "url", None)
    return str(url) if url else "sqlite:///" + db.path


def _migrated(db) -> None:
    """A project database creates its tables on first use: use it once."""
    ping = getattr(db, "ping", None)
    if ping is not None:
        ping()
    else:
        db.connection  # noqa: B018 (the sqlite3 generation migrates on first connection)


def copy_tables(source_db, target_db, progress: Callable[[str], None]) -> Dict[str, int]:
    """Every table both databases have, rows as they are, each table replaced in one
    transaction (columns both have; the target's schema is its own migrations')."""
    for db in (source_db, target_db):
        _migrated(db)
    source = sqlalchemy.create_engine(_url(source_db))
    target = sqlalchemy.create_engine(_url(target_db))
    counts: Dict[str, int] = {}
    try:
        mine, theirs = sqlalchemy.MetaData(), sqlalchemy.MetaData()
        with warnings.catch_warnings():
            # Expression indexes (lower(webname)) are not reflected: only rows are copied.
            warnings.simplefilter("ignore", sqlalchemy.exc.SAWarning)
            mine.reflect(source)
            theirs.reflect(target)
        ordered = [t for t in theirs.sorted_tables if t.name in mine.tables]
        with target.begin() as connection:
            for table in reversed(ordered):   # children first
                connection.execute(table.delete())
            for table in ordered:
                columns = [c.name for c in table.columns if c.name in mine.tables[table.name].c]
                if not columns:
                    continue
                origin = mine.tables[table.name]
                flags = [c for c in columns if isinstance(table.c[c].type, sqlalchemy.Boolean)]
                with source.connect() as reading:
                    rows = [dict(r._mapping) for r in reading.execute(
                        sqlalchemy.select(*[origin.c[c] for c in columns]))]
                for row in rows:   # SQLite keeps flags as 0/1, PostgreSQL wants booleans
                    for name in flags:
                        if row[name] is not None:
                            row[name] = bool(row[name])
                for offset in range(0, len(rows), CHUNK):
                    connection.execute(table.insert(), rows[offset:offset + CHUNK])
                counts[table.name] = len(rows)
                _reset_sequence(connection, table)
                progress("table %s: %d rows" % (table.name, len(rows)))
    finally:
        source.dispose()
        target.dispose()
    return counts


def _reset_sequence(connection, table) -> None:
    """After rows came with their ids, PostgreSQL's sequence must continue after them."""
    if connection.dialect.name != "postgresql":
        return
    for column in table.primary_key.columns:
        if column.autoincrement is True or (column.autoincrement == "auto"
                                            and isinstance(column.type, sqlalchemy.Integer)):
            connection.execute(sqlalchemy.text(
                "SELECT setval(pg_get_serial_sequence(:t, :c), "
                "COALESCE((SELECT MAX(%s) FROM %s), 0) + 1, false) "
                "WHERE pg_get_serial_sequence(:t, :c) IS NOT NULL"
                % (connection.dialect.identifier_preparer.quote(column.name),
                   connection.dialect.identifier_preparer.quote(table.name))),
                {"t": table.name, "c": column.name})


def verify(source, target, tables: Optional[Dict[str, int]] = None) -> List[str]:
    """What differs between the two stores: per calendar, names, ETags and properties;
    per table copied, the number of rows."""
    problems = []
    theirs = {calid_mod.normalize_path(c.path): c
              for c in collections(target.store.storage) if c.tag}
    for collection in collections(source.store.storage):
        if not collection.tag:
            continue
        path = calid_mod.normalize_path(collection.path)
        copy = theirs.get(path)
        if copy is None:
            problems.append("%s: missing in the target" % path)
            continue
        mine, its = _state(collection), _state(copy)
        for href in sorted(set(mine) | set(its)):
            if mine.get(href) != its.get(href):
                problems.append("%s%s: %s in the source, %s in the target" % (
                    path, href, mine.get(href, "absent"), its.get(href, "absent")))
        if dict(collection.get_meta()) != dict(copy.get_meta()):
            problems.append("%s: properties differ" % path)
    if tables:
        engine = sqlalchemy.create_engine(_url(target.services.db))
        try:
            with engine.connect() as connection:
                for name, count in tables.items():
                    found = connection.execute(sqlalchemy.text(
                        "SELECT COUNT(*) FROM %s" % engine.dialect.identifier_preparer.quote(
                            name))).scalar()
                    if found != count:
                        problems.append("table %s: %d rows copied, %d there" % (
                            name, count, found))
        finally:
            engine.dispose()
    return problems


def migrate(source, target, progress: Callable[[str], None]) -> Outcome:
    """Tables first (the registry and owners the calendars' checks will ask), then the
    calendars, then the check of both."""
    for collection in collections(source.store.storage):
        # What the source's plugin would register at its calendars' first use anyway:
        # the target registers every calendar it is given, so both must have them.
        if collection.tag == "VCALENDAR" and calid_mod.from_path(collection.path):
            source.registry.register(calid_mod.normalize_path(collection.path))
    rows = copy_tables(source.services.db, target.services.db, progress)
    outcome = copy_collections(source, target, progress)
    outcome.rows = rows
    outcome.problems = verify(source, target, rows)
    return outcome
