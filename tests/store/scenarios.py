"""The multi-item writes of every door, each set up and then run (tests only).

``setup`` fills the store in the test process; ``run`` is what a child process
does (and is killed in). ``paths``: the calendars the run's batch writes, which
must be as before after a kill; ``reader``: who reads ``paths[0]`` next.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Callable

from radicale_wcap.store import READ, SYSTEM
from tests.conftest import TEST_PASSWORD, add_user
from tests.trumba.test_door_fixtures import event, feed, setup_calendar

PATH = "/jdoe/calendar/"


def _first_feed():
    return feed(*(event("e%02d" % i, "Talk %d" % i) for i in range(10)))


def _second_feed():
    return feed(*(event("e%02d" % i, "Changed %d" % i) for i in range(10)),
                *(event("n%02d" % i, "New %d" % i) for i in range(10)))


def _wcap_sid(client, user="jdoe") -> str:
    r = client.request("GET", "/wcap/login.wcap?user=%s&password=%s&fmt-out=text/xml"
                       % (user, urllib.parse.quote(TEST_PASSWORD)))
    return r.text.split("<X-NSCP-WCAP-SESSION-ID>")[1].split("<")[0]


def setup_feed(instance, client) -> None:
    setup_calendar(instance)
    assert client.request("PUT", "/service/Campus.ics", _first_feed(),
                          user="jdoe").status == 200


def run_feed(instance, client) -> None:
    client.request("PUT", "/service/Campus.ics", _second_feed(), user="jdoe")


def run_range_delete(instance, client) -> None:
    sid = _wcap_sid(client)
    client.request("GET", "/wcap/deletecomponents_by_range.wcap?id=%s&calid=jdoe"
                   "&dtstart=20250101T000000Z&dtend=20251231T000000Z&fmt-out=text/xml" % sid)


def setup_single(instance, client) -> None:
    add_user(instance, "jdoe")


def run_single(instance, client) -> None:
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
                        *event("lonely", "Written before the crash"), "END:VCALENDAR", ""])
    client.request("PUT", PATH + "lonely.ics", body, {"Content-Type": "text/calendar"},
                   user="jdoe")


ATTENDEES = ("bob", "carol", "dave", "erin")


def setup_scheduling(instance, client) -> None:
    for name in ("jdoe",) + ATTENDEES:
        add_user(instance, name)


def run_scheduling(instance, client) -> None:
    """The organizer's own store is one batch (write 0), the copies for the four
    attendees the next (writes 0..3)."""
    sid = _wcap_sid(client)
    attendees = ";".join("PARTSTAT%%3DNEEDS-ACTION%%5E%s%%40example.com" % name
                         for name in ATTENDEES)
    client.request("GET", "/wcap/storeevents.wcap?id=%s&calid=jdoe&uid=meeting"
                   "&summary=Planning&dtstart=20250110T100000Z&dtend=20250110T110000Z"
                   "&orgCalid=jdoe&attendees=%s&fmt-out=text/xml" % (sid, attendees))


def setup_wcap_import(instance, client) -> None:
    add_user(instance, "jdoe")
    sid = _wcap_sid(client)
    _import(client, sid, "Before")


def _import(client, sid, summary) -> None:
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
                         *(line for i in range(8) for line in
                           event("imp%02d" % i, "%s %d" % (summary, i))),
                         "END:VCALENDAR", ""]).encode()
    boundary = "b0undary"
    data = (("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; "
             "filename=\"import.ics\"\r\n\r\n" % boundary).encode() + body
            + ("\r\n--%s--\r\n" % boundary).encode())
    answer = client.request(
        "POST", "/wcap/import.wcap?id=%s&calid=jdoe&content-in=text/calendar"
        "&fmt-out=text/xml" % sid, data,
        {"Content-Type": "multipart/form-data; boundary=%s" % boundary})
    assert "<X-NSCP-WCAP-ERRNO>0<" in answer.text, answer.text


def run_wcap_import(instance, client) -> None:
    _import(client, _wcap_sid(client), "After")


SERIES = {"title": "Standup", "starting_date": "2024-03-04", "starting_time": "09:00",
          "ending_time": "09:30", "timezone": "Europe/Paris", "rec_type": 0, "rec_count": 5}


def setup_fork(instance, client) -> None:
    add_user(instance, "jdoe")
    response = client.request("POST", "/restapi/v1/events", json.dumps(SERIES),
                              {"Content-Type": "application/json"}, user="jdoe")
    assert response.status == 201, response.body


def run_fork(instance, client) -> None:
    """The clone (write 0) and the shortened series (write 1): one batch."""
    with instance.store.reading(PATH, SYSTEM, READ) as calendar:
        uid, = calendar.entries()
    client.request("POST", "/restapi/v1/events/itemguid=%s?fork=1&starting_date=2024-03-06"
                   % uid, b"", {"Content-Type": "application/json"}, user="jdoe")


@dataclass(frozen=True)
class Scenario:
    setup: Callable
    run: Callable
    paths: tuple = (PATH,)
    reader: str = "jdoe"


SCENARIOS = {
    "feed": Scenario(setup_feed, run_feed),
    "range-delete": Scenario(setup_feed, run_range_delete),
    "single": Scenario(setup_single, run_single),
    "wcap-import": Scenario(setup_wcap_import, run_wcap_import),
    "fork": Scenario(setup_fork, run_fork),
    "scheduling": Scenario(setup_scheduling, run_scheduling,
                           tuple("/%s/calendar/" % name for name in ATTENDEES), "bob"),
}
