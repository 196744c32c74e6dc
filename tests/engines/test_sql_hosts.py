"""Several hosts over one PostgreSQL: real ``radicale-wcap serve`` processes, each with
its own local folder (nothing shared but the database), as behind a load balancer.

What one host commits, every other host answers at once; writers on all hosts lose
nothing; a host killed with ``kill -9`` in the middle of a feed import leaves the
calendar as it was before the import, on every host.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import xml.etree.ElementTree as ET

import psycopg
import pytest

from tests.engines.sql_instance import release
from tests.faults import doors
from tests.ops.conftest import serve, users, write_config

SYNC = ("<?xml version='1.0' encoding='utf-8'?><D:sync-collection xmlns:D='DAV:'>"
        "<D:sync-token>%s</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>")


def host_config(tmp_path, name: str, url: str):
    folder = tmp_path / name
    folder.mkdir()
    return write_config(folder, {"storage": {"database_url": url},
                                 "http": {"access_log": "off"}}, level="warning")


@pytest.fixture
def hosts(tmp_path, pg_url):
    configs = [host_config(tmp_path, name, pg_url) for name in ("a", "b", "c")]
    instance = users(configs[0], "alice", "bob")
    instance.registry.set_webname("/bob/calendar/", "BobFeed")
    started = []
    try:
        for n, config in enumerate(configs):
            started.append(serve(config, tmp_path / ("host%d.log" % n)))
        yield started
    finally:
        logs = [process.stop() for process in started]
        release(pg_url)
    for log in logs:
        assert "Traceback" not in log, log[-3000:]


def sync(client, user: str, token: str = ""):
    r = client.request("REPORT", "/%s/calendar/" % user, SYNC % token,
                       {"Depth": "1", "Content-Type": "application/xml"}, user=user)
    assert r.status == 207, (r.status, r.text[:500])
    root = ET.fromstring(r.body)
    hrefs = [h.text.rsplit("/", 1)[-1] for h in root.iter("{DAV:}href")]
    return root.find("{DAV:}sync-token").text, hrefs


def test_a_write_on_one_host_is_on_the_others_at_once(hosts):
    a, b, c = hosts
    token, _ = sync(b.client, "alice")
    errno, sid = doors.wcap_login(a.client, "alice")
    assert errno == 0 and sid
    r = doors.wcap_store(a.client, sid, "alice", "from-a", "stored on A")
    assert doors.errno(r) == 0, r.text
    # No wait, no retry: the next request to another host sees it.
    assert doors.contents(b.client, "alice") == {"from-a": "stored on A"}
    token2, changed = sync(b.client, "alice", token)
    assert token2 != token and len(changed) == 1
    # The session made on A is valid on C; a deletion there is seen by B's sync.
    r = doors.wcap_fetch(c.client, sid, "alice")
    assert doors.errno(r) == 0 and "UID:from-a" in r.text, r.text
    r = c.client.request("DELETE", "/alice/calendar/%s" % changed[0], user="alice")
    assert r.status in (200, 204), r.status
    assert doors.contents(a.client, "alice") == {}
    token3, changed = sync(b.client, "alice", token2)
    assert len(changed) == 1 and token3 != token2, changed
    r = b.client.request("GET", "/wcap/fetch_deletedcomponents.wcap?id=%s&calid=alice"
                         "&fmt-out=text/calendar" % sid)
    assert "UID:from-a" in r.text, r.text


def test_writers_on_every_host_lose_nothing(hosts):
    per_writer = 12
    failures = []

    def writer(n: int, client, user: str) -> None:
        for i in range(per_writer):
            status = doors.caldav_put(client, user, "w%d-%d" % (n, i), "writer %d" % n)
            if status not in (201, 204):
                failures.append((n, i, status))

    threads = []
    for n in range(6):
        client = hosts[n % 3].client
        # Four writers into alice's calendar (same calendar, all hosts), two into bob's.
        threads.append(threading.Thread(target=writer,
                                        args=(n, client, "alice" if n < 4 else "bob")))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    alice = doors.contents(hosts[2].client, "alice")
    bob = doors.contents(hosts[0].client, "bob")
    assert set(alice) == {"w%d-%d" % (n, i) for n in range(4) for i in range(per_writer)}
    assert set(bob) == {"w%d-%d" % (n, i) for n in (4, 5) for i in range(per_writer)}


def test_feed_import_killed_mid_way_leaves_nothing_half_applied(hosts, pg_url):
    a, b, _c = hosts
    first = {"e%d" % i: "first" for i in range(50)}
    assert doors.feed_put(b.client, "bob", "BobFeed", first, delta=False).status == 200
    big = {"e%d" % i: "second" for i in range(3000)}
    done = threading.Event()

    def importer() -> None:
        try:
            doors.feed_put(a.client, "bob", "BobFeed", big, delta=False)
        except Exception:  # the connection dies with the host: expected
            pass
        done.set()

    thread = threading.Thread(target=importer)
    thread.start()
    # Kill A while its import transaction holds bob's calendar: an advisory lock is held
    # by a session of the database that has written rows not yet committed.
    deadline = time.monotonic() + 60
    with psycopg.connect(pg_url, autocommit=True) as watch:
        while time.monotonic() < deadline and not done.is_set():
            writing = watch.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND s.backend_xid IS NOT NULL "
                "AND s.datname = current_database()").fetchone()[0]
            if writing:
                break
            time.sleep(0.02)
    assert not done.is_set(), "the import finished before it could be killed"
    time.sleep(0.3)  # well into the writes
    os.kill(a.proc.pid, signal.SIGKILL)
    a.proc.wait(10)
    thread.join(60)
    bob = doors.contents(b.client, "bob")
    assert bob == first, (len(bob), sorted(set(bob.values())))
    # And the calendar takes the next import at once (no lock left behind).
    again = {"e%d" % i: "third" for i in range(60)}
    assert doors.feed_put(b.client, "bob", "BobFeed", again, delta=False).status == 200
    assert doors.contents(b.client, "bob") == again
