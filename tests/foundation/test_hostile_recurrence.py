"""Hostile recurrence rules end in a clear 4xx, quickly, through every write path."""

import time

import pytest

from radicale_wcap.store import READ, SYSTEM, ItemRefused, prepare_item
from tests.conftest import add_user

TEMPLATE = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
            "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T000000Z\r\n"
            "DTEND:20240101T000001Z\r\nSUMMARY:x\r\nRRULE:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")

HOSTILE = [
    "FREQ=SECONDLY",                          # infinite and dense
    "FREQ=MINUTELY;INTERVAL=1",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",     # never matches: dateutil would spin
    "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31;COUNT=3",
    "FREQ=SECONDLY;COUNT=1000000000",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;COUNT=-5",
    "FREQ=SECONDLY;BYSETPOS=2;COUNT=1",       # no period has a second candidate
    "FREQ=DAILY;INTERVAL=7;BYDAY=TU;UNTIL=99991231T000000Z",  # DTSTART is a Monday
    # every second of the year, 32 million candidates a period
    ";".join(["FREQ=YEARLY"] + ["%s=%s" % (name, ",".join(map(str, values))) for name, values in (
        ("BYMONTH", range(1, 13)), ("BYMONTHDAY", range(1, 32)), ("BYHOUR", range(24)),
        ("BYMINUTE", range(60)), ("BYSECOND", range(60)))]),
]


@pytest.mark.parametrize("rule", HOSTILE)
def test_caldav_put_refuses_quickly(client, instance, rule):
    add_user(instance, "alice")
    started = time.monotonic()
    response = client.request("PUT", "/alice/calendar/h.ics", TEMPLATE % ("h", rule),
                              {"Content-Type": "text/calendar"}, user="alice")
    assert response.status == 400
    assert time.monotonic() - started < 5
    with instance.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        assert calendar.by_uid("h") is None


@pytest.mark.parametrize("rule", HOSTILE)
def test_project_writes_refuse_too(instance, rule):
    started = time.monotonic()
    with pytest.raises(ItemRefused):
        prepare_item(instance.configuration, "/alice/calendar/", TEMPLATE % ("h", rule))
    assert time.monotonic() - started < 5


def test_hourly_forever_is_allowed_and_queries_stay_bounded(client, instance):
    add_user(instance, "alice")
    assert client.request("PUT", "/alice/calendar/hourly.ics",
                          TEMPLATE % ("hourly", "FREQ=HOURLY"),
                          {"Content-Type": "text/calendar"}, user="alice").status == 201
    body = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
            "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/></D:prop>"
            "<C:filter><C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
            "<C:time-range start='20251201T000000Z' end='20251208T000000Z'/>"
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>")
    started = time.monotonic()
    response = client.request("REPORT", "/alice/calendar/", body,
                              {"Depth": "1", "Content-Type": "application/xml"}, user="alice")
    assert response.status == 207 and "hourly.ics" in response.text
    assert time.monotonic() - started < 10
