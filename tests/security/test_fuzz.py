"""Bounded fuzzing of the three front doors: WCAP over its command table, the JSON
doors (``/restapi/v1/events``, ``/api/ics``) and the feed import (``PUT /service/*.ics``).

Every door promises an answer in its own protocol whatever arrives, so the oracle is the
same everywhere: no HTTP 500 (WCAP: nothing but 200, Lightning reads any other status as
a network failure), no traceback in a body, no exception logged with its traceback (the
WCAP dispatcher turns any exception into an errno, so a body alone would hide a crash),
and an answer within ``WATCHDOG`` seconds.

``derandomize=True`` and ``database=None`` make every run test the same inputs, so a CI
failure reproduces locally and no example database lands in the working tree. Most
examples go in-process (volume); ``test_live_*`` send a few over a real socket through
waitress, where the request line and headers are parsed for real.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import string
import sys
import threading
import traceback
import urllib.parse
from typing import Callable, Optional

import pytest

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from radicale_wcap.middleware import make_app
from radicale_wcap.store import create_default_calendar
from radicale_wcap.wcap.commands.table import COMMANDS, Session
from radicale_wcap.wcap.render import FORMATS
from radicale_wcap.wcap.params import (
    AlarmTime, Attendee, Bool, DateTime, Duration, Geo, Int, Keyword, RRule, SemicolonList,
    Text, TzId)
from tests.conftest import (
    TEST_PASSWORD, InProcessClient, LiveServer, Response, add_user, basic, make_instance)

WATCHDOG = 10.0  # seconds per request; a slower answer counts as a hang
# FUZZ_SCALE=20 multiplies every example count, for a longer campaign than CI's.
SCALE = float(os.environ.get("FUZZ_SCALE") or 1)


def fuzz(max_examples: int):
    """Bounded and reproducible: the same inputs on every run, no example database."""
    return settings(max_examples=max(1, int(max_examples * SCALE)), deadline=None,
                    derandomize=True, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------- the oracle

class _Crashes(logging.Handler):
    """Records logged with a traceback: an exception nothing in the door expected."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            self.records.append(record)


@pytest.fixture(scope="module")
def crashes():
    handler = _Crashes()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def _describe(record: logging.LogRecord) -> str:
    kind, error, tb = record.exc_info
    where = traceback.extract_tb(tb)[-1] if tb is not None else None
    place = ("%s:%d" % (where.filename.split("/radicale_wcap/")[-1], where.lineno)
             if where else "?")
    return "%s: %s: %s at %s" % (record.getMessage()[:120], kind.__name__, str(error)[:200],
                                 place)


def within_watchdog(call: Callable[[], Response], label: str) -> Response:
    """``call()`` in a worker thread; fails with the worker's stack if it is still busy
    after WATCHDOG seconds (the thread is a daemon: a real hang must not block the run)."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["response"] = call()
        except BaseException as error:  # re-raised below, in the test's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True, name="fuzz-request")
    worker.start()
    worker.join(WATCHDOG)
    if worker.is_alive():
        frame = sys._current_frames().get(worker.ident)
        stack = "".join(traceback.format_stack(frame)[-8:]) if frame else "?"
        pytest.fail("no answer within %.0f s to %s\n%s" % (WATCHDOG, label, stack))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


def checked(client, crashes: _Crashes, method: str, path: str, body: bytes = b"",
            headers: Optional[dict] = None, user: Optional[str] = None,
            password: str = TEST_PASSWORD, wcap: bool = False) -> Response:
    label = "%s %s (%d-byte body, headers %r, user %r)" % (
        method, path[:300], len(body), headers, user)
    if currently_in_test_context():
        note(label)
    crashes.records.clear()
    response = within_watchdog(
        lambda: client.request(method, path, body, headers, user=user, password=password),
        label)
    logged = [_describe(r) for r in crashes.records]
    crashes.records.clear()
    assert not logged, "exception logged for %s:\n%s" % (label, "\n".join(logged))
    if currently_in_test_context():  # --hypothesis-show-statistics: how deep we got
        errno = _ERRNO.search(response.body) if wcap else None
        event("errno %s" % (errno.group(1) or errno.group(2)).decode() if errno
              else "HTTP %d" % response.status)
    assert response.status < 500, "%d for %s: %r" % (response.status, label, response.body[:300])
    if wcap:
        assert response.status == 200, "WCAP answered HTTP %d for %s" % (response.status, label)
    assert b"Traceback" not in response.body and b'File "' not in response.body, \
        "traceback in the answer to %s: %r" % (label, response.body[:500])
    return response


_ERRNO = re.compile(rb'X-NSCP-WCAP-ERRNO(?::|>|":)(-?\d+)|var errno=(-?\d+)')


# ---------------------------------------------------------------- hostile text

HOSTILE = [
    "", " ", "0", "-0", "-1", "+1", "1e9", "0x10", "99999999999999999999",
    "-99999999999999999999", "NaN", "inf", "null", "true", "\x00", "a\x00b", "\x01\x7f",
    "a\r\nb", "\t", "\\", "\\n", ";", ";;", ";0;", '"', '""', '"a;b', "^", "^^=^", "=", "&",
    "%", "%00", "%0", "%ZZ", "%C3", "%C3%28", "%FF%FE", "%E2%80%AE", "%25", "%22%3B",
    "\u202e", "\ufeff", "\ud7ff", "ä", "東京", "😀😀", "x" * 5000, "é" * 3000, "<x/>", "]]>",
    "</script>", "'); alert(1); //", "../../etc/passwd", "*", "[]", "{}", "alice", "bob",
    "alice:other", "nobody", "mailto:alice@example.com", "fuzz-one", "fuzz-series",
]
hostile = st.sampled_from(HOSTILE)
texts = st.one_of(hostile, st.text(max_size=40),
                  st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF),
                          max_size=20))


def _digits(n: int, top: int) -> st.SearchStrategy[str]:
    return st.integers(0, top).map(lambda v: str(v).zfill(n))


# yyyymmdd[Thhmmss[Z]] with every field free to be out of range (month 13, hour 25...).
wild_dates = st.builds(
    lambda y, mo, d, time, z: y + mo + d + (("T" + time + z) if time is not None else ""),
    _digits(4, 9999), st.one_of(_digits(2, 13), st.just("02")),
    st.one_of(_digits(2, 32), st.just("29")),
    st.none() | st.builds(lambda h, m, s: h + m + s, _digits(2, 25), _digits(2, 61),
                          _digits(2, 61)),
    st.sampled_from(["Z", "", "z"]))
good_dates = st.builds(lambda y, mo, d, h: "%04d%02d%02dT%02d0000Z" % (y, mo, d, h),
                       st.integers(2023, 2025), st.integers(1, 12), st.integers(1, 28),
                       st.integers(0, 23))
# The ends of datetime's range, where a zone's offset or a day's end overflows.
EDGE_DATES = ["00010101", "00010101T000000", "00010101T000000Z", "00010102T000000",
              "99991231", "99991231T235959Z", "99991231T230000", "99991230T230000",
              "99991230T235959Z"]
dates = st.one_of(good_dates, wild_dates, st.sampled_from(EDGE_DATES), st.sampled_from(
    ["0", "00000000", "2024-01-01", "20240101T", "20240101Z", "20240101T1000",
     "20240230T100000Z"]), hostile)

durations = st.one_of(st.sampled_from(
    ["-PT15M", "PT0S", "P1D", "P1W", "P15M", "PT", "P", "-P", "P99999999W",
     "P9999999999999D", "PT99999999999H", "+PT1H", "P1Y", "PT1.5H"]), hostile)

FREQS = ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "NEVER", ""]
rrule_part = st.one_of(
    st.sampled_from(FREQS).map(lambda f: "FREQ=" + f),
    st.sampled_from(["0", "1", "3", "-1", "999999999", "99999999999999999999"]).map(
        lambda c: "COUNT=" + c),
    st.sampled_from(["0", "1", "2", "-5", "10000000"]).map(lambda i: "INTERVAL=" + i),
    st.sampled_from(["MO", "-1FR", "53MO", "0TU", "XX", "MO,TU,WE,TH,FR,SA,SU",
                     "+9999SU"]).map(lambda d: "BYDAY=" + d),
    st.sampled_from(["0", "31", "-31", "32", "1,15,-1"]).map(lambda d: "BYMONTHDAY=" + d),
    st.sampled_from(["0", "13", "2", "1,2,3"]).map(lambda m: "BYMONTH=" + m),
    st.sampled_from(["0", "366", "-367", "1,-1"]).map(lambda d: "BYSETPOS=" + d),
    st.sampled_from(["25", "0,23"]).map(lambda h: "BYHOUR=" + h),
    st.sampled_from(["0", "53", "-53", "54"]).map(lambda w: "BYWEEKNO=" + w),
    st.sampled_from(["1", "366", "-366", "367"]).map(lambda d: "BYYEARDAY=" + d),
    dates.map(lambda u: "UNTIL=" + u),
    st.sampled_from(["WKST=XX", "WKST=MO", "RSCALE=GREGORIAN", "X-FOO=1", "FREQ", "=", ""]))
rrules = st.lists(rrule_part, max_size=6).map(";".join)

ZONES = ["UTC", "GMT", "Z", "Europe/Paris", "America/New_York", "Asia/Kathmandu",
         "/mozilla.org/20070129_1/Europe/Berlin", "posixrules", "Factory", "localtime",
         "Etc/GMT+14", "Europe/", "../../etc/passwd", "EST5EDT", "right/UTC", "Mars/Olympus"]
zones = st.one_of(st.sampled_from(ZONES), hostile)

attendees = st.one_of(st.sampled_from([
    "PARTSTAT=ACCEPTED^RSVP=TRUE^bob", "PARTSTAT=NEEDS-ACTION^RSVP=FALSE:mailto:b@x.org",
    "bob", "mailto:", "^", "=^=", "CN=^^x", "ROLE=CHAIR^alice", "PARTSTAT=%5E^bob",
    "X-Y=\"a:b\"^mailto:c@d.e", "PARTSTAT=ACCEPTED^", "alice;bob"]), hostile)


def _value_strategy(vtype) -> st.SearchStrategy[str]:
    """Decoded text for one value of ``vtype``: its shape with values out of range (month
    13, COUNT of 20 digits, unbalanced quotes) or plain hostile text."""
    if isinstance(vtype, SemicolonList):
        item = _value_strategy(vtype.item)
        if isinstance(vtype.item, RRule):
            item = item.map(lambda rule: '"%s"' % rule)
        return st.one_of(st.lists(item, max_size=4).map(";".join), hostile)
    if isinstance(vtype, DateTime):
        return dates
    if isinstance(vtype, AlarmTime):
        return st.one_of(durations, dates)
    if isinstance(vtype, Duration):
        return durations
    if isinstance(vtype, Int):
        bounds = [b for b in (vtype.lo, vtype.hi) if b is not None]
        edges = [str(b + d) for b in bounds for d in (-1, 0, 1)]
        return st.one_of(st.integers(-10 ** 20, 10 ** 20).map(str),
                         st.sampled_from(edges or ["0"]), hostile)
    if isinstance(vtype, Bool):
        return st.sampled_from(["0", "1", "2", "true", " 1", ""])
    if isinstance(vtype, Keyword):
        return st.one_of(st.sampled_from(list(vtype.values)).map(str.upper),
                         st.sampled_from(list(vtype.values)), hostile)
    if isinstance(vtype, TzId):
        return zones
    if isinstance(vtype, RRule):
        return rrules
    if isinstance(vtype, Attendee):
        return attendees
    if isinstance(vtype, Geo):
        return st.sampled_from(["37.3;-122.0", "91;0", "nan;nan", "inf;-inf", "1", "1;2;3",
                                "a;b", ";"])
    return texts


def _good_strategy(vtype, name: str) -> st.SearchStrategy[str]:
    """A well-formed value of ``vtype``, so that a request gets past the parser and the
    hostile values elsewhere in it reach the handler."""
    if name in REALISTIC:
        return st.sampled_from(REALISTIC[name])
    if isinstance(vtype, SemicolonList):
        return st.lists(_good_strategy(vtype.item, ""), min_size=1, max_size=3).map(";".join)
    if isinstance(vtype, DateTime):
        return good_dates
    if isinstance(vtype, (AlarmTime, Duration)):
        return st.sampled_from(["-PT15M", "PT1H", "P1D", "-P1W"])
    if isinstance(vtype, Int):
        if vtype.allowed is not None:
            return st.sampled_from(sorted(vtype.allowed)).map(str)
        return st.integers(vtype.lo if vtype.lo is not None else -5,
                           vtype.hi if vtype.hi is not None else 50).map(str)
    if isinstance(vtype, Bool):
        return st.sampled_from(["0", "1"])
    if isinstance(vtype, Keyword):
        return st.sampled_from(list(vtype.values))
    if isinstance(vtype, TzId):
        return st.sampled_from(["UTC", "Europe/Paris", "America/New_York"])
    if isinstance(vtype, RRule):
        return st.sampled_from(['"FREQ=DAILY;COUNT=5"', '"FREQ=WEEKLY;BYDAY=MO,WE"',
                                '"FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20251231T000000Z"'])
    if isinstance(vtype, Attendee):
        return st.sampled_from(["PARTSTAT=NEEDS-ACTION^RSVP=TRUE^bob", "mailto:c@example.com"])
    if isinstance(vtype, Geo):
        return st.just("37.3;-122.0")
    return st.text(alphabet=string.ascii_letters + string.digits + " ,.-", max_size=20)


def _encoded(text: str, how: str) -> str:
    """One raw query value: as Lightning encodes (list marks left alone), fully
    encoded, or as typed (only what a request line can not carry is escaped, so
    ``%ZZ``, ``&`` and ``=`` reach the parser as they are)."""
    if how == "lightning":
        return urllib.parse.quote(text, safe=';"^')
    if how == "full":
        return urllib.parse.quote(text, safe="")
    return _wire_safe(text)


def _wire_safe(query: str) -> str:
    """Escape only spaces, controls and non-ASCII: what an HTTP request line can not hold."""
    return urllib.parse.quote(query, safe=string.punctuation)


# ---------------------------------------------------------------- iCalendar feeds

BASE_FEED = [
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN", "METHOD:PUBLISH",
    "BEGIN:VTIMEZONE", "TZID:Europe/Zurich",
    "BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:19700329T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT", "END:VTIMEZONE",
    "BEGIN:VEVENT", "UID:feed-1", "DTSTAMP:20250101T000000Z",
    "DTSTART;TZID=Europe/Zurich:20250110T100000", "DTEND;TZID=Europe/Zurich:20250110T110000",
    "SUMMARY:Lecture, with a comma", "LOCATION:Hall 1", "CATEGORIES:A,B",
    "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:soon", "END:VALARM",
    "END:VEVENT",
    "BEGIN:VEVENT", "UID:feed-2", "DTSTAMP:20250101T000000Z", "DTSTART;VALUE=DATE:20250301",
    "SUMMARY:All day", "END:VEVENT",
    "BEGIN:VEVENT", "UID:feed-3", "DTSTAMP:20250101T000000Z", "DTSTART:20250105T090000Z",
    "DURATION:PT1H", "SUMMARY:Weekly", "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=SU",
    "EXDATE:20250112T090000Z", "END:VEVENT",
    "BEGIN:VEVENT", "UID:feed-3", "DTSTAMP:20250101T000000Z",
    "RECURRENCE-ID:20250119T090000Z", "DTSTART:20250119T100000Z", "DURATION:PT1H",
    "SUMMARY:Weekly (moved)", "END:VEVENT",
    "END:VCALENDAR",
]
PROPERTY_NAMES = ["DTSTART", "DTEND", "DUE", "RRULE", "EXRULE", "RDATE", "EXDATE",
                  "RECURRENCE-ID", "DURATION", "TRIGGER", "UID", "SUMMARY", "TZID",
                  "TZOFFSETTO", "DTSTAMP", "ATTENDEE", "X-WR-TIMEZONE", "SEQUENCE", "BEGIN",
                  "END", "X-FUZZ", "IANA-UNKNOWN", "GEO", "CLASS", "STATUS"]
PARAMETERS = ["", ";TZID=Europe/Zurich", ";TZID=Mars/Olympus", ";TZID=", ';TZID="a:b"',
              ";VALUE=DATE", ";VALUE=PERIOD", ";VALUE=DATE-TIME", ";VALUE=BOGUS", ";X=",
              ';X="unterminated', ";=v", ";" * 20, ";CN=" + "x" * 3000, ";RELATED=END"]
ical_values = st.one_of(dates, durations, rrules, texts, st.sampled_from(
    ["20250101T000000Z/PT1H", "20250101/20240101", "-0000", "+2400", "+0100",
     "FREQ=DAILY;COUNT=100000000", "FREQ=SECONDLY;UNTIL=99991231T235959Z",
     "FREQ=YEARLY;BYDAY=MO;BYWEEKNO=53;BYYEARDAY=366;BYSETPOS=-1", "VEVENT", "VCALENDAR",
     "X" * 20000]))
component_names = st.sampled_from(["VEVENT", "VTODO", "VALARM", "VTIMEZONE", "STANDARD",
                                   "VCALENDAR", "X-FOO", "VJOURNAL", "", " vevent"])


@st.composite
def _mutation(draw, lines: list[str]) -> None:
    """One edit of ``lines`` in place (a feed stays a list of logical lines)."""
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    kind = draw(st.sampled_from(["drop", "duplicate", "property", "value", "nest", "deep",
                                 "swap", "uid", "truncate-line", "end"]))
    if kind == "drop" and lines:
        del lines[at]
    elif kind == "duplicate" and lines:
        lines.insert(at, lines[at])
    elif kind == "property":
        lines.insert(at, "%s%s:%s" % (draw(st.sampled_from(PROPERTY_NAMES)),
                                      draw(st.sampled_from(PARAMETERS)), draw(ical_values)))
    elif kind == "value" and lines:
        name = lines[at].split(":", 1)[0]
        lines[at] = "%s:%s" % (name, draw(ical_values))
    elif kind == "nest":
        name = draw(component_names)
        body = ["UID:nested-%d" % at, "DTSTART:%s" % draw(dates), "SUMMARY:nested"]
        end = [] if draw(st.booleans()) else ["END:" + name]
        lines[at:at] = ["BEGIN:" + name, *body, *end]
    elif kind == "deep":
        depth = draw(st.sampled_from([9, 64, 1001, 3000]))
        name = draw(component_names)
        lines[at:at] = ["BEGIN:" + name] * depth + ["END:" + name] * draw(
            st.sampled_from([0, depth]))
    elif kind == "swap" and len(lines) > 1:
        other = draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    elif kind == "uid":
        lines.insert(at, "UID:" + draw(st.sampled_from(["feed-1", "feed-3", "", " ", "x" * 3000,
                                                          "\x00", "a/b", "..", "ü"])))
    elif kind == "truncate-line" and lines:
        cut = draw(st.integers(0, len(lines[at])))
        lines[at] = lines[at][:cut]
    elif kind == "end":
        lines.append("END:" + draw(component_names))


@st.composite
def icalendar_bodies(draw, base: list[str] = BASE_FEED) -> bytes:
    """The base feed after a few mutations, then folded, re-ended, cut or re-encoded."""
    lines = list(base)
    for _ in range(draw(st.integers(0, 5))):
        draw(_mutation(lines))
    eol = draw(st.sampled_from(["\r\n", "\r\n", "\n", "\r"]))
    text = eol.join(lines) + eol
    data = text.encode("utf-8")
    finish = draw(st.sampled_from(["none", "none", "fold", "truncate", "bytes", "bom",
                                   "latin1", "utf16"]))
    if finish == "fold" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + b"\r\n " + data[at:]  # may split a UTF-8 sequence
    elif finish == "truncate" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif finish == "bytes" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.sampled_from([b"\x00", b"\xff\xfe", b"\xc3", b"\x1b[2J",
                                                 b"\r", b"\x85"])) + data[at:]
    elif finish == "bom":
        data = b"\xef\xbb\xbf" + data
    elif finish == "latin1":
        data = text.replace("comma", "comma \xe9").encode("latin-1", "replace")
    elif finish == "utf16":
        data = text.encode("utf-16")
    return data


# ---------------------------------------------------------------- JSON

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30),
                         st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
api_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()), st.integers(-10, 5_400_000),
    st.sampled_from(["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31", "2024-02-30",
                     "2024-13-01", "1721426", "5373484", "0", "2024-1-1", "-2024-01-01",
                     2451545.0, 2451545.5, 1e300, True]), texts)
api_times = st.one_of(st.sampled_from(["09:00", "23:59:59", "00:00", "24:00", "9:00", "23:59",
                                       "12:60", "12:00:60", None]), texts)
EVENT_FIELDS = {
    "title": texts, "description": texts, "location": texts,
    "categories": st.one_of(st.lists(texts, max_size=3), json_values),
    "all_day": st.one_of(st.booleans(), json_values),
    "starting_date": api_dates, "ending_date": api_dates,
    "starting_time": api_times, "ending_time": api_times,
    "timezone": st.one_of(st.sampled_from(ZONES + [None, "Pacific/Kiritimati", "Etc/GMT+12"]),
                          json_values),
    "rec_type": st.one_of(st.integers(-1, 7), json_values),
    "rec_interval": st.one_of(st.integers(-1, 10 ** 12), json_values),
    "rec_weekdays": st.one_of(st.lists(st.sampled_from(
        ["MO", "-1FR", "2TU", "53SU", "XX", "mo", 1]), max_size=7), json_values),
    "rec_month_days": st.one_of(st.lists(st.integers(-40, 40), max_size=5), json_values),
    "rec_months": st.one_of(st.lists(st.integers(-1, 14), max_size=5), json_values),
    "rec_count": st.one_of(st.integers(-1, 10 ** 12), st.none(), json_values),
    "rec_until": api_dates, "rec_dates": st.lists(api_dates, max_size=4),
    "exceptions": st.one_of(st.lists(api_dates, max_size=4), json_values),
    "itemguid": st.one_of(texts, json_values), "calendar": st.one_of(texts, json_values),
    "version": st.one_of(texts, json_values), "cal_item_id": json_values,
    "fork": st.sampled_from([1, "1", 0, None]), "starting_date ": texts,
}
# A valid event with a few fields replaced, so most examples get past the first check.
good_event = st.builds(
    lambda extra: {"title": "Standup", "starting_date": "2024-03-04", "starting_time": "09:00",
                   "ending_time": "09:30", "timezone": "Europe/Paris", **extra},
    st.fixed_dictionaries({}, optional=EVENT_FIELDS))
events_json = st.one_of(
    good_event,
    st.dictionaries(st.sampled_from(sorted(EVENT_FIELDS)), st.just(None), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: EVENT_FIELDS[k] for k in keys})),
    json_values)


def _nested(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}", '{"a":': "}"}[opener]
    return opener * depth + ("1" if opener.endswith(":") else "") + closer * depth


raw_json_bodies = st.one_of(
    st.sampled_from([
        b"", b" ", b"null", b"[]", b"{}", b"{", b'{"title": }', b"\xff\xfe{}", b"\xef\xbb\xbf{}",
        b'{"title": "\\ud800"}', b'{"title": "a\x00b"}', b"NaN", b'{"rec_count": 1e999}',
        b'{"rec_count": ' + b"9" * 5000 + b"}", b'{"a":1,"a":2}', b"[" * 65 + b"]" * 65,
        _nested(30000, "[").encode(), _nested(50000, "{").encode()[:60000],
        _nested(20000, '{"a":').encode(), b'"' + b"[" * 40000,
        b'["\\"' + b"[" * 40000 + b'"]', b"\x00" * 100]),
    st.builds(lambda depth, opener: _nested(depth, opener).encode(),
              st.sampled_from([63, 64, 65, 200, 999, 1001, 5000]),
              st.sampled_from(["[", "{", '{"a":'])),
    st.binary(max_size=200))


def _json_body(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


json_bodies = st.one_of(events_json.map(_json_body), raw_json_bodies)
JSON_TYPES = ["application/json", "application/json", "application/json; charset=utf-8",
              "application/vnd.api+json", "text/plain", "", "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=x", "application/json; charset=latin-1"]
content_types = st.sampled_from(JSON_TYPES)


# ---------------------------------------------------------------- WCAP harness

SEED_EVENTS = (
    "uid=fuzz-one&dtstart=20240101T100000Z&dtend=20240101T110000Z&summary=One",
    "uid=fuzz-series&dtstart=20240102T100000Z&dtend=20240102T110000Z&summary=Series"
    "&rrules=%22FREQ%3DDAILY%3BCOUNT%3D10%22&attendees=PARTSTAT%3DNEEDS-ACTION%5Ebob"
    "&orgCalid=alice&alarmStart=-PT15M&relativealarm=1",
)
SEED_TODO = "uid=fuzz-todo&dtstart=20240103T100000Z&due=20240104T100000Z&summary=Todo"
# Commands whose examples may delete the seeds, the calendar, the session or the password.
DESTRUCTIVE = {"deletecalendar", "deletecomponents_by_range", "deleteevents_by_id",
               "deleteevents_by_range", "deletetodos_by_id", "deletetodos_by_range",
               "logout", "change_password", "set_calprops", "import", "write_file",
               "storeevents", "storetodos", "addlink"}


class WcapHarness:
    def __init__(self, folder: str, crashes: _Crashes) -> None:
        self.instance = make_instance(folder)
        add_user(self.instance, "alice")
        add_user(self.instance, "bob")
        self.client = InProcessClient(make_app(self.instance))
        self.crashes = crashes
        self.sid = ""
        self.repair(force=True)
        # get_all_timezones lays ~600 zones out once per process and format (seconds):
        # a cold start, not a hang, so it happens before the watchdog counts.
        for fmt_out in FORMATS:
            self.client.request("GET", "/get_all_timezones.wcap?id=%s&fmt-out=%s"
                                % (self.sid, fmt_out))

    def repair(self, force: bool = False) -> None:
        """Undo what a destructive example did, so later examples still reach the
        code behind a valid session, an existing calendar and stored events."""
        instance = self.instance
        instance.directory.set_password("alice", TEST_PASSWORD)
        create_default_calendar(instance.configuration, "alice", instance.store)
        if not self.sid or instance.sessions.user_of(self.sid) != "alice":
            self.sid = instance.sessions.create("alice")
        if force or not self._seeded():
            for seed in SEED_EVENTS:
                self._store("storeevents", seed)
            self._store("storetodos", SEED_TODO)

    def _seeded(self) -> bool:
        uids = set(self.instance.store.uids_in(["/alice/calendar/"]))
        return {"fuzz-one", "fuzz-series", "fuzz-todo"} <= uids

    def _store(self, command: str, query: str) -> None:
        response = self.client.request(
            "GET", "/%s.wcap?id=%s&calid=alice&fmt-out=text/calendar&%s" % (command, self.sid,
                                                                          query))
        assert b"X-NSCP-WCAP-ERRNO:0" in response.body, response.text


@pytest.fixture(scope="module")
def wcap_harness(tmp_path_factory, crashes):
    return WcapHarness(str(tmp_path_factory.mktemp("fuzz-wcap")), crashes)


# Values that name what the harness stored, for the parameters that point at data.
REALISTIC = {
    "calid": ["alice", "alice", "bob", "alice;bob", "alice:fuzz", "mailto:bob@example.com"],
    "uid": ["fuzz-one", "fuzz-series", "fuzz-todo", "fuzz-one;fuzz-series"],
    "rid": ["0", "20240104T100000Z", "20240104T100000Z;0", "0;0"],
    "mod": ["1", "2", "3", "4", "0;0"], "fmt-out": list(FORMATS),
    "user": ["alice", "bob"], "password": [TEST_PASSWORD, "wrong"],
    "userid": ["alice", "bob"], "destCal": ["alice", "bob"], "srcCal": ["alice", "bob"],
    "content-in": ["text/calendar", "text/xml"], "oldPassword": [TEST_PASSWORD],
    "newPassword": ["another-secret"], "search-string": ["ali", "*", "%"],
    "summary": ["Fuzzed"], "dtstart": ["20240101T000000Z", "0", "00010101T000000Z"],
    "dtend": ["20250101T000000Z", "0", "99991231T235959Z"], "webname": ["Fuzz", "x"],
    "tzidout": ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"],
    "acl": ["@@o^a^r^g;@^c^r^g", "@^a^rw^g", "bob^c^wdeic^g"],
}
UPLOAD_BOUNDARY = "fuzzboundary"


@st.composite
def upload_bodies(draw) -> tuple[bytes, str]:
    """(body, Content-Type) of import/upload_file: multipart with a mutated file, the file
    itself, or a broken multipart envelope."""
    kind = draw(st.sampled_from(["ical", "ical", "xml", "multipart-broken", "raw"]))
    if kind == "xml":
        depth = draw(st.sampled_from([1, 3, 9, 5000]))
        inner = "<ALARM><ACTION>DISPLAY</ACTION>" * depth + "</ALARM>" * depth
        data = ("<iCalendar><iCal><EVENT><UID>x-%d</UID><START>%s</START><SUMMARY>%s</SUMMARY>"
                "%s</EVENT></iCal></iCalendar>" % (
                    depth, draw(dates), draw(texts).replace("<", "&lt;").replace("&", "&amp;"),
                    inner)).encode("utf-8", "surrogatepass")
        data = draw(st.sampled_from([data, data[:len(data) // 2],
                                     b"<!DOCTYPE x [<!ENTITY a 'b'>]><iCalendar/>", b"<a>"]))
    elif kind == "raw":
        data = draw(st.binary(max_size=300))
    else:
        data = draw(icalendar_bodies())
    wrap = draw(st.sampled_from(["multipart", "multipart", "direct", "no-boundary"]))
    if kind == "multipart-broken":
        envelope = draw(st.sampled_from([
            b"--fuzzboundary\r\n\r\n", b"--fuzzboundary--\r\n", b"garbage",
            b"--fuzzboundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n" * 40
            + b"--fuzzboundary--\r\n",
            b"--fuzzboundary\r\nContent-Disposition: form-data; name=Upload; filename=\"a\r\n\r\n"
            b"x\r\n--fuzzboundary--\r\n"]))
        return envelope, "multipart/form-data; boundary=" + UPLOAD_BOUNDARY
    if wrap == "direct":
        return data, draw(st.sampled_from(["text/calendar", "text/xml", "application/xml"]))
    if wrap == "no-boundary":
        return data, "multipart/form-data"
    body = ("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"a.ics\"\r\n"
            "Content-Type: text/calendar\r\n\r\n" % UPLOAD_BOUNDARY).encode() + data + (
        "\r\n--%s--\r\n" % UPLOAD_BOUNDARY).encode()
    return body, "multipart/form-data; boundary=" + UPLOAD_BOUNDARY


@st.composite
def wcap_requests(draw, command_name: str, sid: str):
    """(method, path, body, headers) for one command: a random subset of its table's
    parameters, typed or hostile values, each encoded one of three ways."""
    command = COMMANDS[command_name]
    # Percent of values drawn hostile: a few in a valid request reach the handlers, many
    # exercise the parser.
    hostility = draw(st.sampled_from([5, 5, 30, 80]))
    # Required ones mostly present, so that examples get past the parameter check.
    params = [p for p in command.params
              if p.required and draw(st.sampled_from([True, True, True, True, False]))]
    params += draw(st.lists(st.sampled_from(command.params), unique_by=lambda p: p.name,
                            max_size=len(command.params)))
    pairs = []
    for param in {p.name: p for p in params}.values():
        if param.name == "id":
            continue
        name = draw(st.sampled_from((param.name,) + param.aliases))
        for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):  # repeated keys too
            hostile_value = draw(st.integers(0, 99)) < hostility
            values = (_value_strategy(param.type) if hostile_value
                      else _good_strategy(param.type, param.name))
            pairs.append((name, _encoded(draw(values), draw(st.sampled_from(
                ["lightning", "lightning", "full", "raw"])))))
    session = draw(st.sampled_from(["valid"] * 7 + ["none", "bogus", "empty"]))
    if session == "valid":
        pairs.append(("id", sid))
    elif session == "bogus":
        pairs.append(("id", _encoded(draw(texts), "raw")))
    elif session == "empty":
        pairs.append(("id", ""))
    pairs = draw(st.permutations(pairs))
    if command.params and not any(p.name == "fmt-out" for p in params) and draw(st.booleans()):
        pairs.append(("fmt-out", draw(st.sampled_from(
            list(FORMATS) * 2 + ["TEXT/XML", "text/html", "%00"]))))
    query = "&".join("%s=%s" % (k, v) for k, v in pairs)
    methods = list(command.http_methods) * 4 + ["HEAD"]
    method = draw(st.sampled_from(methods))
    body, headers = b"", {}
    if command.name in ("import", "upload_file") and method == "POST":
        body, content_type = draw(upload_bodies())
        headers["Content-Type"] = content_type
    elif method == "POST" and draw(st.booleans()):
        # The same parameters as a form body (Lightning's POSTs), query left empty.
        body, query = _wire_safe(query).encode("ascii"), ""
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return method, "/%s.wcap?%s" % (command.name, _wire_safe(query)), body, headers


@pytest.mark.parametrize("command_name", sorted(COMMANDS))
@fuzz(15)
@given(data=st.data())
def test_wcap_command(wcap_harness, command_name, data):
    harness = wcap_harness
    method, path, body, headers = data.draw(wcap_requests(command_name, harness.sid))
    try:
        checked(harness.client, harness.crashes, method, path, body, headers, wcap=True)
    finally:
        if command_name in DESTRUCTIVE:
            harness.repair()


def test_wcap_table_is_fuzzed_whole():
    """Every command a client can name is a parameter of test_wcap_command, and every
    parameter type has a generator (a new ValueType must get one)."""
    kinds = {type(p.type) for c in COMMANDS.values() for p in c.params}
    known = {SemicolonList, DateTime, AlarmTime, Duration, Int, Bool, Keyword, TzId, RRule,
             Attendee, Geo, Text}
    assert kinds <= known, kinds - known
    assert any(c.session is Session.REQUIRED for c in COMMANDS.values())


# ---------------------------------------------------------------- JSON doors

class ApiHarness:
    def __init__(self, folder: str, crashes: _Crashes) -> None:
        self.instance = make_instance(folder)
        for name in ("alice", "bob"):
            add_user(self.instance, name)
        self.key = self.instance.apikeys.create("alice")
        self.client = InProcessClient(make_app(self.instance))
        self.crashes = crashes
        self.refs: list[str] = []
        self.repair()

    def repair(self) -> None:
        """A single and a recurring event of alice's to read, change, fork and delete."""
        uids = set(self.instance.store.uids_in(["/alice/calendar/"]))
        if all(ref.partition("=")[2] in uids for ref in self.refs[1::2]) and self.refs:
            return
        self.refs = []
        for seed in ({"title": "One", "starting_date": "2024-03-04", "starting_time": "09:00",
                      "ending_time": "09:30", "timezone": "Europe/Paris"},
                     {"title": "Series", "starting_date": "2024-03-04",
                      "starting_time": "10:00", "ending_time": "10:30", "timezone": "UTC",
                      "rec_type": 0, "rec_count": 5}):
            response = self.client.request("POST", "/restapi/v1/events", json.dumps(seed),
                                           {"Content-Type": "application/json"}, user="alice")
            assert response.status == 201, response.body
            created = response.json()
            self.refs += [str(created["cal_item_id"]), "itemguid=" + created["itemguid"]]


@pytest.fixture(scope="module")
def api_harness(tmp_path_factory, crashes):
    return ApiHarness(str(tmp_path_factory.mktemp("fuzz-api")), crashes)


query_values = st.one_of(api_dates.map(str), texts)


@st.composite
def rest_requests(draw, refs: list[str], route: str):
    ref = draw(st.one_of(st.sampled_from(refs), st.sampled_from(
        ["0", "999999999999999999", "9" * 19, "-1", "itemguid=", "itemguid=nope",
         "itemguid=%00", "itemguid=" + "x" * 3000, "%2e%2e", "1%2F2", "%C3", "ü"]),
        texts.map(lambda t: re.sub(r"[/?#]", "", t))))
    if route == "collection":
        path = "/restapi/v1/events" + draw(st.sampled_from(["", "/"]))
    else:
        path = "/restapi/v1/events/" + urllib.parse.quote(ref, safe="=%")
    query = {}
    for name in draw(st.lists(st.sampled_from(["from", "to", "calendar", "fork",
                                               "starting_date"]), unique=True, max_size=3)):
        query[name] = draw(query_values)
    if query:
        path += "?" + _wire_safe("&".join("%s=%s" % (k, _encoded(v, draw(st.sampled_from(
            ["full", "raw"])))) for k, v in query.items()))
    headers = {"Content-Type": draw(content_types)}
    if draw(st.booleans()):
        headers["If-Match"] = draw(st.sampled_from(['"x"', "*", "W/\"x\"", "", "\x7f"]))
    body = draw(json_bodies)
    user = draw(st.sampled_from(["alice", "alice", "alice", "bob", None]))
    return path, body, headers, user


@pytest.mark.parametrize("method,route", [
    ("GET", "collection"), ("POST", "collection"), ("GET", "event"), ("PUT", "event"),
    ("POST", "event"), ("DELETE", "event"), ("PATCH", "event")])
@fuzz(40)
@given(data=st.data())
def test_rest_events(api_harness, method, route, data):
    harness = api_harness
    path, body, headers, user = data.draw(rest_requests(harness.refs, route))
    try:
        checked(harness.client, harness.crashes, method, path, body, headers, user=user)
    finally:
        if method == "DELETE":
            harness.repair()


ics_json = st.fixed_dictionaries(
    {"action": st.one_of(st.just("createcalendar"), texts, json_values),
     "event-title": st.one_of(st.just("Party"), texts, json_values),
     "event-description": st.one_of(st.just("d"), texts),
     "event-location": st.one_of(st.just("l"), texts),
     "event-start-datetime": st.one_of(st.datetimes().map(lambda d: d.isoformat()),
                                       st.sampled_from(["2021-12-17T11:30:00Z",
                                                        "0001-01-01T00:00:00",
                                                        "9999-12-31T23:59:59",
                                                        "9999-12-31", "0001-01-01",
                                                        "2021-12-17", "2021-02-30T00:00"]),
                                       texts, json_values),
     "event-end-datetime": st.one_of(st.sampled_from(["2021-12-17T13:30:00Z",
                                                      "9999-12-31T23:59:59+14:00",
                                                      "9999-12-31", "0001-01-01T00:30",
                                                      "0001-01-01", "2021-12-17T13:30:00-24:00"]),
                                     texts, json_values),
     "event-timezone": st.one_of(st.sampled_from(ZONES + ["Pacific/Kiritimati"]), texts,
                                 json_values)},
    optional={"all-day-event": st.one_of(st.booleans(), json_values),
              "store-in-calendar": st.one_of(st.sampled_from(
                  ["alice", "bob", "alice:nope", "a" * 70, "alice:calendar"]), texts,
                  json_values),
              "ics-format": st.one_of(st.sampled_from(["spec", "rfc5545"]), json_values),
              "extra": json_values})


@fuzz(100)
@given(body=st.one_of(ics_json.map(_json_body), json_bodies), content_type=content_types,
       key=st.sampled_from(["valid", "valid", "valid", "wrong", "missing", "blank"]),
       method=st.sampled_from(["POST"] * 8 + ["GET", "PUT"]))
def test_api_ics(api_harness, body, content_type, key, method):
    harness = api_harness
    headers = {"Content-Type": content_type}
    if key != "missing":
        headers["x-api-key"] = {"valid": harness.key, "wrong": "k" * 40, "blank": " "}[key]
    checked(harness.client, harness.crashes, method, "/api/ics", body, headers)


# ---------------------------------------------------------------- feed door

@pytest.fixture(scope="module")
def feed_harness(tmp_path_factory, crashes):
    instance = make_instance(str(tmp_path_factory.mktemp("fuzz-feed")),
                             {"feeds": {"max_events": "200", "max_body_size": "2000000"}})
    add_user(instance, "alice", tz="Europe/Berlin")
    add_user(instance, "bob")
    instance.registry.set_webname("/alice/calendar/", "Fuzz")
    return InProcessClient(make_app(instance)), crashes


@fuzz(100)
@given(body=icalendar_bodies(),
       query=st.sampled_from(["", "", "?delta=true", "?delta=false", "?delta=maybe",
                              "?delta=%00", "?delta=true&delta=false"]),
       user=st.sampled_from(["alice", "alice", "alice", "bob", None]),
       method=st.sampled_from(["PUT", "PUT", "PUT", "GET", "HEAD"]))
def test_feed_put(feed_harness, body, query, user, method):
    client, crashes = feed_harness
    checked(client, crashes, method, "/service/Fuzz.ics" + query, body,
            {"Content-Type": "text/calendar"}, user=user)


@fuzz(20)
@given(name=st.one_of(st.sampled_from(["Fuzz.ics", "fuzz.ics", "calendar.1.ics",
                                       "calendar.99999999999999.ics", ".ics", "Fuzz",
                                       "Fuzz.ics/x", "%00.ics", "..%2F..%2Fetc.ics"]),
                      texts.map(lambda t: t + ".ics")),
       password=st.sampled_from([TEST_PASSWORD, "wrong", "", ":", "\xe9"]))
def test_feed_names_and_credentials(feed_harness, name, password):
    client, crashes = feed_harness
    checked(client, crashes, "PUT", "/service/" + urllib.parse.quote(name, safe="%/"),
            b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", user="alice", password=password)


# ---------------------------------------------------------------- a real server

class RawHttp:
    """HTTP/1.1 with bytes as given: urllib would refuse or fix some of the inputs."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Optional[dict] = None, user: Optional[str] = None,
                password: str = TEST_PASSWORD) -> Response:
        headers = dict(headers or {})
        if user:
            headers["Authorization"] = basic(user, password)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WATCHDOG)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value.encode("latin-1", "replace"))
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            reply = connection.getresponse()
            return Response(reply.status, dict(reply.getheaders()), reply.read())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def live_harness(tmp_path_factory, crashes):
    server = LiveServer(str(tmp_path_factory.mktemp("fuzz-live")))
    instance = server.instance
    add_user(instance, "alice")
    instance.registry.set_webname("/alice/calendar/", "Fuzz")
    key = instance.apikeys.create("alice")
    sid = instance.sessions.create("alice")
    yield RawHttp(server.server.port), crashes, key, sid
    server.stop()


LIVE_COMMANDS = ["fetchcomponents_by_range", "storeevents", "get_calprops", "import",
                 "get_freebusy", "deleteevents_by_id", "login", "version"]


@fuzz(8)
@given(data=st.data(), command=st.sampled_from(LIVE_COMMANDS))
def test_live_wcap(live_harness, data, command):
    client, crashes, _, sid = live_harness
    method, path, body, headers = data.draw(wcap_requests(command, sid))
    checked(client, crashes, method, path, body, headers, wcap=True)


@fuzz(8)
@given(body=json_bodies, content_type=content_types,
       door=st.sampled_from(["/restapi/v1/events", "/api/ics"]))
def test_live_json(live_harness, body, content_type, door):
    client, crashes, key, _ = live_harness
    checked(client, crashes, "POST", door, body,
            {"Content-Type": content_type, "x-api-key": key}, user="alice")


@fuzz(8)
@given(body=icalendar_bodies())
def test_live_feed(live_harness, body):
    client, crashes, _, _ = live_harness
    checked(client, crashes, "PUT", "/service/Fuzz.ics", body,
            {"Content-Type": "text/calendar"}, user="alice")
