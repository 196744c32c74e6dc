"""A real server with two users, jdoe (the owner) and jsmith (the subscriber), and
helpers that drive it as CalDAV clients do."""

from __future__ import annotations

import itertools
import re

import caldav
import pytest

from tests.conftest import TEST_PASSWORD, LiveServer, add_user

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
         "DTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\n"
         "SUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
_names = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(str(tmp_path_factory.mktemp("sharing")))
    for name in ("jdoe", "jsmith", "other"):
        add_user(live.instance, name)
    yield live
    live.stop()


@pytest.fixture
def calendar(server):
    """A new calendar of jdoe's with one event, e1; its calid."""
    calid = "jdoe:c%d" % next(_names)
    server.instance.store.create_calendar(calid, name="Team %s" % calid, user="jdoe")
    path = "/jdoe/%s/" % calid.split(":")[1]
    assert server.client.request("PUT", path + "e1.ics", EVENT % ("e1", "Planning"), ICS,
                                 user="jdoe").status == 201
    return calid


def dav(server, user: str) -> caldav.DAVClient:
    """A client that starts, as a user's would, from the server's root URL."""
    return caldav.DAVClient(url=server.url + "/", username=user, password=TEST_PASSWORD)


def calendars_of(server, user: str) -> dict:
    """URL path -> display name of every calendar the user's client discovers."""
    principal = dav(server, user).principal()
    return {c.url.path: c.get_display_name() for c in principal.calendars()}


def hrefs(text: str) -> list:
    """Every href of a multistatus (the responses', owners', principals')."""
    return re.findall(r"<href>([^<]*)</href>", text)


def answered(text: str) -> dict:
    """href -> the text of its response, for each response of a multistatus."""
    return dict(re.findall(r"<response><href>([^<]*)</href>(.*?)</response>", text))
