"""The fast calendar-query path answers the same bytes as Radicale itself."""

import datetime as dt
import random

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, make_instance
from tests.foundation.test_storage_index import populated  # noqa: F401 (fixture)

QUERY = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
         "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop>%s</D:prop><C:filter>"
         "<C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
         "<C:time-range start='%s' end='%s'/></C:comp-filter></C:comp-filter></C:filter>"
         "</C:calendar-query>")
PROPS = ["<D:getetag/><C:calendar-data/>", "<C:calendar-data/>", "<D:getetag/>"]


def report(client, body, user="alice"):
    return client.request("REPORT", "/alice/calendar/", body,
                          {"Depth": "1", "Content-Type": "application/xml"}, user=user)


@pytest.fixture(scope="module")
def both(populated):  # noqa: F811
    instance, folder = populated
    fast = InProcessClient(make_app(instance))
    slow_instance = make_instance(folder, {"http": {"fast_calendar_query": "False"}})
    slow = InProcessClient(make_app(slow_instance))
    return fast, slow


def test_same_bytes_as_radicale(both):
    fast, slow = both
    rng = random.Random(5)
    for n in range(30):
        start = dt.datetime(2024, 1, 1) + dt.timedelta(days=rng.randint(-30, 760))
        if n == 0:
            start = dt.datetime(1990, 1, 1)  # nothing there: the empty answer
        end = start + dt.timedelta(days=rng.choice([1, 7, 31]))
        body = QUERY % (PROPS[n % 3], start.strftime("%Y%m%dT%H%M%SZ"),
                        end.strftime("%Y%m%dT%H%M%SZ"))
        a, b = report(fast, body), report(slow, body)
        assert (a.status, a.body) == (b.status, b.body)


def test_other_shapes_go_to_radicale(both):
    fast, slow = both
    todo = QUERY.replace("VEVENT", "VTODO") % (PROPS[0], "20240101T000000Z", "20240201T000000Z")
    expand = QUERY.replace("<C:calendar-data/>", "<C:calendar-data><C:expand start="
                           "'20240101T000000Z' end='20240201T000000Z'/></C:calendar-data>") % (
        PROPS[0], "20240101T000000Z", "20240201T000000Z")
    for body in (todo, expand):
        a, b = report(fast, body), report(slow, body)
        assert (a.status, a.body) == (b.status, b.body)


def test_no_read_access_is_radicales_answer(both, populated):  # noqa: F811
    fast, slow = both
    instance, _ = populated
    if instance.directory.get("mallory") is None:
        from tests.conftest import add_user
        add_user(instance, "mallory")
    body = QUERY % (PROPS[0], "20240101T000000Z", "20240201T000000Z")
    assert report(fast, body, user="mallory").status == 403


def test_escaping_and_href_quoting(tmp_path):
    from tests.conftest import add_user
    instance = make_instance(str(tmp_path))
    add_user(instance, "alice")
    fast = InProcessClient(make_app(instance))
    slow = InProcessClient(make_app(make_instance(str(tmp_path), {
        "http": {"fast_calendar_query": "False"}})))
    event = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:odd\r\n"
             "DTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\n"
             "DTEND:20240102T110000Z\r\nSUMMARY:a & b <c> \"d\" ]]> é\r\nEND:VEVENT\r\n"
             "END:VCALENDAR\r\n")
    assert fast.request("PUT", "/alice/calendar/we%20ird%26x%C3%A9.ics", event,
                        {"Content-Type": "text/calendar"}, user="alice").status == 201
    body = QUERY % (PROPS[0], "20240101T000000Z", "20240108T000000Z")
    a, b = report(fast, body), report(slow, body)
    assert b"we%20ird" in a.body and (a.status, a.body) == (b.status, b.body)
