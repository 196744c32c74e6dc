"""``backup DEST``: a consistent copy of what can not be rebuilt, taken while the server
runs.

Copied: the item files (``collection-root``: events, todos, contacts and each
collection's ``.Radicale.props``) and the project's database (``wcap.sqlite``: users and
password hashes, ACLs, web names, tombstones, stable item ids, feed origins, the import
journal). Left out: ``index.sqlite``, a cache that ``reindex`` rebuilds; Radicale's
``.Radicale.cache`` folders, so that clients resynchronise in full after a restore
instead of trusting sync tokens of a newer state; the ``upload_file`` spool.

Consistent per calendar: each calendar's folder is copied holding that calendar's lock
shared (``storage/locks.py``), which every write and every batch into it holds
exclusively, so a calendar is copied entirely before or entirely after each write; the
store lock, held shared throughout, keeps out what is written above the calendars (homes,
new users). Writers to a calendar wait only while that calendar is copied, readers not at
all. The database is copied last, with SQLite's online backup API in one step: a batch
still running then is in its journal, and the journal's rollback, after a restore, leaves
the copied files alone, because they are not what that batch wrote. The copy is
written to ``DEST.partial`` and renamed at the end, so a folder named ``DEST`` is always
a whole backup.

With ``[storage] database_url`` on PostgreSQL the durable rows are not a file here:
``backup`` refuses and says so, because a copy of the item files without the database
taken at the same moment is not a backup; PostgreSQL's own tools (``pg_dump``, or
its continuous archiving) back up the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from typing import Callable, Dict

from radicale_wcap import __version__
from radicale_wcap.db import shown
from radicale_wcap.db_sqlite3 import copy_database

SKIPPED_FOLDERS = (".Radicale.cache",)
SKIPPED_PREFIXES = (".Radicale.tmp-", ".Radicale.lock")
MANIFEST = "backup.json"
DATABASE = "wcap.sqlite"
ITEMS = "collection-root"


class BackupError(RuntimeError):
    pass


def _copy_tree(source: str, target: str, locked=None) -> Dict[str, int]:
    """Copy ``source``; ``locked(path)`` (a context) is held while each calendar folder
    (``/user/cal/``, two levels down) is copied."""
    counts = {"collections": 0, "files": 0, "bytes": 0}
    for home in sorted(os.listdir(source)) if os.path.isdir(source) else ():
        if home.startswith(SKIPPED_PREFIXES) or not os.path.isdir(os.path.join(source, home)):
            continue
        for name in sorted(os.listdir(os.path.join(source, home))):
            folder = os.path.join(source, home, name)
            if name in SKIPPED_FOLDERS or name.startswith(SKIPPED_PREFIXES) \
                    or not os.path.isdir(folder):
                continue
            with locked("/%s/%s/" % (home, name)) if locked else contextlib.nullcontext():
                _add(counts, _copy_folder(folder, os.path.join(target, home, name)))
    _add(counts, _copy_folder(source, target, depth=2))
    return counts


def _add(counts: Dict[str, int], more: Dict[str, int]) -> None:
    for key, value in more.items():
        counts[key] += value


def _copy_folder(source: str, target: str, depth: int = 0) -> Dict[str, int]:
    """Copy ``source``; with ``depth``, only its top ``depth`` levels (the rest is
    copied calendar by calendar)."""
    counts = {"collections": 0, "files": 0, "bytes": 0}
    base = source.rstrip(os.sep).count(os.sep)
    for folder, subfolders, files in os.walk(source):
        if depth and folder.rstrip(os.sep).count(os.sep) - base >= depth - 1:
            subfolders[:] = []
        else:
            subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_FOLDERS
                                   and not d.startswith(SKIPPED_PREFIXES))
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
    db = instance.services.db
    if db.kind != "sqlite":
        raise BackupError(
            "the database is PostgreSQL (%s): use pg_dump (pg_dump --format=custom) or "
            "PostgreSQL's continuous archiving; this command copies only an embedded "
            "wcap.sqlite and its item folder" % shown(db.url))
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
        storage = instance.store.storage
        with storage.acquire_lock("r"):
            counts = _copy_tree(root, os.path.join(partial, ITEMS),
                                lambda path: storage.calendar_lock([path], "r"))
            schema = _copy_database(db.path,
                                    os.path.join(partial, DATABASE))
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
