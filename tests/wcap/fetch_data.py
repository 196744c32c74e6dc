"""Calendar data and request helpers shared by the fetch/verify/export tests.

Events are written the way a CalDAV client writes them (PUT of one VCALENDAR per UID),
and cover what the commands must shape: a daily series in Europe/Paris with an EXDATE
and a moved instance, an infinite weekly rule, an all-day event, a floating event, a
todo with DUE and an alarm, an invitation (alice is an attendee), an organised meeting.
"""

from __future__ import annotations

import os
import urllib.parse

WEEK = {"dtstart": "20240101T000000Z", "dtend": "20240108T000000Z"}

SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:series-1
DTSTAMP:20231201T000000Z
DTSTART;TZID=Europe/Paris:20240101T100000
DTEND;TZID=Europe/Paris:20240101T110000
RRULE:FREQ=DAILY;COUNT=10
EXDATE;TZID=Europe/Paris:20240103T100000
SUMMARY:Daily stand-up
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:soon
TRIGGER:-PT15M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:series-1
DTSTAMP:20231201T000000Z
RECURRENCE-ID;TZID=Europe/Paris:20240102T100000
DTSTART;TZID=Europe/Paris:20240102T140000
DTEND;TZID=Europe/Paris:20240102T150000
SUMMARY:Stand-up moved
END:VEVENT
END:VCALENDAR
"""

INFINITE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly-forever
DTSTAMP:20231201T000000Z
DTSTART:20240105T080000Z
DTEND:20240105T083000Z
RRULE:FREQ=WEEKLY
SUMMARY:Forever weekly
END:VEVENT
END:VCALENDAR
"""

ALLDAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:allday-1
DTSTAMP:20231201T000000Z
DTSTART;VALUE=DATE:20240104
DTEND;VALUE=DATE:20240105
SUMMARY:Holiday
END:VEVENT
END:VCALENDAR
"""

FLOATING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:floating-1
DTSTAMP:20231201T000000Z
DTSTART:20240106T090000
DTEND:20240106T100000
SUMMARY:Floating breakfast
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:todo-1
DTSTAMP:20231201T000000Z
DTSTART:20240102T090000Z
DUE:20240103T170000Z
SUMMARY:File report
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:due
TRIGGER;VALUE=DATE-TIME:20240103T160000Z
END:VALARM
END:VTODO
END:VCALENDAR
"""

INVITATION = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:invite-1
DTSTAMP:20231201T000000Z
DTSTART:20240103T130000Z
DTEND:20240103T140000Z
SUMMARY:Bob's review
ORGANIZER;CN=Bob:mailto:bob@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com
END:VEVENT
END:VCALENDAR
"""

MEETING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:meeting-1
DTSTAMP:20231201T000000Z
DTSTART:20240104T150000Z
DTEND:20240104T160000Z
SUMMARY:Alice's planning
ORGANIZER:mailto:alice@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.com
END:VEVENT
END:VCALENDAR
"""

LATER = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:later-1
DTSTAMP:20231201T000000Z
DTSTART:20240301T100000Z
DTEND:20240301T110000Z
SUMMARY:Out of the week
END:VEVENT
END:VCALENDAR
"""

ALICE_ITEMS = {"series-1": SERIES, "weekly-forever": INFINITE, "allday-1": ALLDAY,
               "floating-1": FLOATING, "todo-1": TODO, "invite-1": INVITATION,
               "meeting-1": MEETING, "later-1": LATER}


def put(client, user: str, calendar: str, uid: str, text: str) -> None:
    response = client.request("PUT", "/%s/%s/%s.ics" % (user, calendar, uid), text,
                              {"Content-Type": "text/calendar"}, user=user)
    assert response.status in (201, 204), (response.status, response.text)


def populate(client, user: str = "alice") -> None:
    for uid, text in ALICE_ITEMS.items():
        put(client, user, "calendar", uid, text)


def wcap(client, command: str, sid: str | None = None, **params):
    """GET <command>.wcap with params (``fmt_out`` -> ``fmt-out``; lists joined with ';')."""
    query = []
    if sid is not None:
        query.append(("id", sid))
    for key, value in params.items():
        key = key.replace("_", "-") if key in ("fmt_out", "component_type", "content_out") \
            else key
        if isinstance(value, (list, tuple)):
            value = ";".join(urllib.parse.quote(str(v), safe="") for v in value)
        else:
            value = urllib.parse.quote(str(value), safe="")
        query.append((key, value))
    path = "/%s.wcap?%s" % (command, "&".join("%s=%s" % kv for kv in query))
    response = client.request("GET", path)
    assert response.status == 200
    return response


def ics_file(folder: str, name: str, text: str) -> None:
    with open(os.path.join(folder, name), "w", encoding="utf-8", newline="") as f:
        f.write(text.replace("\n", "\r\n"))
