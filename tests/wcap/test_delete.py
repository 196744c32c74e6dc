"""delete*_by_id and *_by_range: mod 1-4, 59 for what is gone, layer arrays, formats,
CalDAV interop."""

from __future__ import annotations

import pytest
import vobject

from tests.wcap.conftest import errno_of, ical_errno, run_js, xml_errnos
from tests.wcap.test_store import RULE, Wcap, comps, env  # noqa: F401  (fixture)


def _count(body) -> int:
    # A one-element array is the literal ``[n]`` (``new Array(n)`` would be n empty slots).
    import re
    return int(re.search(rb"delete_event_count=\[(\d+)\]", body).group(1))


def _series(env, uid):
    env("storeevents", calid="alice", uid=uid, dtstart="20240101T090000Z",
        dtend="20240101T100000Z", summary="S", rrules=RULE)


@pytest.mark.parametrize("fmt", ["text/calendar", "text/xml", "text/js", "text/json"])
def test_delete_by_id_formats_and_59(env, fmt):
    env("storeevents", calid="alice", uid="a1", dtstart="20240101T090000Z", summary="x")
    body = env("deleteevents_by_id", fmt=fmt, calid="alice", uid="a1;gone", rid="0;0", mod="4")
    if fmt == "text/js":
        js = run_js(body.decode())
        assert js["delete_layer_errno"] == [0, 59] and js["delete_event_count"] == [1, 0]
    elif fmt == "text/xml":
        assert xml_errnos(body) == [59]
    elif fmt == "text/json":
        assert errno_of(("200 OK", [], body), fmt) == 59 and '"UID":"a1"' in body.decode()
    else:
        assert ical_errno(body) == 59 and b"UID:a1" in body
    assert env.stored("a1") is None
    assert ical_errno(env("deleteevents_by_id", calid="alice", uid="a1", rid="0", mod="4")) == 59


@pytest.mark.parametrize("mod,left", [(1, 4), (2, 2), (3, 2), (4, None)])
def test_delete_mods(env, mod, left):
    uid = "dm%d" % mod
    _series(env, uid)
    body = env("deleteevents_by_id", fmt="text/js", calid="alice", uid=uid,
               rid="20240115T090000Z", mod=str(mod))
    js = run_js(body.decode())
    assert js["errno"] == 0
    vcal = env.stored(uid)
    if left is None:
        assert vcal is None and _count(body) == 5
        return
    from radicale_wcap import recurrence
    occ = recurrence.expand(comps(vcal), None, None, max_count=100, budget_s=1).occurrences
    assert len(occ) == left and _count(body) == 5 - left
    starts = {o.start.day for o in occ}
    assert 15 not in starts


def test_lightning_exdate_list_one_mod(env):
    _series(env, "lx")
    js = run_js(env("deleteevents_by_id", fmt="text/js", calid="alice", uid="lx;lx",
                    rid="20240108T090000Z;20240122T090000Z", mod="1").decode())
    assert js["delete_layer_errno"] == [0, 0]
    assert len(comps(env.stored("lx"))[0].contents["exdate"]) == 2


def test_delete_todo_and_access(env):
    env("storetodos", calid="alice", uid="td", summary="t", due="20240101T000000Z")
    bob = Wcap(env.client, env.instance, "bob")
    assert ical_errno(bob("deletetodos_by_id", calid="alice", uid="td", rid="0", mod="4")) == 16
    assert ical_errno(env("deleteevents_by_id", calid="alice", uid="td", rid="0", mod="4")) == 59
    assert ical_errno(env("deletetodos_by_id", calid="alice", uid="td", rid="0", mod="4")) == 0
    assert env.stored("td") is None


def test_delete_by_range(env):
    for i, day in enumerate(("05", "06", "20")):
        env("storeevents", calid="alice", uid="rg%d" % i, dtstart="202403%sT100000Z" % day,
            dtend="202403%sT110000Z" % day, summary="x")
    env("storetodos", calid="alice", uid="rgt", dtstart="20240305T100000Z",
        due="20240305T110000Z", summary="t")
    js = run_js(env("deleteevents_by_range", fmt="text/js", calid="alice;ghost",
                    dtstart="20240301T000000Z", dtend="20240310T000000Z").decode())
    assert js["delete_layer_errno"] == [0, 29] and js["delete_event_count"] == [2, 0]
    assert env.stored("rg0") is None and env.stored("rg2") is not None
    assert env.stored("rgt") is not None
    body = env("deletecomponents_by_range", fmt="text/xml", calid="alice", dtstart="0", dtend="0")
    assert xml_errnos(body) == [0]
    assert env.stored("rg2") is None and env.stored("rgt") is None


def test_caldav_write_then_wcap_delete(live):
    import caldav
    from tests.conftest import TEST_PASSWORD, add_user
    if live.instance.directory.get("dave") is None:
        add_user(live.instance, "dave")
    wcap = Wcap(live.client, live.instance, "dave")
    dav = caldav.DAVClient(url=live.url + "/dave/calendar/", username="dave",
                           password=TEST_PASSWORD)
    cal = dav.calendar(url=live.url + "/dave/calendar/")
    cal.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
                   "UID:dd1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240201T090000Z\r\n"
                   "DTEND:20240201T100000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:D\r\n"
                   "END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert ical_errno(wcap("deleteevents_by_id", calid="dave", uid="dd1",
                           rid="20240202T090000Z", mod="1")) == 0
    ev = vobject.readOne(cal.event_by_uid("dd1").data).vevent
    assert "exdate" in ev.contents
    assert ical_errno(wcap("deleteevents_by_id", calid="dave", uid="dd1", rid="0", mod="4")) == 0
    with pytest.raises(Exception):
        cal.event_by_uid("dd1")
