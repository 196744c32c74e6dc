"""WCAP import of events whose TZID has no VTIMEZONE in the file: each stored item
carries the zone database's VTIMEZONE (one made per TZID and import), not the one
vobject would build per event by probing pytz year by year (0.45 s an event)."""

from __future__ import annotations

from radicale_wcap import calid as calid_mod
from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from radicale_wcap.wcap.commands.importing import calendar_objects
from tests.conftest import InProcessClient, add_user
from tests.wcap.test_import import multipart, post


def _ics(n: int, tzid: str = "America/New_York") -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN"]
    for i in range(n):
        lines += ["BEGIN:VEVENT", "UID:zone-%d" % i, "DTSTAMP:20260101T000000Z",
                  "DTSTART;TZID=%s:20260105T1%d0000" % (tzid, i % 10),
                  "DTEND;TZID=%s:20260105T1%d3000" % (tzid, i % 10),
                  "SUMMARY:zone %d" % i, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_objects_get_the_zone_databases_vtimezone():
    objects = calendar_objects(_ics(3), "text/calendar")
    assert len(objects) == 3
    for vcalendar in objects:
        zones = vcalendar.contents.get("vtimezone", [])
        assert [z.tzid.value for z in zones] == ["America/New_York"]
        # Ours (timezones/vtimezones.py) names its location; vobject's own does not.
        assert "x-lic-location" in zones[0].contents


def test_unknown_tzid_is_left_to_the_file():
    objects = calendar_objects(_ics(1, "Not/AZone"), "text/calendar")
    assert objects[0].contents.get("vtimezone", []) == [] or all(
        "x-lic-location" not in z.contents for z in objects[0].contents["vtimezone"])


def test_import_stores_events_with_their_zone(instance):
    add_user(instance, "jdoe")
    client = InProcessClient(make_app(instance))
    session = instance.sessions.create("jdoe")
    answer = post(client, "import", multipart(_ics(12)), "text/xml", id=session,
                  calid="jdoe", dtstart=0, dtend=0, **{"content-in": "text/calendar"})
    assert answer.errno == 0
    with instance.store.reading(calid_mod.to_path("jdoe"), SYSTEM, READ) as calendar:
        items = sorted(calendar.items(), key=lambda i: i.uid)
    assert len(items) == 12
    for item in items:
        text = item.serialize()
        assert "TZID:America/New_York" in text and "X-LIC-LOCATION:America/New_York" in text
        assert "DTSTART;TZID=America/New_York:20260105T1" in text
