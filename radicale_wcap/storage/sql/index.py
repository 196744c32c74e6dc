"""The index of the SQL engine: the same questions as ``storage/index.py`` answers for
the file engine, asked of the item rows themselves.

There is nothing to keep fresh: an item's index columns, instances and alarms are
written in the statement group that writes its text, in the write's transaction, so
the index can not lag behind the items on any host. What stays from the file engine is
how recurring items are indexed: instance by instance up to a horizon (as Apple's
CalendarServer does); a query past an item's horizon extends it, in a transaction of
its own under the calendar's lock.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, delete, func, insert, or_, select, update

from radicale_wcap import icalparse
from radicale_wcap.storage.index_rows import (INSTANCE_SHORT_SPAN, SHORT_SPAN, TS_MAX,
                                              IndexedItem, Limits, RangeQueries, rows_for)
from radicale_wcap.storage.index_rows import instances as expand_instances

from .engine import SqlEngine
from .schema import alarms, instances, items

logger = logging.getLogger("radicale.wcap.storage.sql")


# The order of ``index_rows.rows_for``'s item tuple (the file index's INSERT).
ROWS_FOR_COLUMNS = ("path", "href", "uid", "component", "start", "end", "recurring",
                    "complete", "expanded_until", "hostile", "etag", "mtime_ns", "size",
                    "has_alarm", "long", "text", "inode")


def _row(row) -> IndexedItem:
    return IndexedItem(href=row.href, uid=row.uid, component=row.component,
                       start=row.start, end=row.end, recurring=bool(row.recurring),
                       etag=row.etag, mtime_ns=row.modified, hostile=bool(row.hostile))


ROW_COLUMNS = (items.c.href, items.c.uid, items.c.component, items.c.start, items.c.end,
               items.c.recurring, items.c.etag, items.c.modified, items.c.hostile)


class SqlIndex(RangeQueries):
    def __init__(self, engine: SqlEngine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    # -- the write side, inside the caller's transaction
    def rows(self, path: str, href: str, item, modified_ns: int, seq: int,
             vobject_item=None):
        """The item's row with its text, and its instance and alarm rows: computed by
        the file engine's own ``rows_for``, so both engines index an item alike."""
        computed = rows_for(path, href, item, modified_ns, 0, self.limits, vobject_item)
        values = dict(zip(ROWS_FOR_COLUMNS, computed.item))
        row = {name: values[name] for name in ("path", "href", "uid", "component", "start",
                                               "end", "expanded_until", "etag", "text")}
        for flag in ("recurring", "complete", "hostile", "has_alarm", "long"):
            row[flag] = bool(values[flag])
        row.update(modified=modified_ns, seq=seq)
        spans = [{"path": path, "href": href, "start": s, "end": e,
                  "long": e - s > INSTANCE_SHORT_SPAN} for s, e in computed.instances]
        triggers = [{"path": path, "href": href, "trigger": t} for t in computed.alarms]
        return row, spans, triggers

    def write(self, connection, path: str, href: str, item, modified_ns: int, seq: int,
              vobject_item=None) -> None:
        """The item's rows (replacing what was), in the caller's transaction."""
        row, spans, triggers = self.rows(path, href, item, modified_ns, seq, vobject_item)
        self.remove(connection, path, href)
        self.insert(connection, [row], spans, triggers)

    @staticmethod
    def insert(connection, item_rows, instance_rows, alarm_rows) -> None:
        """Many rows in one round trip per table (psycopg pipelines executemany)."""
        for table, rows in ((items, item_rows), (instances, instance_rows),
                            (alarms, alarm_rows)):
            if rows:
                connection.execute(insert(table), rows)

    def remove_many(self, connection, path: str, hrefs: Sequence[str]) -> dict:
        """Remove these items' rows; href -> (uid, component) of those there were.
        Instances and alarms are deleted only for items that had them."""
        hrefs = list(hrefs)
        removed = {}
        for offset in range(0, len(hrefs), 1000):
            chunk = hrefs[offset:offset + 1000]
            gone = connection.execute(delete(items).where(
                items.c.path == path, items.c.href.in_(chunk)).returning(
                    items.c.href, items.c.uid, items.c.component, items.c.recurring,
                    items.c.has_alarm)).fetchall()
            removed.update({row.href: row for row in gone})
            for table, flag in ((instances, "recurring"), (alarms, "has_alarm")):
                had = [row.href for row in gone if getattr(row, flag)]
                if had:
                    connection.execute(delete(table).where(table.c.path == path,
                                                           table.c.href.in_(had)))
        return removed

    def remove(self, connection, path: str, href: str) -> None:
        for table in (items, instances, alarms):
            connection.execute(delete(table).where(table.c.path == path,
                                                   table.c.href == href))

    # -- what the file engine's index also answers (the store's handles ask these)
    def ensure_fresh(self, collection, on_removed=None) -> None:
        """Nothing to do: rows are written with their items."""

    def all(self, path: str) -> List[IndexedItem]:
        return [_row(r) for r in self.engine.execute(
            select(*ROW_COLUMNS).where(items.c.path == path).order_by(items.c.href))]

    def by_uid(self, path: str, uid: str) -> Optional[IndexedItem]:
        rows = self.engine.execute(select(*ROW_COLUMNS).where(
            items.c.path == path, items.c.uid == uid).limit(1))
        return _row(rows[0]) if rows else None

    def by_href(self, path: str, href: str) -> Optional[IndexedItem]:
        rows = self.engine.execute(select(*ROW_COLUMNS).where(
            items.c.path == path, items.c.href == href))
        return _row(rows[0]) if rows else None

    def range_candidates(self, path: str, start: int, end: int,
                         component: Optional[str] = None,
                         collection=None) -> List[Tuple[str, bool]]:
        """(href, confirmed) for every item that may have something in [start, end);
        one statement, so one snapshot (see ``storage/index.py`` for the parts)."""
        comp = [items.c.component == component] if component else []
        single = select(items.c.href).where(
            items.c.path == path, items.c.recurring.is_(False), *comp,
            or_(and_(items.c.long.is_(False), items.c.start >= start - SHORT_SPAN,
                     items.c.start < end, items.c.end > start),
                and_(items.c.long.is_(True), items.c.start < end, items.c.end > start)))
        joined = instances.join(items, and_(items.c.path == instances.c.path,
                                            items.c.href == instances.c.href))
        recurring = select(instances.c.href).select_from(joined).where(
            instances.c.path == path, *comp,
            or_(and_(instances.c.long.is_(False),
                     instances.c.start >= start - INSTANCE_SHORT_SPAN,
                     instances.c.start < end, instances.c.end > start),
                and_(instances.c.long.is_(True), instances.c.start < end,
                     instances.c.end > start)))
        beyond = select(items.c.href).where(
            items.c.path == path, items.c.recurring.is_(True), items.c.hostile.is_(False),
            items.c.complete.is_(False), items.c.expanded_until < end, items.c.start < end,
            *comp)
        with self.engine.reading() as connection:
            confirmed = {r.href for r in connection.execute(single.union(recurring))}
            unconfirmed = [r.href for r in connection.execute(beyond)]
        found: Dict[str, bool] = {href: True for href in confirmed}
        for href in unconfirmed:
            found.setdefault(href, False)
            if collection is not None and end < TS_MAX:
                self._extend(collection, href, end)
        return sorted(found.items())

    def _extend(self, collection, href: str, until: int) -> None:
        path = collection.key
        with self.engine.writing([path]) as tx:
            rows = tx.connection.execute(select(items.c.text).where(
                items.c.path == path, items.c.href == href)).fetchall()
            if not rows:
                return
            try:
                vobject_item = icalparse.read_one(rows[0].text)
            except Exception:  # vobject raises many kinds; nothing to extend then
                return
            spans, complete, expanded_until, hostile = expand_instances(
                vobject_item, self.limits, path, href, until)
            c = tx.connection
            c.execute(delete(instances).where(instances.c.path == path,
                                              instances.c.href == href))
            if spans:
                c.execute(insert(instances), [
                    {"path": path, "href": href, "start": s, "end": e,
                     "long": e - s > INSTANCE_SHORT_SPAN} for s, e in spans])
            c.execute(update(items).where(items.c.path == path, items.c.href == href)
                      .values(complete=bool(complete), expanded_until=expanded_until,
                              hostile=bool(hostile)))

    def texts(self, path: str, hrefs: Sequence[str]
              ) -> Dict[str, Tuple[str, str, int, int, str]]:
        found: Dict[str, Tuple[str, str, int, int, str]] = {}
        hrefs = list(hrefs)
        for offset in range(0, len(hrefs), 1000):
            chunk = hrefs[offset:offset + 1000]
            for r in self.engine.execute(select(
                    items.c.href, items.c.etag, items.c.text, items.c.start, items.c.end,
                    items.c.component).where(items.c.path == path,
                                             items.c.href.in_(chunk))):
                found[r.href] = (r.etag, r.text, r.start, r.end, r.component)
        return found

    def texts_ending_after(self, path: str, ts: int, like: Optional[str] = None
                           ) -> List[Tuple[str, str]]:
        query = select(items.c.etag, items.c.text).where(items.c.path == path,
                                                         items.c.end >= int(ts))
        if like is not None:
            # SQLite's LIKE is ASCII case-insensitive; PostgreSQL's ILIKE is the same.
            query = query.where(items.c.text.ilike(like))
        return [(r.etag, r.text) for r in self.engine.execute(query.order_by(items.c.href))]

    def changed_since(self, path: str, since_ts: float, until_ts: Optional[float] = None,
                      component: Optional[str] = None) -> List[IndexedItem]:
        query = select(*ROW_COLUMNS).where(items.c.path == path,
                                           items.c.modified >= int(since_ts * 1e9))
        if until_ts is not None:
            query = query.where(items.c.modified <= int(until_ts * 1e9))
        if component:
            query = query.where(items.c.component == component)
        return [_row(r) for r in self.engine.execute(query.order_by(items.c.modified))]

    def hrefs_with_alarm_between(self, path: str, start: int, end: int) -> List[str]:
        return [r.href for r in self.engine.execute(
            select(alarms.c.href).distinct().where(alarms.c.path == path,
                                                   alarms.c.trigger >= start,
                                                   alarms.c.trigger < end))]

    def newest_mtime_ns(self, path: str) -> Optional[int]:
        return self.engine.execute(select(func.max(items.c.modified)).where(
            items.c.path == path))[0][0]

    def count(self, path: str) -> int:
        return self.engine.execute(select(func.count()).select_from(items).where(
            items.c.path == path))[0][0]

    def paths(self) -> List[str]:
        return [r.path for r in self.engine.execute(select(items.c.path).distinct())]

    def clear(self) -> None:
        """``reindex`` rebuilds the derived rows from the texts (`reconcile`): the texts
        are the data here, so nothing is forgotten."""

    def reconcile(self, collection, on_removed=None, on_added=None) -> Tuple[int, int]:
        """Recompute every item's index columns, instances and alarms from its text."""
        path = collection.key
        count = 0
        with self.engine.writing([path]) as tx:
            rows = tx.connection.execute(select(
                items.c.href, items.c.text, items.c.modified, items.c.seq).where(
                    items.c.path == path)).fetchall()
            for r in rows:
                item = collection.item_from_text(r.href, r.text)
                self.write(tx.connection, path, r.href, item, r.modified, r.seq)
                count += 1
        return count, 0
