"""Every use of a private Radicale API, in one place.

Written against Radicale 3.9.0 (``radicale==3.9.*`` is pinned in setup.cfg).
Radicale documents only its plugin base classes; what is used here has no
public equivalent:

* the file-system folder of a collection (``Collection._filesystem_path``),
  needed to notice items written by other programs (folder mtime + scandir),
  and of the homes (``Storage._get_collection_root_folder``), where a crash
  leaves Radicale's temporary folders;
* single-item loads without listing the folder (``Collection._get``);
* ``Collection._get`` is wrapped by an in-memory memo of loaded items, and answers
  from the side index when it knows the file;
* the index reads item files itself (the parse Radicale's ``_get`` does, with
  ``check_and_sanitize_items`` and the storage's limits, and a look into its item
  cache), so that building the index parses each file once and writes no cache file;
* ``Collection._clean_history`` is throttled (it is O(items) per write);
* ``Item._vobject_item`` is read, to reuse a parse that already happened;
* ``Collection._atomic_write`` and ``Storage._makedirs_synced`` are wrapped so that
  the cache files Radicale writes while it reads (item cache, history, sync tokens
  under ``.Radicale.cache``) are skipped on a full disk as Radicale skips them on a
  read-only store (it suppresses ``PermissionError`` there): a PROPFIND or GET
  failed with 500 when the disk was full;
* during a batch (``storage/batch.py``) ``Storage._fsync`` and ``Storage._sync_directory``
  are deferred to one ``syncfs(2)`` of the store's file system at the batch's end, and
  ``Collection._store_item_cache`` puts the item into the in-memory memo instead of a
  cache file (Radicale fsyncs item file, cache file and history file per item, plus
  each folder, which made a bulk import ~6 fsyncs per item);
* the ``do_<METHOD>`` handlers of the write methods are wrapped per application
  (``Application._handle_request`` looks them up by name), because Radicale answers
  507 only to an item upload whose ``ValueError`` quotes ENOSPC, and 500 to every
  other write that finds the disk full.

If a Radicale upgrade breaks one of these, this module is the only place to
change, and tests/test_radicale_compat.py says which.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import secrets
import threading
import time
from typing import Iterator, Optional, Tuple

from radicale import httputils
from radicale import item as radicale_item
from radicale import pathutils

from radicale_wcap.lru import LRU

logger = logging.getLogger("radicale.wcap.compat")


def collection_folder(collection) -> str:
    return collection._filesystem_path


def collection_root_folder(storage) -> str:
    """The folder holding the users' homes (``collection-root``)."""
    return storage._get_collection_root_folder()


def props_file(collection) -> str:
    return collection._props_path


def list_item_files(collection) -> Iterator[Tuple[str, int, int]]:
    """(href, mtime_ns, size) of every item file, as Radicale's ``_list`` sees them."""
    with os.scandir(collection_folder(collection)) as entries:
        for entry in entries:
            if not pathutils.is_safe_filesystem_path_component(entry.name):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:
                continue
            yield entry.name, stat.st_mtime_ns, stat.st_size


def item_file_stat(collection, href: str) -> Optional[os.stat_result]:
    try:
        return os.stat(os.path.join(collection_folder(collection), href))
    except (FileNotFoundError, NotADirectoryError):
        return None


def get_item(collection, href: str):
    """Load one item through Radicale's item cache, without listing the folder."""
    return collection._get(href)


# Loaded items kept in memory, keyed by file identity, weighed by their text's length.
# Radicale re-reads every item's cache file (open, hash or stat, unpickle) on every
# request; for a range query returning hundreds of events that is most of the time left
# once the index has picked them. The key is the item file's path, inode, size and mtime
# in nanoseconds, so any rewrite (Radicale always writes through a rename) misses it.
ITEM_MEMO = LRU(64 * 1024 * 1024)


def memoized_get(collection, href: str, verify_href: bool, load, known=None):
    """``Collection._get`` through the in-memory memo (see _ItemMemo), then through
    ``known(href, stat)`` (the side index: an item whose file has exactly that stat,
    or None), then Radicale's own load (its item cache, or a parse)."""
    if verify_href and not pathutils.is_safe_filesystem_path_component(href):
        return load(href, verify_href)
    path = os.path.join(collection._filesystem_path, href)
    try:
        stat = os.stat(path)
    except OSError:
        return load(href, verify_href)
    key = (path, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    entry = ITEM_MEMO.get(key)
    if entry is not None:
        etag, text, uid, name, component_name, time_range = entry
        return item_from_fields(collection, href, stat, etag, text, uid, name,
                                component_name, time_range)
    item = known(href, stat) if known is not None else None
    if item is None:
        item = load(href, verify_href)
    if item is not None:
        text = item.serialize()
        ITEM_MEMO.put(key, (item.etag, text, item.uid, item.name, item.component_name,
                            item.time_range), len(text))
    return item


def item_from_fields(collection, href: str, stat: os.stat_result, etag: str, text: str,
                     uid: str, name: str, component_name: str, time_range):
    """An item as ``Collection._get`` builds it from an entry of its item cache."""
    return radicale_item.Item(
        collection=collection, href=href,
        last_modified=time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                    time.gmtime(stat.st_mtime)),
        etag=etag, text=text, uid=uid, name=name, component_name=component_name,
        time_range=tuple(time_range))


def read_item_file(collection, href: str) -> Optional[Tuple[bytes, os.stat_result]]:
    """An item file's bytes and the stat of the very file they were read from (None: no
    such file), for a reader that parses them itself (the index's bulk reconcile)."""
    try:
        with open(os.path.join(collection_folder(collection), href), "rb") as f:
            stat = os.fstat(f.fileno())
            return f.read(), stat
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def encoding(collection) -> str:
    """The encoding Radicale reads and writes item files in (``[encoding] stock``)."""
    return collection._encoding


def cached_item(collection, href: str, raw: bytes, stat: os.stat_result):
    """The item from Radicale's own item cache when it holds these bytes (a store that
    plain Radicale served), else None; never parses and never writes the cache."""
    if collection._storage._use_mtime_and_size_for_item_cache is True:
        cache_hash = collection._item_cache_mtime_and_size(stat.st_size, stat.st_mtime_ns)
    else:
        cache_hash = collection._item_cache_hash(raw)
    try:
        content = collection._load_item_cache(href, cache_hash)
    except (OSError, EOFError):
        return None
    if content is None:
        return None
    return item_from_fields(collection, href, stat, content.etag, content.text,
                            content.uid, content.name, content.tag,
                            (content.start, content.end))


def item_from_components(collection, href: str, stat: os.stat_result, vobject_items):
    """The item ``Collection._get`` makes of a parsed file: checked and sanitized as
    Radicale checks it (raises what Radicale raises there), but not written to
    Radicale's item cache (the side index keeps what that cache would)."""
    radicale_item.check_and_sanitize_items(
        vobject_items, tag=collection.tag,
        max_vevent_rrule_occurrence=collection._storage._max_vevent_rrule_occurrence)
    vobject_item, = vobject_items
    return radicale_item.Item(
        collection=collection, href=href, vobject_item=vobject_item,
        last_modified=time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                    time.gmtime(stat.st_mtime)))


def parsed_form(item):
    """The vobject form an item already holds, or None (never parses)."""
    return getattr(item, "_vobject_item", None)


_last_history_clean: dict = {}
HISTORY_CLEAN_INTERVAL = 300.0


def throttled_clean_history(collection, clean) -> None:
    """Radicale's ``_clean_history`` at most every few minutes per collection.

    Radicale 3.9 runs it after every upload: it lists the history folder and
    stats an item file per entry, so each write costs O(items) and a
    10,000-event import costs O(items²). It only expires history entries of
    deleted items older than ``max_sync_token_age`` (30 days by default), so
    doing it every few minutes loses nothing.
    """
    key = collection._filesystem_path
    now = time.monotonic()
    last = _last_history_clean.get(key)
    if last is not None and now - last < HISTORY_CLEAN_INTERVAL:
        return
    _last_history_clean[key] = now
    clean()




WRITE_METHODS = ("PUT", "DELETE", "MKCALENDAR", "MKCOL", "PROPPATCH", "MOVE")


def insufficient_storage_when(application, is_full, log) -> None:
    """Make ``application`` (a ``radicale.Application``) answer Radicale's own 507 to a
    write whose exception ``is_full`` recognises, instead of its 500."""
    for method in WRITE_METHODS:
        handler = getattr(application, "do_" + method, None)
        if handler is None:
            continue

        def guarded(environ, *args, _handler=handler, _method=method, **kwargs):
            try:
                return _handler(environ, *args, **kwargs)
            except Exception as e:
                if not is_full(e):
                    raise
                log.error("%s %r refused, no space left: %s", _method,
                          str(environ.get("PATH_INFO", ""))[:200], e)
                return httputils.INSUFFICIENT_STORAGE

        setattr(application, "do_" + method, guarded)


CACHE_FOLDER = ".Radicale.cache"
_FULL = (errno.ENOSPC, errno.EDQUOT)


def _in_cache(path: str) -> bool:
    return CACHE_FOLDER in path.split(os.sep)


@contextlib.contextmanager
def cache_write(path: str, mode: str, newline, atomic_write):
    """``Collection._atomic_write`` (given as ``atomic_write``), except that a cache file
    that finds no room, or no folder that ``cache_makedirs`` could not make, raises the
    ``PermissionError`` after which Radicale goes on without its cache file."""
    if not _in_cache(path):
        with atomic_write(path, mode, newline) as f:
            yield f
        return
    if not os.path.isdir(os.path.dirname(path)):
        raise PermissionError(errno.ENOENT, "cache folder missing (disk full?)", path)
    try:
        with atomic_write(path, mode, newline) as f:
            yield f
    except OSError as e:
        if isinstance(e, PermissionError) or e.errno not in _FULL:
            raise
        raise PermissionError(e.errno, "no room for a cache file", path) from e


def cache_makedirs(path: str, makedirs) -> None:
    """``Storage._makedirs_synced`` (given as ``makedirs``) that leaves a cache folder
    unmade on a full disk; `cache_write` then skips the files that would go in it."""
    try:
        makedirs(path)
    except OSError as e:
        if not _in_cache(path) or e.errno not in _FULL:
            raise


# -- one durable sync per batch (Radicale 3.9: StorageBase._fsync, _sync_directory,
#    CollectionPartCache._store_item_cache, _item_cache_content)

_deferred = threading.local()


def _deferring(storage) -> bool:
    return getattr(_deferred, "storage", None) is storage


@contextlib.contextmanager
def one_sync(storage) -> Iterator[None]:
    """Inside: this thread's writes through ``storage`` skip Radicale's per-file and
    per-folder fsyncs and its item cache files. On a normal exit the store's file system
    is synced once, so everything written inside is durable when this returns. On an
    exception nothing is synced: the caller rolls back (with Radicale's own fsyncs)."""
    if _deferring(storage) or not getattr(storage, "_filesystem_fsync", False):
        # Nested, or a store configured without fsync: nothing to gather.
        previous = getattr(_deferred, "storage", None)
        _deferred.storage = storage
        try:
            yield
        finally:
            _deferred.storage = previous
        return
    _deferred.storage = storage
    try:
        yield
    finally:
        _deferred.storage = None
    sync_filesystem(storage._filesystem_folder)


def _load_syncfs():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return getattr(libc, "syncfs", None)
    except OSError:
        return None


_SYNCFS = _load_syncfs()


def sync_filesystem(folder: str) -> None:
    """Make every write on ``folder``'s file system durable: ``syncfs(2)`` on Linux
    (one call, which also flushes other dirty data of that file system), else
    ``sync(2)``. Raises ``OSError`` when the kernel reports a write error."""
    if _SYNCFS is not None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                number = ctypes.get_errno()
                raise OSError(number, "syncfs failed: %s" % os.strerror(number), folder)
        finally:
            os.close(fd)
        return
    os.sync()


def atomic_writer(collection, atomic_write):
    """``Collection._atomic_write`` (given as ``atomic_write``); inside `one_sync` a
    temporary file beside the target, renamed over it, instead of Radicale's temporary
    folder per file (its ``rmdir`` was a third of a bulk write's time). The name starts
    with ``.Radicale.tmp-`` like Radicale's folders: no listing sees it, and one a kill
    leaves is tidied as theirs are (``storage/consistency.py``)."""
    if not _deferring(collection._storage):
        return atomic_write

    @contextlib.contextmanager
    def write(path: str, mode: str = "w", newline=None):
        folder, name = os.path.split(path)
        temporary = os.path.join(folder, ".Radicale.tmp-%s-%s" % (secrets.token_hex(6), name))
        try:
            with open(temporary, mode, newline=newline,
                      encoding=None if "b" in mode else collection._encoding) as f:
                yield f
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    return write


def deferred_fsync(storage, f, fsync) -> None:
    """``Storage._fsync`` (given as ``fsync``), skipped inside `one_sync`."""
    if not _deferring(storage):
        fsync(f)


def deferred_sync_directory(storage, path: str, sync_directory) -> None:
    """``Storage._sync_directory`` (given as ``sync_directory``), skipped inside `one_sync`."""
    if not _deferring(storage):
        sync_directory(path)


def store_item_cache(collection, href: str, item, cache_hash: str, store):
    """``Collection._store_item_cache`` (given as ``store``); inside `one_sync` the item
    goes into the in-memory memo under its file's identity instead of a cache file
    (the side index holds what that file would; it is rebuildable), so Radicale's
    ``_get`` right after the upload answers from memory without a parse."""
    if not _deferring(collection._storage):
        return store(href, item, cache_hash)
    content = collection._item_cache_content(item)
    path = os.path.join(collection._filesystem_path, href)
    try:
        stat = os.stat(path)
    except OSError:
        return content
    text = content.text
    ITEM_MEMO.put((path, stat.st_ino, stat.st_size, stat.st_mtime_ns),
                  (content.etag, text, content.uid, content.name, content.tag,
                   (content.start, content.end)), len(text))
    return content
