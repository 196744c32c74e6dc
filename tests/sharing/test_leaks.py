"""Nothing of jdoe's calendars reaches jsmith through his home beyond what jdoe's ACEs
grant him: not through PROPFIND on / or on his home at any depth, not through REPORTs
across it, not through MOVE or COPY, not for any other user, not for the store."""

from __future__ import annotations

import pytest

from radicale_wcap.wcap.commands import lists
from tests.sharing.conftest import EVENT, ICS, answered, hrefs

SECRET = "/jdoe/secret/"


@pytest.fixture(scope="module")
def secret(server):
    """jdoe's calendar with the default ACL (others: free/busy and properties only),
    which jsmith subscribed to."""
    server.instance.store.create_calendar("jdoe:secret", name="Secret", user="jdoe")
    assert server.client.request("PUT", SECRET + "s1.ics", EVENT % ("s1", "Secret plan"),
                                 ICS, user="jdoe").status == 201
    lists.subscribe(server.instance, "jsmith", ["jdoe:secret"])
    return "/jsmith/~jdoe~secret/"


@pytest.fixture
def share(server, calendar, secret):
    name = calendar.split(":")[1]
    server.instance.registry.set_acl("/jdoe/%s/" % name,
                                     "jsmith^c^rw^g;other^a^r^g;@@o^a^rwd^g")
    lists.subscribe(server.instance, "jsmith", [calendar])
    return "/jsmith/~jdoe~%s/" % name


def under_jdoe(found):
    return [h for h in found if h.startswith("/jdoe/") and h != "/jdoe/"]


@pytest.mark.parametrize("path", ["/", "/jsmith/"])
@pytest.mark.parametrize("depth", ["0", "1", "infinity"])
def test_propfind_shows_nothing_of_jdoe(server, share, path, depth):
    answer = server.client.request("PROPFIND", path, "", {"Depth": depth}, user="jsmith")
    assert answer.status == 207
    assert not under_jdoe(hrefs(answer.text))
    assert "Secret plan" not in answer.text and "~jdoe~secret" not in answer.text
    if path == "/jsmith/" and depth != "0":
        assert share in answered(answer.text)
        assert all(h.startswith("/jsmith/") for h in answered(answer.text))


def test_free_busy_only_calendar_is_not_listed_and_refused(server, share, secret):
    for method, body in (("GET", ""), ("PROPFIND", "")):
        answer = server.client.request(method, secret + "s1.ics", body, {"Depth": "0"},
                                       user="jsmith")
        assert answer.status == 403 and "Secret plan" not in answer.text
    answer = server.client.request("PROPFIND", secret, "", {"Depth": "1"}, user="jsmith")
    assert answer.status == 403 and "s1.ics" not in answer.text


QUERY = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
         "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/><C:calendar-data/>"
         "</D:prop><C:filter><C:comp-filter name='VCALENDAR'/></C:filter></C:calendar-query>")
MULTIGET = ("<?xml version='1.0'?><C:calendar-multiget xmlns:D='DAV:' "
            "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><C:calendar-data/></D:prop>"
            "%s</C:calendar-multiget>")
SYNC = ("<?xml version='1.0'?><D:sync-collection xmlns:D='DAV:'><D:sync-token/>"
        "<D:sync-level>infinite</D:sync-level><D:prop><D:getetag/></D:prop>"
        "</D:sync-collection>")


@pytest.mark.parametrize("target", ["home", "share"])
def test_reports_across_the_home_show_nothing_of_jdoe(server, share, secret, target):
    path = "/jsmith/" if target == "home" else share
    wanted = "".join("<D:href>%s</D:href>" % h for h in (
        SECRET + "s1.ics", secret + "s1.ics", "/jsmith/../jdoe/secret/s1.ics"))
    for body in (QUERY, MULTIGET % wanted, SYNC):
        answer = server.client.request("REPORT", path, body,
                                       {"Depth": "1", "Content-Type": "application/xml"},
                                       user="jsmith")
        assert "Secret plan" not in answer.text
        for href, response in answered(answer.text).items():
            # A multiget names its hrefs back, with nothing but a 404.
            assert href.startswith(share) or "404 Not Found" in response, href
    answer = server.client.request("REPORT", share, QUERY,
                                   {"Depth": "1", "Content-Type": "application/xml"},
                                   user="jsmith")
    assert "Planning" in answer.text  # what the share does grant
    assert all(h.startswith(share) for h in answered(answer.text))


def test_move_and_copy_from_or_into_a_share_are_refused(server, share, calendar):
    name = calendar.split(":")[1]
    assert server.client.request("PUT", "/jsmith/calendar/own.ics", EVENT % ("own", "Own"),
                                 ICS, user="jsmith").status == 201
    cases = [(share + "e1.ics", "/jsmith/calendar/e1.ics"),
             ("/jsmith/calendar/own.ics", share + "own.ics"),
             ("/jsmith/calendar/own.ics", "/jsmith/~jdoe~secret/own.ics"),
             (share, "/jsmith/stolen/")]
    for method in ("MOVE", "COPY"):
        for source, destination in cases:
            answer = server.client.request(method, source, "", {
                "Destination": server.url + destination}, user="jsmith")
            assert answer.status in (403, 405), (method, source, answer.status)
    assert server.client.request("GET", "/jdoe/%s/e1.ics" % name, user="jdoe").status == 200
    assert server.client.request("GET", "/jdoe/%s/own.ics" % name, user="jdoe").status == 404
    assert server.client.request("GET", "/jsmith/calendar/own.ics",
                                 user="jsmith").status == 200


MKCALENDAR = ("<?xml version='1.0'?><C:mkcalendar xmlns:D='DAV:' "
              "xmlns:C='urn:ietf:params:xml:ns:caldav'/>")


def test_shared_collections_are_not_created_replaced_or_deleted(server, share, calendar):
    name = calendar.split(":")[1]
    for path in ("/jsmith/~evil/", "/jsmith/~jdoe~secret/", "/jsmith/~jdoe~nothing/", share):
        assert server.client.request("MKCALENDAR", path, MKCALENDAR,
                                     user="jsmith").status == 403
        assert server.client.request("MKCOL", path, user="jsmith").status == 403
    assert server.client.request("PUT", share, EVENT % ("x", "Replaced"), ICS,
                                 user="jsmith").status == 403
    assert server.client.request("DELETE", share + "e1.ics", user="jsmith").status == 403
    # A DELETE of the collection (Apple Calendar's "unsubscribe") unsubscribes him.
    assert server.client.request("DELETE", share, user="other").status == 403
    assert server.client.request("DELETE", share, user="jsmith").status == 204
    assert calendar not in lists.subscribed(server.instance, "jsmith")
    assert server.client.request("DELETE", share, user="jsmith").status == 403
    answer = server.client.request("GET", "/jdoe/%s/e1.ics" % name, user="jdoe")
    assert answer.status == 200 and "Planning" in answer.text
    assert "~" not in "".join(server.instance.store.calendars_on_disk())


def test_a_share_is_its_subscribers_alone(server, share):
    # "other" may read jdoe's calendar itself, but not through jsmith's home.
    for user in ("other", "jdoe"):
        for method in ("GET", "PROPFIND"):
            assert server.client.request(method, share + "e1.ics", "", {"Depth": "0"},
                                         user=user).status == 403
        answer = server.client.request("PROPFIND", "/jsmith/", "", {"Depth": "1"},
                                       user=user)
        assert "~jdoe" not in answer.text
    assert server.client.request("GET", share + "e1.ics").status == 401
    assert server.client.request("PUT", share + "x.ics", EVENT % ("x", "x"), ICS,
                                 user="other").status == 403


def test_unsubscribed_share_path_answers_nothing(server, calendar):
    name = calendar.split(":")[1]
    server.instance.registry.set_acl("/jdoe/%s/" % name, "jsmith^a^r^g")
    path = "/jsmith/~jdoe~%s/" % name  # granted, but not subscribed
    answer = server.client.request("GET", path + "e1.ics", user="jsmith")
    assert answer.status in (403, 404) and "Planning" not in answer.text


def test_private_events_stay_private_through_a_share(server, share, calendar):
    name = calendar.split(":")[1]
    private = (EVENT % ("p1", "Doctor")).replace("SUMMARY", "CLASS:PRIVATE\r\nSUMMARY")
    assert server.client.request("PUT", "/jdoe/%s/p1.ics" % name, private, ICS,
                                 user="jdoe").status == 201
    answer = server.client.request("GET", share + "p1.ics", user="jsmith")
    assert answer.status == 200 and "Doctor" not in answer.text and "Busy" in answer.text
    answer = server.client.request("REPORT", share, QUERY,
                                   {"Depth": "1", "Content-Type": "application/xml"},
                                   user="jsmith")
    assert "Doctor" not in answer.text and "Busy" in answer.text
    # jsmith may write the calendar, but not over an item he can not see whole.
    assert server.client.request("PUT", share + "p1.ics", private.replace("Doctor", "Mine"),
                                 ICS, user="jsmith").status == 403
    assert "Doctor" in server.client.request("GET", "/jdoe/%s/p1.ics" % name,
                                             user="jdoe").text
