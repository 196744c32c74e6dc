"""The access line: one per request, what each door knows, never a secret, text or JSON."""

from __future__ import annotations

import json
import re

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.ops.access import AccessLog, format_text
from tests.conftest import TEST_PASSWORD, InProcessClient, add_user, make_instance

FEED = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:acc-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T080000Z\r\n"
        "DTEND:20240610T090000Z\r\nSUMMARY:Fed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.fixture
def logged(tmp_path):
    path = tmp_path / "access.log"
    instance = make_instance(str(tmp_path), {"http": {"access_log": str(path),
                                                      "access_log_format": "json"},
                                             "wcap": {"max_import_size": "1000"}})
    add_user(instance, "alice")
    instance.registry.set_webname("/alice/calendar/", "AliceFeed")
    client = InProcessClient(make_app(instance))

    def lines():
        return [json.loads(line) for line in path.read_text().splitlines()]
    return client, lines


def test_each_door_says_what_it_knows(logged):
    client, lines = logged
    login = client.request("GET", "/wcap/login.wcap?user=alice&password=%s&fmt-out=text/calendar"
                           % TEST_PASSWORD)
    sid = re.search(r"X-NSCP-WCAP-SESSION-ID:(\w+)", login.text).group(1)
    client.request("GET", "/wcap/fetchcomponents_by_range.wcap?id=%s&calid=alice"
                   "&fmt-out=text/xml" % sid)
    client.request("GET", "/wcap/no_such_command.wcap?id=%s" % sid)
    client.request("GET", "/wcap/login.wcap?user=alice&password=wrong")
    client.request("POST", "/wcap/import.wcap?id=%s&calid=alice" % sid, b"x" * 2000,
                   {"Content-Type": "text/calendar"})
    client.request("PUT", "/service/AliceFeed.ics", FEED, user="alice")
    client.request("PUT", "/service/AliceFeed.ics", FEED, user="alice", password="wrong")
    client.request("PROPFIND", "/alice/calendar/", headers={"Depth": "0"}, user="alice")
    client.request("GET", "/restapi/v1/events", user="mallory", password="x")
    records = lines()
    assert [(r["door"], r["method"], r["command"], r["status"], r.get("errno"), r.get("user"))
            for r in records] == [
        ("wcap", "GET", "login", 200, 0, "alice"),
        ("wcap", "GET", "fetchcomponents_by_range", 200, 0, "alice"),
        ("wcap", "GET", "unknown", 200, 52, None),
        ("wcap", "GET", "login", 200, 1, None),
        ("wcap", "POST", "import", 200, 35, None),
        ("feeds", "PUT", "import", 200, None, "alice"),
        ("feeds", "PUT", "import", 401, None, "alice"),
        ("caldav", "PROPFIND", "PROPFIND", 207, None, "alice"),
        ("api", "GET", "events", 401, None, "mallory"),
    ]
    assert records[1]["calid"] == "alice" and records[5]["calid"] == "alice"
    assert all(r["bytes"] > 0 and r["ms"] >= 0 and r["pid"] and r["time"].endswith("Z")
               for r in records)
    assert all("?" not in r["path"] for r in records)
    text = json.dumps(records)
    assert sid not in text and TEST_PASSWORD not in text and "wrong" not in text


def test_text_lines_quote_what_could_forge_a_line():
    line = format_text({"door": "caldav", "method": "GET", "command": "GET",
                        "user": "eve\nwcap GET login user=admin", "path": "/a b/",
                        "status": 200})
    assert "\n" not in line
    assert line == ('caldav GET GET user="eve\\nwcap GET login user=admin" path="/a b/" '
                    'status=200')
    assert format_text({"door": "wcap", "user": "zo\u2028e"}) == 'wcap - - user="zo\\u2028e"'


def test_a_bad_format_stops_the_start(tmp_path):
    instance = make_instance(str(tmp_path), {"http": {"access_log_format": "xml"}})
    with pytest.raises(ValueError, match="text, json"):
        make_app(instance)


def test_off_writes_nothing(tmp_path, caplog):
    log = AccessLog("off")
    with caplog.at_level("INFO", logger="radicale.wcap.access"):
        log.write({"door": "wcap"})
    assert not caplog.records
