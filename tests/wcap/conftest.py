"""Shared helpers for the WCAP protocol tests: a dispatcher on a fake session backend,
and parsers that prove each output format is valid (XML via defusedxml, JavaScript run
in QuickJS via dukpy, iCalendar via vobject and icalendar, JSON via the json module)."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re

import dukpy
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


# Calendar Express ran the page in a browser frame: a bare ES global with ``document``,
# ``window`` and ``parent.ceCB`` stubbed. dukpy's own globals (``require``, ``process``)
# are removed first, so a page that leans on them fails here as it would in a browser.
_PAGE_HARNESS = """
(function (global, page) {
  var host = Object.keys(global), out = {};
  for (var i = 0; i < host.length; i++) delete global[host[i]];
  global.document = {}; global.window = {name: ''}; global.parent = {ceCB: function () {}};
  (0, eval)(page);
  var stubs = {document: 1, window: 1, parent: 1, color: 1};
  Object.keys(global).forEach(function (k) { if (!stubs[k]) out[k] = global[k]; });
  return out;
})((0, eval)('this'), dukpy.page)
"""


def run_js(page: str) -> dict:
    """Run the page's script with Calendar Express's globals stubbed; return the
    variables it defined (proves it parses and runs)."""
    try:
        return dukpy.evaljs(_PAGE_HARNESS, page=script_of(page))
    except dukpy.JSRuntimeError as e:
        raise AssertionError(f"the page's script fails: {e}") from None


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


def parse_json(body: bytes) -> dict:
    """The text/json document; checks its frame (iCalendar.iCal, a list of objects, each
    with a numeric errno)."""
    document = json.loads(body.decode("utf-8"))
    icals = document["iCalendar"]["iCal"]
    assert isinstance(icals, list) and icals
    assert all(isinstance(i["X-NSCP-WCAP-ERRNO"], int) for i in icals)
    return document


def json_values(node, name: str) -> list[str]:
    """Every value of property ``name`` anywhere in a text/json document, in order."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                for item in value if isinstance(value, list) else [value]:
                    found.append(str(item["value"] if isinstance(item, dict) else item))
            else:
                found += json_values(value, name)
    elif isinstance(node, list):
        for item in node:
            found += json_values(item, name)
    return found


def errno_of(answer, fmt: str) -> int:
    status, headers, body = answer
    assert status.startswith("200")
    if fmt == "text/calendar":
        return ical_errno(body)
    if fmt == "text/xml":
        return xml_errnos(body)[0]
    if fmt == "text/json":
        return parse_json(body)["iCalendar"]["iCal"][0]["X-NSCP-WCAP-ERRNO"]
    return run_js(body.decode("utf-8"))["errno"]


# ---------------------------------------------------------------- WCAP over a client
# For tests against a real Instance: the in-process client (tests/conftest.py
# InProcessClient) or a live server (``live.client``); both have .request().

FORMATS = ("text/calendar", "text/xml", "text/js", "text/json")


class WcapAnswer:
    """One parsed answer: ``errno`` (the first one), ``errnos`` (per <iCal> for XML and
    JSON, per calprops entry for JS), ``text``, and per format ``lines`` / ``xml`` /
    ``js`` / ``json``."""

    def __init__(self, fmt: str, response):
        assert response.status == 200, response.status
        self.fmt, self.body, self.text = fmt, response.body, response.text
        self.lines = self.xml = self.js = self.json = None
        if fmt == "text/calendar":
            self.lines = ical_lines(response.body)
            self.errno = ical_errno(response.body)
            self.errnos = [self.errno]
        elif fmt == "text/xml":
            self.xml = parse_xml(response.body)
            self.errnos = [int(e.findtext("X-NSCP-WCAP-ERRNO")) for e in self.xml.iter("iCal")]
            self.errno = self.errnos[0]
        elif fmt == "text/json":
            self.json = parse_json(response.body)
            self.errnos = [i["X-NSCP-WCAP-ERRNO"] for i in self.json["iCalendar"]["iCal"]]
            self.errno = self.errnos[0]
        else:
            self.js = run_js(self.text)
            self.errno = self.js["errno"]
            self.errnos = [c["errno"] for c in self.js.get("calprops", [])] or [self.errno]

    def values(self, name: str) -> list[str]:
        """Every value of a property (iCalendar line, XML element, JSON member) in order."""
        if self.lines is not None:
            out = []
            for line in self.lines:
                head, _, value = line.partition(":")
                # iCalendar names are case-insensitive; the renderer upper-cases them.
                if head.split(";")[0].upper() == name.upper():
                    out.append(value)
            return out
        if self.xml is not None:
            return [(e.text or "") for e in self.xml.iter(name)]
        if self.json is not None:
            return json_values(self.json, name)
        raise AssertionError("values() needs text/calendar, text/xml or text/json")

    def value(self, name: str) -> str:
        found = self.values(name)
        assert found, f"{name} missing in {self.text[:2000]}"
        return found[0]


def wcap_path(command: str, query: str = "", **params) -> str:
    """``/<command>.wcap?<query>&k=v``; values are %-encoded like Lightning does
    (encodeURIComponent: space -> %20); ``fmt_out``/``search_string`` style keys map
    to the manual's ``fmt-out``/``search-string``."""
    from urllib.parse import quote
    parts = [query] if query else []
    for key, value in params.items():
        key = key.replace("_", "-") if key in ("fmt_out", "search_string",
                                                 "component_type") else key
        parts.append(f"{key}={quote(str(value), safe=';')}")
    return f"/{command}.wcap?" + "&".join(parts)


def wcap(client, command: str, fmt: str = "text/xml", query: str = "",
         **params) -> WcapAnswer:
    """Send a WCAP command with ``fmt-out=fmt`` and parse the answer."""
    return WcapAnswer(fmt, client.request("GET", wcap_path(command, query, fmt_out=fmt,
                                                          **params)))


def wcap_login(client, user: str, password: str | None = None) -> str:
    """Log in the way Lightning does; the session id."""
    from tests.conftest import TEST_PASSWORD
    answer = wcap(client, "login", "text/calendar", user=user,
                  password=TEST_PASSWORD if password is None else password)
    assert answer.errno == 0, answer.text
    return answer.value("X-NSCP-WCAP-SESSION-ID")
