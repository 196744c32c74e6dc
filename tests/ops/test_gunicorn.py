"""gunicorn with ``deploy/gunicorn.conf.py``, as the README runs it: several workers serve
one store and one session table, metrics add up across them, and a request longer than
gunicorn's timeout, or running through a reload, is answered, not killed."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_PASSWORD
from tests.ops.conftest import gunicorn, users, write_config

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
         "UID:g-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T080000Z\r\n"
         "DTEND:20240610T090000Z\r\nSUMMARY:Served\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
FETCH = ("/wcap/fetchcomponents_by_range.wcap?id=%s&calid=alice&dtstart=20240601T000000Z"
         "&dtend=20240701T000000Z&fmt-out=text/calendar")


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_workers_share_the_store_the_sessions_and_the_metrics(tmp_path):
    access = tmp_path / "access.log"
    config = write_config(tmp_path, {"http": {"metrics": "True", "access_log": str(access),
                                              "access_log_format": "json"}})
    users(config, "alice")
    (tmp_path / "prom").mkdir()
    server = gunicorn(config, tmp_path / "gunicorn.log", workers=2,
                      env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")})
    try:
        c = server.client
        login = c.request("GET", "/wcap/login.wcap?user=alice&password=%s&fmt-out=text/calendar"
                          % TEST_PASSWORD)
        sid = re.search(r"X-NSCP-WCAP-SESSION-ID:(\w+)", login.text).group(1)
        assert c.request("PUT", "/alice/calendar/g-1.ics", EVENT,
                         {"Content-Type": "text/calendar"}, user="alice").status == 201

        def fetches():
            return [json.loads(line) for line in access.read_text().splitlines()
                    if '"fetchcomponents_by_range"' in line]

        sent = 0
        with ThreadPoolExecutor(4) as pool:
            # Every request on a new connection: the workers take turns accepting.
            while sent < 96 and len({r["pid"] for r in fetches()}) < 2:
                answers = list(pool.map(lambda _: c.request("GET", FETCH % sid), range(24)))
                sent += len(answers)
                assert all("X-NSCP-WCAP-ERRNO:0" in a.text and "UID:g-1" in a.text
                           for a in answers)
                wait_until(lambda: len(fetches()) == sent)
        assert len({r["pid"] for r in fetches()}) == 2

        def scraped():
            body = c.request("GET", "/metrics").text
            return {(s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(body) for s in family.samples}

        fetched = ("radicale_wcap_requests_total", (("command", "fetchcomponents_by_range"),
                                                    ("door", "wcap"), ("status", "200")))
        # Counted when the answer is closed, a moment after the client has it.
        wait_until(lambda: scraped().get(fetched) == sent)
        values = scraped()
        assert values[("radicale_wcap_requests_total", (("command", "PUT"), ("door", "caldav"),
                                                        ("status", "201")))] == 1
        assert values[("radicale_wcap_sessions", ())] == 1
    finally:
        server.stop()


def test_a_long_request_outlives_the_timeout_and_a_reload(tmp_path):
    config = write_config(tmp_path, {"http": {"access_log": "off"}})
    users(config, "alice")
    # A heartbeat timeout of 2 s, a request of 6 s: the gthread worker is not killed.
    server = gunicorn(config, tmp_path / "gunicorn.log", workers=1,
                      app="tests.ops.slow_app:application", options=("-t", "2"))
    try:
        results = {}
        slow = threading.Thread(target=lambda: results.update(
            first=server.client.request("GET", "/test/slow?seconds=6")))
        slow.start()
        time.sleep(2)
        server.proc.send_signal(signal.SIGHUP)
        slow.join(30)
        assert results["first"].status == 200, server.output()
        old = results["first"].text.split()[-1]
        # The reload replaced the worker; the old one finished its request first.
        wait_until(lambda: server.client.request("GET", "/test/slow?seconds=0").text.split()[-1]
                   != old, seconds=15)
        assert "WORKER TIMEOUT" not in server.output()
    finally:
        log = server.stop()
    assert "handling signal: hup" in log.lower()
