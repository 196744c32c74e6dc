"""All or nothing: a feed that fails part-way leaves the calendar as before."""

from __future__ import annotations

import pytest
import vobject

from radicale_wcap.middleware import make_app
from radicale_wcap.trumba import apply as apply_mod
from radicale_wcap.trumba.journal import Journal, recover
from tests.conftest import InProcessClient, make_instance
from tests.trumba.test_door_fixtures import (PATH, codes, event, feed, setup_calendar, stored,
                                             stored_texts)

URL = "/service/Campus.ics"


class Crash(BaseException):
    """Stands for the process dying: nothing in the door may catch it."""


@pytest.fixture
def inst(tmp_path):
    instance = make_instance(str(tmp_path))
    setup_calendar(instance)
    return instance


@pytest.fixture
def cl(inst):
    return InProcessClient(make_app(inst))


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


def first_and_second():
    first = feed(event("a"), event("b"), event("c"), event("d"), event("e"))
    second = feed(event("a", "A2"), event("b", "B2"), event("c", "C2"), event("d"),
                  event("e"), event("f"), event("g"))
    return first, second


def origins(inst):
    return {(r["uid"], r["fingerprint"], r["etag"]) for r in inst.services.db.query(
        "SELECT uid, fingerprint, etag FROM origins WHERE path = ?", (PATH,))}


def test_error_on_third_write_rolls_back_at_once(cl, inst, monkeypatch):
    first, second = first_and_second()
    assert cl.request("PUT", URL, first, user="jdoe").status == 200
    before, before_texts, before_origins = stored(inst), stored_texts(inst), origins(inst)
    monkeypatch.setattr(apply_mod, "before_write", fail_at(2, OSError(28, "No space left")))
    r = cl.request("PUT", URL, second, user="jdoe")
    assert r.status == 500 and codes(r) == [3101]
    assert "Traceback" not in r.text and "No space" not in r.text
    assert stored_texts(inst) == before_texts
    assert set(stored(inst)) == set(before)
    assert origins(inst) == before_origins
    assert Journal(inst.services.db).pending() == []
    assert caldav_uids(cl) == set(before)
    monkeypatch.setattr(apply_mod, "before_write", None)
    r = cl.request("PUT", URL, second, user="jdoe")        # the retry applies all of it
    assert sorted(codes(r)) == [1101, 1101, 1102, 1102, 1102]


def test_crash_mid_feed_is_rolled_back_by_recover(cl, inst, monkeypatch):
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before_texts = stored_texts(inst)
    monkeypatch.setattr(apply_mod, "before_write", fail_at(3, Crash()))
    with pytest.raises(Crash):
        cl.request("PUT", URL, second, user="jdoe")
    monkeypatch.setattr(apply_mod, "before_write", None)
    assert stored_texts(inst) != before_texts               # really half-written
    assert len(Journal(inst.services.db).pending()) == 1
    assert recover(inst) == 1
    assert stored_texts(inst) == before_texts
    assert Journal(inst.services.db).pending() == []
    assert caldav_uids(cl) == set(before_texts)
    assert recover(inst) == 0


def test_next_put_recovers_first(cl, inst, monkeypatch):
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before = stored(inst)
    monkeypatch.setattr(apply_mod, "before_write", fail_at(1, Crash()))
    with pytest.raises(Crash):
        cl.request("PUT", URL, feed(event("x"), event("y"), *[event(u) for u in "abcde"]),
                   user="jdoe")
    monkeypatch.setattr(apply_mod, "before_write", None)
    assert "x" in stored(inst)
    r = cl.request("PUT", URL, first, user="jdoe")
    assert r.status == 200 and codes(r) == []               # rolled back, then unchanged
    assert stored(inst) == before


def test_crash_during_deletions_restores_deleted(cl, inst, monkeypatch):
    inst.registry.update_settings(PATH, feed_allow_mass_delete=True)
    cl.request("PUT", URL, feed(*(event(u) for u in "abcdef")), user="jdoe")
    before_texts = stored_texts(inst)
    monkeypatch.setattr(apply_mod, "before_write", fail_at(3, Crash()))
    with pytest.raises(Crash):
        cl.request("PUT", URL, feed(event("a")), user="jdoe")
    monkeypatch.setattr(apply_mod, "before_write", None)
    assert len(stored(inst)) == 3
    recover(inst)
    assert stored_texts(inst) == before_texts


def test_recovery_leaves_later_edits_alone(cl, inst, monkeypatch):
    first, second = first_and_second()
    cl.request("PUT", URL, first, user="jdoe")
    before_texts = stored_texts(inst)
    monkeypatch.setattr(apply_mod, "before_write", fail_at(2, Crash()))
    with pytest.raises(Crash):
        cl.request("PUT", URL, second, user="jdoe")
    monkeypatch.setattr(apply_mod, "before_write", None)
    edited = stored_texts(inst)["a"].replace("SUMMARY:A2", "SUMMARY:Edited after crash")
    assert cl.request("PUT", PATH + "a.ics", edited, user="jdoe").status == 204
    recover(inst)
    after = stored_texts(inst)
    assert "SUMMARY:Edited after crash" in after["a"]
    assert after["b"] == before_texts["b"]


def test_family_paths_walks_the_tree(inst):
    for name in ("sub", "subsub", "other"):
        inst.store.create_calendar("jdoe:" + name, owner="jdoe", user="jdoe")
    inst.registry.set_parent("/jdoe/sub/", PATH)
    inst.registry.set_parent("/jdoe/subsub/", "/jdoe/sub/")
    assert sorted(apply_mod.family_paths(inst.registry, PATH)) == ["/jdoe/sub/", "/jdoe/subsub/"]
    assert sorted(apply_mod.family_paths(inst.registry, "/jdoe/subsub/")) == [PATH, "/jdoe/sub/"]
    assert apply_mod.family_paths(inst.registry, "/jdoe/other/") == []
