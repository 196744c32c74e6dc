"""The SQL storage engine through Radicale's own CalDAV handling and the store's API."""

import pytest

from radicale_wcap.store import SYSTEM, WRITE, READ, prepare_item
from tests.conftest import add_user, basic, InProcessClient
from radicale_wcap.middleware import make_app
from tests.engines.sql_instance import release, sql_instance

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20260101T000000Z\r
DTSTART:{start}\r
DTEND:{end}\r
SUMMARY:{summary}\r
END:VEVENT\r
END:VCALENDAR\r
"""


def event(uid, start="20261201T100000Z", end="20261201T110000Z", summary="x"):
    return EVENT.format(uid=uid, start=start, end=end, summary=summary)


@pytest.fixture
def sql(tmp_path, pg_url):
    instance = sql_instance(str(tmp_path), pg_url)
    add_user(instance, "alice")
    yield instance
    release(pg_url)


@pytest.fixture
def client(sql):
    return InProcessClient(make_app(sql))


def test_caldav_put_get_report_delete(client):
    auth = {"Authorization": basic("alice")}
    r = client.request("PUT", "/alice/calendar/a.ics", event("a"),
                       headers=dict(auth, **{"Content-Type": "text/calendar"}))
    assert r.status == 201, r.body
    r = client.request("GET", "/alice/calendar/a.ics", headers=auth)
    assert r.status == 200 and b"UID:a" in r.body
    report = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
              "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/></D:prop>"
              "<C:filter><C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
              "<C:time-range start='20261201T000000Z' end='20261202T000000Z'/>"
              "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>")
    r = client.request("REPORT", "/alice/calendar/", report,
                       headers=dict(auth, Depth="1", **{"Content-Type": "text/xml"}))
    assert r.status == 207 and b"a.ics" in r.body
    r = client.request("DELETE", "/alice/calendar/a.ics", headers=auth)
    assert r.status in (200, 204)
    r = client.request("GET", "/alice/calendar/a.ics", headers=auth)
    assert r.status == 404


def test_store_handles_on_sql(sql):
    store = sql.store
    with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
        cal.put(prepare_item(sql.configuration, "/alice/calendar/", event("h1")))
        cal.put(prepare_item(sql.configuration, "/alice/calendar/", event(
            "h2", "20261205T100000Z", "20261205T110000Z")))
    with store.reading("/alice/calendar/", SYSTEM, READ) as cal:
        assert {i.uid for i in cal.in_range(1796083200, 1796169600)} == {"h1"}
        assert cal.by_uid("h2") is not None
    with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
        assert cal.delete("h1")
    with store.reading("/alice/calendar/", SYSTEM, READ) as cal:
        assert cal.by_uid("h1") is None
        assert [t.uid for t in cal.deleted_since(0)] == ["h1"]


def test_batch_is_all_or_nothing(sql):
    store = sql.store
    with pytest.raises(RuntimeError):
        with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
            cal.put(prepare_item(sql.configuration, "/alice/calendar/", event("b1")))
            cal.put(prepare_item(sql.configuration, "/alice/calendar/", event("b2")))
            cal.commit()
            raise RuntimeError("stop")
    with store.reading("/alice/calendar/", SYSTEM, READ) as cal:
        assert cal.entries() == {}


def test_items_are_rows_and_no_item_files(sql, pg_url, tmp_path):
    import os
    import psycopg
    from radicale_wcap.storage.sql.storage import SqlStorage
    assert isinstance(sql.store.storage, SqlStorage)
    store = sql.store
    with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
        cal.put(prepare_item(sql.configuration, "/alice/calendar/", event("row1")))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT path, uid FROM dav_items").fetchall() == [
            ("/alice/calendar/", "row1")]
    files = [f for _, _, names in os.walk(tmp_path) for f in names if f.endswith(".ics")]
    assert files == []
