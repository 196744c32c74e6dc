"""What the old server sends made into this server's calendar objects (`migrate.repair`):
the manual's 5.1.1-era names, times given back their zone, fetch decorations taken off."""

from __future__ import annotations

import pathlib

from radicale_wcap.migrate.answer import parse
from radicale_wcap.migrate.repair import calendar_objects

DATA = pathlib.Path(__file__).parent / "data"

MASTER = """BEGIN:VCALENDAR
BEGIN:VEVENT
UID:tm-001
DTSTAMP:20020603T221548Z
DTSTART:20020512T170000Z
DTEND:20020512T190000Z
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE:20020602T170000Z
ORGANIZER;X-S1CS-CALID=jdoe:mailto:jdoe@sesta.com
ATTENDEE;PARTSTAT=ACCEPTED;X-S1CS-EMAIL=lucy@sesta.com:lucy
SUMMARY:Calendar Staff
X-NSCP-DTSTART-TZID:America/Los_Angeles
X-NSCP-DTEND-TZID:America/Los_Angeles
X-NSCP-ONGOING:0
END:VEVENT
END:VCALENDAR
"""


def test_manual_export_with_its_series():
    exported = parse((DATA / "export.ical.txt").read_bytes()).components
    objects, refused = calendar_objects(parse(MASTER.encode()).components + exported,
                                        {"lucy": "lucy@sesta.com"})
    assert refused == [] and [o.uid for o in objects] == ["tm-001"]
    text = objects[0].text
    assert "SEQ renamed SEQUENCE" in objects[0].repairs
    assert "DESC renamed DESCRIPTION" in objects[0].repairs
    assert "ATTENDEE lucy given its mail address" in objects[0].repairs
    assert "SEQUENCE:1" in text and "\nSEQ:" not in text
    assert "DTSTART;TZID=America/Los_Angeles:20020512T100000" in text
    assert "EXDATE;TZID=America/Los_Angeles:20020602T100000" in text
    assert "ATTENDEE;PARTSTAT=ACCEPTED:mailto:lucy@sesta.com" in text
    assert "ORGANIZER:mailto:jdoe@sesta.com" in text
    assert "X-S1CS" not in text and "X-NSCP-ONGOING" not in text
    assert "BEGIN:VTIMEZONE\r\nTZID:America/Los_Angeles" in text
    assert text.count("BEGIN:VEVENT") == 3


def test_component_without_uid_is_refused():
    objects, refused = calendar_objects("BEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\n")
    assert objects == [] and refused[0].reason == "a VTODO without UID"
