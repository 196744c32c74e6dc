"""fetch* commands against a real store (in-process app and a live server)."""

from __future__ import annotations

import datetime as dt
import os
import re
import time

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.wcap import components
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.conftest import ical_lines, parse_xml, run_js
from tests.wcap.fetch_data import WEEK, ics_file, populate, put, wcap

FORMATS = ("text/calendar", "text/xml", "text/js")
LIGHTNING = dict(relativealarm=1, compressed=1, recurring=1, emailorcalid=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = make_instance(str(tmp_path_factory.mktemp("fetch")))
    for user in ("alice", "bob", "carol"):
        add_user(instance, user)
    client = InProcessClient(make_app(instance))
    populate(client)
    # carol may read alice's calendar; bob only sees free/busy (the default ACL).
    instance.registry.set_acl("/alice/calendar/", instance.registry.get(
        "/alice/calendar/").acl + ";carol^c^r^g")
    instance.registry.set_acl("/carol/calendar/", "@@o^c^wdeic^g;@@o^a^r^g;@^a^^g")
    world = type("World", (), {})()
    world.instance, world.client = instance, client
    world.sid = {u: instance.sessions.create(u) for u in ("alice", "bob", "carol")}
    return world


def uids(body: bytes) -> list[str]:
    return [line[4:] for line in ical_lines(body) if line.startswith("UID:")]


def blocks(body: bytes, kind: str = "VEVENT") -> list[list[str]]:
    out, current = [], None
    for line in ical_lines(body):
        if line == "BEGIN:" + kind:
            current = []
        elif line == "END:" + kind:
            out.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return out


def errno(response, fmt):
    if fmt == "text/calendar":
        return [int(l.split(":")[1]) for l in ical_lines(response.body)
                if l.startswith("X-NSCP-WCAP-ERRNO:")][0]
    if fmt == "text/xml":
        return int(next(parse_xml(response.body).iter("X-NSCP-WCAP-ERRNO")).text)
    return run_js(response.text)["errno"]


# ---------------------------------------------------------------- range

def test_range_lightning_style_master_and_exceptions(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", calid="alice", **LIGHTNING, **WEEK)
    found = uids(r.body)
    assert "later-1" not in found
    assert found.count("series-1") == 2  # master + the moved instance
    for uid in ("weekly-forever", "allday-1", "floating-1", "todo-1", "invite-1"):
        assert uid in found
    lines = ical_lines(r.body)
    assert "X-NSCP-CALPROPS-RELATIVE-CALID:alice" in lines
    assert lines[-2] == "X-NSCP-WCAP-ERRNO:0"
    master = next(b for b in blocks(r.body) if "UID:series-1" in b and
                  not any(l.startswith("RECURRENCE-ID") for l in b))
    assert "DTSTART:20240101T090000Z" in master  # Paris 10:00 in UTC
    assert "X-NSCP-DTSTART-TZID:Europe/Paris" in master
    assert "EXDATE:20240103T090000Z" in master and "RRULE:FREQ=DAILY;COUNT=10" in master
    assert "TRIGGER:-PT15M" in master  # relativealarm=1
    allday = next(b for b in blocks(r.body) if "UID:allday-1" in b)
    assert "DTSTART;VALUE=DATE:20240104" in allday
    floating = next(b for b in blocks(r.body) if "UID:floating-1" in b)
    assert "DTSTART:20240106T090000" in floating
    invite = next(b for b in blocks(r.body) if "UID:invite-1" in b)
    assert any("X-S1CS-CALID=alice:mailto:alice@example.com" in l for l in invite)
    assert any(l.startswith("ORGANIZER") and "X-S1CS-CALID=bob" in l for l in invite)


def test_range_expanded_instances(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", recurring=0, compressed=0, **WEEK)
    series = [b for b in blocks(r.body) if "UID:series-1" in b]
    rids = sorted(l for b in series for l in b if l.startswith("RECURRENCE-ID"))
    # 1st..7th January minus the EXDATE of the 3rd; the 2nd is the override
    assert rids == ["RECURRENCE-ID:202401%02dT090000Z" % d for d in (1, 2, 4, 5, 6, 7)]
    assert not any(l.startswith(("RRULE", "EXDATE")) for b in series for l in b)
    moved = next(b for b in series if "RECURRENCE-ID:20240102T090000Z" in b)
    assert "DTSTART:20240102T130000Z" in moved and "SUMMARY:Stand-up moved" in moved
    fifth = next(b for b in series if "RECURRENCE-ID:20240105T090000Z" in b)
    assert "DTSTART:20240105T090000Z" in fifth and "DTEND:20240105T100000Z" in fifth
    alarm_trigger = [l for l in fifth if l.startswith("TRIGGER")]
    assert alarm_trigger == ["TRIGGER;VALUE=DATE-TIME:20240105T084500Z"]  # absolute


def test_infinite_rule_unbounded_range_uses_recurrence_bound(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", dtstart=0, dtend=0, recurring=0,
             component_type="event")
    weekly = [b for b in blocks(r.body) if "UID:weekly-forever" in b]
    assert len(weekly) == 60  # manual: default recurrence bound
    assert not blocks(r.body, "VTODO")


def test_tzidout(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", tzidout="America/New_York", **LIGHTNING, **WEEK)
    invite = next(b for b in blocks(r.body) if "UID:invite-1" in b)
    assert "DTSTART;TZID=America/New_York:20240103T080000" in invite


def test_tzid_applies_to_non_zulu_bounds(world):
    # 2024-03-01 10:00Z is 2024-03-01 05:00 in New York: a range ending at 05:30 NY has it.
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", tzid="America/New_York", dtstart="20240301T040000",
             dtend="20240301T053000", **LIGHTNING)
    assert uids(r.body) == ["later-1"]
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", dtstart="20240301T040000", dtend="20240301T053000",
             **LIGHTNING)
    assert uids(r.body) == []  # the same bounds in UTC miss it


@pytest.mark.parametrize("fmt", FORMATS)
def test_layers_and_errnos_in_every_format(world, fmt):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["bob"], fmt_out=fmt,
             calid=["bob", "nosuch", "alice", "Bad/Id"], **LIGHTNING, **WEEK)
    assert errno(r, fmt) == 0
    if fmt == "text/js":
        page = run_js(r.text)
        assert page["layer_errno"] == [0, 29, 28, 30]
        assert [c["calid"] for c in page["calprops"]] == ["bob", "nosuch", "alice", "Bad/Id"]
        assert page["size"] == 0
    elif fmt == "text/xml":
        root = parse_xml(r.body)
        assert [int(e.text) for e in root.iter("X-NSCP-WCAP-ERRNO")] == [0, 29, 28, 30]
    else:
        assert uids(r.body) == []


def test_freebusy_only_is_28_alone(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["bob"],
             fmt_out="text/calendar", calid="alice", **WEEK)
    assert errno(r, "text/calendar") == 28
    assert uids(r.body) == []


def test_reader_by_acl_and_mailto(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["carol"],
             fmt_out="text/calendar", calid="mailto:alice@example.com", **LIGHTNING, **WEEK)
    assert errno(r, "text/calendar") == 0
    assert "invite-1" in uids(r.body)
    assert "X-NSCP-CALPROPS-RELATIVE-CALID:mailto:alice@example.com" in "\n".join(
        ical_lines(r.body)).replace(";X-S1CS-EMAIL=alice@example.com", "")


def test_js_event_arrays(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"], fmt_out="text/js",
             **LIGHTNING, **WEEK)
    page = run_js(r.text)
    assert page["errno"] == 0
    assert [e["uid"] for e in page["eventD"]] == ["allday-1"]
    assert page["eventD"][0]["isAllDay"] == 1
    # the todo runs from the 2nd 09:00 to the 3rd 17:00: longer than 24 hours
    assert page["todosize"] == 1 and page["todoD"][0]["uid"] == "todo-1"
    assert page["size"] == len(page["event"]) + 1


def test_xml_components(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"], fmt_out="text/xml",
             **LIGHTNING, **WEEK)
    root = parse_xml(r.body)
    events = root.find("iCal").findall("EVENT")
    assert {e.findtext("UID") for e in events} >= {"series-1", "allday-1", "invite-1"}
    assert root.find("iCal").find("TODO").findtext("DUE") == "20240103T170000Z"
    moved = [e for e in events if e.findtext("RECURID")]
    assert [e.findtext("START") for e in moved] == ["20240102T130000Z"]


def test_compstate_and_component_type(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", compstate="REQUEST-NEEDS-ACTION", dtstart="20240101",
             dtend=0, **LIGHTNING)
    assert uids(r.body) == ["invite-1"]
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", compstate="REQUEST-WAITFORREPLY", **LIGHTNING, **WEEK)
    assert uids(r.body) == ["meeting-1"]
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", component_type="todo", **LIGHTNING, **WEEK)
    assert uids(r.body) == ["todo-1"]


def test_emailorcalid_zero_puts_calid_in_value(world):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", emailorcalid=0, recurring=1, **WEEK)
    invite = next(b for b in blocks(r.body) if "UID:invite-1" in b)
    assert "ORGANIZER;CN=Bob;X-S1CS-EMAIL=bob@example.com:bob" in invite


@pytest.mark.parametrize("fmt", FORMATS)
def test_max_results(world, fmt):
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"], fmt_out=fmt,
             maxResults=2, **LIGHTNING, **WEEK)
    if fmt == "text/js":
        page = run_js(r.text)
        assert page["maxResults"] == 2 and page["size"] == 2 and page["todosize"] == 1
    elif fmt == "text/calendar":
        assert len(blocks(r.body)) == 2 and len(blocks(r.body, "VTODO")) == 1
    else:
        assert len(parse_xml(r.body).find("iCal").findall("EVENT")) == 2


def test_session_and_tzid_errors(world):
    r = wcap(world.client, "fetchcomponents_by_range", "nope", fmt_out="text/calendar")
    assert errno(r, "text/calendar") == 1
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", tzid="Mars/Base")
    assert errno(r, "text/calendar") == 18
    r = wcap(world.client, "fetchcomponents_by_range", world.sid["alice"],
             fmt_out="text/calendar", dtstart="yesterday")
    assert errno(r, "text/calendar") == 13


# ---------------------------------------------------------------- by id

@pytest.mark.parametrize("fmt", FORMATS)
def test_fetchevents_by_id(world, fmt):
    r = wcap(world.client, "fetchevents_by_id", world.sid["alice"], fmt_out=fmt,
             uid="series-1", calid="alice", **LIGHTNING)
    assert errno(r, fmt) == 0
    if fmt == "text/calendar":
        assert uids(r.body) == ["series-1", "series-1"]
    elif fmt == "text/js":
        assert [e["uid"] for e in run_js(r.text)["event"]] == ["series-1", "series-1"]
    else:
        assert len(parse_xml(r.body).find("iCal").findall("EVENT")) == 2


@pytest.mark.parametrize("command,uid", [("fetchevents_by_id", "todo-1"),
                                         ("fetchevents_by_id", "no-such"),
                                         ("fetchtodos_by_id", "series-1"),
                                         ("fetchtodos_by_id", "no-such")])
def test_by_id_not_found_is_59(world, command, uid):
    for fmt in FORMATS:
        r = wcap(world.client, command, world.sid["alice"], fmt_out=fmt, uid=uid)
        assert errno(r, fmt) == 59


def test_fetchtodos_by_id(world):
    r = wcap(world.client, "fetchtodos_by_id", world.sid["alice"], fmt_out="text/calendar",
             uid="todo-1", **LIGHTNING)
    assert uids(r.body) == ["todo-1"]


def test_by_id_rid_and_mod(world):
    def fetch(**extra):
        r = wcap(world.client, "fetchevents_by_id", world.sid["alice"],
                 fmt_out="text/calendar", uid="series-1", recurring=0, **extra)
        return r, sorted(l for b in blocks(r.body) for l in b if l.startswith("RECURRENCE-ID"))
    r, rids = fetch(rid="20240105T090000Z", mod=1)
    assert rids == ["RECURRENCE-ID:20240105T090000Z"]
    r, rids = fetch(rid="20240102T090000Z", mod=1)  # the override
    assert "SUMMARY:Stand-up moved" in blocks(r.body)[0]
    r, rids = fetch(rid="20240108T090000Z", mod=2)
    assert rids == ["RECURRENCE-ID:202401%02dT090000Z" % d for d in (8, 9, 10)]
    r, rids = fetch(rid="20240102T090000Z", mod=3)
    assert rids == ["RECURRENCE-ID:20240101T090000Z", "RECURRENCE-ID:20240102T090000Z"]
    r, rids = fetch(rid="20240103T090000Z", mod=1)  # EXDATE'd
    assert errno(r, "text/calendar") == 59
    r, rids = fetch(rid=0, mod=4)
    assert len(rids) == 9
    r = wcap(world.client, "fetchevents_by_id", world.sid["alice"], fmt_out="text/calendar",
             uid=["series-1", "allday-1"], rid=["20240104T090000Z", "0"], mod=1)
    assert uids(r.body) == ["series-1", "allday-1"]


def test_by_id_access(world):
    r = wcap(world.client, "fetchevents_by_id", world.sid["bob"], fmt_out="text/calendar",
             uid="series-1", calid="alice")
    assert errno(r, "text/calendar") == 28
    r = wcap(world.client, "fetchevents_by_id", world.sid["bob"], fmt_out="text/calendar",
             uid="series-1", calid="nosuch")
    assert errno(r, "text/calendar") == 29
    r = wcap(world.client, "fetchevents_by_id", world.sid["alice"], fmt_out="text/calendar")
    assert errno(r, "text/calendar") == 9  # uid missing


# ---------------------------------------------------------------- lastmod, deleted, alarms

def test_lastmod_and_deleted(world):
    client, sid = world.client, world.sid["alice"]
    time.sleep(1.1)  # the stamp has whole seconds: everything before is older
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    put(client, "alice", "calendar", "fresh-1", LATER_FRESH)
    r = wcap(client, "fetchcomponents_by_lastmod", sid, fmt_out="text/calendar",
             dtstart=stamp, dtend=0, **LIGHTNING)
    assert uids(r.body) == ["fresh-1"]
    r = wcap(client, "fetchcomponents_by_lastmod", sid, fmt_out="text/calendar",
             dtstart="20990101T000000Z", dtend=0, **LIGHTNING)
    assert uids(r.body) == []
    assert client.request("DELETE", "/alice/calendar/fresh-1.ics", user="alice").status in (
        200, 204)
    for fmt in FORMATS:
        r = wcap(client, "fetch_deletedcomponents", sid, fmt_out=fmt, dtstart=stamp,
                 dtend=0, **LIGHTNING)
        assert errno(r, fmt) == 0
        if fmt == "text/calendar":
            assert uids(r.body) == ["fresh-1"]
            assert "X-NSCP-TOMBSTONE:1" in blocks(r.body)[0]
        elif fmt == "text/js":
            assert [e["uid"] for e in run_js(r.text)["event"]] == ["fresh-1"]
        else:
            assert parse_xml(r.body).find("iCal").find("EVENT").findtext("UID") == "fresh-1"
    r = wcap(client, "fetch_deletedcomponents", sid, fmt_out="text/calendar",
             dtstart=stamp, component_type="todo")
    assert uids(r.body) == []
    r = wcap(client, "fetch_deletedcomponents", world.sid["bob"], fmt_out="text/calendar",
             calid="alice", dtstart=stamp)
    assert errno(r, "text/calendar") == 28


LATER_FRESH = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:fresh-1
DTSTAMP:20231201T000000Z
DTSTART:20240110T100000Z
DTEND:20240110T110000Z
SUMMARY:Fresh
END:VEVENT
END:VCALENDAR
"""


def test_alarmrange(world):
    sid = world.sid["alice"]
    r = wcap(world.client, "fetchcomponents_by_alarmrange", sid, fmt_out="text/calendar",
             dtstart="20240105T084000Z", dtend="20240105T085000Z", recurring=0)
    assert uids(r.body) == ["series-1"]
    assert "RECURRENCE-ID:20240105T090000Z" in blocks(r.body)[0]
    r = wcap(world.client, "fetchcomponents_by_alarmrange", sid, fmt_out="text/calendar",
             dtstart="20240103T155000Z", dtend="20240103T161000Z", **LIGHTNING)
    assert uids(r.body) == ["todo-1"]
    r = wcap(world.client, "fetchcomponents_by_alarmrange", sid, fmt_out="text/js",
             dtstart="20250101T000000Z", dtend="20250102T000000Z", **LIGHTNING)
    assert run_js(r.text)["size"] == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_attendee_error_is_valid_and_empty(world, fmt):
    r = wcap(world.client, "fetchcomponents_by_attendee_error", world.sid["alice"],
             fmt_out=fmt, calid=["alice", "nosuch"])
    assert errno(r, fmt) == 0
    if fmt == "text/js":
        assert run_js(r.text)["layer_errno"] == [0, 29]


# ---------------------------------------------------------------- the index does the work

@pytest.mark.file_engine(reason="writes its 2,000 item files straight into the folder")
def test_week_on_big_calendar_reads_only_the_week(tmp_path):
    instance = make_instance(str(tmp_path))
    add_user(instance, "big")
    folder = os.path.join(str(tmp_path), "collections", "collection-root", "big", "calendar")
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for n in range(2000):
        start = base + dt.timedelta(hours=7 * n)  # ~583 days
        rule = "RRULE:FREQ=MONTHLY;COUNT=12\n" if n % 10 == 0 else ""
        ics_file(folder, "e%d.ics" % n, (
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:e%d\n"
            "DTSTAMP:20240101T000000Z\nDTSTART:%s\nDURATION:PT1H\n%sSUMMARY:n\n"
            "END:VEVENT\nEND:VCALENDAR\n") % (n, start.strftime("%Y%m%dT%H%M%SZ"), rule))
    client = InProcessClient(make_app(instance))
    sid = instance.sessions.create("big")
    wcap(client, "fetchcomponents_by_range", sid, fmt_out="text/calendar",
         dtstart="20200101T000000Z", dtend="20200102T000000Z")  # builds the index once
    components.LOADS.items = 0
    r = wcap(client, "fetchcomponents_by_range", sid, fmt_out="text/calendar",
             dtstart="20240301T000000Z", dtend="20240308T000000Z", **LIGHTNING)
    found = set(uids(r.body))
    assert 20 <= len(found) <= 60
    assert components.LOADS.items == len(found)  # no item outside the week was read


# ---------------------------------------------------------------- live server + CalDAV

def test_live_caldav_written_event_is_fetched(live):
    import caldav
    add_user(live.instance, "dave")
    with caldav.DAVClient(url=live.url + "/dave/", username="dave",
                          password="secret-pass") as dav:
        calendar = dav.calendar(url=live.url + "/dave/calendar/")
        calendar.save_event(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:dav-1\n"
            "DTSTAMP:20240101T000000Z\nDTSTART;TZID=Europe/Berlin:20240102T100000\n"
            "DTEND;TZID=Europe/Berlin:20240102T110000\nRRULE:FREQ=DAILY;COUNT=3\n"
            "SUMMARY:From CalDAV\nEND:VEVENT\nEND:VCALENDAR\n")
    sid = live.instance.sessions.create("dave")
    r = wcap(live.client, "fetchcomponents_by_range", sid, fmt_out="text/calendar",
             calid="dave", recurring=0, **WEEK)
    assert uids(r.body) == ["dav-1"] * 3
    assert "DTSTART:20240102T090000Z" in blocks(r.body)[0]
    r = wcap(live.client, "fetchevents_by_id", sid, fmt_out="text/xml", uid="dav-1",
             **LIGHTNING)
    assert parse_xml(r.body).find("iCal").find("EVENT").findtext("SUMMARY") == "From CalDAV"
    page = run_js(wcap(live.client, "fetchcomponents_by_range", sid, fmt_out="text/js",
                       calid=["dave", "nosuch"], **LIGHTNING, **WEEK).text)
    assert page["layer_errno"] == [0, 29] and page["size"] == 1


def test_series_without_an_instance_in_a_far_range_is_not_answered(world):
    """A yearly series is indexed two years ahead; asked for a week further out, the
    index is extended, and the series is answered (recurring=1) only for the week
    that holds an instance."""
    put(world.client, "alice", "calendar", "yearly-1",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:yearly-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T100000Z\r\n"
        "DTEND:20240610T110000Z\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:Anniversary\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")
    sid = world.sid["alice"]

    def found(start, end):
        r = wcap(world.client, "fetchcomponents_by_range", sid, fmt_out="text/calendar",
                 calid="alice", dtstart=start, dtend=end, **LIGHTNING)
        return "yearly-1" in uids(r.body)
    assert not found("20300101T000000Z", "20300108T000000Z")
    assert found("20300606T000000Z", "20300613T000000Z")
    assert not found("20310101T000000Z", "20310108T000000Z")
