"""Shared helpers for the WCAP protocol tests: a dispatcher on a fake session backend,
and parsers that prove each output format is valid (XML via defusedxml, JavaScript via
node, iCalendar via vobject and icalendar)."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
import shutil
import subprocess

import pytest
from defusedxml import ElementTree

from radicale_wcap.wcap.dispatch import WcapDispatcher

MANUAL = pathlib.Path(__file__).parent.parent / "data" / "manual"
NOW = dt.datetime(2002, 10, 21, 8, 27, 43, tzinfo=dt.timezone.utc)


class User:
    def __init__(self, userid, calid=None):
        self.userid, self.calid = userid, calid or userid


class FakeBackend:
    """Sessions ``good`` (jdoe) and ``admin`` (adminX); everything else is invalid."""

    def __init__(self):
        self.sessions = {"good": User("jdoe"), "admin": User("adminX")}
        self.asked = []

    def session_user(self, sid):
        self.asked.append(sid)
        return self.sessions.get(sid)


@pytest.fixture
def backend():
    return FakeBackend()


@pytest.fixture
def dispatcher(backend):
    return WcapDispatcher(backend, default_fmt_out="text/js", clock=lambda: NOW)


def manual(name: str) -> str:
    return (MANUAL / name).read_text(encoding="utf-8")


def script_of(page: str) -> str:
    m = re.fullmatch(r"<html><head><script>\n(.*)</script></head></html>\n", page, re.S)
    assert m, page
    assert "</script" not in m.group(1).lower()
    return m.group(1)


def run_js(page: str) -> dict:
    """Run the page's script in node with Calendar Express's globals stubbed; return
    the variables it defined (proves it parses and runs)."""
    if not shutil.which("node"):  # pragma: no cover
        pytest.skip("node is not installed")
    program = (
        "const vm=require('vm');const src=require('fs').readFileSync(0,'utf8');"
        "const ctx={document:{},window:{name:''},parent:{ceCB(){}}};"
        "vm.runInNewContext(src,ctx);delete ctx.document;delete ctx.window;delete ctx.parent;"
        "delete ctx.color;process.stdout.write(JSON.stringify(ctx));")
    proc = subprocess.run(["node", "-e", program], input=script_of(page), text=True,
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def parse_xml(body: bytes):
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(body)


def xml_errnos(body: bytes) -> list[int]:
    return [int(e.text) for e in parse_xml(body).iter("X-NSCP-WCAP-ERRNO")]


def ical_lines(body: bytes) -> list[str]:
    """Unfolded content lines; checks CRLF endings and one VCALENDAR."""
    text = body.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    for raw in text.split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75
    unfolded = re.sub(r"\r\n[ \t]", "", text)
    lines = unfolded.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VCALENDAR") == 1
    return lines


def ical_errno(body: bytes) -> int:
    values = [line.split(":", 1)[1] for line in ical_lines(body)
              if line.startswith("X-NSCP-WCAP-ERRNO:")]
    assert len(values) == 1
    return int(values[0])


def errno_of(answer, fmt: str) -> int:
    status, headers, body = answer
    assert status.startswith("200")
    if fmt == "text/calendar":
        return ical_errno(body)
    if fmt == "text/xml":
        return xml_errnos(body)[0]
    return run_js(body.decode("utf-8"))["errno"]
