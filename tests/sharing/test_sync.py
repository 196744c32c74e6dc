"""Sync tokens and sync-collection on the shared path are the owner's calendar's: each
change is reported once on each path, whichever path it was made through."""

from __future__ import annotations

import re

from radicale_wcap.wcap.commands import lists
from tests.sharing.conftest import EVENT, ICS, dav, hrefs

SYNC = ("<?xml version='1.0'?><D:sync-collection xmlns:D='DAV:'>"
        "<D:sync-token>%s</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>")


def sync(server, user: str, path: str, token: str = ""):
    """(new token, changed hrefs) of a sync-collection REPORT."""
    answer = server.client.request("REPORT", path, SYNC % token,
                                   {"Content-Type": "application/xml"}, user=user)
    assert answer.status == 207, answer.text
    new = re.search(r"<sync-token>([^<]*)</sync-token>", answer.text).group(1)
    return new, [h for h in hrefs(answer.text) if h != path]


def test_each_change_reported_once_on_both_paths(server, calendar):
    name = calendar.split(":")[1]
    owner, mine = "/jdoe/%s/" % name, "/jsmith/~jdoe~%s/" % name
    server.instance.registry.set_acl(owner, "jsmith^c^rwd^g;@@o^a^rwd^g")
    lists.subscribe(server.instance, "jsmith", [calendar])
    jdoe_token, first = sync(server, "jdoe", owner)
    jsmith_token, shared_first = sync(server, "jsmith", mine)
    assert first == [owner + "e1.ics"] and shared_first == [mine + "e1.ics"]
    assert jdoe_token == jsmith_token  # one calendar, one history

    # jdoe writes at his path: reported once to each.
    assert server.client.request("PUT", owner + "e2.ics", EVENT % ("e2", "By jdoe"), ICS,
                                 user="jdoe").status == 201
    jsmith_token, changed = sync(server, "jsmith", mine, jsmith_token)
    assert changed == [mine + "e2.ics"]
    jsmith_token, changed = sync(server, "jsmith", mine, jsmith_token)
    assert changed == []
    # jsmith writes and deletes through the share: reported once to jdoe.
    assert server.client.request("PUT", mine + "e3.ics", EVENT % ("e3", "By jsmith"), ICS,
                                 user="jsmith").status == 201
    assert server.client.request("DELETE", mine + "e1.ics", user="jsmith").status in (200,
                                                                                       204)
    jdoe_token, changed = sync(server, "jdoe", owner, jdoe_token)
    assert sorted(changed) == [owner + "e1.ics", owner + "e2.ics", owner + "e3.ics"]
    jdoe_token, changed = sync(server, "jdoe", owner, jdoe_token)
    assert changed == []
    jsmith_token, changed = sync(server, "jsmith", mine, jsmith_token)
    assert sorted(changed) == [mine + "e1.ics", mine + "e3.ics"]
    assert jsmith_token == jdoe_token


def test_caldav_library_sync_on_the_shared_calendar(server, calendar):
    name = calendar.split(":")[1]
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^a^r^g")
    lists.subscribe(server.instance, "jsmith", [calendar])
    principal = dav(server, "jsmith").principal()
    cal = next(c for c in principal.calendars() if c.url.path.endswith("~jdoe~%s/" % name))
    objects = cal.objects_by_sync_token(load_objects=True)
    assert [o.icalendar_component["SUMMARY"] for o in objects] == ["Planning"]
    assert server.client.request("PUT", "/jdoe/%s/e4.ics" % name, EVENT % ("e4", "Later"),
                                 ICS, user="jdoe").status == 201
    updated, deleted = objects.sync()
    assert [o.icalendar_component["SUMMARY"] for o in updated] == ["Later"]
    assert not deleted


WEEK = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
        "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/><C:calendar-data/>"
        "</D:prop><C:filter><C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
        "<C:time-range start='20240101T000000Z' end='20240108T000000Z'/></C:comp-filter>"
        "</C:comp-filter></C:filter></C:calendar-query>")


def test_week_query_through_a_share_is_the_owners_answer(server, calendar, caplog):
    """The index's fast REPORT path serves a share too, with the share's hrefs."""
    name = calendar.split(":")[1]
    owner, mine = "/jdoe/%s/" % name, "/jsmith/~jdoe~%s/" % name
    server.instance.registry.set_acl(owner, "jsmith^a^r^g")
    lists.subscribe(server.instance, "jsmith", [calendar])
    private = (EVENT % ("p1", "Doctor")).replace("SUMMARY", "CLASS:PRIVATE\r\nSUMMARY")
    assert server.client.request("PUT", owner + "p1.ics", private, ICS,
                                 user="jdoe").status == 201
    headers = {"Depth": "1", "Content-Type": "application/xml"}
    caplog.set_level("INFO", logger="radicale.wcap.report")
    direct = server.client.request("REPORT", owner, WEEK, headers, user="jsmith")
    shared = server.client.request("REPORT", mine, WEEK, headers, user="jsmith")
    assert shared.status == direct.status == 207
    assert shared.text == direct.text.replace(owner, mine)
    assert "Planning" in shared.text and "Doctor" not in shared.text
    assert sum("answered from the index" in r.message for r in caplog.records) == 2
    server.instance.registry.set_acl(owner, "jsmith^a^f^g")
    assert server.client.request("REPORT", mine, WEEK, headers, user="jsmith").status == 403
