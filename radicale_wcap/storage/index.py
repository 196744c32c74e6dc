"""The side index: what range, UID and changed-since queries read instead of
every item file. This module holds its SQL: the schema, the writes and the queries.
What a row holds is computed in ``index_rows.py``, the reconcile with the files is
``index_files.py``.

It is a cache. Each collection's row records the folder's ``st_mtime_ns`` as
of the last time the index was known to match the folder; Radicale writes
every item through a rename in that folder, so any change by any program
moves it. On a mismatch the folder is listed (one scandir, about 40 ms for
10,000 files) and only items whose file mtime or size changed are re-read.
Deleting ``index.sqlite`` is always safe: it is rebuilt from the items.

An item row also holds what Radicale's item cache would (text, ETag, UID,
component, time range) under the file's mtime, size and inode: the storage
plugin loads an item from it (``cached``) instead of writing and reading a cache
file per item.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

from radicale import item as radicale_item

from radicale_wcap import icalparse, radicale_compat
from radicale_wcap.calid import normalize_path
from radicale_wcap.storage.index_files import reconcile as reconcile_folder
from radicale_wcap.storage.index_files import reconcile_hrefs as reconcile_files
from radicale_wcap.storage.index_schema import INDEX_MIGRATIONS, INDEX_VERSION
# The names other modules know from here (the SQL engine's index among them).
from radicale_wcap.storage.index_rows import (
    HORIZON_MAX, INSTANCE_SHORT_SPAN, SHORT_SPAN, TS_MAX, TS_MIN, IndexedItem, ItemRows,
    Limits, RangeQueries, alarm_triggers, instances, rows_for)

logger = logging.getLogger("radicale.wcap.index")

__all__ = ["HORIZON_MAX", "INDEX_MIGRATIONS", "INDEX_VERSION", "INSTANCE_SHORT_SPAN",
           "RACY_NS", "SHORT_SPAN", "TS_MAX", "TS_MIN", "IndexedItem", "ItemIndex",
           "ItemRows", "Limits", "alarm_triggers"]

# A folder mtime this close to the moment we listed it may hide a second
# change within the same file-system time stamp tick ("racy clean", as git
# calls it): such a record is not trusted and the next check lists again.
RACY_NS = 100_000_000


class ItemIndex(RangeQueries):
    def __init__(self, db, limits: Limits) -> None:
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

    def record_listing(self, path: str, folder_mtime_ns: int, listed_ns: int) -> None:
        """Remember the folder state a reconcile listed (racy unless old enough)."""
        self.db.execute(
            "INSERT INTO collections (path, folder_mtime_ns, recorded_ns) VALUES (?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET folder_mtime_ns = excluded.folder_mtime_ns, "
            "recorded_ns = excluded.recorded_ns", (path, folder_mtime_ns, listed_ns))

    def reconcile(self, collection, on_removed=None, on_added=None) -> Tuple[int, int]:
        """Bring the index of one collection in line with its folder
        (``index_files.reconcile``): (re-read items, removed items)."""
        return reconcile_folder(self, collection, on_removed, on_added)

    def reconcile_hrefs(self, collection, hrefs, on_removed=None, on_added=None) -> None:
        """Re-read just these files (``index_files.reconcile_hrefs``)."""
        reconcile_files(self, collection, hrefs, on_removed, on_added)

    def file_states(self, path: str) -> Dict[str, tuple]:
        """href -> (mtime_ns, size, uid, component) of every indexed item."""
        return {row["href"]: (row["mtime_ns"], row["size"], row["uid"], row["component"])
                for row in self.db.query(
                    "SELECT href, mtime_ns, size, uid, component FROM items WHERE path = ?",
                    (path,))}

    # -- rows
    def upsert(self, path: str, href: str, item: "radicale_item.Item",
               mtime_ns: int, size: int, vobject_item=None, inode: int = 0) -> None:
        self.write_rows(path, [rows_for(path, href, item, mtime_ns, size, self.limits,
                                        vobject_item=vobject_item, inode=inode)])

    def write_rows(self, path: str, batch: Sequence[ItemRows], removed: Sequence[str] = ()
                   ) -> None:
        """Replace the rows of these items (and drop those of ``removed``) in one
        transaction."""
        if not batch and not removed:
            return
        hrefs = [(path, rows.href) for rows in batch] + [(path, href) for href in removed]
        with self.db.transaction() as c:
            c.executemany("DELETE FROM instances WHERE path = ? AND href = ?", hrefs)
            c.executemany("DELETE FROM alarms WHERE path = ? AND href = ?", hrefs)
            if removed:
                c.executemany("DELETE FROM items WHERE path = ? AND href = ?",
                              [(path, href) for href in removed])
            c.executemany(
                "INSERT OR REPLACE INTO items (path, href, uid, component, start, end, "
                "recurring, complete, expanded_until, hostile, etag, mtime_ns, size, "
                "has_alarm, long, text, inode) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [rows.item for rows in batch])
            c.executemany("INSERT INTO instances (path, href, start, end, long) "
                          "VALUES (?,?,?,?,?)",
                          [(path, rows.href, s, e, int(e - s > INSTANCE_SHORT_SPAN))
                           for rows in batch for s, e in rows.instances])
            c.executemany("INSERT INTO alarms (path, href, trigger) VALUES (?,?,?)",
                          [(path, rows.href, t) for rows in batch for t in rows.alarms])

    def cached(self, path: str, href: str, stat: os.stat_result):
        """(etag, text, uid, component, (start, end)) of the item row read from the
        very file ``stat`` describes (mtime, size and inode), else None: what
        Radicale's item cache would answer for it."""
        row = self.db.query_one(
            "SELECT etag, text, uid, component, start, end, mtime_ns, size, inode "
            "FROM items WHERE path = ? AND href = ?", (path, href))
        if (row is None or not row["uid"] or row["inode"] != stat.st_ino
                or row["mtime_ns"] != stat.st_mtime_ns or row["size"] != stat.st_size):
            return None
        return (row["etag"], row["text"], row["uid"], row["component"],
                (row["start"], row["end"]))

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
        spans, complete, expanded_until, hostile = instances(
            vobject_item, self.limits, collection.path, href, horizon_from=until)
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
