"""Hostile recurrence rules get a prompt refusal from every door, and the server
keeps answering.

Security issue: the recurrence time budget aborted by raising a BaseException from a
``sys.settrace`` tracer; it could strike inside any code (a lock held by logging), escaped
the middleware, and some requests were never answered.  The PUT of a yearly rule listing
every month, day, hour, minute and second was one.  Now such rules are refused by their
structure before anything expands them, and the budget is an ordinary exception raised by
the rule itself between periods (``timebudget.py``).
"""

from __future__ import annotations

import concurrent.futures
import time
import urllib.parse

import pytest

from radicale_wcap.store import READ, SYSTEM
from tests.conftest import LiveServer, add_user
from tests.security.test_item_limits import (ICS, calendar, errno, stored_uids, timed,
                                             vevent)

#: Generous: the budget is 1 s and the machines running the suite are shared and slow.
PROMPT = 5.0


def spelled(name, values):
    return "%s=%s" % (name, ",".join(map(str, values)))


EVERY_SECOND_YEARLY = ";".join(["FREQ=YEARLY", spelled("BYMONTH", range(1, 13)),
                                spelled("BYMONTHDAY", range(1, 32)), spelled("BYHOUR", range(24)),
                                spelled("BYMINUTE", range(60)), spelled("BYSECOND", range(60))])
HOSTILE = {
    "every-second-yearly": EVERY_SECOND_YEARLY,
    "interval-0": "FREQ=DAILY;INTERVAL=0",
    "negative-count": "FREQ=DAILY;COUNT=-5",
    "bysetpos-beyond-the-period": "FREQ=SECONDLY;BYSETPOS=2;COUNT=1",
    "february-30": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    # DTSTART is a Tuesday: a week later is a Tuesday again, never a Wednesday.
    "never-by-interval": "FREQ=DAILY;INTERVAL=7;BYDAY=WE;UNTIL=99991231T000000Z",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(str(tmp_path_factory.mktemp("rules")))
    add_user(live.instance, "alice")
    live.instance.registry.set_webname("/alice/calendar/", "AliceFeed")
    yield live
    live.stop()


def ical(uid: str, rule: str) -> str:
    return calendar(vevent(uid, "RRULE:%s\r\n" % rule))


def stored_text(server, uid: str):
    with server.instance.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        item = calendar.by_uid(uid)
        return None if item is None else item.serialize()


def assert_answering(server):
    response, elapsed = timed(lambda: server.client.request(
        "PROPFIND", "/alice/calendar/", "", {"Depth": "0"}, user="alice"))
    assert response.status == 207 and elapsed < PROMPT


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_caldav_put(server, name):
    uid = "caldav-" + name
    response, elapsed = timed(lambda: server.client.request(
        "PUT", "/alice/calendar/%s.ics" % uid, ical(uid, HOSTILE[name]), ICS, user="alice"))
    assert response.status == 400 and elapsed < PROMPT
    assert uid not in stored_uids(server)
    assert_answering(server)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_wcap_storeevents_rrules(server, name):
    uid = "wcap-" + name
    query = urllib.parse.urlencode({
        "id": server.instance.sessions.create("alice"), "calid": "alice", "uid": uid,
        "dtstart": "20240102T100000Z", "dtend": "20240102T110000Z", "summary": "x",
        "rrules": '"%s"' % HOSTILE[name], "fmt-out": "text/xml"})
    response, elapsed = timed(lambda: server.client.request("GET", "/storeevents.wcap?" + query))
    assert response.status == 200 and elapsed < PROMPT
    assert errno(response) == 14  # STOREEVENTS_FAILED
    assert uid not in stored_uids(server)
    assert_answering(server)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_wcap_import(server, name):
    uid = "import-" + name
    boundary = "b0undary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"a.ics\"\r\n\r\n"
             % boundary) + ical(uid, HOSTILE[name]) + "\r\n--%s--\r\n" % boundary).encode()
    query = urllib.parse.urlencode({"id": server.instance.sessions.create("alice"),
                                    "calid": "alice", "content-in": "text/calendar",
                                    "fmt-out": "text/xml"})
    response, elapsed = timed(lambda: server.client.request(
        "POST", "/import.wcap?" + query, body,
        {"Content-Type": "multipart/form-data; boundary=" + boundary}))
    assert response.status == 200 and elapsed < PROMPT
    assert errno(response) == 35  # WRITE_IMPORT_FAILED
    assert uid not in stored_uids(server)
    assert_answering(server)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_feed_put(server, name):
    """The feed refuses a bad RRULE line with 2102 and keeps the rest of the event (its
    documented rule: one bad line costs only that line); a rule only its DTSTART makes
    hopeless gets the whole event rejected by the store's check, 2102 as well."""
    uid = "feed-" + name
    response, elapsed = timed(lambda: server.client.request(
        "PUT", "/service/AliceFeed.ics?delta=true", ical(uid, HOSTILE[name]), ICS, user="alice"))
    assert response.status == 200 and elapsed < PROMPT
    assert 'Code="2102"' in response.text
    text = stored_text(server, uid)
    assert text is None or "RRULE" not in text
    assert_answering(server)


def test_hostile_requests_in_parallel_leave_the_others_answered(server):
    def hostile(i):
        uid = "parallel-%d" % i
        return server.client.request("PUT", "/alice/calendar/%s.ics" % uid,
                                     ical(uid, HOSTILE["never-by-interval"]), ICS,
                                     user="alice").status

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = pool.map(hostile, range(6))
        time.sleep(0.2)
        assert_answering(server)
        assert list(statuses) == [400] * 6
