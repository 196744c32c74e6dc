"""``backup DEST``: a consistent copy of what can not be rebuilt, taken while the server
runs.

Copied: the item files (``collection-root``: events, todos, contacts and each
collection's ``.Radicale.props``) and the project's database (``wcap.sqlite``: users and
password hashes, ACLs, web names, tombstones, stable item ids, feed origins, the import
journal). Left out: ``index.sqlite``, a cache that ``reindex`` rebuilds; Radicale's
``.Radicale.cache`` folders, so that clients resynchronise in full after a restore
instead of trusting sync tokens of a newer state; the ``upload_file`` spool.

Consistent because both are taken under the storage's read lock, the ``flock`` that every
write of every worker process takes exclusively: no item is written and no feed journal
changes while the files are copied (writers wait, readers do not). The database is copied
with SQLite's online backup API in one step, a snapshot that no writer is blocked by, so
sessions and login counters written meanwhile are in it or not, never half. The copy is
written to ``DEST.partial`` and renamed at the end, so a folder named ``DEST`` is always
a whole backup.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from typing import Callable, Dict

from radicale_wcap import __version__
from radicale_wcap.db import copy_database

SKIPPED_FOLDERS = (".Radicale.cache",)
SKIPPED_PREFIXES = (".Radicale.tmp-", ".Radicale.lock")
MANIFEST = "backup.json"
DATABASE = "wcap.sqlite"
ITEMS = "collection-root"


class BackupError(RuntimeError):
    pass


def _copy_tree(source: str, target: str) -> Dict[str, int]:
    counts = {"collections": 0, "files": 0, "bytes": 0}
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_FOLDERS)
        relative = os.path.relpath(folder, source)
        destination = os.path.normpath(os.path.join(target, relative))
        os.makedirs(destination, exist_ok=True)
        shutil.copystat(folder, destination)
        if ".Radicale.props" in files:
            counts["collections"] += 1
        for name in files:
            if name.startswith(SKIPPED_PREFIXES):
                continue
            shutil.copy2(os.path.join(folder, name), os.path.join(destination, name),
                         follow_symlinks=False)
            counts["files"] += 1
            counts["bytes"] += os.lstat(os.path.join(destination, name)).st_size
    return counts


def _copy_database(source: str, target: str) -> int:
    """The schema version of the copy, after checking it."""
    try:
        return copy_database(source, target)
    except ValueError as e:
        raise BackupError(str(e)) from e


def backup(instance, destination: str, log: Callable[[str], None] = print) -> Dict:
    destination = os.path.abspath(destination)
    if os.path.lexists(destination):
        raise BackupError("%s exists; a backup goes into a new folder" % destination)
    partial = destination + ".partial"
    if os.path.lexists(partial):
        shutil.rmtree(partial)
    os.makedirs(partial)
    root = os.path.join(instance.configuration.get("storage", "filesystem_folder"), ITEMS)
    started = dt.datetime.now(dt.timezone.utc)
    try:
        with instance.store.storage.acquire_lock("r"):
            schema = _copy_database(instance.services.db.path,
                                    os.path.join(partial, DATABASE))
            counts = _copy_tree(root, os.path.join(partial, ITEMS)) if os.path.isdir(root) \
                else {"collections": 0, "files": 0, "bytes": 0}
        manifest = {"created": started.isoformat(timespec="seconds"),
                    "radicale_wcap": __version__, "schema_version": schema, **counts}
        with open(os.path.join(partial, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        os.rename(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log("backup written to %s: %d collection(s), %d file(s), %d bytes, and %s" % (
        destination, counts["collections"], counts["files"], counts["bytes"], DATABASE))
    return manifest
