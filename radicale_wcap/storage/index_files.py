"""Bringing the side index in line with a collection's item files.

The index is a cache: when a folder changed behind its back (another program, an
upgrade from plain Radicale, a crash), the files are the truth. Building it is a bulk
write and is paid per batch: each file is read and parsed once (``icalparse``: each
distinct VTIMEZONE once per process), checked as Radicale checks what it loads,
and its rows are written 500 items to a transaction. Radicale's own item cache is
read when it already holds a file (a store plain Radicale served) and is not
written: the index row holds what that cache entry would (text, ETag, UID,
component, time range, under the file's mtime, size and inode), and the storage
plugin's ``_get`` answers from it. Writing that cache cost an fsync'd file per
item, about a third of stock Radicale's own first REPORT.

Files are parsed outside the index's write transaction, so a long rebuild keeps
other processes' index writes waiting for one batch's inserts at most.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Callable, Iterable, List, Optional, Tuple

from radicale_wcap import icalparse, radicale_compat
from radicale_wcap.calid import normalize_path
from radicale_wcap.ops import metrics
from radicale_wcap.storage.index_rows import ItemRows, Limits, rows_for

logger = logging.getLogger("radicale.wcap.index")

# Items per index transaction: the rows of 500 items are a few MB at most, and every
# commit may checkpoint the WAL.
BATCH = 500

Removed = Optional[Callable[[str, str, str], None]]
Added = Optional[Callable[[str, str], None]]


def load(collection, href: str):
    """(item, parsed form or None, stat of the bytes read) of one item file, None when
    the file is gone or Radicale skips it as broken. Radicale's item cache first; else
    one parse. What that parse or Radicale's check refuses goes to Radicale's own load,
    so that a broken item is skipped (or fails) exactly as Radicale decides."""
    read = radicale_compat.read_item_file(collection, href)
    if read is None:
        return None
    raw, stat = read
    item = radicale_compat.cached_item(collection, href, raw, stat)
    if item is not None:
        return item, None, stat
    try:
        components = icalparse.read_components(raw.decode(radicale_compat.encoding(collection)))
        item = radicale_compat.item_from_components(collection, href, stat, components)
        # What Radicale computes when it fills its cache, so that it fails here too.
        item.etag, item.uid, item.component_name, item.time_range
        return item, radicale_compat.parsed_form(item), stat
    except Exception as e:
        logger.debug("Item %r in %r left to Radicale's own load: %s", href,
                     collection.path, e)
    item = radicale_compat.get_item(collection, href)
    stat = radicale_compat.item_file_stat(collection, href)
    if item is None or stat is None:
        return None
    return item, None, stat


def rows_of(collection, path: str, href: str, limits: Limits) -> Optional[Tuple[ItemRows, str]]:
    """(rows, uid) of one item file, None when there is no item."""
    loaded = load(collection, href)
    if loaded is None:
        return None
    item, vobject_item, stat = loaded
    return (rows_for(path, href, item, stat.st_mtime_ns, stat.st_size, limits,
                     vobject_item=vobject_item, inode=stat.st_ino), item.uid)


def reconcile(index, collection, on_removed: Removed = None, on_added: Added = None
              ) -> Tuple[int, int]:
    """Bring ``index`` (an ``ItemIndex``) in line with one collection's folder.

    Returns (re-read items, removed items). ``on_removed(href, uid, component)`` is
    told about items that vanished without our knowledge (so tombstones can be
    written), ``on_added(href, uid)`` about items seen.
    """
    path = normalize_path(collection.path)
    folder = radicale_compat.collection_folder(collection)
    try:
        folder_mtime = os.stat(folder).st_mtime_ns
    except FileNotFoundError:
        index.drop(path)
        return 0, 0
    started = time.time_ns()
    on_disk = {href: (mtime, size) for href, mtime, size
               in radicale_compat.list_item_files(collection)}
    indexed = index.file_states(path)
    changed = [h for h, state in on_disk.items()
               if h not in indexed or indexed[h][:2] != state]
    removed = [h for h in indexed if h not in on_disk]
    for href in removed:
        index.remove(path, href)
        if on_removed is not None:
            on_removed(href, indexed[href][2], indexed[href][3])
    rows = 0
    for offset in range(0, len(changed), BATCH):
        batch: List[ItemRows] = []
        gone: List[str] = []
        seen: List[Tuple[str, str]] = []
        for href in changed[offset:offset + BATCH]:
            found = rows_of(collection, path, href, index.limits)
            if found is None:
                if href in indexed:
                    gone.append(href)
                continue
            batch.append(found[0])
            seen.append((href, found[1]))
        index.write_rows(path, batch, removed=gone)
        rows += len(batch)
        if on_added is not None:
            for href, uid in seen:
                on_added(href, uid)
    index.record_listing(path, folder_mtime, started)
    if rows or removed:
        logger.info("Index of %r reconciled: %d item(s) read, %d removed",
                    path, rows, len(removed))
        metrics.index_rebuilt(rows)
    return rows, len(removed)


def reconcile_hrefs(index, collection, hrefs: Iterable[str], on_removed: Removed = None,
                    on_added: Added = None) -> None:
    """Bring the rows of just these files in line with the folder (write intents, a
    batch's journal): no listing of the folder, whatever its mtime says."""
    path = normalize_path(collection.path)
    for href in sorted(set(hrefs)):
        loaded = load(collection, href)
        before = index.by_href(path, href)
        if loaded is None:
            if before is not None:
                index.remove(path, href)
                if on_removed is not None:
                    on_removed(href, before.uid, before.component)
            continue
        item, vobject_item, stat = loaded
        index.upsert(path, href, item, stat.st_mtime_ns, stat.st_size,
                     vobject_item=vobject_item, inode=stat.st_ino)
        if before is not None and before.uid != item.uid and on_removed is not None:
            on_removed(href, before.uid, before.component)
        if on_added is not None:
            on_added(href, item.uid)

