"""The multi-item writes of every door, each set up and then run (tests only).

``setup`` fills the store in the test process; ``run`` is what a child process
does (and is killed in). ``paths``: the calendars the run's batch writes, which
must be as before after a kill; ``reader``: who reads ``paths[0]`` next.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Callable

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
    "scheduling": Scenario(setup_scheduling, run_scheduling,
                           tuple("/%s/calendar/" % name for name in ATTENDEES), "bob"),
}
