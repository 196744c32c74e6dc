"""``radicale-wcap backup`` of a real server under write load, restored the way the
README says, passes ``verify``: the items and the database are one consistent state."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading

from tests.conftest import TEST_PASSWORD
from tests.ops.conftest import BIN, serve, users, write_config

VEVENT = ("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T%02d0000Z"
          "\r\nDURATION:PT1H\r\nSUMMARY:%s\r\nEND:VEVENT\r\n")
CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n%sEND:VCALENDAR\r\n"


def cli(config, *args):
    return subprocess.run([str(BIN / "radicale-wcap"), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60)


def feed(round_: int) -> str:
    # Every round changes every event and leaves out others: adds, changes, deletions.
    return CALENDAR % "".join(VEVENT % ("feed-%d" % i, i % 24, "round %d" % round_)
                              for i in range(round_ % 3, 12))


def test_backup_under_write_load_restores_and_verifies(tmp_path):
    (tmp_path / "live").mkdir()
    config = write_config(tmp_path / "live", level="warning")
    instance = users(config, "alice", "bob")
    instance.registry.set_webname("/bob/calendar/", "BobFeed")
    server = serve(config, tmp_path / "server.log")
    written, stop, failures = [], threading.Event(), []

    def caldav_writer():
        n = 0
        while not stop.is_set():
            uid = "put-%d" % n
            r = server.client.request("PUT", "/alice/calendar/%s.ics" % uid,
                                      CALENDAR % (VEVENT % (uid, n % 24, "written %d" % n)),
                                      {"Content-Type": "text/calendar"}, user="alice")
            (written if r.status == 201 else failures).append((uid, r.status))
            n += 1

    def feed_writer():
        n = 0
        while not stop.is_set():
            r = server.client.request("PUT", "/service/BobFeed.ics", feed(n), user="bob")
            if r.status != 200:
                failures.append(("feed", r.status))
            n += 1

    writers = [threading.Thread(target=caldav_writer), threading.Thread(target=feed_writer)]
    try:
        for thread in writers:
            thread.start()
        while len(written) < 10:
            stop.wait(0.05)
        before = len(written)
        made = cli(config, "backup", str(tmp_path / "backup"))
        during = len(written) - before
        stop.set()
        for thread in writers:
            thread.join(30)
    finally:
        stop.set()
        server.stop()
    assert made.returncode == 0, made.stderr
    assert during > 0 and not failures

    backup = tmp_path / "backup"
    manifest = json.loads((backup / "backup.json").read_text())
    assert sorted(os.listdir(backup)) == ["backup.json", "collection-root", "wcap.sqlite"]
    assert not any(".Radicale.cache" in folder for folder, _, _ in os.walk(backup))
    alice = os.listdir(backup / "collection-root" / "alice" / "calendar")
    kept = {name[:-4] for name in alice if name.endswith(".ics")}
    assert {uid for uid, _ in written[:before]} <= kept
    assert manifest["files"] >= len(kept)

    # Restore as the README says: the items and the database into a new store, no index.
    restored = tmp_path / "restored"
    restored.mkdir()
    restored_config = write_config(restored, level="warning")
    data = restored / "collections"
    (data / "collection-db" / "wcap").mkdir(parents=True)
    shutil.copytree(backup / "collection-root", data / "collection-root")
    shutil.copy2(backup / "wcap.sqlite", data / "collection-db" / "wcap" / "wcap.sqlite")
    assert cli(restored_config, "reindex").returncode == 0
    verified = cli(restored_config, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with sqlite3.connect(str(data / "collection-db" / "wcap" / "wcap.sqlite")) as db:
        assert {row[0] for row in db.execute("SELECT name FROM users")} == {"alice", "bob"}
        assert db.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    shown = cli(restored_config, "calendar", "show", "bob")
    assert json.loads(shown.stdout)["webname"] == "BobFeed"
    assert TEST_PASSWORD not in (backup / "wcap.sqlite").read_bytes().decode("latin-1")
