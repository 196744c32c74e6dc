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


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request, tmp_path):
    """The same code on both engines: a fresh PostgreSQL database, or a SQLite file."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "store.sqlite")
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def sql(tmp_path, db_url):
    instance = sql_instance(str(tmp_path), db_url)
    add_user(instance, "alice")
    yield instance
    release(db_url)


def rows(url, statement):
    import sqlalchemy
    from radicale_wcap.storage.sql.engine import driver_url
    engine = sqlalchemy.create_engine(driver_url(url))
    try:
        with engine.begin() as connection:
            result = connection.execute(sqlalchemy.text(statement))
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


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


def test_items_are_rows_and_no_item_files(sql, db_url, tmp_path):
    import os
    from radicale_wcap.storage.sql.storage import SqlStorage
    assert isinstance(sql.store.storage, SqlStorage)
    store = sql.store
    with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
        cal.put(prepare_item(sql.configuration, "/alice/calendar/", event("row1")))
    assert [tuple(r) for r in rows(db_url, "SELECT path, uid FROM dav_items")] == [
        ("/alice/calendar/", "row1")]
    files = [f for _, _, names in os.walk(tmp_path) for f in names if f.endswith(".ics")]
    assert files == []


SYNC = ("<?xml version='1.0' encoding='utf-8'?><D:sync-collection xmlns:D='DAV:'>"
        "<D:sync-token>%s</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>")


def sync(client, token=""):
    import xml.etree.ElementTree as ET
    r = client.request("REPORT", "/alice/calendar/", SYNC % token,
                       {"Depth": "1", "Content-Type": "application/xml"}, user="alice")
    if r.status != 207:
        return r.status, None, []
    root = ET.fromstring(r.body)
    gone = [resp.find("{DAV:}href").text.rsplit("/", 1)[-1]
            for resp in root.iter("{DAV:}response")
            if resp.find("{DAV:}status") is not None and "404" in resp.find("{DAV:}status").text]
    hrefs = [h.text.rsplit("/", 1)[-1] for h in root.iter("{DAV:}href")]
    return root.find("{DAV:}sync-token").text, hrefs, gone


def put(client, href, uid, summary="x"):
    r = client.request("PUT", "/alice/calendar/" + href, event(uid, summary=summary),
                       {"Content-Type": "text/calendar"}, user="alice")
    assert r.status in (201, 204), r.status


def test_sync_collection_tokens_name_exactly_the_changes(client):
    put(client, "a.ics", "a")
    put(client, "b.ics", "b")
    token, hrefs, _ = sync(client)
    assert sorted(hrefs) == ["a.ics", "b.ics"]
    same, hrefs, _ = sync(client, token)
    assert same == token and hrefs == []
    put(client, "a.ics", "a", summary="changed")
    assert client.request("DELETE", "/alice/calendar/b.ics", user="alice").status in (200, 204)
    put(client, "c.ics", "c")
    newer, hrefs, gone = sync(client, token)
    assert newer != token and sorted(hrefs) == ["a.ics", "b.ics", "c.ics"] and gone == ["b.ics"]
    # A token this collection never gave is refused with DAV's valid-sync-token error.
    status, _, _ = sync(client, "http://radicale.org/ns/sync/sql-999999")
    assert status == 403


def test_verify_is_clean_and_reindex_rebuilds(sql, client, db_url):
    from radicale_wcap.verify import reindex_store, verify_store
    recurring = event("r").replace("SUMMARY:x\r\n", "SUMMARY:x\r\nRRULE:FREQ=DAILY;COUNT=5\r\n")
    assert client.request("PUT", "/alice/calendar/r.ics", recurring,
                          {"Content-Type": "text/calendar"}, user="alice").status == 201
    lines = []
    assert verify_store(sql, log=lines.append) == 0, lines
    assert rows(db_url, "SELECT count(*) FROM dav_instances")[0][0] == 5
    rows(db_url, "DELETE FROM dav_instances")
    assert reindex_store(sql, log=lines.append) >= 1
    assert rows(db_url, "SELECT count(*) FROM dav_instances")[0][0] == 5
    rows(db_url, "UPDATE dav_items SET text = 'garbage' WHERE href = 'r.ics'")
    lines = []
    assert verify_store(sql, log=lines.append) > 0


def test_writers_of_different_calendars_never_wait_and_readers_see_before(sql, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time; per-calendar locks are PostgreSQL's")
    import threading
    import time
    from radicale_wcap.store import SYSTEM
    add_user(sql, "bob")
    store, cfg = sql.store, sql.configuration
    holding, release_it = threading.Event(), threading.Event()

    def long_batch():
        with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
            cal.put(prepare_item(cfg, "/alice/calendar/", event("slow")))
            cal.commit()            # written inside the open transaction, not committed
            holding.set()
            release_it.wait(30)

    thread = threading.Thread(target=long_batch)
    thread.start()
    assert holding.wait(30)
    try:
        started = time.monotonic()
        with store.writing("/bob/calendar/", SYSTEM, WRITE) as cal:
            cal.put(prepare_item(cfg, "/bob/calendar/", event("quick")))
        assert time.monotonic() - started < 5          # bob's write did not wait
        with store.reading("/alice/calendar/", SYSTEM, READ) as cal:
            assert cal.by_uid("slow") is None          # before, not half
        blocked = threading.Event()

        def same_calendar():
            with store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
                cal.put(prepare_item(cfg, "/alice/calendar/", event("second")))
            blocked.set()

        other = threading.Thread(target=same_calendar)
        other.start()
        assert not blocked.wait(1.0)                   # alice's second writer waits
    finally:
        release_it.set()
        thread.join(30)
    other.join(30)
    assert blocked.is_set()
    with store.reading("/alice/calendar/", SYSTEM, READ) as cal:
        assert {i.uid for i in cal.items()} == {"slow", "second"}


def test_an_endless_series_is_found_45_years_ahead(sql):
    """The index holds instances up to a horizon; a query past it extends the series
    there (caldav-server-tester's includes-implicit.infinite-scope)."""
    import datetime as dt
    monthly = event("m", "20260112T120000Z", "20260112T130000Z").replace(
        "SUMMARY:x\r\n", "SUMMARY:x\r\nRRULE:FREQ=MONTHLY\r\n")
    with sql.store.writing("/alice/calendar/", SYSTEM, WRITE) as cal:
        cal.put(prepare_item(sql.configuration, "/alice/calendar/", monthly))
    day = int(dt.datetime(2071, 3, 12, tzinfo=dt.timezone.utc).timestamp())
    with sql.store.reading("/alice/calendar/", SYSTEM, READ) as cal:
        assert [i.uid for i in cal.in_range(day, day + 86400)] == ["m"]
        assert cal.in_range(day + 86400, day + 2 * 86400) == []
