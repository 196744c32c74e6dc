"""Every use of a private Radicale API, in one place.

Written against Radicale 3.9.0 (``radicale==3.9.*`` is pinned in setup.cfg).
Radicale documents only its plugin base classes; what is used here has no
public equivalent:

* the file-system folder of a collection (``Collection._filesystem_path``),
  needed to notice items written by other programs (folder mtime + scandir);
* single-item loads without listing the folder (``Collection._get``);
* the storage-wide lock object's state, to assert we hold the write lock.

If a Radicale upgrade breaks one of these, this module is the only place to
change, and tests/test_radicale_compat.py says which.
"""

from __future__ import annotations

import os
from typing import Iterator, Optional, Tuple

from radicale import pathutils


def collection_folder(collection) -> str:
    return collection._filesystem_path


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


def lock_mode(storage) -> str:
    """"r", "w" or "" for the storage-wide lock of this storage instance."""
    return getattr(storage._lock, "locked", "")
