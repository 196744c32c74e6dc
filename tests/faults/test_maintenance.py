"""``radicale-wcap verify`` and ``reindex`` run while a live server takes writes through
every door: both finish, neither reports damage that is not there, the server's
writes all succeed meanwhile, and no acknowledged write is lost.
"""

from __future__ import annotations

import subprocess
import threading
import time

from tests.faults import doors
from tests.faults.load import CalDavClient, FeedClient, JsonClient, Ledger, WcapClient
from tests.ops.conftest import BIN, gunicorn, users, write_config

SECONDS = 120.0  # at most; the writers are stopped once the runs are done (five command-line
# runs took 45 to 60 s on the shared 2-core machine under load)


def cli(config, *args):
    started = time.monotonic()
    done = subprocess.run([str(BIN / "radicale-wcap"), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


def test_verify_and_reindex_while_the_server_writes(tmp_path):
    config = write_config(tmp_path, {"http": {"access_log": "off"}}, level="warning")
    instance = users(config, "alice", "bob")
    instance.registry.set_webname("/bob/calendar/", "BobFeed")
    key = instance.apikeys.create("alice", "maintenance")
    server = gunicorn(config, tmp_path / "gunicorn.log", workers=2)
    try:
        ledger, stop = Ledger(), threading.Event()
        deadline = time.monotonic() + SECONDS
        common = dict(ledger=ledger, servers=[server.client], deadline=deadline, stop=stop)
        clients = [CalDavClient("dav1", **common), WcapClient("wcap1", **common),
                   FeedClient("feed1", user="bob", webname="BobFeed", size=20, **common),
                   JsonClient("json1", key=key, **common)]
        for client in clients:
            client.start()
        time.sleep(1.5)  # the calendars have items before the first run
        runs = []
        for command in ("verify", "reindex", "verify", "reindex", "verify"):
            done, took = cli(config, command)
            runs.append((command, done.returncode, round(took, 1)))
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        # The writers ran all along: they stop only now.
        assert all(c.is_alive() for c in clients), runs
        time.sleep(1)
        stop.set()
        for client in clients:
            client.join(60)
        errors = [(c.name, c.error) for c in clients if c.error]
        assert not errors, errors
        assert ledger.failures == [], ledger.failures[:10]
        assert ledger.counts.get("caldav PUT", 0) >= 3 and ledger.counts.get("feed PUT", 0) >= 3
        for user in ("alice", "bob"):
            found = doors.contents(server.client, user)
            ledger.check(found, owned=(lambda uid: uid.startswith("feed")) if user == "bob"
                         else (lambda uid: not uid.startswith("feed")))
    finally:
        server.stop()
    done, _ = cli(config, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
