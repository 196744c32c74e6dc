"""The CalDAV door decides every store-changing request on the path Radicale
acts on, and answers requests that made Radicale fail with a 4xx.

Security issues: a whole-collection PUT emptied and renamed a calendar
without the delete right; ``%252F`` in an item name hid a DELETE from the
delete check; DTDs, deep XML, malformed Basic credentials and over-long names
gave 500s; a 100 KB user name went into the log whole. Every scenario runs
in-process and against a real server.
"""

from __future__ import annotations

import base64
import logging
import time

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, LiveServer, add_user, make_instance

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n%sBEGIN:VEVENT\r\nUID:%s\r\n"
         "DTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\n"
         "SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
ICS = {"Content-Type": "text/calendar"}
XML = {"Content-Type": "application/xml", "Depth": "0"}
PROPFIND = ("<?xml version='1.0'?>%s<D:propfind xmlns:D='DAV:'><D:prop>%s"
            "</D:prop></D:propfind>")

EXTENDED_MKCOL = ("<?xml version='1.0'?><D:mkcol xmlns:D='DAV:' "
                  "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:set><D:prop><D:resourcetype>"
                  "<D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>")


def event(uid: str, calname: str = "") -> str:
    return EVENT % ("X-WR-CALNAME:%s\r\n" % calname if calname else "", uid)


def _scenario(transport: str, folder: str):
    """(instance, client, server): jdoe owns ``shared`` with e1 and e2 in it;
    jsmith may read and write its components, not delete them or change
    properties; root is an administrator."""
    if transport == "live":
        server = LiveServer(folder)
        instance, client = server.instance, server.client
    else:
        server = None
        instance = make_instance(folder)
        client = InProcessClient(make_app(instance))
    for name in ("jdoe", "jsmith", "root"):
        add_user(instance, name, admin=(name == "root"))
    assert client.request("MKCALENDAR", "/jdoe/shared/", user="jdoe").status == 201
    for uid in ("e1", "e2"):
        assert client.request("PUT", "/jdoe/shared/%s.ics" % uid, event(uid), ICS,
                              user="jdoe").status == 201
    instance.registry.set_acl("/jdoe/shared/", "jsmith^c^rw^g;@@o^a^rwd^g")
    return instance, client, server


@pytest.fixture(params=["in-process", "live"])
def door(request, tmp_path):
    """The scenario over both transports."""
    instance, client, server = _scenario(request.param, str(tmp_path))
    yield instance, client
    if server is not None:
        server.stop()


@pytest.fixture
def local(tmp_path):
    """The scenario in-process, for the long matrices."""
    instance, client, _ = _scenario("in-process", str(tmp_path))
    return instance, client


def hrefs(client, path: str, user: str = "jdoe") -> set:
    response = client.request("PROPFIND", path, "", {"Depth": "1"}, user=user)
    assert response.status == 207
    names = {part.split("</href>")[0].rsplit("/", 1)[-1]
             for part in response.text.split("<href>")[1:]}
    return names - {""}


def displayname(client, path: str) -> str:
    response = client.request("PROPFIND", path, PROPFIND % ("", "<D:displayname/>"), XML,
                              user="jdoe")
    assert response.status == 207
    return response.text


# -- issue 1: a PUT of a whole calendar

def test_collection_put_without_delete_right_is_refused(door):
    instance, client = door
    before = displayname(client, "/jdoe/shared/")
    response = client.request("PUT", "/jdoe/shared/", event("n1", "pwned"), ICS, user="jsmith")
    assert response.status == 403
    assert hrefs(client, "/jdoe/shared/") == {"e1.ics", "e2.ics"}
    assert displayname(client, "/jdoe/shared/") == before and "pwned" not in before


def test_collection_put_needs_the_primary_owner_even_with_every_grant(door):
    instance, client = door
    instance.registry.set_acl("/jdoe/shared/", "jsmith^a^rwd^g")
    assert client.request("PUT", "/jdoe/shared/", event("n1", "pwned"), ICS,
                          user="jsmith").status == 403
    assert hrefs(client, "/jdoe/shared/") == {"e1.ics", "e2.ics"}


@pytest.mark.parametrize("user", ["jdoe", "root"])
def test_collection_put_by_the_owner_or_an_administrator_replaces(door, user):
    instance, client = door
    assert client.request("PUT", "/jdoe/shared/", event("n1", "Replaced"), ICS,
                          user=user).status == 201
    assert not hrefs(client, "/jdoe/shared/") & {"e1.ics", "e2.ics"}
    assert "Replaced" in displayname(client, "/jdoe/shared/")


def test_collection_put_by_the_owner_keeps_the_new_items(local):
    instance, client = local
    assert client.request("PUT", "/jdoe/shared/", event("n1", "Replaced"), ICS,
                          user="jdoe").status == 201
    assert hrefs(client, "/jdoe/shared/") == {"n1.ics"}


@pytest.mark.parametrize("method", ["PUT", "MKCALENDAR", "MKCOL"])
def test_creating_a_calendar_in_another_home_is_refused(tmp_path, method):
    # A default ACL that lets everyone write components must not let
    # everyone create calendars in everyone's home.
    instance = make_instance(str(tmp_path), {"rights": {
        "default_acl": "@@o^a^rwd^g;@^c^rw^g;@^p^r^g"}})
    for name in ("jdoe", "jsmith"):
        add_user(instance, name)
    client = InProcessClient(make_app(instance))
    body = {"PUT": event("n1", "mine"), "MKCALENDAR": "", "MKCOL": EXTENDED_MKCOL}[method]
    assert client.request(method, "/jdoe/planted/", body, ICS, user="jsmith").status == 403
    assert client.request("PROPFIND", "/jdoe/planted/", "", {"Depth": "0"},
                          user="jdoe").status == 404
    assert client.request(method, "/jdoe/planted/", body, ICS, user="jdoe").status == 201


def test_creating_a_calendar_by_put_in_the_own_home(door):
    instance, client = door
    assert client.request("PUT", "/jsmith/imported/", event("n1", "Imported"), ICS,
                          user="jsmith").status == 201
    assert client.request("PUT", "/jdoe/imported/", event("n1"), ICS,
                          user="jsmith").status == 403


# -- issue 2: the path Radicale acts on, every depth, the Destination

def test_double_encoded_slash_is_one_item_name(door):
    # The item is named "odd%2Fslash.ics"; its href quotes the "%" again.
    instance, client = door
    assert client.request("PUT", "/jdoe/shared/odd%252Fslash.ics", event("odd"), ICS,
                          user="jdoe").status == 201
    assert "odd%252Fslash.ics" in hrefs(client, "/jdoe/shared/")
    assert client.request("DELETE", "/jdoe/shared/odd%252Fslash.ics",
                          user="jsmith").status == 403
    assert "odd%252Fslash.ics" in hrefs(client, "/jdoe/shared/")
    instance.registry.set_acl("/jdoe/shared/", "jsmith^c^rwd^g")
    assert client.request("DELETE", "/jdoe/shared/odd%252Fslash.ics",
                          user="jsmith").status == 200
    assert "odd%252Fslash.ics" not in hrefs(client, "/jdoe/shared/")


def test_script_name_behind_a_proxy_is_stripped_as_radicale_does(tmp_path):
    """With ``[server] script_name`` and an X-Forwarded-* header Radicale acts
    on the path without the prefix; the guard decides on that path too."""
    instance = make_instance(str(tmp_path), {"server": {"script_name": "/dav"}})
    for name in ("jdoe", "jsmith"):
        add_user(instance, name)
    client = InProcessClient(make_app(instance))
    proxied = {"X-Forwarded-For": "192.0.2.1"}
    assert client.request("PUT", "/dav/jdoe/calendar/e1.ics", event("e1"), dict(ICS, **proxied),
                          user="jdoe").status == 201
    instance.registry.set_acl("/jdoe/calendar/", "jsmith^c^rw^g")
    assert client.request("DELETE", "/dav/jdoe/calendar/e1.ics", "", proxied,
                          user="jsmith").status == 403
    assert client.request("GET", "/jdoe/calendar/e1.ics", user="jdoe").status == 200
    # a client-chosen X-Script-Name moves the Destination as Radicale reads it
    instance.registry.set_acl("/jdoe/calendar/", "jsmith^c^rwd^g")
    add_user(instance, "jroe")
    instance.registry.set_acl("/jroe/calendar/", "jsmith^c^r^g")
    assert client.request("MOVE", "/jdoe/calendar/e1.ics", "",
                          {"X-Script-Name": "/x", "Destination": "/x/jroe/calendar/e1.ics"},
                          user="jsmith").status == 403
    assert client.request("GET", "/jdoe/calendar/e1.ics", user="jdoe").status == 200


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/jdoe/"), ("PUT", "/jdoe/"), ("MKCOL", "/jdoe/"), ("MOVE", "/jdoe/"),
    ("PROPPATCH", "/"), ("DELETE", "/"),
    ("MKCOL", "/jdoe/shared/sub/"), ("MKCALENDAR", "/jdoe/shared/sub/"),
    ("PROPPATCH", "/jdoe/shared/e1.ics"),
    ("PUT", "/jdoe/shared/sub/x.ics"), ("DELETE", "/jdoe/shared/sub/x.ics"),
])
def test_unexpected_depths_are_refused(local, method, path):
    instance, client = local
    body = PROPFIND.replace("propfind", "propertyupdate") % ("", "") \
        if method == "PROPPATCH" else ""
    headers = {"Destination": "/jdoe/elsewhere/"} if method == "MOVE" else {}
    assert client.request(method, path, body, headers, user="jdoe").status == 403
    assert hrefs(client, "/jdoe/shared/") == {"e1.ics", "e2.ics"}


def test_a_home_takes_property_changes_from_its_user_only(local):
    instance, client = local
    update = ("<?xml version='1.0'?><D:propertyupdate xmlns:D='DAV:'><D:set><D:prop>"
              "<D:displayname>Home</D:displayname></D:prop></D:set></D:propertyupdate>")
    assert client.request("PROPPATCH", "/jdoe/", update, XML, user="jsmith").status == 403
    assert client.request("PROPPATCH", "/jdoe/", update, XML, user="jdoe").status == 207


def test_copy_is_not_a_method(door):
    instance, client = door
    assert client.request("COPY", "/jdoe/shared/e1.ics", "",
                          {"Destination": "/jsmith/calendar/e1.ics"}, user="jdoe").status == 405


def test_move_needs_write_at_the_destination(door):
    instance, client = door
    instance.registry.set_acl("/jdoe/shared/", "jsmith^c^rwd^g")
    instance.registry.set_acl("/jdoe/calendar/", "jsmith^c^r^g")
    moved = {"Destination": "/jdoe/calendar/e1.ics"}
    assert client.request("MOVE", "/jdoe/shared/e1.ics", "", moved, user="jsmith").status == 403
    assert hrefs(client, "/jdoe/shared/") == {"e1.ics", "e2.ics"}
    # percent-encoded the way Radicale decodes it: still the same calendar
    encoded = {"Destination": "/jdoe/%63alendar/e1.ics"}
    assert client.request("MOVE", "/jdoe/shared/e1.ics", "", encoded,
                          user="jsmith").status == 403
    instance.registry.set_acl("/jdoe/calendar/", "jsmith^c^rw^g")
    assert client.request("MOVE", "/jdoe/shared/e1.ics", "", moved, user="jsmith").status == 201
    assert hrefs(client, "/jdoe/shared/") == {"e2.ics"}
    assert "e1.ics" in hrefs(client, "/jdoe/calendar/")


@pytest.mark.parametrize("destination", ["/jdoe/shared/sub/e1.ics", "/jdoe/e1.ics", "",
                                         "/jdoe/calendar/%2e%2e/%2e%2e/x/y/z/e1.ics"])
def test_move_to_an_unexpected_destination_is_refused(local, destination):
    instance, client = local
    headers = {"Destination": destination} if destination else {}
    assert client.request("MOVE", "/jdoe/shared/e1.ics", "", headers,
                          user="jdoe").status == 403
    assert hrefs(client, "/jdoe/shared/") == {"e1.ics", "e2.ics"}


def test_move_within_a_calendar_deletes_there(door):
    instance, client = door
    assert client.request("MOVE", "/jdoe/shared/e1.ics", "",
                          {"Destination": "/jdoe/shared/renamed.ics"},
                          user="jsmith").status == 403
    assert client.request("MOVE", "/jdoe/shared/e1.ics", "",
                          {"Destination": "/jdoe/shared/renamed.ics"},
                          user="jdoe").status == 201


def test_anonymous_write_is_asked_for_credentials(door):
    instance, client = door
    response = client.request("DELETE", "/jdoe/shared/e1.ics")
    assert response.status == 401 and "basic" in response.headers["www-authenticate"].lower()


# -- issue 3: 4xx, quickly, instead of 500

@pytest.mark.parametrize("method", ["PROPFIND", "REPORT", "PROPPATCH"])
def test_xml_with_a_dtd_is_a_quick_400(door, method):
    instance, client = door
    dtd = "<!DOCTYPE D:propfind [<!ENTITY a 'b'>]>"
    body = PROPFIND % (dtd, "<D:displayname/>")
    if method == "PROPPATCH":
        body = ("<?xml version='1.0'?>%s<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop>"
                "<D:displayname>&a;</D:displayname></D:prop></D:set></D:propertyupdate>" % dtd)
    started = time.monotonic()
    response = client.request(method, "/jdoe/shared/", body, XML, user="jdoe")
    assert response.status == 400
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("method", ["PROPFIND", "REPORT", "PROPPATCH", "MKCALENDAR"])
def test_deep_xml_is_a_quick_400(door, method):
    instance, client = door
    body = "<D:propfind xmlns:D='DAV:'>%s%s</D:propfind>" % ("<D:prop>" * 20000,
                                                           "</D:prop>" * 20000)
    started = time.monotonic()
    response = client.request(method, "/jdoe/shared/", body, XML, user="jdoe")
    assert response.status == 400
    assert time.monotonic() - started < 0.5


def test_ordinary_xml_still_passes(door):
    instance, client = door
    nested = PROPFIND % ("", "<D:displayname/>")
    assert client.request("PROPFIND", "/jdoe/shared/", nested, XML, user="jdoe").status == 207


MALFORMED_BASIC = [
    "Basic " + base64.b64encode(b"jdoe-no-colon").decode(),
    "Basic !!!not-base64",
    "Basic Zm9vOmJhcg=",
    "Basic",
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode() + "\u00e9",
]


@pytest.mark.parametrize("header", MALFORMED_BASIC)
def test_malformed_basic_credentials_are_401(door, header):
    instance, client = door
    response = client.request("PROPFIND", "/jdoe/shared/", "", {"Authorization": header,
                                                                 "Depth": "0"})
    assert response.status == 401
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize("header", MALFORMED_BASIC)
@pytest.mark.parametrize("method", ["GET", "DELETE", "REPORT", "PUT"])
def test_malformed_basic_credentials_are_401_for_every_method(local, header, method):
    instance, client = local
    response = client.request(method, "/jdoe/shared/e1.ics", "", {"Authorization": header})
    assert response.status == 401


def test_unknown_charset_is_400(door):
    instance, client = door
    response = client.request("PROPFIND", "/jdoe/shared/", PROPFIND % ("", "<D:displayname/>"),
                              {"Content-Type": "text/xml; charset=no-such-charset",
                               "Depth": "0"}, user="jdoe")
    assert response.status == 400


@pytest.mark.parametrize("method, path", [
    ("PUT", "/jdoe/shared/%s.ics"), ("MKCALENDAR", "/jdoe/%s/"), ("GET", "/jdoe/shared/%s.ics"),
])
def test_over_long_names_are_414(door, method, path):
    instance, client = door
    body = event("long") if method == "PUT" else ""
    response = client.request(method, path % ("a" * 300), body, ICS, user="jdoe")
    assert response.status == 414
    # the longest name a file system takes is accepted
    if method == "PUT":
        assert client.request(method, path % ("b" * 251), body, ICS,
                              user="jdoe").status == 201


def test_over_long_destination_is_414(door):
    instance, client = door
    response = client.request("MOVE", "/jdoe/shared/e1.ics", "",
                              {"Destination": "/jdoe/shared/%s.ics" % ("a" * 300)}, user="jdoe")
    assert response.status == 414


@pytest.mark.parametrize("method", ["PROPFIND", "DELETE"])
def test_a_huge_user_name_is_not_logged_whole(door, caplog, method):
    instance, client = door
    # Under the server's 64 KB header limit (beyond it waitress answers 431).
    login = "x" * 30_000
    header = "Basic " + base64.b64encode(("%s:secret" % login).encode()).decode()
    path = "/%s/shared/" % ("y" * 250)
    with caplog.at_level(logging.INFO):
        response = client.request(method, path, "", {"Authorization": header,
                                                     "User-Agent": "z" * 10_000, "Depth": "0"})
    assert response.status == 401
    logged = [record.getMessage() for record in caplog.records]
    assert logged and max(len(line) for line in logged) < 2000
    assert not any("x" * 300 in line or "z" * 300 in line for line in logged)


def test_a_long_login_that_radicale_reads_is_logged_short(door, caplog):
    """A login Radicale checks itself (not over the screen's length limit)
    still goes through its "Failed login attempt" line, shortened."""
    instance, client = door
    login = "q" * 900
    with caplog.at_level(logging.INFO, logger="radicale"):
        response = client.request("PROPFIND", "/jdoe/shared/", "",
                                  {"Depth": "0", "User-Agent": "z" * 10_000}, user=login)
    assert response.status == 401
    messages = [record.getMessage() for record in caplog.records]
    assert any("Failed login" in m for m in messages)
    assert any("request for" in m and "received" in m for m in messages)
    assert not any("q" * 300 in m or "z" * 300 in m for m in messages)
    assert max(len(m) for m in messages) < 2000
