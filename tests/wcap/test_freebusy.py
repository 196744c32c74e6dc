"""get_freebusy over events written through CalDAV (the index and expansion are real)."""

from __future__ import annotations

import pytest

from radicale_wcap.middleware import make_app
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
    assert mixed.errno == (29 if fmt == "text/xml" else 0)
    if fmt == "text/xml":
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
