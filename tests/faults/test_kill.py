"""kill -9 of a real server in the middle of a feed import, while it and a second server
on the same store take writes through every door: the import is rolled back by the
survivor (the calendar holds the last acknowledged feed, all of it, nothing of the
killed one), every acknowledged write is there, and ``verify`` is clean.

tests/store/test_crash.py kills a child at a chosen write; this is the same promise for
``radicale-wcap serve`` processes under load, killed wherever the import happens to be.
"""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import threading
import time

from tests.faults import doors
from tests.faults.load import CalDavClient, FeedClient, JsonClient, Ledger, WcapClient
from tests.ops.conftest import BIN, serve, users, write_config

SECONDS = 14.0
FEED_SIZE = 60


def summaries_on_disk(folder, user: str) -> set:
    found = set()
    for name in glob.glob(os.path.join(folder, "collections", "collection-root", user,
                                       "calendar", "*.ics")):
        with open(name, encoding="utf-8") as f:
            found.update(re.findall(r"^SUMMARY:(.*?)\r?$", f.read(), re.M))
    return found


def test_kill_9_mid_import_under_load(tmp_path):
    config = write_config(tmp_path, {"http": {"access_log": "off"}}, level="warning")
    instance = users(config, "alice", "bob")
    instance.registry.set_webname("/bob/calendar/", "BobFeed")
    key = instance.apikeys.create("alice", "load")
    journal = instance.services.journal
    doomed = serve(config, tmp_path / "doomed.log")
    survivor = serve(config, tmp_path / "survivor.log")
    try:
        ledger, stop = Ledger(), threading.Event()
        deadline = time.monotonic() + SECONDS
        both = [doomed.client, survivor.client]
        common = dict(ledger=ledger, deadline=deadline, stop=stop)
        importer = FeedClient("feed", user="bob", webname="BobFeed", size=FEED_SIZE,
                              delta=False, servers=[doomed.client], **common)
        clients = [importer,
                   CalDavClient("dav1", servers=both, **common),
                   CalDavClient("dav2", servers=[survivor.client], **common),
                   WcapClient("wcap1", servers=both, **common),
                   JsonClient("json1", key=key, servers=list(reversed(both)), **common)]
        for client in clients:
            client.start()

        # Wait for an acknowledged import, then for the next one to be half written:
        # its batch recorded, the calendar's files part old, part new.
        folder = str(tmp_path)
        while not (importer.acked_rounds >= 1 and journal.pending()
                   and len(summaries_on_disk(folder, "bob")) > 1):
            assert time.monotonic() < deadline - 4, "no import was caught half written"
        os.kill(doomed.proc.pid, signal.SIGKILL)
        doomed.proc.wait(10)
        killed_at = time.monotonic()
        # The dead process's batch is still recorded: it was killed mid-import.
        assert journal.pending(), "the import had finished before the kill"
        half = summaries_on_disk(folder, "bob")

        for client in clients:
            client.join(SECONDS + 60)
        assert not any(c.is_alive() for c in clients)
        assert time.monotonic() - killed_at > 2, "the survivor took no load after the kill"
        errors = [(c.name, c.error) for c in clients if c.error]
        assert not errors, errors
        assert ledger.failures == [], ledger.failures[:10]

        # The import the client never saw answered is gone, all of it.
        last = ledger.acked["feed-0"]
        bob = doors.contents(survivor.client, "bob")
        assert set(bob) == {"feed-%d" % i for i in range(FEED_SIZE)}
        assert set(bob.values()) == {last}, (sorted(set(bob.values())), sorted(half))
        assert journal.pending() == []

        alice = doors.contents(survivor.client, "alice")
        ledger.check(alice, owned=lambda uid: not uid.startswith("feed"))
        ledger.check(bob, owned=lambda uid: uid.startswith("feed"))
        assert {"caldav PUT", "WCAP storeevents", "JSON POST"} <= set(ledger.counts)
    finally:
        doomed.stop()
        log = survivor.stop()
    assert "Traceback" not in log, log[-3000:]
    verified = subprocess.run([str(BIN / "radicale-wcap"), "--config", str(config), "verify"],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
