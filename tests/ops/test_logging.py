"""The log of a real server at ``[logging] level = info``: every door's INFO lines reach it
(they were dropped while 24 modules logged under ``radicale_wcap.*``, outside the
``radicale`` logger whose level Radicale sets), one access line per request, and never a
password, session id, API key or Basic credential."""

from __future__ import annotations

import base64
import json
import re
import time

from tests.conftest import TEST_PASSWORD, basic
from tests.ops.conftest import serve, users, write_config

FEED = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:log-feed-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T080000Z\r\n"
        "DTEND:20240610T090000Z\r\nSUMMARY:Fed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
QUERY = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
         "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/></D:prop><C:filter>"
         "<C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
         "<C:time-range start='20240601T000000Z' end='20240701T000000Z'/></C:comp-filter>"
         "</C:comp-filter></C:filter></C:calendar-query>")
EVENT = {"title": "Logged", "starting_date": "2024-06-03", "starting_time": "14:00",
         "ending_time": "15:00", "timezone": "Europe/Berlin"}
ACCESS_LINE = re.compile(r"\] (wcap|caldav|feeds|api|ops) ([A-Z]+) (\S+) (.*)$", re.M)


def test_every_door_logs_at_info_and_no_secret_reaches_the_log(tmp_path):
    config = write_config(tmp_path)
    instance = users(config, "alice")
    instance.registry.set_webname("/alice/calendar/", "AliceFeed")
    key = instance.apikeys.create("alice", "log test")
    server = serve(config, tmp_path / "server.log")
    try:
        c = server.client
        login = c.request("GET", "/wcap/login.wcap?user=alice&password=%s&fmt-out=text/calendar"
                          % TEST_PASSWORD)
        sid = re.search(r"X-NSCP-WCAP-SESSION-ID:(\w+)", login.text).group(1)
        fetched = c.request("GET", "/wcap/fetchcomponents_by_range.wcap?id=%s&calid=alice"
                            "&dtstart=20240601T000000Z&dtend=20240701T000000Z"
                            "&fmt-out=text/calendar" % sid)
        assert "X-NSCP-WCAP-ERRNO:0" in fetched.text
        refused = c.request("GET", "/wcap/fetchcomponents_by_range.wcap?id=%s&calid=nobody"
                            "&fmt-out=text/calendar" % sid)
        assert "X-NSCP-WCAP-ERRNO:0" not in refused.text
        assert c.request("PUT", "/service/AliceFeed.ics", FEED, user="alice").status == 200
        created = c.request("POST", "/restapi/v1/events", json.dumps(EVENT),
                            {"Content-Type": "application/json", "x-api-key": key})
        assert created.status == 201
        report = c.request("REPORT", "/alice/calendar/", QUERY,
                           {"Depth": "1", "Content-Type": "application/xml"}, user="alice")
        assert report.status == 207
        assert c.request("GET", "/.well-known/health").status == 200
        requests = 7
        # A line is written when the server closes the answer, just after sending it.
        deadline = time.monotonic() + 10
        while len(ACCESS_LINE.findall(server.output())) < requests and \
                time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        log = server.stop()

    # INFO lines of each door, from modules that logged under radicale_wcap.* before.
    assert "WCAP login: user 'alice'" in log
    assert re.search(r"WCAP fetchcomponents_by_range user=alice calid=nobody: layer errno 29",
                     log)
    assert "Feed AliceFeed into alice by alice (delta=False): 1 added" in log
    assert "API: 'alice' created" in log
    assert re.search(r"REPORT /alice/calendar/ by 'alice' answered from the index", log)

    lines = ACCESS_LINE.findall(log)
    assert len(lines) == requests, lines
    doors = {(door, method, command) for door, method, command, _ in lines}
    assert doors == {("wcap", "GET", "login"), ("wcap", "GET", "fetchcomponents_by_range"),
                     ("feeds", "PUT", "import"), ("api", "POST", "events"),
                     ("caldav", "REPORT", "REPORT"), ("ops", "GET", "health")}
    fields = {(door, command): rest for door, _, command, rest in lines}
    assert "user=alice" in fields["wcap", "login"] and "errno=0" in fields["wcap", "login"]
    assert "user=alice calid=AliceFeed" not in log
    assert "user=alice calid=alice" in fields["feeds", "import"]
    assert "user=alice" in fields["api", "events"] and "status=201" in fields["api", "events"]
    assert "user=alice" in fields["caldav", "REPORT"] and "status=207" in fields["caldav", "REPORT"]
    errnos = [rest for door, _, command, rest in lines
              if command == "fetchcomponents_by_range" and "calid=nobody" in rest]
    assert errnos and "errno=29" in errnos[0]
    assert all(re.search(r"ms=[\d.]+ bytes=\d+", rest) for *_, rest in lines)

    credential = basic("alice", TEST_PASSWORD)[len("Basic "):]
    assert base64.b64decode(credential) == b"alice:" + TEST_PASSWORD.encode()
    for secret in (TEST_PASSWORD, sid, key, credential):
        assert secret not in log
