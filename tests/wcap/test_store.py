"""storeevents/storetodos end to end: in-process and over the live server, every fmt-out,
partial updates, rid/mod, errnos, CalDAV interop (the `caldav` package)."""

from __future__ import annotations

import re

import pytest
import vobject

from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.conftest import errno_of, ical_errno, parse_json, run_js, xml_errnos

RULE = '%22FREQ%3DWEEKLY%3BCOUNT%3D5%22'


class Wcap:
    def __init__(self, client, instance, user):
        self.client, self.instance, self.user = client, instance, user
        self.sid = instance.sessions.create(user)

    def __call__(self, cmd, fmt="text/calendar", **params):
        query = "&".join("%s=%s" % (k.replace("_", "-") if k == "fmt_out" else k, v)
                         for k, v in params.items())
        r = self.client.request("GET", "/%s.wcap?id=%s&fmt-out=%s&%s" % (cmd, self.sid, fmt, query))
        assert r.status == 200
        return r.body

    def stored(self, uid, calid=None):
        from radicale_wcap import calid as calid_mod
        with self.instance.store.reading(calid_mod.to_path(calid or self.user), SYSTEM,
                                         READ) as calendar:
            item = calendar.by_uid(uid)
            return item.vobject_item if item else None


@pytest.fixture
def env(tmp_path):
    instance = make_instance(str(tmp_path))
    add_user(instance, "alice")
    add_user(instance, "bob")
    client = InProcessClient(make_app(instance))
    return Wcap(client, instance, "alice")


def comps(vcal, name="VEVENT"):
    return [c for c in vcal.getChildren() if c.name == name]


def test_create_full_then_partial_update(env):
    body = env("storeevents", calid="alice", uid="e1", dtstart="20240101T090000",
               tzid="Europe/Berlin", dtend="20240101T100000", summary="Plan%20%3B%20review",
               desc="Long%0Atext", location="Room%201", icsUrl="http%3A%2F%2Fx.org",
               categories="A;B", priority="3", icsClass="PRIVATE", status="2",
               transparent="1", geo="37.5;-122.25", attachments="http%3A%2F%2Fa",
               contacts="Ann", alarmStart="-PT15M", relativealarm="1", storetype="1",
               fetch="1", recurring="1")
    assert ical_errno(body) == 0 and b"UID:e1" in body
    ev = comps(env.stored("e1"))[0]
    assert "DTSTART;TZID=Europe/Berlin:20240101T090000" in env.stored("e1").serialize()
    assert ev.summary.value == "Plan ; review" and ev.description.value == "Long\ntext"
    assert ev.categories.value == ["A", "B"] and ev.status.value == "TENTATIVE"
    assert ev.transp.value == "TRANSPARENT" and ev.contents["class"][0].value == "PRIVATE"
    assert ev.valarm.action.value == "EMAIL" and str(ev.valarm.trigger.value) == "-1 day, 23:45:00"
    assert "VTIMEZONE" in env.stored("e1").serialize()
    # partial update: only the summary; categories append with replace=0, replace with 1
    env("storeevents", calid="alice", uid="e1", summary="New", categories="C", storetype="2")
    ev = comps(env.stored("e1"))[0]
    assert ev.summary.value == "New" and ev.location.value == "Room 1"
    assert ev.categories.value == ["A", "B", "C"] and ev.priority.value == "3"
    env("storeevents", calid="alice", uid="e1", categories="Z", replace="1")
    assert comps(env.stored("e1"))[0].categories.value == ["Z"]
    # moving the start keeps the duration
    env("storeevents", calid="alice", uid="e1", dtstart="20240102T080000Z")
    ev = comps(env.stored("e1"))[0]
    assert (ev.dtend.value - ev.dtstart.value).total_seconds() == 3600


@pytest.mark.parametrize("fmt", ["text/calendar", "text/xml", "text/js", "text/json"])
def test_store_answers_in_every_format(env, fmt):
    body = env("storeevents", fmt=fmt, calid="alice", uid="f-" + fmt[5:], dtstart="20240301T100000Z",
               dtend="20240301T110000Z", summary="x")
    if fmt == "text/calendar":
        assert ical_errno(body) == 0 and b"REQUEST-STATUS:2.0;Success.  Store successful." in body
    elif fmt == "text/xml":
        assert xml_errnos(body) == [0]
    elif fmt == "text/json":
        status = parse_json(body)["iCalendar"]["iCal"][0]["VEVENT"][0]["REQUEST-STATUS"]
        assert status == ["2.0;Success.  Store successful."]
    else:
        assert run_js(body.decode())["errno"] == 0
    again = env("storeevents", fmt=fmt, calid="alice", uid="f-" + fmt[5:], storetype="1",
                dtstart="20240301T100000Z", summary="x")
    assert errno_of(("200 OK", [], again), fmt) == 63


@pytest.mark.parametrize("params,errno", [
    (dict(uid="nope", storetype="2", summary="x"), 62),
    (dict(uid="b1", dtstart="2024-bad", summary="x"), 14),
    (dict(uid="b2", dtstart="20240101T000000", tzid="Mars/Base", summary="x"), 14),
    (dict(uid="b3", dtstart="20240101T000000Z", rrules='%22FREQ%3DSECONDLY%22'), 14),
    (dict(uid="b4", dtstart="20240101T000000Z", rrules='%22FREQ%3DDAILY%3BBYMONTH%3D2%3BBYMONTHDAY%3D30%22'), 14),
    (dict(uid="b5", dtstart="20240101T000000Z", orgUID="alice"), 67),
    (dict(uid="b6", dtstart="20240102T000000Z", dtend="20240101T000000Z"), 14),
    (dict(uid="b7", summary="no start"), 14),
])
def test_bad_input_writes_nothing(env, params, errno):
    assert ical_errno(env("storeevents", calid="alice", **params)) == errno
    assert env.stored(params["uid"]) is None


def test_access_and_missing_calendar(env):
    bob = Wcap(env.client, env.instance, "bob")
    assert ical_errno(bob("storeevents", calid="alice", uid="x", dtstart="20240101T000000Z")) == 28
    assert ical_errno(bob("storeevents", calid="ghost", uid="x", dtstart="20240101T000000Z")) == 29
    assert env.stored("x") is None


def test_double_booking(env):
    env.instance.registry.update_settings("/alice/calendar/", allow_double_booking=False)
    assert ical_errno(env("storeevents", calid="alice", uid="d1", dtstart="20240105T100000Z",
                          dtend="20240105T110000Z")) == 0
    assert ical_errno(env("storeevents", calid="alice", uid="d2", dtstart="20240105T103000Z",
                          dtend="20240105T113000Z")) == 40
    assert env.stored("d2") is None
    # transparent and non-overlapping events are fine; the event itself may move
    assert ical_errno(env("storeevents", calid="alice", uid="d3", dtstart="20240105T103000Z",
                          dtend="20240105T113000Z", transparent="1")) == 0
    assert ical_errno(env("storeevents", calid="alice", uid="d1", dtstart="20240105T101500Z")) == 0


def test_todo_fields(env):
    body = env("storetodos", calid="alice", uid="t1", dtstart="20240101T090000Z",
               due="20240102T090000Z", summary="Do", percent="50", status="5", fetch="1")
    assert ical_errno(body) == 0 and b"BEGIN:VTODO" in body
    todo = comps(env.stored("t1"), "VTODO")[0]
    assert todo.status.value == "IN-PROCESS" and todo.contents["percent-complete"][0].value == "50"
    env("storetodos", calid="alice", uid="t1", completed="20240101T120000Z", status="4")
    todo = comps(env.stored("t1"), "VTODO")[0]
    assert todo.status.value == "COMPLETED" and "completed" in todo.contents
    # storeevents on a todo uid is refused, nothing changes
    assert ical_errno(env("storeevents", calid="alice", uid="t1", summary="x")) != 0


def test_all_day(env):
    env("storeevents", calid="alice", uid="ad", dtstart="20240120", dtend="20240121",
        isAllDay="1", summary="Holiday")
    ev = comps(env.stored("ad"))[0]
    assert str(ev.dtstart.value) == "2024-01-20" and ev.dtstart.params["VALUE"] == ["DATE"]
    assert str(ev.dtend.value) == "2024-01-21"


def _series(env, uid):
    env("storeevents", calid="alice", uid=uid, dtstart="20240101T090000Z",
        dtend="20240101T100000Z", summary="S", rrules=RULE)


@pytest.mark.parametrize("mod", [1, 2, 3, 4])
def test_mod_on_recurring_series(env, mod):
    uid = "r%d" % mod
    _series(env, uid)
    body = env("storeevents", calid="alice", uid=uid, rid="20240115T090000Z", mod=str(mod),
               summary="Changed", fetch="1", recurring="1")
    assert ical_errno(body) == 0
    cs = comps(env.stored(uid))
    master = [c for c in cs if "recurrence-id" not in c.contents][0]
    overrides = {str(c.contents["recurrence-id"][0].value)[:10]: c for c in cs
                 if "recurrence-id" in c.contents}
    if mod == 1:
        assert master.summary.value == "S" and list(overrides) == ["2024-01-15"]
        assert overrides["2024-01-15"].summary.value == "Changed"
    elif mod == 2:
        assert master.summary.value == "S"
        rid = overrides["2024-01-15"].contents["recurrence-id"][0]
        assert rid.params["RANGE"] == ["THISANDFUTURE"]
    elif mod == 3:
        assert master.summary.value == "S"
        assert sorted(overrides) == ["2024-01-01", "2024-01-08", "2024-01-15"]
        assert all(c.summary.value == "Changed" for c in overrides.values())
    else:
        assert master.summary.value == "Changed" and not overrides


def test_mod1_moves_one_instance(env):
    _series(env, "mv")
    env("storeevents", calid="alice", uid="mv", rid="20240108T090000Z", mod="1",
        dtstart="20240108T120000Z", dtend="20240108T130000Z")
    over = [c for c in comps(env.stored("mv")) if "recurrence-id" in c.contents][0]
    assert over.dtstart.value.hour == 12 and over.summary.value == "S"


def test_store_over_live_server_and_caldav_sees_it(live):
    import caldav
    instance = live.instance
    if instance.directory.get("carol") is None:
        add_user(instance, "carol")
    wcap = Wcap(live.client, instance, "carol")
    assert ical_errno(wcap("storeevents", calid="carol", uid="lv1", dtstart="20240110T090000Z",
                           dtend="20240110T100000Z", summary="Live", rrules=RULE)) == 0
    wcap("storeevents", calid="carol", uid="lv1", rid="20240117T090000Z", mod="1",
         summary="Moved")
    assert ical_errno(wcap("storeevents", calid="carol", uid="lv2", dtstart="20240120",
                           dtend="20240121", isAllDay="1", summary="Day")) == 0
    from tests.conftest import TEST_PASSWORD
    dav = caldav.DAVClient(url=live.url + "/carol/calendar/", username="carol",
                           password=TEST_PASSWORD)
    cal = dav.calendar(url=live.url + "/carol/calendar/")
    ev = cal.event_by_uid("lv1")
    parsed = vobject.readOne(ev.data)
    assert len(parsed.vevent_list) == 2
    assert {c.summary.value for c in parsed.vevent_list} == {"Live", "Moved"}
    day = vobject.readOne(cal.event_by_uid("lv2").data).vevent
    assert day.dtstart.value.isoformat() == "2024-01-20"
    # CalDAV write -> WCAP modify
    cal.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
                   "UID:dav1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240201T090000Z\r\n"
                   "DTEND:20240201T100000Z\r\nSUMMARY:From DAV\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert ical_errno(wcap("storeevents", calid="carol", uid="dav1", storetype="2",
                           location="Here")) == 0
    back = vobject.readOne(cal.event_by_uid("dav1").data).vevent
    assert back.summary.value == "From DAV" and back.location.value == "Here"
