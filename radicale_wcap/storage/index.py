"""The side index: what range, UID and changed-since queries read instead of
every item file.

It is a cache. Each collection's row records the folder's ``st_mtime_ns`` as
of the last time the index was known to match the folder; Radicale writes
every item through a rename in that folder, so any change by any program
moves it. On a mismatch the folder is listed (one scandir, about 40 ms for
10,000 files) and only items whose file mtime or size changed are re-read.
Deleting ``index.sqlite`` is always safe: it is rebuilt from the items.

Recurring items are indexed instance by instance up to a horizon (as Apple's
CalendarServer does); a query that reaches past an item's horizon treats it
as a candidate and extends the horizon for the next query.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from radicale import item as radicale_item
from radicale.item import filter as radicale_filter

from radicale_wcap import icalparse, radicale_compat
from radicale_wcap import recurrence
from radicale_wcap.ops import metrics
from radicale_wcap.calid import normalize_path
from radicale_wcap.db import Database

logger = logging.getLogger("radicale.wcap.index")

INDEX_VERSION = 1
TS_MIN = radicale_filter.TIMESTAMP_MIN
TS_MAX = radicale_filter.TIMESTAMP_MAX
# A folder mtime this close to the moment we listed it may hide a second
# change within the same file-system time stamp tick ("racy clean", as git
# calls it): such a record is not trusted and the next check lists again.
RACY_NS = 100_000_000
# Spans up to this long are "short" (see migration 2).
SHORT_SPAN = 31 * 86400
# Instances of recurring events are nearly always shorter than this.
INSTANCE_SHORT_SPAN = 2 * 86400
# The latest instant an index horizon may reach (datetime stops at year 9999).
HORIZON_MAX = 253_000_000_000

INDEX_MIGRATIONS = (
    """
    CREATE TABLE collections (
        path TEXT PRIMARY KEY,
        folder_mtime_ns INTEGER NOT NULL,
        recorded_ns INTEGER NOT NULL
    );
    CREATE TABLE items (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        uid TEXT NOT NULL,
        component TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        recurring INTEGER NOT NULL,
        complete INTEGER NOT NULL,
        expanded_until INTEGER NOT NULL,
        hostile INTEGER NOT NULL DEFAULT 0,
        etag TEXT NOT NULL,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        has_alarm INTEGER NOT NULL,
        PRIMARY KEY (path, href)
    );
    CREATE INDEX items_uid ON items(path, uid);
    CREATE INDEX items_start ON items(path, start);
    CREATE INDEX items_mtime ON items(path, mtime_ns);
    CREATE TABLE instances (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL
    );
    CREATE INDEX instances_range ON instances(path, start);
    CREATE INDEX instances_href ON instances(path, href);
    CREATE TABLE alarms (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        trigger INTEGER NOT NULL
    );
    CREATE INDEX alarms_trigger ON alarms(path, trigger);
    CREATE INDEX alarms_href ON alarms(path, href)
    """,
    # 2: spans longer than SHORT_SPAN are flagged, so that a range query scans
    # only [start - SHORT_SPAN, end) of the start index instead of every item
    # that starts before the range ends. The index is a cache: start afresh.
    """
    DELETE FROM collections;
    DELETE FROM items;
    DELETE FROM instances;
    DELETE FROM alarms;
    ALTER TABLE items ADD COLUMN long INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN long INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX items_short ON items(path, recurring, long, start);
    CREATE INDEX instances_short ON instances(path, long, start)
    """,
    # 3: the item text, so that the fast calendar-query path reads no item files.
    """
    DELETE FROM collections;
    DELETE FROM items;
    DELETE FROM instances;
    DELETE FROM alarms;
    ALTER TABLE items ADD COLUMN text TEXT NOT NULL DEFAULT ''
    """,
    # 4: instances are "short" up to INSTANCE_SHORT_SPAN (two days, not 31);
    # recurring items not indexed that far are found without a full scan.
    """
    DELETE FROM collections;
    DELETE FROM items;
    DELETE FROM instances;
    DELETE FROM alarms;
    CREATE INDEX items_beyond ON items(path, recurring, complete, expanded_until)
    """,
    # 5: single-item write intents (storage/intents.py), written before the file.
    """
    CREATE TABLE intents (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (path, href)
    )
    """,
)


@dataclass(frozen=True)
class IndexedItem:
    href: str
    uid: str
    component: str
    start: int
    end: int
    recurring: bool
    etag: str
    mtime_ns: int
    hostile: bool

    @property
    def last_modified(self) -> float:
        return self.mtime_ns / 1e9


@dataclass
class Limits:
    horizon_days: int = 730
    max_instances: int = 2000
    budget_s: float = 1.0


def _is_recurring(text: str) -> bool:
    return ("\nRRULE" in text or "\nRDATE" in text or "\nRECURRENCE-ID" in text
            or "\nEXRULE" in text)



def alarm_triggers(vobject_item, spans: Sequence[Tuple[int, int]], limit: int = 5000
                   ) -> List[int]:
    """Absolute trigger times of every VALARM for the given instance spans."""
    triggers: List[int] = []
    for component in vobject_item.getChildren():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        for alarm in component.contents.get("valarm", []):
            trigger = getattr(alarm, "trigger", None)
            if trigger is None:
                continue
            try:
                value = trigger.value
            except Exception:
                continue
            if isinstance(value, datetime.timedelta):
                related = trigger.params.get("RELATED", ["START"])[0].upper()
                offset = int(value.total_seconds())
                for start, end in spans:
                    base = end if related == "END" else start
                    if TS_MIN < base < TS_MAX:
                        triggers.append(base + offset)
            else:
                try:
                    triggers.append(recurrence.epoch(value))
                except (ValueError, OverflowError, TypeError, AttributeError):
                    continue
            if len(triggers) >= limit:
                return triggers[:limit]
    return triggers


class ItemIndex:
    def __init__(self, db: Database, limits: Limits) -> None:
        self.db = db
        self.limits = limits

    # -- freshness
    def is_fresh(self, path: str, folder: str) -> bool:
        try:
            mtime = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            return True
        row = self.db.query_one(
            "SELECT folder_mtime_ns, recorded_ns FROM collections WHERE path = ?", (path,))
        return (row is not None and row["folder_mtime_ns"] == mtime
                and row["recorded_ns"] - mtime > RACY_NS)

    def ensure_fresh(self, collection, on_removed=None) -> None:
        folder = radicale_compat.collection_folder(collection)
        if not self.is_fresh(normalize_path(collection.path), folder):
            self.reconcile(collection, on_removed=on_removed)

    def record_folder(self, path: str, folder: str, trusted: bool = True) -> None:
        """Remember the folder state after our own write.

        ``trusted``: we hold the storage write lock and have just updated the
        index for what we wrote, so the folder state is known even if racy.
        """
        try:
            mtime = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            return
        recorded = time.time_ns()
        if trusted:
            recorded = max(recorded, mtime + RACY_NS + 1)
        self.db.execute(
            "INSERT INTO collections (path, folder_mtime_ns, recorded_ns) VALUES (?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET folder_mtime_ns = excluded.folder_mtime_ns, "
            "recorded_ns = excluded.recorded_ns", (path, mtime, recorded))

    def reconcile(self, collection, on_removed=None, on_added=None) -> Tuple[int, int]:
        """Bring the index of one collection in line with its folder.

        Returns (re-read items, removed items). ``on_removed(href, uid,
        component)`` is told about items that vanished without our knowledge
        (so tombstones can be written), ``on_added(href, uid)`` about items seen.
        """
        path = normalize_path(collection.path)
        folder = radicale_compat.collection_folder(collection)
        try:
            folder_mtime = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            self.drop(path)
            return 0, 0
        started = time.time_ns()
        on_disk = {href: (mtime, size) for href, mtime, size
                   in radicale_compat.list_item_files(collection)}
        indexed = {row["href"]: (row["mtime_ns"], row["size"], row["uid"], row["component"])
                   for row in self.db.query(
                       "SELECT href, mtime_ns, size, uid, component FROM items WHERE path = ?",
                       (path,))}
        changed = [h for h, state in on_disk.items()
                   if h not in indexed or indexed[h][:2] != state]
        removed = [h for h in indexed if h not in on_disk]
        for href in removed:
            self.remove(path, href)
            if on_removed is not None:
                on_removed(href, indexed[href][2], indexed[href][3])
        rows = 0
        for batch_start in range(0, len(changed), 200):
            # One transaction per batch: far fewer commits than one per item,
            # yet other processes are not kept waiting on a long rebuild.
            with self.db.transaction():
                rows += self._reconcile_batch(collection, path, changed[batch_start:batch_start + 200],
                                              on_disk, indexed, on_added)
        self.db.execute(
            "INSERT INTO collections (path, folder_mtime_ns, recorded_ns) VALUES (?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET folder_mtime_ns = excluded.folder_mtime_ns, "
            "recorded_ns = excluded.recorded_ns", (path, folder_mtime, started))
        if rows or removed:
            logger.info("Index of %r reconciled: %d item(s) read, %d removed",
                        path, rows, len(removed))
            metrics.index_rebuilt(rows)
        return rows, len(removed)

    def reconcile_hrefs(self, collection, hrefs, on_removed=None, on_added=None) -> None:
        """Bring the rows of just these files in line with the folder (write intents,
        a batch's journal): no listing of the folder, whatever its mtime says."""
        path = normalize_path(collection.path)
        for href in sorted(set(hrefs)):
            stat = radicale_compat.item_file_stat(collection, href)
            item = radicale_compat.get_item(collection, href) if stat is not None else None
            before = self.by_href(path, href)
            if item is None:
                if before is not None:
                    self.remove(path, href)
                    if on_removed is not None:
                        on_removed(href, before.uid, before.component)
                continue
            self.upsert(path, href, item, stat.st_mtime_ns, stat.st_size)
            if before is not None and before.uid != item.uid and on_removed is not None:
                on_removed(href, before.uid, before.component)
            if on_added is not None:
                on_added(href, item.uid)

    def _reconcile_batch(self, collection, path, hrefs, on_disk, indexed, on_added) -> int:
        rows = 0
        for href in hrefs:
            item = radicale_compat.get_item(collection, href)
            if item is None:
                if href in indexed:
                    self.remove(path, href)
                continue
            state = on_disk[href]
            self.upsert(path, href, item, state[0], state[1])
            if on_added is not None:
                on_added(href, item.uid)
            rows += 1
        return rows

    # -- rows
    def upsert(self, path: str, href: str, item: "radicale_item.Item",
               mtime_ns: int, size: int, vobject_item=None) -> None:
        text = item.serialize()
        recurring = _is_recurring(text)
        start, end = item.time_range
        complete = 1
        expanded_until = end
        hostile = 0
        spans: List[Tuple[int, int]] = [(start, end)]
        has_alarm = "BEGIN:VALARM" in text
        if (recurring or has_alarm) and vobject_item is None:
            try:
                vobject_item = icalparse.read_one(item.serialize())
            except Exception as e:
                logger.warning("Item %r in %r can not be parsed for the index: %s",
                               href, path, e)
        if recurring and vobject_item is not None:
            spans, complete, expanded_until, hostile = self._instances(
                vobject_item, path, href, horizon_from=None)
        alarms: List[int] = []
        if has_alarm and vobject_item is not None:
            alarms = alarm_triggers(vobject_item, spans)
        with self.db.transaction() as c:
            c.execute("DELETE FROM instances WHERE path = ? AND href = ?", (path, href))
            c.execute("DELETE FROM alarms WHERE path = ? AND href = ?", (path, href))
            c.execute(
                "INSERT OR REPLACE INTO items (path, href, uid, component, start, end, "
                "recurring, complete, expanded_until, hostile, etag, mtime_ns, size, "
                "has_alarm, long, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (path, href, item.uid or "", item.component_name or "", start, end,
                 int(recurring), int(complete), expanded_until, hostile, item.etag,
                 mtime_ns, size, int(has_alarm), int(end - start > SHORT_SPAN), text))
            if recurring:
                c.executemany("INSERT INTO instances (path, href, start, end, long) "
                              "VALUES (?,?,?,?,?)",
                              [(path, href, s, e, int(e - s > INSTANCE_SHORT_SPAN))
                               for s, e in spans])
            if alarms:
                c.executemany("INSERT INTO alarms (path, href, trigger) VALUES (?,?,?)",
                              [(path, href, t) for t in alarms])

    def _instances(self, vobject_item, path: str, href: str,
                   horizon_from: Optional[int]):
        base = max(time.time(), horizon_from or 0) + self.limits.horizon_days * 86400
        horizon = datetime.datetime.fromtimestamp(min(base, HORIZON_MAX), datetime.timezone.utc)
        try:
            spans, complete, expanded_until = recurrence.instances_for_index(
                vobject_item, horizon, max_count=self.limits.max_instances,
                budget_s=self.limits.budget_s)
        except ValueError as e:
            logger.warning("Recurrence of item %r in %r is over the limits and is left "
                           "out of range queries: %s", href, path, e)
            return [], 1, TS_MIN, 1
        return ([(int(s), int(e)) for s, e in spans], int(bool(complete)),
                int(expanded_until), 0)

    def remove(self, path: str, href: str) -> None:
        with self.db.transaction() as c:
            for table in ("items", "instances", "alarms"):
                c.execute("DELETE FROM %s WHERE path = ? AND href = ?" % table, (path, href))

    def clear(self) -> None:
        """Forget every collection (``reindex`` rebuilds from the files)."""
        with self.db.transaction() as c:
            for table in ("items", "instances", "alarms", "collections"):
                c.execute("DELETE FROM %s" % table)

    def drop(self, path: str) -> None:
        """Forget a collection and everything below it."""
        like = path.rstrip("/") + "/%"
        with self.db.transaction() as c:
            for table in ("items", "instances", "alarms", "collections"):
                c.execute("DELETE FROM %s WHERE path = ? OR path LIKE ?" % table,
                          (path, like))

    # -- queries
    def _row(self, row) -> IndexedItem:
        return IndexedItem(href=row["href"], uid=row["uid"], component=row["component"],
                           start=row["start"], end=row["end"],
                           recurring=bool(row["recurring"]), etag=row["etag"],
                           mtime_ns=row["mtime_ns"], hostile=bool(row["hostile"]))

    def all(self, path: str) -> List[IndexedItem]:
        return [self._row(r) for r in self.db.query(
            "SELECT * FROM items WHERE path = ? ORDER BY href", (path,))]

    def by_uid(self, path: str, uid: str) -> Optional[IndexedItem]:
        row = self.db.query_one("SELECT * FROM items WHERE path = ? AND uid = ?",
                                (path, uid))
        return self._row(row) if row else None

    def by_href(self, path: str, href: str) -> Optional[IndexedItem]:
        row = self.db.query_one("SELECT * FROM items WHERE path = ? AND href = ?",
                                (path, href))
        return self._row(row) if row else None

    def hrefs_in_range(self, path: str, start: int, end: int,
                       component: Optional[str] = None,
                       collection=None) -> List[str]:
        """Hrefs of items with something in [start, end); hostile items left out.

        With ``collection``, recurring items not indexed that far are indexed up to
        ``end`` first (`range_candidates`), and asked again, so that a series with no
        instance in the range (a yearly rule, years ahead) is not answered."""
        found = self.range_candidates(path, start, end, component, collection)
        if collection is not None and end < TS_MAX and not all(c for _, c in found):
            found = self.range_candidates(path, start, end, component, None)
        return [href for href, _ in found]

    def range_candidates(self, path: str, start: int, end: int,
                         component: Optional[str] = None,
                         collection=None) -> List[Tuple[str, bool]]:
        """(href, confirmed) for every item that may have something in [start, end).

        ``confirmed``: the index itself shows an overlap (a single item's span
        or an indexed instance). Unconfirmed candidates are recurring items
        whose instances are not indexed that far; the caller must test them.
        """
        comp_sql = " AND component = ?" if component else ""
        comp_arg: Tuple = (component,) if component else ()
        found: Dict[str, bool] = {}
        earliest = start - SHORT_SPAN
        for row in self.db.query(
                "SELECT href FROM items WHERE path = ? AND recurring = 0 AND long = 0 "
                "AND start >= ? AND start < ? AND end > ?" + comp_sql,
                (path, earliest, end, start) + comp_arg):
            found[row["href"]] = True
        for row in self.db.query(
                "SELECT href FROM items WHERE path = ? AND recurring = 0 AND long = 1 "
                "AND start < ? AND end > ?" + comp_sql, (path, end, start) + comp_arg):
            found[row["href"]] = True
        join = (" JOIN items t ON t.path = i.path AND t.href = i.href AND t.component = ?"
                if component else "")
        for row in self.db.query(
                "SELECT DISTINCT i.href FROM instances i" + join + " WHERE i.path = ? "
                "AND i.long = 0 AND i.start >= ? AND i.start < ? AND i.end > ?",
                comp_arg + (path, start - INSTANCE_SHORT_SPAN, end, start)):
            found[row["href"]] = True
        for row in self.db.query(
                "SELECT DISTINCT i.href FROM instances i" + join + " WHERE i.path = ? "
                "AND i.long = 1 AND i.start < ? AND i.end > ?", comp_arg + (path, end, start)):
            found[row["href"]] = True
        beyond = self.db.query(
            "SELECT href FROM items WHERE path = ? AND recurring = 1 AND hostile = 0 "
            "AND complete = 0 AND expanded_until < ? AND start < ?" + comp_sql,
            (path, end, end) + comp_arg)
        for row in beyond:
            found.setdefault(row["href"], False)
            # An open-ended query (Radicale passes TIMESTAMP_MAX) can not be
            # indexed ahead; Radicale filters such candidates itself.
            if collection is not None and end < TS_MAX:
                self._extend(collection, row["href"], end)
        return sorted(found.items())

    def _extend(self, collection, href: str, until: int) -> None:
        item = radicale_compat.get_item(collection, href)
        if item is None:
            return
        try:
            vobject_item = icalparse.read_one(item.serialize())
        except Exception:
            return
        spans, complete, expanded_until, hostile = self._instances(
            vobject_item, collection.path, href, horizon_from=until)
        path = normalize_path(collection.path)
        with self.db.transaction() as c:
            c.execute("DELETE FROM instances WHERE path = ? AND href = ?", (path, href))
            c.executemany("INSERT INTO instances (path, href, start, end, long) "
                          "VALUES (?,?,?,?,?)",
                          [(path, href, s, e, int(e - s > INSTANCE_SHORT_SPAN))
                               for s, e in spans])
            c.execute("UPDATE items SET complete = ?, expanded_until = ?, hostile = ? "
                      "WHERE path = ? AND href = ?",
                      (complete, expanded_until, hostile, path, href))

    def texts(self, path: str, hrefs: Sequence[str]) -> Dict[str, Tuple[str, str, int, int, str]]:
        """href -> (etag, text, start, end, component), as of the last reconcile."""
        found: Dict[str, Tuple[str, str, int, int, str]] = {}
        hrefs = list(hrefs)
        for offset in range(0, len(hrefs), 500):
            chunk = hrefs[offset:offset + 500]
            for row in self.db.query(
                    "SELECT href, etag, text, start, end, component FROM items WHERE path = ? "
                    "AND href IN (%s)" % ",".join("?" * len(chunk)), [path] + chunk):
                found[row["href"]] = (row["etag"], row["text"], row["start"], row["end"],
                                      row["component"])
        return found

    def texts_ending_after(self, path: str, ts: int, like: Optional[str] = None
                           ) -> List[Tuple[str, str]]:
        """(etag, text) of the items that end at or after ``ts`` (a recurring item's end
        is its last instance's, TS_MAX for an endless rule), as of the last reconcile.

        ``like``: an SQL LIKE pattern the text must match (ASCII case-insensitive), a
        cheap textual prefilter. Item text is folded at 75 octets, so a pattern can only
        be relied on for what starts a content line (a property name).
        """
        sql = "SELECT etag, text FROM items WHERE path = ? AND end >= ?"
        args: list = [path, int(ts)]
        if like is not None:
            sql += " AND text LIKE ?"
            args.append(like)
        return [(r["etag"], r["text"]) for r in self.db.query(sql + " ORDER BY href", args)]

    def changed_since(self, path: str, since_ts: float, until_ts: Optional[float] = None,
                      component: Optional[str] = None) -> List[IndexedItem]:
        sql = "SELECT * FROM items WHERE path = ? AND mtime_ns >= ?"
        args: list = [path, int(since_ts * 1e9)]
        if until_ts is not None:
            sql += " AND mtime_ns <= ?"
            args.append(int(until_ts * 1e9))
        if component:
            sql += " AND component = ?"
            args.append(component)
        return [self._row(r) for r in self.db.query(sql + " ORDER BY mtime_ns", args)]

    def hrefs_with_alarm_between(self, path: str, start: int, end: int) -> List[str]:
        return [r["href"] for r in self.db.query(
            "SELECT DISTINCT href FROM alarms WHERE path = ? AND trigger >= ? AND trigger < ?",
            (path, start, end))]

    def newest_mtime_ns(self, path: str) -> Optional[int]:
        """The newest item's mtime (None: no items), as of the last reconcile."""
        return self.db.query_one("SELECT MAX(mtime_ns) FROM items WHERE path = ?",
                                 (path,))[0]

    def count(self, path: str) -> int:
        return self.db.query_one("SELECT COUNT(*) FROM items WHERE path = ?", (path,))[0]

    def paths(self) -> List[str]:
        return [r["path"] for r in self.db.query("SELECT path FROM collections")]
