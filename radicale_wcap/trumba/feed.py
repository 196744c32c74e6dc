"""Parse an uploaded Trumba-style feed into storable events, with line-numbered warnings.

``PUT /service/<webname>.ics`` (Trumba help, "Programmatically upload iCal files").
This module knows nothing of the store: it turns the body into one
:class:`FeedEvent` per UID (master plus its RECURRENCE-ID overrides, as CalDAV
wants them in ONE resource) and the messages of the "Response Values" table
that can be decided from the file alone (2101..2105, 3101).  ``apply.py``
compares with the store and adds 1101/1102/1103.

Why a hand-written line pass before vobject: the response must name the line
of each problem, and one bad line must cost only that line.  vobject reports
neither line numbers nor partial results, so lines are unfolded and checked
against RFC 5545 section 3.1 here, values against the value types of section
3.3, and vobject is the final gate on each event's serialized text.

Decisions (also in docs/trumba.md):

* Body encoding: UTF-8 (a BOM is skipped; a UTF-16 BOM decodes as UTF-16).  A
  line that is not UTF-8 is decoded as Windows-1252 (Latin-1 for its 5 unused
  bytes) with a 2102 warning on that line - Outlook-era connectors still emit it.
* Unrecognised non-X properties: 2101 and KEPT (RFC 5545 3.8.8.2 lets IANA
  properties through; a CalDAV client may know them).  X- properties are kept
  silently and verbatim, parameters included.
* Other components (VTODO, VJOURNAL...): 2101 and dropped: the import is for events.
* Duplicate UID (same UID and RECURRENCE-ID twice): the first one is imported,
  the later one is rejected with 2102.
* An event without UID, or (except in METHOD:CANCEL) without SUMMARY is rejected
  with 2102; without a usable DTSTART with 2103.  A rejection caused by one
  property carries that property's line (a bad DTSTART's), not the line the
  event begins on: senders look for the fault on the line they are given.
  Overrides of a rejected master are rejected with it.
* Floating DATE-TIMEs (DTSTART, DTEND, DUE, RDATE, EXDATE, RECURRENCE-ID) get
  ``TZID=<calendar_tzid>``; a TZID neither defined in the feed nor known to
  the IANA database gets 2103 and becomes the calendar's zone.  X-WR-TIMEZONE
  is not used: the Trumba rule is that the target calendar's zone applies.
* A truncated file (no END:VCALENDAR) is a 3101: with ``delta=false`` a cut
  feed would otherwise delete every event after the cut.
* The store's size limits (``limits.py``): a component with more
  properties than they allow is a 3101 naming its line, found by counting on the
  text before the line pass (one such event, 100,000 X- properties in 1.2 MB,
  cost 24 s before); a longer line is dropped with 2102; an event over the
  limits of one calendar object (components, lines, bytes) is rejected with 2102
  before vobject parses it.  RRULE/EXRULE values go through the store's own rule check
  (``recurrence.rule_problem``), so what CalDAV refuses is refused here too.
* The fingerprint covers the events' properties (order-, folding-, line-end-
  and quoting-independent) except DTSTAMP, and not the VTIMEZONE definitions
  (regenerated from tzdata, they would flag every event as modified after a
  tzdata update); the TZIDs themselves are covered.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Container, Iterator

import vobject

from radicale_wcap import recurrence
from radicale_wcap.ical_text import fold
from radicale_wcap.timezones import vtimezone
from radicale_wcap.limits import ItemLimits, ItemOverLimits
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.report import Message

logger = logging.getLogger("radicale.wcap.trumba.feed")

PRODID = "-//radicale_wcap//Trumba import//EN"
MAX_DEPTH = 8  # VCALENDAR > VEVENT > VALARM is 3; deeper nesting is an attack, not a feed.


class FeedError(Exception):
    """The whole body is refused (3101): nothing in it may be imported."""

    def __init__(self, detail: str, *, line: int | None = None,
                 code: Code = Code.SINGLE_VCALENDAR) -> None:
        super().__init__(detail)
        self.code = Code(code)
        self.detail = detail
        self.line = line

    @property
    def message(self) -> Message:
        return Message(self.code, line=self.line, detail=self.detail)


@dataclass
class FeedEvent:
    """Everything stored under one UID: ``ical`` is a complete VCALENDAR."""

    uid: str
    line: int
    ical: str
    fingerprint: str
    messages: list[Message] = field(default_factory=list)


@dataclass
class Feed:
    method: str | None
    events: list[FeedEvent] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # not tied to a stored event
    rejected: list[Message] = field(default_factory=list)  # one per VEVENT not imported
    properties: dict[str, str] = field(default_factory=dict)  # VCALENDAR level, first of each

    def all_messages(self) -> list[Message]:
        """Every message, file order (feed-level messages without a line first)."""
        messages = [*self.messages, *self.rejected]
        for event in self.events:
            messages.extend(event.messages)
        return sorted(messages, key=lambda m: -1 if m.line is None else m.line)


# --- RFC 5545 tables -------------------------------------------------------

class Kind:
    """Value types that are checked (section 3.3); everything else is TEXT-like."""
    TEXT = "text"
    DATE_TIME = "date-time"        # DATE or DATE-TIME, one value
    DATE_TIME_LIST = "date-list"   # EXDATE
    RDATE = "rdate"                # DATE, DATE-TIME or PERIOD list
    STAMP = "stamp"                # DATE-TIME only (DTSTAMP, CREATED, ...)
    DURATION = "duration"
    TRIGGER = "trigger"            # DURATION or VALUE=DATE-TIME
    UTC_OFFSET = "utc-offset"
    RECUR = "recur"


PROPERTIES: dict[str, str] = {
    # RFC 5545 section 3.7 (calendar) and 3.8 (components)
    "CALSCALE": Kind.TEXT, "METHOD": Kind.TEXT, "PRODID": Kind.TEXT, "VERSION": Kind.TEXT,
    "ATTACH": Kind.TEXT, "CATEGORIES": Kind.TEXT, "CLASS": Kind.TEXT, "COMMENT": Kind.TEXT,
    "DESCRIPTION": Kind.TEXT, "GEO": Kind.TEXT, "LOCATION": Kind.TEXT,
    "PERCENT-COMPLETE": Kind.TEXT, "PRIORITY": Kind.TEXT, "RESOURCES": Kind.TEXT,
    "STATUS": Kind.TEXT, "SUMMARY": Kind.TEXT,
    "COMPLETED": Kind.STAMP, "DTEND": Kind.DATE_TIME, "DUE": Kind.DATE_TIME,
    "DTSTART": Kind.DATE_TIME, "DURATION": Kind.DURATION, "FREEBUSY": Kind.TEXT,
    "TRANSP": Kind.TEXT,
    "TZID": Kind.TEXT, "TZNAME": Kind.TEXT, "TZOFFSETFROM": Kind.UTC_OFFSET,
    "TZOFFSETTO": Kind.UTC_OFFSET, "TZURL": Kind.TEXT,
    "ATTENDEE": Kind.TEXT, "CONTACT": Kind.TEXT, "ORGANIZER": Kind.TEXT,
    "RECURRENCE-ID": Kind.DATE_TIME, "RELATED-TO": Kind.TEXT, "URL": Kind.TEXT, "UID": Kind.TEXT,
    "EXDATE": Kind.DATE_TIME_LIST, "RDATE": Kind.RDATE, "RRULE": Kind.RECUR,
    "EXRULE": Kind.RECUR,  # RFC 2445, still sent by old connectors
    "ACTION": Kind.TEXT, "REPEAT": Kind.TEXT, "TRIGGER": Kind.TRIGGER,
    "CREATED": Kind.STAMP, "DTSTAMP": Kind.STAMP, "LAST-MODIFIED": Kind.STAMP,
    "SEQUENCE": Kind.TEXT, "REQUEST-STATUS": Kind.TEXT,
    # RFC 7986
    "NAME": Kind.TEXT, "REFRESH-INTERVAL": Kind.DURATION, "SOURCE": Kind.TEXT,
    "COLOR": Kind.TEXT, "IMAGE": Kind.TEXT, "CONFERENCE": Kind.TEXT,
    # RFC 9074 (VALARM extensions), RFC 7808 / 8536 (time zones), RFC 9073
    "ACKNOWLEDGED": Kind.STAMP, "PROXIMITY": Kind.TEXT, "TZUNTIL": Kind.STAMP,
    "TZID-ALIAS-OF": Kind.TEXT, "STYLED-DESCRIPTION": Kind.TEXT, "LOCATION-TYPE": Kind.TEXT,
    "PARTICIPANT-TYPE": Kind.TEXT, "CALENDAR-ADDRESS": Kind.TEXT, "STRUCTURED-DATA": Kind.TEXT,
    "RESOURCE-TYPE": Kind.TEXT,
}

# RFC 5545 3.6.1 "MUST NOT occur more than once" (the ones that matter for storage).
SINGLETONS = frozenset({
    "UID", "DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION", "LOCATION", "DTSTAMP",
    "CLASS", "CREATED", "GEO", "LAST-MODIFIED", "ORGANIZER", "PRIORITY", "SEQUENCE",
    "STATUS", "TRANSP", "URL", "RECURRENCE-ID",
})

# Properties whose floating DATE-TIMEs take the calendar's zone.
ZONED = frozenset({"DTSTART", "DTEND", "DUE", "RDATE", "EXDATE", "RECURRENCE-ID"})

# RFC 5545 3.3.10: the parts of a RECUR value, and 3.3.10's FREQ values.
RECUR_PARTS = frozenset({"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE",
                         "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO",
                         "BYMONTH", "BYSETPOS", "WKST", "RSCALE", "SKIP"})
FREQS = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})

# RFC 5545 3.1 content line grammar.  CTL excludes HTAB, which WSP allows.
_NAME = r"[A-Za-z0-9-]+"
_PARAM_VALUE = r'(?:"[^\x00-\x08\x0a-\x1f\x7f"]*"|[^\x00-\x08\x0a-\x1f\x7f";:,]*)'
_PARAM = rf"({_NAME})=({_PARAM_VALUE}(?:,{_PARAM_VALUE})*)"
_CONTENT_LINE = re.compile(rf"({_NAME})((?:;{_NAME}={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*)"
                           r":([^\x00-\x08\x0a-\x1f\x7f]*)", re.DOTALL)
_PARAM_RE = re.compile(rf";{_PARAM}")
_PARAM_ITEM = re.compile(_PARAM_VALUE)
_PHYSICAL_LINE_END = re.compile(rb"\r\n|\n|\r")

_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")
_DURATION = re.compile(r"[+-]?P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?")
_SINGLE_TEXT = frozenset({"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CONTACT"})
_BARE_COMMA = re.compile(r"(\\.)|,")
_UTC_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})(\d{2})?")


# --- content lines and components -----------------------------------------

@dataclass
class ContentLine:
    name: str                            # upper case
    params: list[tuple[str, str]]        # (NAME, raw value text as written, quotes kept)
    value: str
    line: int

    def param(self, name: str) -> str | None:
        for pname, raw in self.params:
            if pname == name:
                return _unquote(raw)
        return None

    def set_param(self, name: str, value: str) -> None:
        raw = f'"{value}"' if re.search(r'[;:,]', value) else value
        self.params = [(n, v) for n, v in self.params if n != name] + [(name, raw)]

    def text(self, without: tuple[str, ...] = ()) -> str:
        return (self.name + "".join(f";{n}={v}" for n, v in self.params if n not in without)
                + ":" + self.stored_value())

    def stored_value(self) -> str:
        """The value with bare commas escaped in single-valued text.

        Connectors often write ``SUMMARY:Lunch, then talk`` without escaping
        the comma; vobject 0.9.9 (and so Radicale) then keeps only ``Lunch``.
        Escaping the comma keeps the text the sender meant.
        """
        value_type = (self.param("VALUE") or "TEXT").upper()
        if value_type == "TEXT" and (self.name in _SINGLE_TEXT or self.name.startswith("X-")):
            return _BARE_COMMA.sub(lambda m: m.group(1) or "\\,", self.value)
        return self.value

    def canonical(self) -> str:
        params = sorted((n, ",".join(_unquote(v) for v in _split_param(raw)))
                        for n, raw in self.params)
        return self.name + "".join(f";{n}={v}" for n, v in params) + ":" + self.value


@dataclass
class Component:
    name: str
    line: int
    lines: list[ContentLine] = field(default_factory=list)
    children: list["Component"] = field(default_factory=list)
    # (code, line, detail) found before the UID is known
    warnings: list[tuple[Code, int | None, str]] = field(default_factory=list)
    terminated: bool = False

    def get(self, name: str) -> ContentLine | None:
        return next((cl for cl in self.lines if cl.name == name), None)

    def warn(self, code: Code, line: int | None, detail: str) -> None:
        self.warnings.append((code, line, detail))

    def text_lines(self, without: tuple[str, ...] = ()) -> Iterator[str]:
        yield f"BEGIN:{self.name}"
        for cl in self.lines:
            yield cl.text(without)
        for child in self.children:
            yield from child.text_lines(without)
        yield f"END:{self.name}"

    def canonical(self, skip: frozenset[str] = frozenset()) -> str:
        body = sorted(cl.canonical() for cl in self.lines if cl.name not in skip)
        body += sorted(child.canonical() for child in self.children)
        return "\n".join([f"BEGIN:{self.name}", *body, f"END:{self.name}"])


def _unquote(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


def _split_param(raw: str) -> list[str]:
    items, pos = [], 0
    while True:
        m = _PARAM_ITEM.match(raw, pos)
        items.append(m.group(0))
        pos = m.end() + 1
        if m.end() >= len(raw):
            return items


# --- pass 1: bytes -> logical lines -----------------------------------------

def _decode_body(body: bytes) -> bytes:
    """UTF-8 bytes of ``body``, BOM removed (a UTF-16 BOM means UTF-16)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace").encode("utf-8")
    return body[3:] if body.startswith(b"\xef\xbb\xbf") else body


def _logical_lines(body: bytes) -> Iterator[tuple[int, str, str | None]]:
    """(first physical line number, unfolded text, warning or None).

    Unfolding happens on bytes: producers that fold by octet count split
    multi-byte UTF-8 characters across the fold.
    """
    current: list[bytes] | None = None
    start = 0
    for number, physical in enumerate(_PHYSICAL_LINE_END.split(body), start=1):
        if physical[:1] in (b" ", b"\t") and current is not None:
            current.append(physical[1:])
            continue
        if current is not None:
            yield _decoded(start, b"".join(current))
        current, start = [physical], number
    if current is not None:
        yield _decoded(start, b"".join(current))


def _decoded(number: int, raw: bytes) -> tuple[int, str, str | None]:
    try:
        return number, raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return number, text, "line is not UTF-8; decoded as Windows-1252"


def _parse_line(number: int, text: str) -> ContentLine | None:
    m = _CONTENT_LINE.fullmatch(text)
    if m is None:
        return None
    params = [(pm.group(1).upper(), pm.group(2)) for pm in _PARAM_RE.finditer(m.group(2))]
    return ContentLine(m.group(1).upper(), params, m.group(3), number)


# --- pass 2: logical lines -> component tree -------------------------------

def _build_tree(body: bytes, max_events: int, max_line: int = 0
                ) -> tuple[Component, list[Message]]:
    """The single VCALENDAR of the (decoded) body, and messages about lines outside it.
    Lines longer than *max_line* characters (0: any) are dropped with a 2102."""
    outside: list[Message] = []
    calendar: Component | None = None
    stack: list[Component] = []
    vevents = 0
    for number, text, charset_warning in _logical_lines(body):
        if not text.strip():
            continue  # blank lines (often trailing) carry nothing
        owner = stack[-1] if stack else None
        if max_line and len(text) > max_line:
            _warn(owner, outside, Code.CONTENT_LINE_INVALID, number,
                  f"line longer than {max_line} characters (limit of this server), "
                  f"ignored: {_excerpt(text)}")
            continue
        cl = _parse_line(number, text)
        if charset_warning:
            _warn(owner, outside, Code.CONTENT_LINE_INVALID, number, charset_warning)
        if cl is None:
            _warn(owner, outside, Code.CONTENT_LINE_INVALID, number,
                  f"not a content line, ignored: {_excerpt(text)}")
            continue
        if cl.name == "BEGIN":
            name = cl.value.strip().upper()
            if name == "VCALENDAR" and (calendar is not None or stack):
                raise FeedError("a second VCALENDAR begins here", line=number)
            if name != "VCALENDAR" and not stack:
                raise FeedError(f"BEGIN:{name} outside of a VCALENDAR", line=number)
            if any(c.name == name for c in stack):
                _close_until(stack, name, number, inclusive=True)
            if name == "VEVENT":
                vevents += 1
                if vevents > max_events:
                    raise FeedError(f"more than {max_events} events in one feed "
                                    "(limit of this server)", line=number)
            if len(stack) >= MAX_DEPTH:
                raise FeedError("components nested too deeply", line=number)
            component = Component(name, number)
            if stack:
                stack[-1].children.append(component)
            else:
                calendar = component
            stack.append(component)
        elif cl.name == "END":
            name = cl.value.strip().upper()
            if not any(c.name == name for c in stack):
                _warn(owner, outside, Code.CONTENT_LINE_INVALID, number,
                      f"END:{name} without BEGIN:{name}, ignored")
                continue
            if stack[-1].name != name:
                _close_until(stack, name, number)
            stack.pop().terminated = True
        elif owner is None:
            _warn(None, outside, Code.CONTENT_LINE_INVALID, number,
                  f"outside of the VCALENDAR, ignored: {_excerpt(text)}")
        else:
            owner.lines.append(cl)
    if calendar is None:
        raise FeedError("no VCALENDAR in the body")
    if not calendar.terminated:
        raise FeedError("the VCALENDAR has no END:VCALENDAR (truncated upload?)",
                        line=calendar.line)
    return calendar, outside


def _close_until(stack: list[Component], name: str, number: int, *,
                 inclusive: bool = False) -> None:
    """Close the components left open above ``name`` (their END line is missing).

    ``inclusive`` also closes ``name`` itself: a BEGIN:VEVENT inside an open
    VEVENT means the previous one lacked its END:VEVENT.
    """
    while stack[-1].name != name or inclusive:
        inner = stack.pop()
        inner.terminated = True
        inner.warn(Code.CONTENT_LINE_INVALID, number,
                   f"END:{inner.name} missing; {inner.name} closed before line {number}")
        if inner.name == name:
            return


def _warn(owner: Component | None, outside: list[Message], code: Code, line: int,
          detail: str) -> None:
    if owner is None or owner.name == "VCALENDAR":
        outside.append(Message(code, line=line, detail=detail))
    else:
        owner.warn(code, line, detail)


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# --- pass 3: value checks (RFC 5545 section 3.3) ----------------------------

@dataclass(frozen=True)
class _Time:
    is_date: bool
    utc: bool
    text: str  # canonical digits, for ordering values of the same form


def _parse_time(text: str) -> _Time | None:
    m = _DATE_TIME.fullmatch(text)
    if m:
        try:
            datetime.datetime(*map(int, m.groups()[:6]))
        except ValueError:
            return None
        return _Time(False, m.group(7) == "Z", text.rstrip("Z"))
    m = _DATE.fullmatch(text)
    if m:
        try:
            datetime.date(*map(int, m.groups()))
        except ValueError:
            return None
        return _Time(True, False, text)
    return None


def _is_duration(text: str) -> bool:
    return (bool(_DURATION.fullmatch(text)) and any(ch.isdigit() for ch in text)
            and not text.endswith("T"))


def _is_utc_offset(text: str) -> bool:
    m = _UTC_OFFSET.fullmatch(text)
    if not m:
        return False
    sign, hours, minutes, seconds = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4) or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return False
    return not (sign == "-" and hours == minutes == seconds == 0)  # "-0000" is forbidden


def _recur_problem(text: str) -> tuple[Code, str] | None:
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        name = name.upper()
        if not sep or name not in RECUR_PARTS or name in parts or not value:
            return Code.CONTENT_LINE_INVALID, f"rule part {part!r} is invalid"
        parts[name] = value
    if parts.get("FREQ", "").upper() not in FREQS:
        return Code.CONTENT_LINE_INVALID, "FREQ is missing or invalid"
    if "UNTIL" in parts and _parse_time(parts["UNTIL"]) is None:
        return Code.DATETIME_INVALID, f"UNTIL {parts['UNTIL']!r} is not a DATE or DATE-TIME"
    for name in ("COUNT", "INTERVAL"):
        if name in parts and not (parts[name].isdigit() and int(parts[name]) > 0):
            return Code.CONTENT_LINE_INVALID, f"{name} {parts[name]!r} is not a positive integer"
    if "COUNT" in parts and "UNTIL" in parts:
        return Code.CONTENT_LINE_INVALID, "COUNT and UNTIL together"
    problem = recurrence.rule_problem(text)
    if problem:
        return Code.CONTENT_LINE_INVALID, f"{_excerpt(text)!r} {problem}"
    return None


@dataclass
class _Zones:
    """Which TZIDs an event may use, and the zone floating times take."""

    calendar_tzid: str
    defined: dict[str, Component] = field(default_factory=dict)  # VTIMEZONEs of the feed

    def known(self, tzid: str) -> bool:
        return tzid in self.defined or _iana_zone(tzid)


def _iana_zone(tzid: str) -> bool:
    if tzid in _IANA_CACHE:
        return _IANA_CACHE[tzid]
    known = False
    if tzid and ".." not in tzid and not tzid.startswith("/"):
        try:
            import zoneinfo
            zoneinfo.ZoneInfo(tzid)
            known = True
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            known = False
    if len(_IANA_CACHE) < 1000:  # bounded: tzids come from uploads
        _IANA_CACHE[tzid] = known
    return known


_IANA_CACHE: dict[str, bool] = {}


def _check_times(cl: ContentLine, kind: str, zones: _Zones | None,
                 comp: Component) -> str | None:
    """Problem with a DATE/DATE-TIME/PERIOD value (None: fine); zones floating times."""
    value_type = (cl.param("VALUE") or "").upper()
    allowed = {"", "DATE", "DATE-TIME"} | ({"PERIOD"} if kind == Kind.RDATE else set())
    if value_type not in allowed:
        return f"{cl.name}: VALUE={value_type} is not allowed here"
    items = cl.value.split(",") if kind in (Kind.DATE_TIME_LIST, Kind.RDATE) else [cl.value]
    floating = False
    for item in items:
        start, _, end = item.partition("/") if value_type == "PERIOD" else (item, "", "")
        parsed = _parse_time(start)
        if parsed is None:
            return f"{cl.name}: {_excerpt(item)!r} is not a DATE or DATE-TIME"
        if parsed.is_date != (value_type == "DATE") and value_type:
            return f"{cl.name}: {item!r} does not match VALUE={value_type}"
        if kind == Kind.STAMP and parsed.is_date:
            return f"{cl.name}: {item!r} is a DATE, a DATE-TIME is required"
        if value_type == "PERIOD" and not (_is_duration(end) or _parse_time(end)):
            return f"{cl.name}: {item!r} is not a PERIOD"
        floating = floating or (not parsed.is_date and not parsed.utc)
    if zones is None or cl.name not in ZONED:
        return None
    tzid = cl.param("TZID")
    if tzid is not None and not zones.known(tzid):
        comp.warn(Code.DATETIME_INVALID, cl.line, f"{cl.name}: unknown TZID {_excerpt(tzid)!r}; "
                  f"the calendar's time zone {zones.calendar_tzid} is used")
        cl.set_param("TZID", zones.calendar_tzid)
    elif tzid is None and floating:
        cl.set_param("TZID", zones.calendar_tzid)
    return None


def _value_problem(cl: ContentLine, zones: _Zones | None,
                   comp: Component) -> tuple[Code, str] | None:
    """(code, detail) when the value of ``cl`` does not fit its type."""
    kind = PROPERTIES.get(cl.name, Kind.TEXT)
    if kind in (Kind.DATE_TIME, Kind.DATE_TIME_LIST, Kind.RDATE, Kind.STAMP):
        problem = _check_times(cl, kind, zones, comp)
        return (Code.DATETIME_INVALID, problem) if problem else None
    if kind == Kind.DURATION:
        if not _is_duration(cl.value) or (cl.name == "DURATION" and cl.value.startswith("-")):
            return Code.DURATION_INVALID, f"{cl.name}: {_excerpt(cl.value)!r} is not a DURATION"
    elif kind == Kind.TRIGGER:
        if (cl.param("VALUE") or "").upper() == "DATE-TIME":
            parsed = _parse_time(cl.value)
            if parsed is None or not parsed.utc:
                return Code.DATETIME_INVALID, f"TRIGGER: {_excerpt(cl.value)!r} is not a UTC DATE-TIME"
        elif not _is_duration(cl.value):
            return Code.DURATION_INVALID, f"TRIGGER: {_excerpt(cl.value)!r} is not a DURATION"
    elif kind == Kind.UTC_OFFSET:
        if not _is_utc_offset(cl.value):
            return Code.UTC_OFFSET_INVALID, f"{cl.name}: {_excerpt(cl.value)!r} is not a UTC offset"
    elif kind == Kind.RECUR:
        problem = _recur_problem(cl.value)
        if problem:
            return problem[0], f"{cl.name}: {problem[1]}"
    return None


class _Rejected(Exception):
    """The component can not be used; ``line`` is the line at fault, if one is."""

    def __init__(self, code: Code, detail: str, line: int | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.line = code, detail, line


def _check_lines(comp: Component, zones: _Zones | None, *, fatal: frozenset[str] = frozenset()
                 ) -> None:
    """Drop (with a warning) each line whose value is invalid; ``fatal`` ones reject."""
    kept: list[ContentLine] = []
    seen: set[str] = set()
    for cl in comp.lines:
        if cl.name in SINGLETONS and cl.name in seen:
            comp.warn(Code.CONTENT_LINE_INVALID, cl.line,
                      f"{cl.name} given more than once; this one ignored")
            continue
        if cl.name not in PROPERTIES and not cl.name.startswith("X-"):
            comp.warn(Code.PROPERTY_NOT_RECOGNIZED, cl.line, f"{cl.name}: kept unchanged")
        problem = _value_problem(cl, zones, comp)
        if problem:
            if cl.name in fatal:
                raise _Rejected(problem[0], problem[1], cl.line)
            comp.warn(problem[0], cl.line, problem[1] + "; property ignored")
            continue
        seen.add(cl.name)
        kept.append(cl)
    comp.lines = kept


def _check_vtimezone(comp: Component) -> tuple[Code, int, str] | None:
    """Why this VTIMEZONE can not be used (code, line, detail), or None."""
    try:
        _check_lines(comp, None, fatal=frozenset({"TZID"}))
        if comp.get("TZID") is None:
            return Code.CONTENT_LINE_INVALID, comp.line, "VTIMEZONE without TZID ignored"
        for observance in comp.children:
            if observance.name not in ("STANDARD", "DAYLIGHT"):
                continue
            _check_lines(observance, None,
                         fatal=frozenset({"TZOFFSETFROM", "TZOFFSETTO", "DTSTART"}))
            for name in ("TZOFFSETFROM", "TZOFFSETTO", "DTSTART"):
                if observance.get(name) is None:
                    return (Code.UTC_OFFSET_INVALID if name != "DTSTART" else
                            Code.DATETIME_INVALID, observance.line,
                            f"{observance.name} without {name}; VTIMEZONE ignored")
    except _Rejected as rejected:
        return rejected.code, rejected.line or comp.line, rejected.detail + "; VTIMEZONE ignored"
    return None


def _check_valarms(comp: Component, zones: _Zones) -> None:
    kept = []
    for child in comp.children:
        if child.name != "VALARM":
            kept.append(child)
            continue
        try:
            _check_lines(child, zones, fatal=frozenset({"TRIGGER"}))
            missing = [n for n in ("ACTION", "TRIGGER") if child.get(n) is None]
            if missing:
                raise _Rejected(Code.CONTENT_LINE_INVALID, f"VALARM without {missing[0]}")
            kept.append(child)
        except _Rejected as rejected:
            comp.warn(rejected.code, rejected.line or child.line, rejected.detail + "; alarm ignored")
        comp.warnings.extend(child.warnings)
        child.warnings = []
    comp.children = kept


def _check_vevent(comp: Component, zones: _Zones, cancel: bool) -> None:
    """Validate in place; raise _Rejected when the event can not be stored."""
    uid = comp.get("UID")
    if uid is None or not uid.value.strip():
        raise _Rejected(Code.CONTENT_LINE_INVALID, "no UID")
    _check_lines(comp, zones, fatal=frozenset() if cancel else frozenset({"DTSTART", "RECURRENCE-ID"}))
    _check_valarms(comp, zones)
    if cancel:
        return
    if comp.get("DTSTART") is None:
        raise _Rejected(Code.DATETIME_INVALID, "no DTSTART")
    if comp.get("SUMMARY") is None:
        raise _Rejected(Code.CONTENT_LINE_INVALID, "no SUMMARY")
    start, end, duration = comp.get("DTSTART"), comp.get("DTEND"), comp.get("DURATION")
    if end is not None:
        s, e = _parse_time(start.value), _parse_time(end.value)
        problem = None
        if s.is_date != e.is_date:
            problem = "DTEND and DTSTART are not both DATE or both DATE-TIME"
        elif start.param("TZID") == end.param("TZID") and s.utc == e.utc and e.text < s.text:
            problem = "DTEND is before DTSTART"
        if problem:
            comp.warn(Code.DATETIME_INVALID, end.line, problem + "; DTEND ignored")
            comp.lines = [cl for cl in comp.lines if cl is not end]
            end = None
    if end is not None and duration is not None:
        comp.warn(Code.CONTENT_LINE_INVALID, duration.line,
                  "DURATION and DTEND both given; DURATION ignored")
        comp.lines = [cl for cl in comp.lines if cl is not duration]


# --- pass 4: group by UID, serialize, fingerprint ---------------------------

def _recurrence_key(comp: Component) -> tuple[str, str] | None:
    rid = comp.get("RECURRENCE-ID")
    return None if rid is None else (rid.param("TZID") or "", rid.value)


def _tzids(comp: Component) -> set[str]:
    found = {tzid for cl in comp.lines if (tzid := cl.param("TZID")) is not None}
    for child in comp.children:
        found |= _tzids(child)
    return found


def _vtimezone_lines(tzid: str, zones: _Zones) -> list[str]:
    if tzid in zones.defined:
        return list(zones.defined[tzid].text_lines())
    return _generated_vtimezone(tzid)


_VTIMEZONE_CACHE: dict[str, list[str]] = {}


def _generated_vtimezone(tzid: str) -> list[str]:
    """VTIMEZONE lines for an IANA zone, from radicale_wcap.timezones where it has one."""
    if tzid not in _VTIMEZONE_CACHE:
        try:
            obj = vtimezone(tzid)
        except Exception:  # it refuses a zone zoneinfo knows
            obj = _own_vtimezone(tzid)
        if obj is None:
            # A TZID nobody defines, on a property the feed keeps as it is (an X- or
            # unknown one): no VTIMEZONE to add; where a date needs it, the item's own
            # check refuses that event (2102), the feed goes on.
            _VTIMEZONE_CACHE[tzid] = []
            return []
        if hasattr(obj, "serialize"):
            obj = obj.serialize()
        elif hasattr(obj, "to_ical"):
            obj = obj.to_ical()
        if isinstance(obj, bytes):
            obj = obj.decode("utf-8")
        unfolded = re.sub(r"\r?\n[ \t]", "", str(obj))
        lines = [line for line in unfolded.splitlines() if line.strip()]
        begin = lines.index("BEGIN:VTIMEZONE")
        end = len(lines) - lines[::-1].index("END:VTIMEZONE")
        _VTIMEZONE_CACHE[tzid] = lines[begin:end]
    return _VTIMEZONE_CACHE[tzid]


def _own_vtimezone(tzid: str):
    # Fallback until radicale_wcap.timezones exists.
    import dateutil.tz
    tzinfo = dateutil.tz.gettz(tzid) if tzid else None
    if tzinfo is None:
        return None
    component = vobject.icalendar.TimezoneComponent(tzinfo)
    component.tzid.value = tzid
    return component


def _serialize(group: list[Component], zones: _Zones, calendar: Component) -> str:
    prodid = calendar.get("PRODID")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0",
             f"PRODID:{prodid.value if prodid else PRODID}"]
    calscale = calendar.get("CALSCALE")
    if calscale is not None:
        lines.append(calscale.text())
    tzids: set[str] = set()
    for comp in group:
        tzids |= _tzids(comp)
    for tzid in sorted(tzids):
        lines.extend(_vtimezone_lines(tzid, zones))
    for comp in group:
        lines.extend(comp.text_lines())
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def _vobject_problem(lines: Iterator[str]) -> str | None:
    """Why vobject (hence Radicale) would refuse these lines, or None.

    The final gate behind the checks above.  Events are parsed without their
    TZID parameters and each VTIMEZONE once on its own: parsing every event
    with its VTIMEZONEs costs vobject ~7 ms an event (tzinfo comparisons),
    which a 5000-event feed can not afford; the TZIDs were checked already.
    """
    text = "".join(f"{line}\r\n" for line in
                   ("BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", *lines, "END:VCALENDAR"))
    try:
        vobject.readOne(text)
    except Exception as exc:  # vobject raises many types; any means "not storable"
        return _excerpt(str(exc), 120)
    return None


def _fingerprint(group: list[Component]) -> str:
    def order(comp: Component) -> tuple[int, tuple[str, str]]:
        key = _recurrence_key(comp)
        return (0, ("", "")) if key is None else (1, key)
    text = "\n\n".join(comp.canonical(skip=frozenset({"DTSTAMP"}))
                       for comp in sorted(group, key=order))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- the entry point --------------------------------------------------------

def parse_feed(body: bytes, *, calendar_tzid: str, max_events: int,
               max_bytes: int | None = None,
               known_fingerprints: Container[str] = frozenset(),
               item_limits: ItemLimits | None = None) -> Feed:
    """Parse an uploaded feed; raise FeedError (3101) when nothing may be imported.

    ``max_events`` counts VEVENT components (overrides included), ``max_bytes``
    the body, ``item_limits`` each calendar object (default: the settings' defaults);
    all are limits of the server configuration.

    ``known_fingerprints``: fingerprints of events imported before (the origins
    table). vobject accepted an event of that canonical form then, so its parse, the
    last and costliest check (70% of re-importing an unchanged feed), is skipped.
    Whatever is written is still parsed by Radicale when it is prepared for storing.
    """
    if not _iana_zone(calendar_tzid):
        raise ValueError(f"calendar time zone {calendar_tzid!r} is not an IANA zone")
    if max_bytes is not None and len(body) > max_bytes:
        raise FeedError(f"the body is larger than {max_bytes} bytes (limit of this server)")
    limits = item_limits or ItemLimits.defaults()
    body = _decode_body(body)
    try:
        # Long lines cost only themselves (_build_tree drops them).
        replace(limits, line_size=0).check_text(
            body.decode("utf-8", "replace"), one_item=False)
    except ItemOverLimits as e:
        raise FeedError(f"{e} (limit of this server)", line=e.line) from None
    calendar, outside = _build_tree(body, max_events, limits.line_size)
    feed = Feed(method=None, messages=outside)
    for cl in calendar.lines:
        feed.properties.setdefault(cl.name, cl.value)
        if cl.name not in PROPERTIES and not cl.name.startswith("X-"):
            feed.messages.append(Message(Code.PROPERTY_NOT_RECOGNIZED, line=cl.line,
                                         detail=f"{cl.name}: calendar property ignored"))
    method = calendar.get("METHOD")
    feed.method = method.value.strip().upper() if method else None
    cancel = feed.method == "CANCEL"

    zones = _Zones(calendar_tzid)
    vevents: list[Component] = []
    for comp in calendar.children:
        if comp.name == "VEVENT":
            vevents.append(comp)
        elif comp.name == "VTIMEZONE":
            problem = _check_vtimezone(comp)
            feed.messages.extend(Message(code, line=line, detail=detail)
                                 for code, line, detail in comp.warnings)
            for observance in comp.children:
                feed.messages.extend(Message(c, line=ln, detail=d) for c, ln, d in observance.warnings)
            tzid = comp.get("TZID")
            if problem is None:
                reason = _vobject_problem(comp.text_lines())
                if reason:
                    problem = (Code.CONTENT_LINE_INVALID, comp.line,
                               f"VTIMEZONE not usable ({reason}); VTIMEZONE ignored")
            if problem:
                feed.messages.append(Message(problem[0], line=problem[1], detail=problem[2]))
            elif tzid.value in zones.defined:
                feed.messages.append(Message(Code.CONTENT_LINE_INVALID, line=comp.line,
                                             detail=f"VTIMEZONE {tzid.value} defined twice; "
                                                    "the first one is used"))
            else:
                zones.defined[tzid.value] = comp
        else:
            feed.messages.append(Message(Code.PROPERTY_NOT_RECOGNIZED, line=comp.line,
                                         detail=f"{comp.name} component not imported"))

    _collect_events(feed, vevents, zones, cancel, calendar, known_fingerprints, limits)
    return feed


def _collect_events(feed: Feed, vevents: list[Component], zones: _Zones, cancel: bool,
                    calendar: Component, known_fingerprints: Container[str],
                    limits: ItemLimits) -> None:
    groups: dict[str, list[Component]] = {}
    first_line: dict[tuple[str, tuple[str, str] | None], int] = {}
    failed_masters: dict[str, tuple[Message, int]] = {}  # uid -> (why, master's line)
    warnings: dict[int, list[Message]] = {}  # by id(component)

    def reject(comp: Component, uid: str | None, code: Code, detail: str,
               line: int | None = None) -> Message:
        # ``line``: the property at fault (a DTSTART's 2103 names its own line, so
        # that the sender can find it); else the line the event begins on.
        message = Message(code, uid=uid, line=line or comp.line,
                          detail=f"Event not imported: {detail}")
        feed.rejected.append(message)
        return message

    for comp in vevents:
        uid_line = comp.get("UID")
        uid = uid_line.value if uid_line is not None and uid_line.value.strip() else None
        try:
            _check_vevent(comp, zones, cancel)
        except _Rejected as rejected:
            where = f"line {rejected.line}: " if rejected.line else ""
            message = reject(comp, uid, rejected.code, where + rejected.detail, rejected.line)
            if uid is not None and comp.get("RECURRENCE-ID") is None:
                failed_masters.setdefault(uid, (message, comp.line))
            feed.messages.extend(Message(c, uid=uid, line=ln, detail=d) for c, ln, d in comp.warnings)
            continue
        warnings[id(comp)] = [Message(c, uid=uid, line=ln, detail=d) for c, ln, d in comp.warnings]
        key = (uid, _recurrence_key(comp))
        if key in first_line:
            what = "UID" if key[1] is None else "UID and RECURRENCE-ID"
            reject(comp, uid, Code.CONTENT_LINE_INVALID,
                   f"duplicate {what}; the event on line {first_line[key]} is used")
            feed.messages.extend(warnings.pop(id(comp)))
            continue
        first_line[key] = comp.line
        groups.setdefault(uid, []).append(comp)

    for uid, group in groups.items():
        messages = sorted((m for comp in group for m in warnings[id(comp)]),
                          key=lambda m: m.line or 0)
        has_master = any(_recurrence_key(comp) is None for comp in group)
        if uid in failed_masters and not has_master:
            cause, master_line = failed_masters[uid]
            for comp in group:
                reject(comp, uid, cause.code, f"its master event (line {master_line}) was not imported")
            feed.messages.extend(messages)
            continue
        fingerprint = _fingerprint(group)
        ical = _serialize(group, zones, calendar)
        try:
            limits.check_text(ical)
            problem = None
        except ItemOverLimits as e:
            problem = f"{e}, limit of this server"
        if problem is None and fingerprint not in known_fingerprints:
            problem = _vobject_problem(
                line for comp in group for line in comp.text_lines(("TZID",)))
        if problem:
            logger.info("feed event %r not storable: %s", uid, problem)
            for comp in group:
                reject(comp, uid, Code.CONTENT_LINE_INVALID, f"not storable ({problem})")
            feed.messages.extend(messages)
            continue
        line = min(comp.line for comp in group)
        feed.events.append(FeedEvent(uid, line, ical, fingerprint, messages))
