"""The fetch output cache (`wcap.output_cache`) changes speed, never answers.

Every answer is compared byte for byte with the same request answered with the
cache off, on the first request (a miss) and on the second (a hit), over the
shapes Lightning and the manual's clients send; then the cache must notice an edited
item, a changed mail address (also changed by another process, the CLI), and must
not keep expansions, which depend on the range.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.fetch_data import ALICE_ITEMS, WEEK, populate, put, wcap

FORMATS = ("text/calendar", "text/xml", "text/js")
SHAPES = [
    dict(recurring=1, compressed=1, emailorcalid=1, relativealarm=1),  # Lightning
    dict(recurring=0),
    dict(recurring=0, compressed=1, tzidout="America/New_York"),
    dict(recurring=1, emailorcalid=0, brief=1),
    dict(recurring=1, compstate=["REQUEST-NEEDS-ACTION", "REPLY-ACCEPTED"]),
    dict(recurring=1, component_type="todo", relativealarm=0),
]
RANGES = [WEEK, {"dtstart": "20240105T000000Z", "dtend": "20240120T000000Z"},
          {"dtstart": "0", "dtend": "0"}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("outputcache"))
    instance = make_instance(folder)
    for user in ("alice", "bob", "carol"):
        add_user(instance, user)
    client = InProcessClient(make_app(instance))
    populate(client)
    world = type("World", (), {})()
    world.folder, world.instance, world.client = folder, instance, client
    world.sid = instance.sessions.create("alice")
    return world


def fetch(world, fmt, shape, span, cached=True):
    cache = world.instance.output_cache
    kept = cache.max_bytes
    if not cached:
        cache.max_bytes = 0
    try:
        response = wcap(world.client, "fetchcomponents_by_range", world.sid, fmt_out=fmt,
                        calid="alice", **span, **shape)
    finally:
        cache.max_bytes = kept
    assert response.status == 200
    return response.body


@pytest.mark.parametrize("fmt", FORMATS)
def test_cached_answers_equal_uncached_ones(world, fmt):
    cache = world.instance.output_cache
    for shape, span in itertools.product(SHAPES, RANGES):
        truth = fetch(world, fmt, shape, span, cached=False)
        hits = cache.hits
        first = fetch(world, fmt, shape, span)
        second = fetch(world, fmt, shape, span)
        assert first == truth, (shape, span)
        assert second == truth, (shape, span)
        if shape.get("recurring") == 1 and b"UID" in truth:
            assert cache.hits > hits, ("the second request did not use the cache", shape, span)


def test_expanded_series_are_not_kept(world):
    """recurring=0 expands a series into the range's instances: two ranges, two
    different answers, each equal to the uncached one."""
    shape = dict(recurring=0)
    a = fetch(world, "text/calendar", shape, WEEK)
    b = fetch(world, "text/calendar", shape, RANGES[1])
    assert a != b
    assert b"RECURRENCE-ID" in a and b"RECURRENCE-ID" in b
    assert a == fetch(world, "text/calendar", shape, WEEK, cached=False)
    assert b == fetch(world, "text/calendar", shape, RANGES[1], cached=False)


def test_an_edited_item_is_answered_anew(world):
    lightning = SHAPES[0]
    before = fetch(world, "text/calendar", lightning, WEEK)
    assert b"SUMMARY:Daily stand-up" in before
    put(world.client, "alice", "calendar", "series-1",
        ALICE_ITEMS["series-1"].replace("SUMMARY:Daily stand-up", "SUMMARY:Renamed"))
    after = fetch(world, "text/calendar", lightning, WEEK)
    assert b"SUMMARY:Renamed" in after and b"SUMMARY:Daily stand-up" not in after
    assert after == fetch(world, "text/calendar", lightning, WEEK, cached=False)


@pytest.mark.file_engine(reason="another process changes the directory through sqlite3 "
                                  "at the embedded database's path")
def test_a_new_mail_address_changes_attendee_calids(world):
    """X-S1CS-CALID comes from the directory: a user added or re-addressed, here
    from another process (the CLI), must show in the next answer."""
    lightning = SHAPES[0]
    before = fetch(world, "text/calendar", lightning, WEEK)
    assert b"X-S1CS-CALID=bob:mailto:bob@example.com" in before.replace(b"\r\n ", b"")
    database = world.instance.services.db.path
    subprocess.run([sys.executable, "-c", (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute(\"UPDATE users SET email = 'robert@example.com' WHERE name = 'bob'\"); "
        "c.commit()"), database], check=True)
    after = fetch(world, "text/calendar", lightning, WEEK).replace(b"\r\n ", b"")
    assert b"X-S1CS-CALID=bob:mailto:bob@example.com" not in after
    assert after == fetch(world, "text/calendar", lightning, WEEK,
                          cached=False).replace(b"\r\n ", b"")
    world.instance.directory.update("bob", email="bob@example.com")
    again = fetch(world, "text/calendar", lightning, WEEK).replace(b"\r\n ", b"")
    assert b"X-S1CS-CALID=bob:mailto:bob@example.com" in again


def test_the_cache_is_bounded(world):
    cache = world.instance.output_cache
    kept = cache.max_bytes
    cache.max_bytes = 20_000
    try:
        for fmt in FORMATS:
            fetch(world, fmt, SHAPES[0], RANGES[2])
        assert cache.bytes <= 20_000
    finally:
        cache.max_bytes = kept


def test_live_edit_through_caldav_shows_in_the_next_fetch(live):
    """Over real HTTP: a Lightning-shaped fetch fills the cache; the same event edited
    by a CalDAV client (the caldav package) is answered anew, then from the cache."""
    import caldav
    add_user(live.instance, "erin")
    sid = live.instance.sessions.create("erin")
    event = ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:edit-1\n"
             "DTSTAMP:20240101T000000Z\nDTSTART:20240102T100000Z\nDTEND:20240102T110000Z\n"
             "SUMMARY:%s\nEND:VEVENT\nEND:VCALENDAR\n")

    def summaries():
        body = wcap(live.client, "fetchcomponents_by_range", sid, fmt_out="text/calendar",
                    calid="erin", **SHAPES[0], **WEEK).body
        return [line for line in body.decode().split("\r\n") if line.startswith("SUMMARY:")]
    with caldav.DAVClient(url=live.url + "/erin/", username="erin",
                          password="secret-pass") as dav:
        calendar = dav.calendar(url=live.url + "/erin/calendar/")
        calendar.save_event(event % "First")
        assert summaries() == ["SUMMARY:First"]
        hits = live.instance.output_cache.hits
        assert summaries() == ["SUMMARY:First"]
        assert live.instance.output_cache.hits == hits + 1
        calendar.save_event(event % "Second")
        assert summaries() == ["SUMMARY:Second"]
