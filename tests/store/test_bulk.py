"""A batch pays per batch: no item cache file per item (the side index and the memo stand
in for it), one file-system sync at the end; what it wrote reads back the same from a
fresh process's view of the store, and Radicale's sync history knows every item."""

from __future__ import annotations

import os

import pytest

from radicale_wcap import radicale_compat
from radicale_wcap.lru import LRU
from radicale_wcap.store import READ, SYSTEM, WRITE, prepare_item
from tests.conftest import add_user, make_instance
from tests.store.test_handles import JDOE, ical

N = 25


@pytest.fixture
def instance(tmp_path):
    instance = make_instance(str(tmp_path))
    if not hasattr(instance.store.storage, "_filesystem_folder"):
        pytest.skip("file store only")
    add_user(instance, "jdoe")
    return instance


def _folder(tmp_path) -> str:
    return os.path.join(str(tmp_path), "collections", "collection-root", "jdoe", "calendar")


def _texts(instance):
    with instance.store.reading(JDOE, SYSTEM, READ) as calendar:
        return {i.uid: i.serialize() for i in calendar.items()}


def test_batch_writes_no_cache_file_and_reads_back(instance, tmp_path, monkeypatch):
    items = [prepare_item(instance.configuration, JDOE, ical("bulk-%d" % i, "S%d" % i))
             for i in range(N)]
    with instance.store.writing(JDOE, SYSTEM, WRITE) as calendar:
        for item in items:
            calendar.put(item)
    folder = _folder(tmp_path)
    hrefs = {name for name in os.listdir(folder) if name.startswith("bulk-")}
    assert len(hrefs) == N
    cache = os.path.join(folder, ".Radicale.cache", "item")
    cached = set(os.listdir(cache)) if os.path.isdir(cache) else set()
    assert not hrefs & cached
    history = set(os.listdir(os.path.join(folder, ".Radicale.cache", "history")))
    assert hrefs <= history   # sync-collection reports each of them
    written = _texts(instance)
    assert sorted(written) == sorted("bulk-%d" % i for i in range(N))
    # Another process: no memo, no cache file; the index and the files answer.
    monkeypatch.setattr(radicale_compat, "ITEM_MEMO", LRU(1 << 20))
    fresh = make_instance(str(tmp_path))
    assert _texts(fresh) == written


def test_single_writes_keep_radicales_cache(instance, tmp_path):
    """Outside a batch Radicale's own path is unchanged (its fsyncs and cache file)."""
    item = prepare_item(instance.configuration, JDOE, ical("single-1"))
    collection = instance.store.storage.calendar_at(JDOE)
    with instance.store.storage.acquire_lock("w", "", path=JDOE):
        collection.upload("single-1.ics", item)
    cache = os.path.join(_folder(tmp_path), ".Radicale.cache", "item")
    assert "single-1.ics" in os.listdir(cache)


def test_sync_filesystem_on_the_store(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    radicale_compat.sync_filesystem(str(tmp_path))   # raises on a kernel write error
    with pytest.raises(FileNotFoundError):
        radicale_compat.sync_filesystem(str(tmp_path / "missing"))


def test_a_killed_batchs_temporary_file_is_tidied(instance, tmp_path):
    """A batch writes through ``.Radicale.tmp-`` files beside their targets; one a kill
    left behind is removed when the calendar is next locked (once old enough)."""
    put_one = prepare_item(instance.configuration, JDOE, ical("bulk-x"))
    with instance.store.writing(JDOE, SYSTEM, WRITE) as calendar:
        calendar.put(put_one)
    folder = _folder(tmp_path)
    assert not [n for n in os.listdir(folder) if n.startswith(".Radicale.tmp-")]
    left = [os.path.join(folder, ".Radicale.tmp-dead-bulk-y.ics"),
            os.path.join(folder, ".Radicale.cache", "history", ".Radicale.tmp-dead-y")]
    young = os.path.join(folder, ".Radicale.tmp-live-bulk-z.ics")
    for path in left + [young]:
        with open(path, "w") as f:
            f.write("BEGIN:VCALENDAR\r\n")
    for path in left:
        os.utime(path, (1, 1))
    fresh = make_instance(str(tmp_path))
    with fresh.store.writing(JDOE, SYSTEM, WRITE) as calendar:
        calendar.put(prepare_item(fresh.configuration, JDOE, ical("bulk-y")))
    assert not any(os.path.exists(p) for p in left)
    assert os.path.exists(young)
    assert sorted(_texts(fresh)) == ["bulk-x", "bulk-y"]
