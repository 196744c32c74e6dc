"""``migrate wcap`` against a stub of a 6.x-era server that answers with the manual's own
examples: text/calendar with content lines broken without folds, text/xml, an old
server without ``list`` (search_calprops instead), a session that expires mid-run
(errno 1: log in again and carry on), and one that is not reachable at all."""

from __future__ import annotations

import http.server
import pathlib
import threading
import urllib.parse

import pytest

from radicale_wcap.acl.ace import normalize_acl
from radicale_wcap.store import READ, SYSTEM
from tests.migrate.conftest import report
from tests.ops.conftest import free_port

DATA = pathlib.Path(__file__).parent / "data"
LOGIN = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iCalendar>\n<iCal>\n"
         "<X-NSCP-WCAP-SESSION-ID>%s</X-NSCP-WCAP-SESSION-ID>\n"
         "<X-NSCP-WCAP-USER-ID>calmaster</X-NSCP-WCAP-USER-ID>\n"
         "<X-NSCP-WCAP-ERRNO>0</X-NSCP-WCAP-ERRNO>\n</iCal>\n</iCalendar>\n")
ERRNO = "BEGIN:VCALENDAR\nVERSION:5.1.1\nX-NSCP-WCAP-ERRNO:%d\nEND:VCALENDAR\n"


class OldServer(http.server.BaseHTTPRequestHandler):
    sessions: list = []
    expired: set = set()
    commands: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        params = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        command = self.path.rsplit("/", 1)[-1].replace(".wcap", "")
        self.commands.append((command, params.get("calid", "")))
        kind, body = "text/calendar", None
        if command == "login":
            if params.get("password") != "calmaster-pass":
                body = ERRNO % 1
            else:
                self.sessions.append("session%d" % len(self.sessions))
                kind, body = "text/xml", LOGIN % self.sessions[-1]
        elif params.get("id") not in self.sessions or params.get("id") in self.expired:
            body = ERRNO % 1
        elif command == "fetchcomponents_by_range" and params.get("id") == "session0":
            # The session ends on the old server between two commands.
            self.expired.add("session0")
            body = ERRNO % 1
        elif command == "search_calprops":
            body = (DATA / "search_calprops.ical.txt").read_text()
        elif command == "get_userprefs":
            body = (DATA / "get_userprefs.ical.txt").read_text()
        elif command == "fetchcomponents_by_range" and params.get("calid") == "jdoe":
            body = (DATA / "fetchcomponents_by_range.ical.txt").read_text()
        elif command == "fetchcomponents_by_range" and params.get("calid") == "jdoe:sports":
            kind, body = "text/xml", (DATA / "fetch_sports.xml.txt").read_text()
        elif command == "logout":
            body = ERRNO % -1
        else:
            body = ERRNO % 59   # 2002: no list command
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def old_server():
    OldServer.sessions, OldServer.expired, OldServer.commands = [], set(), []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OldServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_manual_answers_are_migrated_and_repaired(old_server, target, tmp_path):
    run = target.migrate("wcap", "--url", old_server, "--admin", "calmaster", "--password-stdin",
                         "--all", "--report", str(tmp_path / "r.json"), password="calmaster-pass")
    assert run.returncode == 0, run.stderr
    done = report(tmp_path / "r.json")
    assert done["relogins"] == 1
    assert [c["calid"] for c in done["calendars"]] == ["jdoe", "jdoe:sports"]
    assert done["totals"]["items_created"] == 3, done
    repaired = {r["uid"]: r["repairs"] for r in done["calendars"][0]["repaired"]}
    assert "joined a content line broken without a fold" in \
        repaired["3c11625900005ffe00000011000010b7"]
    instance = target.instance()
    user = instance.directory.get("jdoe")
    assert (user.email, user.cn, user.tz) == ("jdoe@sesta.com", "John Doe", "Europe/London")
    assert user.prefs["icsSubscribed"] == "lucy$,jjones$,jsmith:jdoe"
    assert user.prefs["ceColorSet"] == "pref_group4"
    record = instance.registry.get_by_calid("jdoe")
    assert record.acl == normalize_acl(
        "@@o^c^WDEIC^g;@@o^a^RSF^g;@^a^frs^g;@^c^^g;lucy^a^frs^g;lucy^c^dw^g;jjones^a^rs^g;"
        "jjones^c^w^g;@^p^r^g;lucy^p^r^g;jjones^p^r^g")
    assert record.setting("tzid") == "America/Los_Angeles"
    with instance.store.reading("/jdoe/calendar/", SYSTEM, READ) as calendar:
        item = calendar.by_uid("3c11625900005ffe00000011000010b7")
        assert "DTSTART;TZID=America/Los_Angeles:20011225T053000" in item.serialize()
        event = item.vobject_item.vevent
        assert event.organizer.value == "mailto:jdoe@sesta.com"
        assert "X-NSCP-TOMBSTONE" not in event.contents
    with instance.store.reading("/jdoe/sports/", SYSTEM, READ) as calendar:
        series = calendar.by_uid("3bd9e717000045030000000100002113")
        parts = [c for c in series.vobject_item.getChildren() if c.name == "VEVENT"]
        assert len(parts) == 2 and parts[0].summary.value == "Fußball – Training"
        assert "DTSTART;TZID=Europe/Berlin:20021021T010000" in series.serialize()
        assert "RECURRENCE-ID;TZID=Europe/Berlin:20021028T010000" in series.serialize()
    assert ("list", "") in OldServer.commands


def test_old_server_errors_are_one_line(old_server, target, tmp_path):
    wrong = target.run("wcap", "--url", old_server, "--admin", "calmaster",
                           "--password-stdin", "--all", password="nope")
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines()[-1].startswith("radicale-wcap: error: the old "
                                                            "server refused the login")
    assert "Traceback" not in wrong.stderr
    gone = target.run("wcap", "--url", "http://127.0.0.1:%d/" % free_port(), "--admin",
                          "calmaster", "--password-stdin", "--all", "--retries", "1")
    assert gone.returncode == 1 and "did not answer" in gone.stderr, gone.stderr
    assert "Traceback" not in gone.stderr
