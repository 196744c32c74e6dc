"""get_calprops and search_calprops against a real store."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.wcap import components
from radicale_wcap.wcap.commands import calprops as calprops_command
from radicale_wcap.wcap.door import WcapDoor
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login
from tests.wcap.fetch_data import ics_file, put

PRIVATE_ACL = "@@o^a^r^g;@@o^c^wdeic^g"


@pytest.fixture
def wclient(instance):
    add_user(instance, "jdoe", email="jdoe@sesta.com")
    add_user(instance, "bob")
    add_user(instance, "alice")
    instance.store.set_calendar_props("jdoe", name="John Doe", description="Work Calendar",
                                      tz="America/Los_Angeles")
    instance.store.create_calendar("jdoe:sports", name="Sports Calendar")
    instance.registry.set_owners("/jdoe/calendar/", ["susan"])
    instance.registry.update_settings("/jdoe/calendar/", categories=["business", "fun"],
                                      allow_double_booking=False)
    instance.registry.set_acl("/alice/calendar/", PRIVATE_ACL)
    return InProcessClient(make_app(instance))


def test_properties_of_own_calendar(wclient):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_calprops", "text/calendar", id=sid, calid="jdoe")
    assert answer.errno == 0
    assert answer.value("X-NSCP-CALPROPS-RELATIVE-CALID") == "jdoe"
    assert answer.value("X-NSCP-CALPROPS-NAME") == "John Doe"
    assert answer.value("X-NSCP-CALPROPS-DESCRIPTION") == "Work Calendar"
    assert answer.value("X-NSCP-CALPROPS-PRIMARY-OWNER") == "jdoe"
    assert answer.values("X-NSCP-CALPROPS-OWNERS") == ["susan"]
    assert answer.value("X-NSCP-CALPROPS-TZID") == "America/Los_Angeles"
    assert answer.values("X-NSCP-CALPROPS-CATEGORIES") == ["business", "fun"]
    assert answer.value("X-NSCP-CALPROPS-LANGUAGE") == "en"
    assert answer.values("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY")[-1] == "@^p^r^g"
    assert len(answer.values("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY")) == 5
    assert answer.value("X-S1CS-CALPROPS-COMMON-NAME") == "Jdoe"
    assert answer.value("X-S1CS-CALPROPS-ALLOW-DOUBLEBOOKING") == "0"
    for stamp in ("X-NSCP-CALPROPS-CREATED", "X-NSCP-CALPROPS-LAST-MODIFIED"):
        assert len(answer.value(stamp)) == 16 and answer.value(stamp).endswith("Z")
    assert answer.value("X-NSCP-CALPROPS-READ") == "1"


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_calendars_with_layer_errnos(wclient, fmt):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_calprops", fmt, query="appid=mozilla-calendar&id=" + sid,
                  calid="jdoe;nosuch;alice;mailto:bob@example.com;JDOE:sports")
    assert answer.errnos[:4] == [0, 29, 28, 0] if fmt != "text/calendar" else True
    # text/xml and text/json: one block per calendar, the first one's errno first
    assert answer.errno == (0 if fmt in ("text/xml", "text/json") else 20)
    if fmt == "text/xml":
        blocks = list(answer.xml.iter("iCal"))
        assert [b.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for b in blocks] == [
            "jdoe", "nosuch", "alice", "mailto:bob@example.com", "JDOE:sports"]
        mail = blocks[3].find("X-NSCP-CALPROPS-RELATIVE-CALID")
        assert mail.get("X-S1CS-EMAIL") == "bob@example.com"
        assert blocks[3].findtext("X-NSCP-CALPROPS-PRIMARY-OWNER") == "bob"
        assert blocks[2].findtext("X-NSCP-CALPROPS-NAME") is None  # nothing leaks
        assert answer.errnos[4] in (29, 30)
    if fmt == "text/js":
        assert [c["calid"] for c in answer.js["calprops"]][:2] == ["jdoe", "nosuch"]
    if fmt == "text/json":
        blocks = answer.json["iCalendar"]["iCal"]
        assert answer.values("X-NSCP-CALPROPS-RELATIVE-CALID") == [
            "jdoe", "nosuch", "alice", "mailto:bob@example.com", "JDOE:sports"]
        assert blocks[3]["X-NSCP-CALPROPS-RELATIVE-CALID"]["X-S1CS-EMAIL"] == "bob@example.com"
        assert "X-NSCP-CALPROPS-NAME" not in blocks[2]  # nothing leaks


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("calid,errno", [("nosuch", 29), ("alice", 28), ("a/b", 30),
                                         ("mailto:ghost@example.com", 29)])
def test_single_calendar_errors(wclient, fmt, calid, errno):
    sid = wcap_login(wclient, "jdoe")
    assert wcap(wclient, "get_calprops", fmt, id=sid, calid=calid).errno == errno


def test_default_is_own_calendar(wclient):
    sid = wcap_login(wclient, "bob")
    answer = wcap(wclient, "get_calprops", "text/xml", id=sid)
    assert answer.value("X-NSCP-CALPROPS-RELATIVE-CALID") == "bob"


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_reads_public_calendars_only(wclient, fmt):
    answer = wcap(wclient, "get_calprops", fmt, calid="bob;alice")
    assert answer.errnos[:2] == [0, 28] if fmt != "text/calendar" else answer.errno == 20
    assert wcap(wclient, "get_calprops", fmt).errno == 38
    # a dead session is still errno 1: Lightning re-logs in on it
    assert wcap(wclient, "get_calprops", fmt, id="expired", calid="bob").errno == 1


def _found(answer) -> list[str]:
    return [b.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for b in answer.xml.iter("iCal")
            if b.findtext("X-NSCP-CALPROPS-RELATIVE-CALID")]


@pytest.mark.parametrize("opts,text,expected", [
    (0, "o", ["bob", "jdoe", "jdoe:sports"]), (1, "jd", ["jdoe", "jdoe:sports"]),
    (2, "ports", ["jdoe:sports"]), (3, "JDOE", ["jdoe"]), (3, "jd", [])])
def test_search_calid(wclient, opts, text, expected):
    sid = wcap_login(wclient, "jdoe")
    # Lightning's own URL: calid=1 is a flag, not a calendar id
    answer = wcap(wclient, "search_calprops", "text/xml",
                  query="appid=mozilla-calendar&id=" + sid, search_string=text, calid=1,
                  searchOpts=opts)
    assert answer.errno == 0
    assert _found(answer) == expected  # alice's is private: never listed


def test_search_name_owner_and_limit(instance, wclient):
    sid = wcap_login(wclient, "bob")
    by_name = wcap(wclient, "search_calprops", "text/xml", id=sid, search_string="sports",
                   name=1)
    assert _found(by_name) == ["jdoe:sports"]
    by_owner = wcap(wclient, "search_calprops", "text/xml", id=sid, search_string="jdoe",
                    primaryOwner=1)
    assert _found(by_owner) == ["jdoe", "jdoe:sports"]
    # name=0 and primaryOwner=0: the calid is searched regardless
    assert _found(wcap(wclient, "search_calprops", "text/xml", id=sid,
                       search_string="bob")) == ["bob"]
    limited = wcap(wclient, "search_calprops", "text/js", id=sid, search_string="o",
                   calid=1, maxResults=1)
    assert len(limited.js["calprops"]) == 1 and limited.js["maxResults"] == 1
    ical = wcap(wclient, "search_calprops", "text/calendar", id=sid, search_string="bob")
    assert ical.errno == 0 and ical.values("X-NSCP-CALPROPS-RELATIVE-CALID") == ["bob"]


def test_search_finds_unregistered_calendars_on_disk(instance, wclient):
    instance.registry.remove("/bob/calendar/")
    sid = wcap_login(wclient, "jdoe")
    assert _found(wcap(wclient, "search_calprops", "text/xml", id=sid,
                       search_string="bob", searchOpts=3)) == ["bob"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_search_errors(wclient, fmt):
    assert wcap(wclient, "search_calprops", fmt, search_string="x").errno == 1
    sid = wcap_login(wclient, "jdoe")
    assert wcap(wclient, "search_calprops", fmt, id=sid).errno == 19
    assert wcap(wclient, "search_calprops", fmt, id=sid, search_string="x",
                searchOpts=7).errno == 19


# ---------------------------------------------------------------- invitecount ([63])

INVITE_NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
COUNT = "X-S1CS-CALPROPS-INVITATION-COUNT"
PENDING = "PARTSTAT=NEEDS-ACTION;RSVP=TRUE"


def _ics(uid, attendee, start="20240610T090000Z", end="20240610T100000Z", extra="",
         kind="VEVENT", times=None):
    times = times if times is not None else f"DTSTART:{start}\nDTEND:{end}\n"
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"
            f"BEGIN:{kind}\nUID:{uid}\nDTSTAMP:20240101T000000Z\n{times}"
            "SUMMARY:Meeting\nORGANIZER;CN=Bob:mailto:bob@example.com\n"
            f"ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\n{attendee}\n"
            f"{extra}END:{kind}\nEND:VCALENDAR\n")


INVITATIONS = {
    # counted: 5
    "pending-1": _ics("pending-1", f"ATTENDEE;{PENDING}:mailto:JDoe@Sesta.COM"),
    # no PARTSTAT is NEEDS-ACTION (RFC 5545); a long CN makes the stored line fold
    "pending-2": _ics("pending-2", "ATTENDEE;RSVP=TRUE;CN=\"" + "John Q. Doe " * 6
                      + "\":mailto:jdoe@sesta.com"),
    "in-progress": _ics("in-progress", f"ATTENDEE;{PENDING}:mailto:jdoe@sesta.com",
                        start="20240601T110000Z", end="20240601T130000Z"),
    # a daily series with a moved instance: one invitation, judged on its master
    "series": _ics("series", f"ATTENDEE;{PENDING}:mailto:jdoe@sesta.com",
                   start="20240520T090000Z", end="20240520T100000Z",
                   extra="RRULE:FREQ=DAILY;COUNT=30\n").replace("END:VCALENDAR\n", (
        "BEGIN:VEVENT\nUID:series\nDTSTAMP:20240101T000000Z\n"
        "RECURRENCE-ID:20240605T090000Z\nDTSTART:20240605T150000Z\n"
        "DTEND:20240605T160000Z\nSUMMARY:Moved\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:jdoe@sesta.com\nEND:VEVENT\nEND:VCALENDAR\n")),
    "todo": _ics("todo", f"ATTENDEE;{PENDING}:mailto:jdoe@sesta.com", kind="VTODO",
                 times="DTSTART:20240605T090000Z\nDUE:20240606T090000Z\n"),
    # not counted
    "accepted": _ics("accepted", "ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:jdoe@sesta.com"),
    "no-rsvp": _ics("no-rsvp", "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:jdoe@sesta.com"),
    "rsvp-absent": _ics("rsvp-absent", "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:jdoe@sesta.com"),
    "past": _ics("past", f"ATTENDEE;{PENDING}:mailto:jdoe@sesta.com",
                 start="20240501T090000Z", end="20240501T100000Z"),
    "past-series": _ics("past-series", f"ATTENDEE;{PENDING}:mailto:jdoe@sesta.com",
                        start="20240401T090000Z", end="20240401T100000Z",
                        extra="RRULE:FREQ=WEEKLY;COUNT=4\n"),
    "other": _ics("other", f"ATTENDEE;{PENDING}:mailto:carol@example.com"),
    "lookalike": _ics("lookalike", f"ATTENDEE;{PENDING}:mailto:xjdoe@sesta.com"),
    "plain": "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nUID:plain\n"
             "DTSTAMP:20240101T000000Z\nDTSTART:20240610T090000Z\nDTEND:20240610T100000Z\n"
             "SUMMARY:NEEDS-ACTION in a summary\nEND:VEVENT\nEND:VCALENDAR\n",
}
COUNTED = {"pending-1", "pending-2", "in-progress", "series", "todo"}


@pytest.fixture
def invites(instance, wclient):
    door = next(d for d in wclient.app.doors if isinstance(d, WcapDoor))
    door.dispatcher.clock = lambda: INVITE_NOW
    for uid, text in INVITATIONS.items():
        put(wclient, "jdoe", "calendar", uid, text)
    # jdoe is invited in bob's calendar, but bob (its primary owner) is not
    put(wclient, "bob", "calendar", "for-jdoe", INVITATIONS["pending-1"])
    return wclient


@pytest.mark.parametrize("fmt", FORMATS)
def test_invitecount_counts_pending_invitations_of_the_owner(invites, fmt):
    sid = wcap_login(invites, "jdoe")
    answer = wcap(invites, "get_calprops", fmt, id=sid, calid="jdoe", invitecount=1)
    assert answer.errno == 0
    if fmt == "text/calendar":
        assert f"{COUNT}:5" in answer.lines
    elif fmt in ("text/xml", "text/json"):
        assert answer.values(COUNT) == ["5"]
    else:
        assert answer.js["calprops"][0][COUNT] == "5"


def test_invitecount_zero_without_pending_invitations(invites):
    sid = wcap_login(invites, "bob")
    answer = wcap(invites, "get_calprops", "text/calendar", id=sid, calid="bob",
                  invitecount=1)
    assert answer.errno == 0 and answer.values(COUNT) == ["0"]
    sid = wcap_login(invites, "alice")
    assert wcap(invites, "get_calprops", "text/xml", id=sid, calid="alice",
                invitecount=1).values(COUNT) == ["0"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_invitecount_absent_unless_asked(invites, fmt):
    sid = wcap_login(invites, "jdoe")
    for extra in ({}, {"invitecount": 0}):
        answer = wcap(invites, "get_calprops", fmt, id=sid, calid="jdoe", **extra)
        assert answer.errno == 0
        assert COUNT not in answer.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_invitecount_absent_without_component_read(invites, fmt):
    # the default ACL lets bob read jdoe's properties and free/busy, not its components
    sid = wcap_login(invites, "bob")
    answer = wcap(invites, "get_calprops", fmt, id=sid, calid="jdoe;bob", invitecount=1)
    assert answer.errnos[:2] == [0, 0] if fmt != "text/calendar" else answer.errno == 0
    if fmt == "text/xml":
        blocks = list(answer.xml.iter("iCal"))
        assert blocks[0].findtext("X-NSCP-CALPROPS-NAME") == "John Doe"
        assert blocks[0].findtext(COUNT) is None
        assert blocks[1].findtext(COUNT) == "0"
    elif fmt == "text/js":
        assert COUNT not in answer.js["calprops"][0]
        assert answer.js["calprops"][1][COUNT] == "0"
    else:
        assert answer.values(COUNT) == ["0"]  # bob's own calendar only


def test_invitecount_is_the_primary_owners_for_any_reader(instance, invites):
    instance.registry.set_acl("/jdoe/calendar/", instance.registry.get(
        "/jdoe/calendar/").acl + ";alice^c^r^g")
    sid = wcap_login(invites, "alice")
    answer = wcap(invites, "get_calprops", "text/xml", id=sid, calid="jdoe",
                  invitecount=1)
    assert answer.values(COUNT) == ["5"]


@pytest.mark.file_engine(reason="writes an item file behind the server's back")
def test_invitecount_follows_the_clock_and_direct_writes(instance, invites):
    door = next(d for d in invites.app.doors if isinstance(d, WcapDoor))
    sid = wcap_login(invites, "jdoe")

    def count():
        return wcap(invites, "get_calprops", "text/calendar", id=sid, calid="jdoe",
                    invitecount=1).values(COUNT)

    # A file written behind the server's back is seen (the index is checked fresh).
    folder = os.path.join(instance.configuration.get("storage", "filesystem_folder"),
                          "collection-root", "jdoe", "calendar")
    ics_file(folder, "direct.ics", _ics("direct", f"ATTENDEE;{PENDING}:mailto:jdoe@sesta.com"))
    assert count() == ["6"]
    # Before the todo is due (6 June 09:00) and after: the todo drops out.
    door.dispatcher.clock = lambda: dt.datetime(2024, 6, 6, 8, 0, tzinfo=dt.timezone.utc)
    assert count() == ["5"]
    # Past 10:00 on 10 June: only the daily series (to 18 June) is left.
    door.dispatcher.clock = lambda: dt.datetime(2024, 6, 10, 10, 30, tzinfo=dt.timezone.utc)
    assert count() == ["1"]
    door.dispatcher.clock = lambda: dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc)
    assert count() == ["0"]


def test_invitecount_parses_only_candidates(invites, monkeypatch):
    parsed = []
    real = calprops_command.vobject.readOne

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(calprops_command.vobject, "readOne", counting)
    monkeypatch.setattr(calprops_command, "_MEMO", {})
    sid = wcap_login(invites, "jdoe")
    components.LOADS.items = 0

    def count():
        return wcap(invites, "get_calprops", "text/calendar", id=sid, calid="jdoe",
                    invitecount=1).values(COUNT)

    assert count() == ["5"]
    # the five pending ones and the look-alike address; no item file was read
    assert len(parsed) == len(COUNTED) + 1
    assert not any("UID:accepted" in t or "UID:past" in t for t in parsed)
    assert components.LOADS.items == 0
    # the next poll parses nothing; a changed item is parsed again
    assert count() == ["5"]
    assert len(parsed) == len(COUNTED) + 1
    put(invites, "jdoe", "calendar", "accepted", INVITATIONS["accepted"].replace(
        "PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:jdoe", "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:jdoe"))
    assert count() == ["6"]
    assert len(parsed) == len(COUNTED) + 2
