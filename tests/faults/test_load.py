"""Every door at once against gunicorn with ``deploy/gunicorn.conf.py`` and three worker
processes, all writing into one calendar: afterwards every acknowledged write is there
with its content, nothing else is, no request failed, and ``verify`` is clean.
"""

from __future__ import annotations

import subprocess
import threading
import time

from tests.faults import doors
from tests.faults.load import CalDavClient, FeedClient, JsonClient, Ledger, WcapClient
from tests.ops.conftest import BIN, gunicorn, users, write_config

SECONDS = 12.0


def test_every_door_under_load_keeps_every_acknowledged_write(tmp_path):
    config = write_config(tmp_path, {"http": {"access_log": "off"}}, level="warning")
    instance = users(config, "alice")
    instance.registry.set_webname("/alice/calendar/", "AliceFeed")
    key = instance.apikeys.create("alice", "load")
    server = gunicorn(config, tmp_path / "gunicorn.log", workers=3)
    try:
        ledger, stop = Ledger(), threading.Event()
        deadline = time.monotonic() + SECONDS
        common = dict(ledger=ledger, servers=[server.client], deadline=deadline, stop=stop)
        clients = [CalDavClient("dav1", **common), CalDavClient("dav2", **common),
                   WcapClient("wcap1", **common), WcapClient("wcap2", **common),
                   FeedClient("feed1", **common), JsonClient("json1", key=key, **common)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(SECONDS + 60)
        stop.set()
        assert not any(c.is_alive() for c in clients)
        errors = [(c.name, c.error) for c in clients if c.error]
        assert not errors, errors
        assert ledger.failures == [], ledger.failures[:10]
        # Every door wrote, more than once.
        for what in ("caldav PUT", "WCAP storeevents", "feed PUT", "JSON POST", "JSON PUT"):
            assert ledger.counts.get(what, 0) >= 3, ledger.counts
        assert not ledger.unsure
        found = doors.contents(server.client, "alice")
        ledger.check(found, owned=lambda uid: True)
        # What the other doors read is the same calendar.
        code, sid = doors.wcap_login(server.client, "alice")
        fetched = doors.wcap_fetch(server.client, sid, "alice")
        assert doors.errno(fetched) == 0
        assert all("UID:%s" % uid in fetched.text for uid in ledger.acked)
        listed = server.client.request("GET", "/restapi/v1/events", headers={"x-api-key": key})
        assert {e["itemguid"] for e in listed.json()["events"]} == set(found)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log[-3000:]
    verified = subprocess.run([str(BIN / "radicale-wcap"), "--config", str(config), "verify"],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
