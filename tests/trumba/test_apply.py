"""All or nothing: a feed that fails part-way leaves the calendar as before.

A failure the process survives (an error, or ``SystemExit`` from a worker's
timeout) is rolled back at once; a process that dies (``Died`` with the
in-process rollback switched off stands for ``kill -9`` here; the real one
is in tests/store/test_crash.py) leaves its journal row, and the next use of
the calendar rolls it back before anyone reads it.
"""

from __future__ import annotations

import glob
import os

import pytest
import vobject

from radicale_wcap.middleware import make_app
from radicale_wcap.storage import batch as batch_mod
from radicale_wcap.trumba import apply as apply_mod
from tests.conftest import InProcessClient, make_instance
from tests.trumba.test_door_fixtures import (PATH, codes, event, feed, setup_calendar, stored,
                                             stored_texts)

URL = "/service/Campus.ics"


class Died(BaseException):
    """Stands for the process dying: nothing in the door may catch it."""


@pytest.fixture
def inst(tmp_path):
    instance = make_instance(str(tmp_path))
    setup_calendar(instance)
    return instance


@pytest.fixture
def cl(inst):
    return InProcessClient(make_app(inst))


@pytest.fixture
def dying(monkeypatch):
    """The batch's writer dies: no rollback in the process, the journal row stays."""
    monkeypatch.setattr(batch_mod.Batch, "_undo", lambda self, *args: None)


def fail_at(n, exc):
    def hook(number):
        if number == n:
            raise exc
    return hook


def caldav_uids(cl):
    r = cl.request("GET", PATH, user="jdoe")
    assert r.status == 200
    calendar = vobject.readOne(r.text)
    return {e.uid.value for e in getattr(calendar, "vevent_list", [])}


def files(inst, path=PATH):
    """The item files as they are on disk, read past the store (which would recover)."""
    folder = os.path.join(inst.configuration.get("storage", "filesystem_folder"),
                          "collection-root", path.strip("/"))
    found = {}
    for name in glob.glob(os.path.join(folder, "*.ics")):
        with open(name, encoding="utf-8") as f:
            found[os.path.basename(name)] = f.read()
    return found


def pending(inst):
    return inst.services.journal.pending()


def first_and_second():
    first = feed(event("a"), event("b"), event("c"), event("d"), event("e"))
    second = feed(event("a", "A2"), event("b", "B2"), event("c", "C2"), event("d"),
                  event("e"), event("f"), event("g"))
    return first, second


def origins(inst):
    return {(r.uid, r.fingerprint, r.etag) for r in inst.services.db.query(
        "SELECT uid, fingerprint, etag FROM origins WHERE path = :path", {"path": PATH})}


def test_error_on_third_write_rolls_back_at_once(cl, inst, monkeypatch):
    first, second = first_and_second()
    assert cl.request("PUT", URL, first, user="jdoe").status == 200
    before, before_texts, before_origins = stored(inst), stored_texts(inst), origins(inst)
    monkeypatch.setattr(batch_mod, "before_write", fail_at(2, OSError(28, "No space left")))
    r = cl.request("PUT", URL, second, user="jdoe")
    # The server's failure, not the file's: 507 and no 3101.
    assert r.status == 507 and 'ServerError Status="507"' in r.text and "3101" not in r.text
    assert "Traceback" not in r.text and "No space" not in r.text
    assert stored_texts(inst) == before_texts
    assert set(stored(inst)) == set(before)
    assert origins(inst) == before_origins
    assert pending(inst) == []
    assert caldav_uids(cl) == set(before)
    monkeypatch.setattr(batch_mod, "before_write", None)
    r = cl.request("PUT", URL, second, user="jdoe")        # the retry applies all of it
    assert sorted(codes(r)) == [1101, 1101, 1102, 1102, 1102]


def test_system_exit_mid_feed_is_rolled_back_before_it_goes_on(cl, inst, monkeypatch):
    # gunicorn's timeout ends a worker with SystemExit raised inside the request.
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before_files = files(inst)
    monkeypatch.setattr(batch_mod, "before_write", fail_at(3, SystemExit(1)))
    with pytest.raises(SystemExit):
        cl.request("PUT", URL, second, user="jdoe")
    assert files(inst) == before_files and pending(inst) == []


@pytest.mark.file_engine(reason="the journal's roll-back of a dead writer: SQL has no journal (the database drops a dead transaction)")
def test_dead_writers_feed_is_rolled_back_by_the_next_reader(cl, inst, monkeypatch, dying):
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before_files, before_texts = files(inst), stored_texts(inst)
    monkeypatch.setattr(batch_mod, "before_write", fail_at(3, Died()))
    with pytest.raises(Died):
        cl.request("PUT", URL, second, user="jdoe")
    monkeypatch.setattr(batch_mod, "before_write", None)
    assert files(inst) != before_files                      # really half-written
    assert len(pending(inst)) == 1
    assert caldav_uids(cl) == set(before_texts)             # a CalDAV read recovers first
    assert files(inst) == before_files and pending(inst) == []
    assert stored_texts(inst) == before_texts


@pytest.mark.file_engine(reason="the journal's roll-back of a dead writer: SQL has no journal (the database drops a dead transaction)")
def test_startup_recovers_every_calendar(cl, inst, monkeypatch, dying):
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before_files = files(inst)
    monkeypatch.setattr(batch_mod, "before_write", fail_at(3, Died()))
    with pytest.raises(Died):
        cl.request("PUT", URL, second, user="jdoe")
    monkeypatch.setattr(batch_mod, "before_write", None)
    assert inst.store.recover() == 1
    assert files(inst) == before_files and pending(inst) == []
    assert inst.store.recover() == 0


@pytest.mark.file_engine(reason="the journal's roll-back of a dead writer: SQL has no journal (the database drops a dead transaction)")
def test_next_put_recovers_first(cl, inst, monkeypatch, dying):
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before = stored(inst)
    monkeypatch.setattr(batch_mod, "before_write", fail_at(1, Died()))
    with pytest.raises(Died):
        cl.request("PUT", URL, feed(event("x"), event("y"), *[event(u) for u in "abcde"]),
                   user="jdoe")
    monkeypatch.setattr(batch_mod, "before_write", None)
    assert any("x" in text for text in files(inst).values())
    r = cl.request("PUT", URL, first, user="jdoe")
    assert r.status == 200 and codes(r) == []               # rolled back, then unchanged
    assert stored(inst) == before


@pytest.mark.file_engine(reason="the journal's roll-back of a dead writer: SQL has no journal (the database drops a dead transaction)")
def test_crash_during_deletions_restores_deleted(cl, inst, monkeypatch, dying):
    inst.registry.update_settings(PATH, feed_allow_mass_delete=True)
    cl.request("PUT", URL, feed(*(event(u) for u in "abcdef")), user="jdoe")
    before_texts = stored_texts(inst)
    monkeypatch.setattr(batch_mod, "before_write", fail_at(3, Died()))
    with pytest.raises(Died):
        cl.request("PUT", URL, feed(event("a")), user="jdoe")
    monkeypatch.setattr(batch_mod, "before_write", None)
    assert len(files(inst)) == 3
    assert stored_texts(inst) == before_texts


@pytest.mark.file_engine(reason="the journal's roll-back of a dead writer: SQL has no journal (the database drops a dead transaction)")
def test_rollback_leaves_an_item_changed_since_alone(inst):
    # Only an item still exactly as the batch wrote it is restored (storage.roll_back).
    from radicale_wcap.storage.journal import Entry
    store = inst.store
    assert store.exists(PATH)
    entries = [Entry(PATH, "nobody", "nobody.ics", None, '"not-what-is-there"')]
    with store.storage.acquire_lock("r"), store.storage.calendar_lock([PATH], "w"):
        assert store.storage.roll_back(entries) == 0


def test_family_paths_walks_the_tree(inst):
    for name in ("sub", "subsub", "other"):
        inst.store.create_calendar("jdoe:" + name, owner="jdoe", user="jdoe")
    inst.registry.set_parent("/jdoe/sub/", PATH)
    inst.registry.set_parent("/jdoe/subsub/", "/jdoe/sub/")
    assert sorted(apply_mod.family_paths(inst.registry, PATH)) == ["/jdoe/sub/", "/jdoe/subsub/"]
    assert sorted(apply_mod.family_paths(inst.registry, "/jdoe/subsub/")) == [PATH, "/jdoe/sub/"]
    assert apply_mod.family_paths(inst.registry, "/jdoe/other/") == []
