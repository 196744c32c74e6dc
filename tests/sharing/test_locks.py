"""A write through a shared path locks the owner's calendar: it waits for a reader of
that calendar (who must see a batch before or after it, never half) like a write at
the owner's path does."""

from __future__ import annotations

import threading
import time

import pytest

from radicale_wcap import store as store_mod
from tests.conftest import add_user


@pytest.mark.file_engine(reason="the SQL engine's reads take no lock (one MVCC "
                                  "snapshot each), so no writer waits for a reader")
def test_write_lock_on_a_shared_path_is_the_owners_calendar(instance):
    for name in ("jdoe", "jsmith"):
        add_user(instance, name)
    storage = instance.store.storage
    acquired = threading.Event()

    def write_through_share():
        with storage.acquire_lock("w", "jsmith", path="/jsmith/~jdoe/x.ics",
                                  request="PUT"):
            acquired.set()

    with instance.store.reading("/jdoe/calendar/", "jdoe", store_mod.READ):
        writer = threading.Thread(target=write_through_share)
        writer.start()
        time.sleep(0.5)
        assert not acquired.is_set()  # waits for the owner's calendar
    writer.join(10)
    assert acquired.is_set()
