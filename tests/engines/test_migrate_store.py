"""``radicale-wcap migrate-store``: a file-and-SQLite instance into PostgreSQL and back,
every item under its own name, the users with it; resumable and verified."""

from __future__ import annotations

import subprocess

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient
from tests.engines.sql_instance import release
from tests.faults import doors
from tests.ops.conftest import BIN, users, write_config

RECURRING = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
             "UID:weekly\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250602T090000Z\r\n"
             "DTEND:20250602T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:weekly\r\n"
             "END:VEVENT\r\nEND:VCALENDAR\r\n")


def cli(config, *args):
    return subprocess.run([str(BIN / "radicale-wcap"), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=300)


def test_into_postgresql_and_back(tmp_path, pg_url):
    source_folder = tmp_path / "files"
    source_folder.mkdir()
    config = write_config(source_folder, level="warning")
    instance = users(config, "alice", "bob")
    client = InProcessClient(make_app(instance))
    for n in range(25):
        assert doors.caldav_put(client, "alice", "e%d" % n, "event %d" % n) == 201
    assert client.request("PUT", "/alice/calendar/custom-name.ics", RECURRING,
                          {"Content-Type": "text/calendar"}, user="alice").status == 201
    assert doors.caldav_put(client, "bob", "b1", "bob's") == 201
    before = doors.contents(client, "alice")

    done = cli(config, "migrate-store", "--to", pg_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified" in done.stdout and "/alice/calendar/: 26 items" in done.stderr
    again = cli(config, "migrate-store", "--to", pg_url)     # resumable: nothing to do
    assert again.returncode == 0 and "already there" in again.stderr, again.stderr

    pg_folder = tmp_path / "pg"
    pg_folder.mkdir()
    pg_config = write_config(pg_folder, {"storage": {"database_url": pg_url}}, level="warning")
    pg = users(pg_config)
    pg_client = InProcessClient(make_app(pg))
    assert doors.contents(pg_client, "alice") == before     # same login, same events
    assert pg_client.request("GET", "/alice/calendar/custom-name.ics",
                             user="alice").status == 200  # names kept
    assert doors.contents(pg_client, "bob") == {"b1": "bob's"}
    assert doors.caldav_put(pg_client, "alice", "after", "written on PostgreSQL") == 201

    back = tmp_path / "back"
    done = cli(pg_config, "migrate-store", "--to", str(back))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "table users: 2 rows" in done.stderr, done.stderr
    restored = users(write_config(tmp_path, {"storage": {
        "filesystem_folder": str(back)}}, level="warning"))
    assert doors.contents(InProcessClient(make_app(restored)), "alice") == dict(
        before, after="written on PostgreSQL")
    release(pg_url)
