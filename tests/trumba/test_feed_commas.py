"""Unescaped commas in text must not lose text (vobject 0.9.9 keeps only the first part)."""

import vobject

from radicale_wcap.trumba.feed import parse_feed

FEED = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        b"DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\n"
        b"SUMMARY:Lunch, then talk\\, ok\r\nLOCATION:Room 1, Building 2\r\n"
        b"X-TRUMBA-CUSTOMFIELD;NAME=Audience:Students, Faculty\r\nCATEGORIES:a,b\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n")


def test_bare_commas_survive_storage():
    event = parse_feed(FEED, calendar_tzid="UTC", max_events=10).events[0]
    parsed = vobject.readOne(event.ical).vevent
    assert parsed.summary.value == "Lunch, then talk, ok"
    assert parsed.location.value == "Room 1, Building 2"
    assert parsed.x_trumba_customfield.value == "Students, Faculty"
    assert parsed.x_trumba_customfield.params["NAME"] == ["Audience"]
    assert parsed.categories.value == ["a", "b"]
