"""get_freebusy over events written through CalDAV (the index and expansion are real)."""

from __future__ import annotations

import datetime as dt

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.wcap.door import WcapDoor
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login

EVENTS = {
    "a": "DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z",
    "b": "DTSTART:20240101T120000Z\r\nDTEND:20240101T133000Z",
    "c": "DTSTART:20240101T130000Z\r\nDTEND:20240101T140000Z",            # merges with b
    "tent": "DTSTART:20240101T150000Z\r\nDTEND:20240101T160000Z\r\nSTATUS:TENTATIVE",
    "free": "DTSTART:20240101T160000Z\r\nDTEND:20240101T170000Z\r\nTRANSP:TRANSPARENT",
    "gone": "DTSTART:20240101T170000Z\r\nDTEND:20240101T175000Z\r\nSTATUS:CANCELLED",
    "daily": "DTSTART:20240101T080000Z\r\nDTEND:20240101T083000Z\r\nRRULE:FREQ=DAILY;COUNT=3",
    "berlin": "DTSTART;TZID=Europe/Berlin:20240102T190000\r\n"
              "DTEND;TZID=Europe/Berlin:20240102T200000",
    "outside": "DTSTART:20240201T100000Z\r\nDTEND:20240201T110000Z",
}


def put_event(client, user: str, uid: str, lines: str) -> None:
    body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:private {uid}\r\n{lines}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    response = client.request("PUT", f"/{user}/calendar/{uid}.ics", body=body, user=user,
                              headers={"Content-Type": "text/calendar"})
    assert response.status in (201, 204), response.text


@pytest.fixture
def wclient(instance):
    add_user(instance, "jdoe")
    add_user(instance, "bob", email="bob@sesta.com")
    add_user(instance, "alice")
    instance.registry.set_acl("/alice/calendar/", "@@o^a^r^g;@@o^c^wdeic^g")
    client = InProcessClient(make_app(instance))
    for uid, lines in EVENTS.items():
        put_event(client, "bob", uid, lines)
    return client


DAY = dict(dtstart="20240101T090000Z", dtend="20240101T180000Z")


def test_busy_periods_xml(wclient):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_freebusy", "text/xml", query="appid=mozilla-calendar&id=" + sid,
                  calid="mailto:bob@sesta.com", busyonly=1, **DAY)
    assert answer.errno == 0
    fbs = [(e.get("FBTYPE"), e.text) for e in answer.xml.iter("FB")]
    assert fbs == [("BUSY", "20240101T100000Z/20240101T110000Z"),
                   ("BUSY", "20240101T120000Z/20240101T140000Z"),
                   ("BUSY-TENTATIVE", "20240101T150000Z/20240101T160000Z")]
    block = answer.xml.find("iCal/FREEBUSY")
    assert block.findtext("START") == "20240101T090000Z"
    assert block.findtext("END") == "20240101T180000Z"
    assert "private" not in answer.text  # free/busy never shows why


def test_free_periods_and_default(wclient):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_freebusy", "text/calendar", id=sid, calid="bob", busyonly=0,
                  **DAY)
    lines = [line for line in answer.lines if line.startswith("FREEBUSY")]
    assert lines == [
        "FREEBUSY;FBTYPE=FREE:20240101T090000Z/20240101T100000Z",
        "FREEBUSY;FBTYPE=BUSY:20240101T100000Z/20240101T110000Z",
        "FREEBUSY;FBTYPE=FREE:20240101T110000Z/20240101T120000Z",
        "FREEBUSY;FBTYPE=BUSY:20240101T120000Z/20240101T140000Z",
        "FREEBUSY;FBTYPE=FREE:20240101T140000Z/20240101T150000Z",
        "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240101T150000Z/20240101T160000Z",
        "FREEBUSY;FBTYPE=FREE:20240101T160000Z/20240101T180000Z"]
    default = wcap(wclient, "get_freebusy", "text/calendar", id=sid, calid="bob", **DAY)
    assert not [line for line in default.lines if "FBTYPE=FREE" in line]  # busyonly=1


def test_recurring_and_zoned_events(wclient):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_freebusy", "text/js", id=sid, calid="bob",
                  dtstart="20240102T000000Z", dtend="20240104T000000Z")
    periods = [(f["fbtype"], f["start"], f["end"]) for f in answer.js["freebusy"]]
    assert periods == [("BUSY", "20240102T080000Z", "20240102T083000Z"),
                       ("BUSY", "20240102T180000Z", "20240102T190000Z"),
                       ("BUSY", "20240103T080000Z", "20240103T083000Z")]
    assert {f["calid"] for f in answer.js["freebusy"]} == {"bob"}


def test_own_calendar_is_default_and_clipped(wclient):
    sid = wcap_login(wclient, "bob")
    answer = wcap(wclient, "get_freebusy", "text/xml", id=sid,
                  dtstart="20240101T103000Z", dtend="20240101T123000Z")
    assert [e.text for e in answer.xml.iter("FB")] == [
        "20240101T103000Z/20240101T110000Z", "20240101T120000Z/20240101T123000Z"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_layers_and_errors(wclient, fmt):
    sid = wcap_login(wclient, "jdoe")
    mixed = wcap(wclient, "get_freebusy", fmt, id=sid,
                 calid="mailto:nobody@sesta.com;alice;bob", **DAY)
    # text/xml and text/json: one block per calendar, the first one's errno first
    assert mixed.errno == (29 if fmt in ("text/xml", "text/json") else 0)
    if fmt in ("text/xml", "text/json"):
        assert mixed.errnos == [29, 28, 0]
    assert wcap(wclient, "get_freebusy", fmt, id=sid, calid="mailto:nobody@sesta.com",
                **DAY).errno == 29
    assert wcap(wclient, "get_freebusy", fmt, id=sid, calid="alice", **DAY).errno == 28
    assert wcap(wclient, "get_freebusy", fmt, id=sid, calid="bob",
                dtstart="20240101T090000Z").errno == 39
    assert wcap(wclient, "get_freebusy", fmt, id=sid, calid="bob",
                dtstart="20240102T000000Z", dtend="20240101T000000Z").errno == 39
    assert wcap(wclient, "get_freebusy", fmt, calid="bob", **DAY).errno == 1


def test_freebusy_only_ace_is_enough(instance, wclient):
    instance.registry.set_acl("/alice/calendar/", "@@o^a^r^g;jdoe^c^f^g")
    put_event(wclient, "alice", "x", EVENTS["a"])
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_freebusy", "text/xml", id=sid, calid="alice", **DAY)
    assert answer.errno == 0
    assert [e.text for e in answer.xml.iter("FB")] == ["20240101T100000Z/20240101T110000Z"]
    # no p:r for jdoe: the layer has no calendar properties
    assert answer.xml.find("iCal/X-NSCP-CALPROPS-NAME") is None


# ---------------------------------------------------------------- [Q4] window, mail, tzidout

NOW = dt.datetime(2024, 1, 1, 9, 0, 0, 123456, tzinfo=dt.timezone.utc)


def pin_clock(client, when=NOW) -> None:
    """Make ``ctx.now()`` of the WCAP door answer ``when``."""
    door = next(d for d in client.app.doors if isinstance(d, WcapDoor))
    door.dispatcher.clock = lambda: when


def fb(client, fmt="text/calendar", user="jdoe", **params):
    sid = wcap_login(client, user)
    params.setdefault("calid", "bob")
    return wcap(client, "get_freebusy", fmt, id=sid, **params)


def window_of(answer) -> tuple[str, str]:
    return answer.value("DTSTART"), answer.value("DTEND")


def busy_of(answer) -> list[str]:
    return [line.split(":", 1)[1] for line in answer.lines if line.startswith("FREEBUSY")]


def test_freebusybegin_and_freebusyend_around_now(wclient):
    pin_clock(wclient)
    both = fb(wclient, freebusybegin=0, freebusyend=1)
    assert both.errno == 0
    assert window_of(both) == ("20240101T090000Z", "20240102T090000Z")
    assert busy_of(both) == [
        "20240101T100000Z/20240101T110000Z", "20240101T120000Z/20240101T140000Z",
        "20240101T150000Z/20240101T160000Z", "20240102T080000Z/20240102T083000Z"]
    # only one offset sent: the other is ics.conf's shipped 30 days
    end_only = fb(wclient, freebusyend=1)
    assert window_of(end_only) == ("20231202T090000Z", "20240102T090000Z")
    assert busy_of(end_only)[0] == "20240101T080000Z/20240101T083000Z"
    begin_only = fb(wclient, freebusybegin=1)
    assert window_of(begin_only) == ("20231231T090000Z", "20240131T090000Z")
    assert "20240102T180000Z/20240102T190000Z" in busy_of(begin_only)  # berlin
    assert not [p for p in busy_of(begin_only) if p.startswith("202402")]  # outside


def test_duration_from_dtstart_or_now_and_it_wins(wclient):
    pin_clock(wclient)
    expected = ["20240102T080000Z/20240102T083000Z", "20240102T180000Z/20240102T190000Z"]
    plain = fb(wclient, dtstart="20240102T000000Z", duration=1)
    assert plain.errno == 0
    assert window_of(plain) == ("20240102T000000Z", "20240103T000000Z")
    assert busy_of(plain) == expected
    # a dtend before dtstart and the relative offsets would fail or differ: duration wins
    clash = fb(wclient, dtstart="20240102T000000Z", dtend="20240101T000000Z", duration=1,
               freebusybegin=5, freebusyend=5)
    assert clash.errno == 0 and window_of(clash) == window_of(plain)
    assert busy_of(clash) == expected
    # no dtstart: from now (to the second)
    from_now = fb(wclient, duration=2)
    assert window_of(from_now) == ("20240101T090000Z", "20240103T090000Z")
    # a floating dtstart is taken in tzid
    zoned = fb(wclient, dtstart="20240102T010000", tzid="Europe/Berlin", duration=1)
    assert window_of(zoned) == ("20240102T000000Z", "20240103T000000Z")


def test_dtstart_and_dtend_win_over_the_offsets(wclient):
    pin_clock(wclient)
    answer = fb(wclient, freebusybegin=300, freebusyend=10, **DAY)
    assert window_of(answer) == ("20240101T090000Z", "20240101T180000Z")
    # a lone dtstart is no window: ignored next to the offsets
    lone = fb(wclient, dtstart="20230101T000000Z", freebusybegin=0, freebusyend=1)
    assert window_of(lone) == ("20240101T090000Z", "20240102T090000Z")


@pytest.mark.parametrize("fmt", FORMATS)
def test_window_cap_and_bad_values(wclient, fmt, caplog):
    pin_clock(wclient)
    assert fb(wclient, fmt, duration=366).errno == 0
    assert fb(wclient, fmt, freebusybegin=183, freebusyend=183).errno == 0
    assert fb(wclient, fmt, dtstart="20240101T000000Z", dtend="20250101T000000Z").errno == 0
    refused = [
        dict(duration=367), dict(dtstart="20240101T000000Z", duration=10**12),
        dict(freebusybegin=200, freebusyend=200), dict(freebusybegin=367),
        dict(dtstart="20240101T000000Z", dtend="20250102T000000Z"),
        dict(dtstart="99991231T000000Z", duration=5),
        dict(freebusybegin=0, freebusyend=0),
        dict(duration=-1), dict(duration=0), dict(duration="P1D"), dict(duration="abc"),
        dict(freebusybegin="x"), dict(freebusybegin="1.5"), dict(freebusyend=-3),
        dict(dtstart="20240101T000000Z"), dict(dtend="20240101T000000Z"), dict(),
        dict(tzidout="Mars/Olympus", **DAY), dict(tzidout="Factory", **DAY),
    ]
    caplog.clear()
    for params in refused:
        assert fb(wclient, fmt, **params).errno == 39, params
    assert not [r for r in caplog.records if r.exc_info], "a refusal logged a traceback"


@pytest.mark.parametrize("fmt", FORMATS)
def test_mail_is_calid_mailto(wclient, fmt):
    by_calid = fb(wclient, fmt, **DAY)
    by_mail = fb(wclient, fmt, calid="", mail="bob@sesta.com", **DAY)
    assert by_mail.errno == 0 and by_mail.errnos == [0]
    if fmt == "text/calendar":
        assert busy_of(by_mail) == busy_of(by_calid) != []
    elif fmt == "text/xml":
        assert [e.text for e in by_mail.xml.iter("FB")] == \
            [e.text for e in by_calid.xml.iter("FB")] != []
    elif fmt == "text/json":
        assert by_mail.values("FREEBUSY") == by_calid.values("FREEBUSY") != []
    else:
        assert [f["start"] for f in by_mail.js["freebusy"]] == \
            [f["start"] for f in by_calid.js["freebusy"]] != []
        assert {f["calid"] for f in by_mail.js["freebusy"]} == {"mailto:bob@sesta.com"}
    assert fb(wclient, fmt, calid="", mail="nobody@sesta.com", **DAY).errno == 29
    # both lists are answered, calids first; the own calendar is not added
    both = fb(wclient, fmt, calid="alice", mail="bob@sesta.com", **DAY)
    # XML, JSON: the first layer's
    assert both.errno == (28 if fmt in ("text/xml", "text/json") else 0)
    if fmt in ("text/xml", "text/json"):
        assert both.errnos == [28, 0]
    if fmt == "text/js":
        assert both.errnos == [28, 0]
        assert {f["calid"] for f in both.js["freebusy"]} == {"mailto:bob@sesta.com"}


def test_tzidout_calendar(wclient):
    answer = fb(wclient, "text/calendar", tzidout="Europe/Berlin", **DAY)
    assert answer.errno == 0
    assert "DTSTART;TZID=Europe/Berlin:20240101T100000" in answer.lines
    assert "DTEND;TZID=Europe/Berlin:20240101T190000" in answer.lines
    assert answer.value("X-NSCP-DTSTART-TZID") == "Europe/Berlin"
    assert answer.value("X-NSCP-DTEND-TZID") == "Europe/Berlin"
    assert busy_of(answer)[0] == "20240101T100000Z/20240101T110000Z"  # periods stay UTC
    for utc in ("UTC", "GMT", "Zulu"):
        plain = fb(wclient, "text/calendar", tzidout=utc, **DAY)
        assert window_of(plain) == ("20240101T090000Z", "20240101T180000Z")
        assert not plain.values("X-NSCP-DTSTART-TZID")


def test_tzidout_xml(wclient):
    answer = fb(wclient, "text/xml", tzidout="America/New_York", **DAY)
    assert answer.errno == 0
    block = answer.xml.find("iCal/FREEBUSY")
    assert block.findtext("START") == "20240101T040000"
    assert block.findtext("END") == "20240101T130000"
    assert block.findtext("X-NSCP-DTSTART-TZID") == "America/New_York"
    assert block.findtext("X-NSCP-DTEND-TZID") == "America/New_York"
    assert [(e.get("FBTYPE"), e.text) for e in block.iter("FB")][0] == \
        ("BUSY", "20240101T100000Z/20240101T110000Z")


def test_tzidout_js(wclient):
    answer = fb(wclient, "text/js", tzidout="Asia/Tokyo", **DAY)
    assert answer.errno == 0
    periods = [(f["start"], f["end"]) for f in answer.js["freebusy"]]
    assert periods[0] == ("20240101T100000Z", "20240101T110000Z")
    assert all(s.endswith("Z") and e.endswith("Z") for s, e in periods)


def test_q4_parameters_over_http(live):
    add_user(live.instance, "fb.user", email="fb.user@example.com")
    add_user(live.instance, "fb.peer", email="fb.peer@example.com")
    put_event(live.client, "fb.peer", "a", EVENTS["a"])
    sid = wcap_login(live.client, "fb.user")
    answer = wcap(live.client, "get_freebusy", "text/xml",
                  query="appid=mozilla-calendar&id=" + sid, mail="fb.peer@example.com",
                  dtstart="20240101T000000Z", duration=1, tzidout="Europe/Berlin")
    assert answer.errnos == [0]
    block = answer.xml.find("iCal/FREEBUSY")
    assert (block.findtext("START"), block.findtext("END")) == \
        ("20240101T010000", "20240102T010000")
    assert [e.text for e in block.iter("FB")] == ["20240101T100000Z/20240101T110000Z"]
    assert wcap(live.client, "get_freebusy", "text/xml", id=sid, mail="fb.peer@example.com",
                duration=400).errno == 39
