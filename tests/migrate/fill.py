"""A source server filled through its own WCAP the way Sun's clients fill one: users,
calendars with non-default ACLs and several owners, a recurring series with a moved and
a removed instance and alarms, todos, an invitation with a reply, subscriptions, time
zones, non-ASCII text."""

from __future__ import annotations

import urllib.parse
from typing import Dict

from tests.conftest import TEST_PASSWORD, add_user

ADMIN = "calmaster"
USERS = {"jdoe": "Europe/Berlin", "lucy": "America/New_York", "jjones": "UTC"}
BOUNDARY = "----migrate-test-boundary"

SERIES = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//migrate//EN\r
BEGIN:VEVENT\r
UID:series-1\r
DTSTAMP:20240101T080000Z\r
DTSTART;TZID=Europe/Berlin:20240105T100000\r
DTEND;TZID=Europe/Berlin:20240105T110000\r
RRULE:FREQ=WEEKLY;UNTIL=20240301T090000Z\r
EXDATE;TZID=Europe/Berlin:20240112T100000\r
SUMMARY:Größe ☃ 会議\r
DESCRIPTION:Zeile eins\\nZeile zwei\\, mit Komma\r
LOCATION:Raum Ä\r
CATEGORIES:Büro,Planung\r
ORGANIZER;CN=Jöhn Doe:mailto:jdoe@example.com\r
ATTENDEE;PARTSTAT=ACCEPTED;CN=Lucy:mailto:lucy@example.com\r
ATTENDEE;PARTSTAT=TENTATIVE:mailto:guest@elsewhere.org\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
TRIGGER:-PT15M\r
DESCRIPTION:Erinnerung\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series-1\r
DTSTAMP:20240101T080000Z\r
RECURRENCE-ID;TZID=Europe/Berlin:20240119T100000\r
DTSTART;TZID=Europe/Berlin:20240119T140000\r
DTEND;TZID=Europe/Berlin:20240119T150000\r
SUMMARY:Größe ☃ verschoben\r
ORGANIZER;CN=Jöhn Doe:mailto:jdoe@example.com\r
ATTENDEE;PARTSTAT=DECLINED;CN=Lucy:mailto:lucy@example.com\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:allday-1\r
DTSTAMP:20240101T080000Z\r
DTSTART;VALUE=DATE:20240214\r
DTEND;VALUE=DATE:20240215\r
SUMMARY:Feiertag\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VTODO\r
UID:todo-1\r
DTSTAMP:20240101T080000Z\r
DUE;TZID=Europe/Berlin:20240220T170000\r
SUMMARY:Steuererklärung\r
PRIORITY:1\r
STATUS:NEEDS-ACTION\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
TRIGGER;RELATED=END:-PT1H\r
DESCRIPTION:bald\r
END:VALARM\r
END:VTODO\r
END:VCALENDAR\r
"""


class Wcap:
    """A WCAP session of one user on a server reached through ``client``."""

    def __init__(self, client, user: str, password: str = TEST_PASSWORD) -> None:
        self.client = client
        body = self.call("login", user=user, password=password)
        self.sid = body.split("X-NSCP-WCAP-SESSION-ID:")[1].split()[0]

    def call(self, command: str, **params) -> str:
        if getattr(self, "sid", None):
            params["id"] = self.sid
        params.setdefault("fmt-out", "text/calendar")
        response = self.client.request("POST", "/wcap/%s.wcap" % command,
                                       # WCAP splits lists on the raw ";" and "^"
                                       urllib.parse.urlencode(params, safe=";^"),
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 200, response.text
        return response.text

    def ok(self, command: str, **params) -> str:
        text = self.call(command, **params)
        assert "X-NSCP-WCAP-ERRNO:0" in text, text
        return text

    def import_(self, calid: str, ics: str) -> None:
        body = ("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"a.ics\"\r\n"
                "Content-Type: text/calendar\r\n\r\n%s\r\n--%s--\r\n" % (BOUNDARY, ics, BOUNDARY))
        query = urllib.parse.urlencode({"id": self.sid, "calid": calid,
                                        "content-in": "text/calendar",
                                        "fmt-out": "text/calendar"})
        response = self.client.request(
            "POST", "/wcap/import.wcap?" + query, body.encode("utf-8"),
            {"Content-Type": "multipart/form-data; boundary=%s" % BOUNDARY})
        assert "X-NSCP-WCAP-ERRNO:0" in response.text, response.text


def fill(instance, client) -> Dict[str, Wcap]:
    """Users are made as an administrator makes them (the CLI's way); everything
    else goes through WCAP."""
    add_user(instance, ADMIN, admin=True)
    for name, tz in USERS.items():
        add_user(instance, name, tz=tz)
    instance.directory.update("jdoe", cn="Jöhn Doe")
    w = {name: Wcap(client, name) for name in [ADMIN, *USERS]}
    w["jdoe"].ok("createcalendar", calid="work", name="Wörk & Co", description="Büro; Team",
                 tzid="Europe/Berlin", categories="Arbeit;Team", set_calprops="1",
                 acl="@@o^a^rsf^g;@@o^c^wdeic^g;lucy^c^wd^g;lucy^a^rf^g;jjones^a^r^g;"
                     "@^a^f^g;@^c^^g;@^p^r^g",
                 owners="lucy;jjones", doublebooking="0")
    w["jdoe"].import_("jdoe", SERIES)
    w["jdoe"].ok("storeevents", calid="jdoe:work", uid="invite-1",
                 dtstart="20240301T090000Z", dtend="20240301T100000Z", summary="Planung Q2",
                 tzid="Europe/Berlin", method="2", smtp="0",
                 attendees="PARTSTAT=ACCEPTED^RSVP=TRUE^jdoe;"
                           "PARTSTAT=NEEDS-ACTION^RSVP=TRUE^lucy",
                 alarmStart="-PT10M")
    w["lucy"].ok("storeevents", calid="lucy", uid="invite-1", method="4",
                 attendees="PARTSTAT=ACCEPTED^mailto:lucy@example.com")
    w["jdoe"].ok("storetodos", calid="jdoe:work", uid="todo-2", summary="Bericht ✓",
                 due="20240310T160000Z", tzid="Europe/Berlin", priority="3")
    w["lucy"].ok("storeevents", calid="lucy", uid="lucy-1", dtstart="20240305T140000Z",
                 dtend="20240305T150000Z", summary="Dentist", tzid="America/New_York",
                 rrules='"FREQ=MONTHLY;COUNT=6"', isAllDay="0")
    w["lucy"].ok("subscribe_calendars", calid="jdoe:work;jjones")
    w["jdoe"].ok("set_userprefs", set_attrs="ceColorSet=pref_group4")
    w["jdoe"].ok("set_userprefs", set_attrs="ceInterval=PT0H30M")
    return w
