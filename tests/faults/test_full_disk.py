"""The store on a small tmpfs filled to the last byte: every door still reads, every write
is refused with the door's own error and changes nothing, and once there is room again
everything works and ``verify`` is clean.

Before: the WCAP login said "login failed" (errno 1: creating the session row failed),
fetches with a live session failed with errno 13 (the session's ``last_seen`` write),
every JSON request with an API key failed with 500 (the key's ``last_used`` write),
CalDAV writes got a 500 and a feed a 500 labelled 3101 (a fault of the file).
"""

from __future__ import annotations

import errno as errno_mod
import glob
import os
import subprocess

import pytest

from radicale_wcap.verify import verify_store
from tests.conftest import LiveServer, add_user
from tests.faults import doors

SIZE = "8m"


def mount_tmpfs(where: str) -> None:
    os.makedirs(where, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % SIZE, "tmpfs", where],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("mount -t tmpfs is not permitted here: %s" % done.stderr.strip())


def fill(folder: str) -> str:
    """A filler file that takes every byte left; its path."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == errno_mod.ENOSPC
                size //= 2
    finally:
        os.close(fd)
    return path


def item_files(folder: str) -> dict:
    """Every item file under the homes, read past the server."""
    found = {}
    for name in glob.glob(os.path.join(folder, "collections", "collection-root", "*", "*",
                                       "*.ics")):
        with open(name, encoding="utf-8") as f:
            found[os.path.relpath(name, folder)] = f.read()
    return found


def clean(response) -> None:
    text = response.body.decode("utf-8", "replace")
    for leak in ("Traceback", "sqlite", "Errno", "disk is full", "OperationalError"):
        assert leak not in text, text[:500]


@pytest.fixture
def disk(tmp_path):
    where = str(tmp_path / "disk")
    mount_tmpfs(where)
    yield where
    subprocess.run(["umount", "-l", where], check=False)


def test_full_disk_keeps_reads_and_refuses_writes_cleanly(disk):
    server = LiveServer(disk)
    try:
        run(server, disk)
    finally:
        server.stop()


def run(server, folder):
    instance, c = server.instance, server.client
    add_user(instance, "alice")
    instance.registry.set_webname("/alice/calendar/", "Campus")
    key = instance.apikeys.create("alice", "fault test")

    # What the calendar holds before the disk fills, written by every door.
    assert doors.caldav_put(c, "alice", "dav-1", "By CalDAV") == 201
    assert doors.feed_put(c, "alice", "Campus", {"feed-1": "By feed"}).status == 200
    posted = doors.json_post(c, key, "By JSON")
    assert posted.status == 201, posted.text
    item_id = posted.json()["cal_item_id"]
    code, sid = doors.wcap_login(c, "alice")
    assert code == 0 and sid
    assert doors.errno(doors.wcap_store(c, sid, "alice", "wcap-1", "By WCAP")) == 0
    before = doors.contents(c, "alice")
    assert set(before.values()) == {"By CalDAV", "By feed", "By JSON", "By WCAP"}
    assert c.request("GET", "/restapi/v1/events", headers={"x-api-key": key}).status == 200
    # The bookkeeping writes are due on the next read: the session's last_seen and the
    # key's last_used are old.
    instance.services.db.execute("UPDATE sessions SET last_seen = last_seen - 60")
    instance.services.db.execute("UPDATE apikeys SET last_used = NULL")
    files_before = item_files(folder)

    filler = fill(folder)
    stat = os.statvfs(folder)
    assert stat.f_bavail == 0

    # -- reads
    login = c.request("GET", "/wcap/login.wcap?user=alice&password=%s&fmt-out=text/calendar"
                      % "secret-pass")
    # The right password, but the session row can not be written: the manual's 53 ("all
    # errors from a write to the database"), not 1, which has Lightning ask for the password.
    assert doors.errno(login) == 53 and "SESSION-ID" not in login.text
    clean(login)
    wrong, _ = doors.wcap_login(c, "alice", "wrong-password")
    assert wrong == 1
    for _ in range(3):
        fetched = doors.wcap_fetch(c, sid, "alice")
        assert doors.errno(fetched) == 0, fetched.text
        assert all("UID:%s" % uid in fetched.text for uid in before)
    listed = c.request("GET", "/restapi/v1/events", headers={"x-api-key": key})
    assert listed.status == 200, listed.text
    assert {e["title"] for e in listed.json()["events"]} == set(before.values())
    one = c.request("GET", "/restapi/v1/events/%d" % item_id, headers={"x-api-key": key})
    assert one.status == 200 and one.json()["title"] == "By JSON"
    assert c.request("GET", "/restapi/v1/events", user="alice").status == 200
    got = c.request("GET", "/alice/calendar/dav-1.ics", user="alice")
    assert got.status == 200 and "SUMMARY:By CalDAV" in got.text
    assert doors.contents(c, "alice") == before
    assert c.request("PROPFIND", "/alice/calendar/", headers={"Depth": "1"},
                     user="alice").status == 207
    subscribed = c.request("GET", "/service/Campus.ics", user="alice")
    assert subscribed.status == 200 and all("UID:%s" % uid in subscribed.text for uid in before)

    # -- writes: each door's own error, nothing changed
    refused = [
        c.request("PUT", "/alice/calendar/dav-2.ics",
                  doors.vcalendar(doors.vevent("dav-2", "New " + "x" * 20000)),
                  {"Content-Type": "text/calendar"}, user="alice"),
        c.request("PUT", "/alice/calendar/dav-1.ics",
                  doors.vcalendar(doors.vevent("dav-1", "Changed " + "x" * 20000)),
                  {"Content-Type": "text/calendar"}, user="alice"),
        c.request("DELETE", "/alice/calendar/dav-1.ics", user="alice"),
        c.request("MKCALENDAR", "/alice/other/", user="alice"),
    ]
    for response in refused:
        assert response.status == 507, (response.status, response.text[:300])
        clean(response)
    stored = doors.wcap_store(c, sid, "alice", "wcap-2", "New by WCAP " + "x" * 5000)
    assert doors.errno(stored) == 14  # STOREEVENTS_FAILED
    clean(stored)
    deleted = c.request("GET", "/wcap/deleteevents_by_id.wcap?id=%s&calid=alice&uid=wcap-1"
                        "&fmt-out=text/calendar" % sid)
    assert doors.errno(deleted) not in (0, 1, None), deleted.text
    clean(deleted)
    posted = doors.json_post(c, key, "New by JSON " + "x" * 5000)
    assert posted.status == 507 and posted.json()["error"] == 1, posted.text
    clean(posted)
    updated = doors.json_put(c, key, item_id, "Changed by JSON " + "x" * 5000)
    assert updated.status == 507 and updated.json()["error"] == 1, updated.text
    clean(updated)
    imported = doors.feed_put(c, "alice", "Campus", {
        "feed-1": "Changed by feed " + "x" * 3000,
        **{"feed-new-%d" % i: "New by feed " + "x" * 3000 for i in range(20)}})
    assert imported.status == 507, imported.text
    assert "<ServerError" in imported.text and "3101" not in imported.text
    clean(imported)
    assert item_files(folder) == files_before
    assert doors.contents(c, "alice") == before
    assert instance.services.journal.pending() == []

    # -- room again: everything works
    os.remove(filler)
    code, new_sid = doors.wcap_login(c, "alice")
    assert code == 0 and new_sid
    assert doors.errno(doors.wcap_store(c, new_sid, "alice", "wcap-2", "Later by WCAP")) == 0
    assert doors.caldav_put(c, "alice", "dav-2", "Later by CalDAV") == 201
    assert doors.json_post(c, key, "Later by JSON").status == 201
    assert doors.feed_put(c, "alice", "Campus", {"feed-2": "Later by feed"}).status == 200
    after = doors.contents(c, "alice")
    assert after == dict(before, **{"wcap-2": "Later by WCAP", "dav-2": "Later by CalDAV",
                                    "feed-2": "Later by feed"},
                         **{uid: "Later by JSON" for uid, s in after.items()
                            if s == "Later by JSON"})
    assert list(after.values()).count("Later by JSON") == 1
    log = []
    assert verify_store(instance, log=log.append) == 0, log


def leave_free(folder: str, room: int) -> str:
    """A filler that leaves about ``room`` bytes free; its path."""
    path = fill(folder)
    os.truncate(path, os.path.getsize(path) - room)
    return path


@pytest.mark.xfail(reason="storage: a batch that finds the disk full part-way rolls back "
                          "what it added first (freeing room) and then restores what it "
                          "changed; restoring needs room for a temporary file, so with none "
                          "left the journal stays and reads of that calendar are refused "
                          "until there is room (then it recovers and verify is clean)",
                   strict=False)
def test_a_feed_that_fills_the_disk_part_way_leaves_the_calendar_readable(disk):
    server = LiveServer(disk)
    try:
        instance, c = server.instance, server.client
        add_user(instance, "alice")
        instance.registry.set_webname("/alice/calendar/", "Campus")
        base = {"f-%d" % i: "Base %d" % i for i in range(10)}
        assert doors.feed_put(c, "alice", "Campus", base).status == 200
        before, files_before = doors.contents(c, "alice"), item_files(disk)
        filler = leave_free(disk, 60000)
        # Room for the journal and a few item files, not for all of them.
        imported = doors.feed_put(c, "alice", "Campus", {
            **{"f-%d" % i: "Changed %d %s" % (i, "y" * 2000) for i in range(10)},
            **{"n-%d" % i: "New %d %s" % (i, "z" * 2000) for i in range(20)}})
        assert imported.status == 507 and "3101" not in imported.text
        assert doors.report(c, "alice").status == 207
        assert doors.contents(c, "alice") == before
        assert item_files(disk) == files_before
        os.remove(filler)
        assert doors.contents(c, "alice") == before
        assert instance.services.journal.pending() == []
        log = []
        assert verify_store(instance, log=log.append) == 0, log
    finally:
        server.stop()
