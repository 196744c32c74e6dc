"""jsmith's CalDAV client, started from the server's root URL, finds jdoe's calendars
that jsmith subscribed to in his own home, and every request there is jdoe's calendar
under jdoe's ACEs for jsmith."""

from __future__ import annotations

import caldav
import pytest
from caldav.elements import dav as dav_elements

from radicale_wcap import store
from radicale_wcap.wcap.commands import lists
from tests.sharing.conftest import EVENT, ICS, calendars_of, dav
from tests.wcap.conftest import wcap, wcap_login

PRIVILEGES = ("<?xml version='1.0'?><D:propfind xmlns:D='DAV:'><D:prop>"
              "<D:current-user-privilege-set/></D:prop></D:propfind>")


def shared(calid: str) -> str:
    return "/jsmith/~%s/" % calid.replace(":", "~")


def test_subscribed_through_wcap_is_discovered_and_read(server, calendar):
    server.instance.registry.set_acl("/jdoe/%s/" % calendar.split(":")[1],
                                     "jsmith^a^r^g;@@o^a^rwd^g")
    session = wcap_login(server.client, "jsmith")
    assert wcap(server.client, "subscribe_calendars", id=session, calid=calendar).errno == 0
    found = calendars_of(server, "jsmith")
    assert found[shared(calendar)] == "Team %s" % calendar  # the owner's name
    assert "/jsmith/calendar/" in found
    principal = dav(server, "jsmith").principal()
    cal = next(c for c in principal.calendars() if c.url.path == shared(calendar))
    events = cal.events()
    assert [e.icalendar_component["SUMMARY"] for e in events] == ["Planning"]
    assert str(events[0].url).endswith(shared(calendar) + "e1.ics")
    # Read-only: the client is told so, and a write is refused.
    answer = server.client.request("PROPFIND", shared(calendar), PRIVILEGES,
                                   {"Depth": "0"}, user="jsmith")
    assert answer.status == 207 and "<read />" in answer.text
    assert "write" not in answer.text
    with pytest.raises(caldav.lib.error.DAVError):
        cal.save_event(EVENT % ("e9", "Sneaky"))
    assert server.client.request("GET", "/jdoe/%s/e9.ics" % calendar.split(":")[1],
                                 user="jdoe").status == 404
    # Unsubscribing takes it out of his home, and nothing else.
    assert wcap(server.client, "unsubscribe_calendars", id=session,
                calid=calendar).errno == 0
    assert shared(calendar) not in calendars_of(server, "jsmith")
    assert server.client.request("GET", "/jdoe/%s/e1.ics" % calendar.split(":")[1],
                                 user="jdoe").status == 200


def test_writes_when_granted_are_the_owners_items(server, calendar):
    name = calendar.split(":")[1]
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^c^rw^g;@@o^a^rwd^g")
    lists.subscribe(server.instance, "jsmith", [calendar])
    principal = dav(server, "jsmith").principal()
    cal = next(c for c in principal.calendars() if c.url.path == shared(calendar))
    answer = server.client.request("PROPFIND", shared(calendar), PRIVILEGES,
                                   {"Depth": "0"}, user="jsmith")
    assert "<write-content />" in answer.text
    cal.save_event(EVENT % ("e2", "Written by jsmith"))
    # jdoe's own client sees it at once, at his own path: one copy.
    jdoe_cal = dav(server, "jdoe").calendar(url=server.url + "/jdoe/%s/" % name)
    assert "Written by jsmith" in [e.icalendar_component["SUMMARY"]
                                   for e in jdoe_cal.events()]
    with server.instance.store.reading("/jdoe/%s/" % name, "jdoe", store.READ) as reader:
        assert reader.by_uid("e2") is not None
    # ... and so does his WCAP client.
    session = wcap_login(server.client, "jdoe")
    fetched = wcap(server.client, "fetchcomponents_by_range", "text/calendar", id=session,
                   calid=calendar, dtstart="20240101T000000Z", dtend="20240110T000000Z")
    assert fetched.errno == 0 and "Written by jsmith" in fetched.text
    # jdoe's change is jsmith's next read, with the same ETag on both paths.
    changed = (EVENT % ("e2", "Moved by jdoe"))
    assert server.client.request("PUT", "/jdoe/%s/e2.ics" % name, changed, ICS,
                                 user="jdoe").status == 204
    mine = server.client.request("GET", shared(calendar) + "e2.ics", user="jsmith")
    theirs = server.client.request("GET", "/jdoe/%s/e2.ics" % name, user="jdoe")
    assert "Moved by jdoe" in mine.text and mine.headers["etag"] == theirs.headers["etag"]
    # Deleting needs d as well as w.
    assert server.client.request("DELETE", shared(calendar) + "e2.ics",
                                 user="jsmith").status == 403
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^c^rwd^g;@@o^a^rwd^g")
    assert server.client.request("DELETE", shared(calendar) + "e2.ics",
                                 user="jsmith").status in (200, 204)
    assert server.client.request("GET", "/jdoe/%s/e2.ics" % name, user="jdoe").status == 404


def test_revoked_grant_disappears_and_answers_403(server, calendar):
    name = calendar.split(":")[1]
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^a^r^g")
    lists.subscribe(server.instance, "jsmith", [calendar])
    assert shared(calendar) in calendars_of(server, "jsmith")
    server.instance.registry.set_acl("/jdoe/%s/" % name, "@@o^a^rwd^g")
    assert shared(calendar) not in calendars_of(server, "jsmith")
    for method, body in (("GET", ""), ("PROPFIND", PRIVILEGES)):
        answer = server.client.request(method, shared(calendar) + "e1.ics", body,
                                       {"Depth": "0"}, user="jsmith")
        assert answer.status == 403 and "Planning" not in answer.text
    answer = server.client.request("PROPFIND", shared(calendar), "", {"Depth": "1"},
                                   user="jsmith")
    assert answer.status == 403 and "e1.ics" not in answer.text
    assert server.client.request("PUT", shared(calendar) + "e5.ics", EVENT % ("e5", "x"),
                                 ICS, user="jsmith").status == 403
    # Granted again: back on the next request.
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^a^r^g")
    assert shared(calendar) in calendars_of(server, "jsmith")


def test_subscriber_sets_his_own_name_and_colour(server, calendar):
    name = calendar.split(":")[1]
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^a^r^g")  # read only
    lists.subscribe(server.instance, "jsmith", [calendar])
    principal = dav(server, "jsmith").principal()
    cal = next(c for c in principal.calendars() if c.url.path == shared(calendar))
    cal.set_properties([dav_elements.DisplayName("jdoe's team (mine)")])
    assert calendars_of(server, "jsmith")[shared(calendar)] == "jdoe's team (mine)"
    assert calendars_of(server, "jdoe")["/jdoe/%s/" % name] == "Team %s" % calendar
    colour = ("<?xml version='1.0'?><D:propertyupdate xmlns:D='DAV:' "
              "xmlns:I='http://apple.com/ns/ical/'><D:set><D:prop>"
              "<I:calendar-color>#FF0000FF</I:calendar-color></D:prop></D:set>"
              "</D:propertyupdate>")
    assert server.client.request("PROPPATCH", shared(calendar), colour,
                                 user="jsmith").status == 207
    asked = ("<?xml version='1.0'?><D:propfind xmlns:D='DAV:' "
             "xmlns:I='http://apple.com/ns/ical/'><D:prop><I:calendar-color/>"
             "</D:prop></D:propfind>")
    mine = server.client.request("PROPFIND", shared(calendar), asked, {"Depth": "0"},
                                 user="jsmith")
    assert "#FF0000FF" in mine.text
    theirs = server.client.request("PROPFIND", "/jdoe/%s/" % name, asked, {"Depth": "0"},
                                   user="jdoe")
    assert "#FF0000FF" not in theirs.text
    # The owner's properties can not be changed through the share.
    owners = ("<?xml version='1.0'?><D:propertyupdate xmlns:D='DAV:' "
              "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:set><D:prop>"
              "<C:calendar-description>hacked</C:calendar-description><D:displayname>x"
              "</D:displayname></D:prop></D:set></D:propertyupdate>")
    answer = server.client.request("PROPPATCH", shared(calendar), owners, user="jsmith")
    assert "403 Forbidden" in answer.text and "424" in answer.text
    assert calendars_of(server, "jsmith")[shared(calendar)] == "jdoe's team (mine)"
    assert "hacked" not in str(server.instance.store.calendar_props(calendar))
