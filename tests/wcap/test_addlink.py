"""addlink: links into another calendar, read-only there (errno 31/32), errno 12 on failure."""

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import wcap

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:%(kind)s\r\nUID:%(uid)s\r\n"
         "DTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\n%(end)s"
         "SUMMARY:Public %(uid)s\r\nEND:%(kind)s\r\nEND:VCALENDAR\r\n")


@pytest.fixture
def env(instance):
    add_user(instance, "jdoe")
    add_user(instance, "pub")
    client = InProcessClient(make_app(instance))
    instance.registry.set_acl("/pub/calendar/", "@^a^r^g")
    for uid, kind, end in (("1111", "VEVENT", "DTEND:20240102T110000Z\r\n"),
                           ("2222", "VEVENT", "DTEND:20240102T120000Z\r\n"),
                           ("t1", "VTODO", "DUE:20240103T100000Z\r\n")):
        assert client.request("PUT", "/pub/calendar/%s.ics" % uid,
                              EVENT % {"kind": kind, "uid": uid, "end": end},
                              {"Content-Type": "text/calendar"}, user="pub").status == 201
    return instance, client, instance.sessions.create("jdoe")


@pytest.mark.parametrize("fmt", ["text/calendar", "text/xml", "text/js", "text/json"])
def test_manual_example_links_and_links_are_read_only(env, fmt):
    instance, client, sid = env
    answer = wcap(client, "addlink", fmt, id=sid, destCal="jdoe", srcCal="pub",
                  uid="1111;2222;t1", rid="0;0;0")
    assert answer.errno == 0
    seen = client.request("GET", "/jdoe/calendar/", user="jdoe").text
    assert "Public 1111" in seen and "Public 2222" in seen
    assert "X-RADICALE-WCAP-LINKED-FROM:pub" in seen
    changed = wcap(client, "storeevents", fmt, id=sid, calid="jdoe", uid="1111",
                   summary="mine now")
    assert changed.errno == 31
    todo = wcap(client, "storetodos", fmt, id=sid, calid="jdoe", uid="t1", summary="x")
    assert todo.errno == 32
    assert "mine now" not in client.request("GET", "/jdoe/calendar/", user="jdoe").text


@pytest.mark.parametrize("query", [
    {"destCal": "jdoe", "srcCal": "pub", "uid": "1111;2222", "rid": "0"},   # lengths
    {"destCal": "jdoe", "srcCal": "nobody", "uid": "1111", "rid": "0"},     # no source
    {"destCal": "pub", "srcCal": "jdoe", "uid": "1111", "rid": "0"},        # no write on pub
    {"destCal": "jdoe", "srcCal": "pub", "uid": "nope", "rid": "0"},        # no such item
])
def test_failures_are_errno_12_and_change_nothing(env, query):
    instance, client, sid = env
    before = client.request("GET", "/jdoe/calendar/", user="jdoe").text
    assert wcap(client, "addlink", "text/xml", id=sid, **query).errno == 12
    assert client.request("GET", "/jdoe/calendar/", user="jdoe").text == before


def test_own_event_with_the_same_uid_is_not_overwritten(env):
    instance, client, sid = env
    assert wcap(client, "storeevents", "text/calendar", id=sid, calid="jdoe", uid="1111",
                dtstart="20240105T100000Z", dtend="20240105T110000Z",
                summary="my own").errno == 0
    assert wcap(client, "addlink", "text/calendar", id=sid, destCal="jdoe", srcCal="pub",
                uid="1111", rid="0").errno == 12
    assert "my own" in client.request("GET", "/jdoe/calendar/", user="jdoe").text


def test_addlink_over_a_real_server(live):
    instance = live.instance
    for name in ("linker", "source"):
        if instance.directory.get(name) is None:
            add_user(instance, name)
    instance.registry.set_acl("/source/calendar/", "@^a^r^g")
    event = EVENT % {"kind": "VEVENT", "uid": "live-link", "end": "DTEND:20240102T110000Z\r\n"}
    assert live.client.request("PUT", "/source/calendar/live-link.ics", event,
                               {"Content-Type": "text/calendar"}, user="source").status == 201
    sid = instance.sessions.create("linker")
    answer = wcap(live.client, "addlink", "text/calendar", id=sid, destCal="linker",
                  srcCal="source", uid="live-link", rid="0")
    assert answer.errno == 0
    fetched = live.client.request("GET", "/linker/calendar/", user="linker").text
    assert "Public live-link" in fetched
