"""The checks of a feed's components: RFC 5545 value types (section 3.3), the
properties an event must have, and the zones its times may name.

A line whose value is invalid costs that line (2102..2105, naming it); a line an
event can not do without (DTSTART, RECURRENCE-ID) costs the event, with that line's
number: senders look for the fault on the line they are given.

* Unrecognised non-X properties: 2101 and KEPT (RFC 5545 3.8.8.2 lets IANA
  properties through; a CalDAV client may know them).  X- properties are kept
  silently and verbatim, parameters included.
* An event without UID, or (except in METHOD:CANCEL) without SUMMARY is rejected
  with 2102; without a usable DTSTART with 2103.
* Floating DATE-TIMEs (DTSTART, DTEND, DUE, RDATE, EXDATE, RECURRENCE-ID) get
  ``TZID=<calendar_tzid>``; a TZID neither defined in the feed nor known to the
  IANA database gets 2103 and becomes the calendar's zone.  X-WR-TIMEZONE is not
  used: the Trumba rule is that the target calendar's zone applies.
* RRULE/EXRULE values go through the store's own rule check
  (``recurrence.rule_problem``), so what CalDAV refuses is refused here too.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass, field

from radicale_wcap import recurrence
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.lexer import Component, ContentLine, excerpt


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

_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)")
_DURATION = re.compile(r"[+-]?P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?")
_UTC_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})(\d{2})?")


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
        return Code.CONTENT_LINE_INVALID, f"{excerpt(text)!r} {problem}"
    return None


@dataclass
class Zones:
    """Which TZIDs an event may use, and the zone floating times take."""

    calendar_tzid: str
    defined: dict[str, Component] = field(default_factory=dict)  # VTIMEZONEs of the feed

    def known(self, tzid: str) -> bool:
        return tzid in self.defined or iana_zone(tzid)


def iana_zone(tzid: str) -> bool:
    """Whether zoneinfo loads ``tzid``: wider than ``timezones.get_zone`` (``Factory``,
    ``posix/...``), since a feed naming such a zone meant one the sender's system has."""
    if tzid in _IANA_CACHE:
        return _IANA_CACHE[tzid]
    known = False
    if tzid and ".." not in tzid and not tzid.startswith("/"):
        try:
            zoneinfo.ZoneInfo(tzid)
            known = True
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            known = False
    if len(_IANA_CACHE) < 1000:  # bounded: tzids come from uploads
        _IANA_CACHE[tzid] = known
    return known


_IANA_CACHE: dict[str, bool] = {}


def _check_times(cl: ContentLine, kind: str, zones: Zones | None,
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
            return f"{cl.name}: {excerpt(item)!r} is not a DATE or DATE-TIME"
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
        comp.warn(Code.DATETIME_INVALID, cl.line, f"{cl.name}: unknown TZID {excerpt(tzid)!r}; "
                  f"the calendar's time zone {zones.calendar_tzid} is used")
        cl.set_param("TZID", zones.calendar_tzid)
    elif tzid is None and floating:
        cl.set_param("TZID", zones.calendar_tzid)
    return None


def _value_problem(cl: ContentLine, zones: Zones | None,
                   comp: Component) -> tuple[Code, str] | None:
    """(code, detail) when the value of ``cl`` does not fit its type."""
    kind = PROPERTIES.get(cl.name, Kind.TEXT)
    if kind in (Kind.DATE_TIME, Kind.DATE_TIME_LIST, Kind.RDATE, Kind.STAMP):
        problem = _check_times(cl, kind, zones, comp)
        return (Code.DATETIME_INVALID, problem) if problem else None
    if kind == Kind.DURATION:
        if not _is_duration(cl.value) or (cl.name == "DURATION" and cl.value.startswith("-")):
            return Code.DURATION_INVALID, f"{cl.name}: {excerpt(cl.value)!r} is not a DURATION"
    elif kind == Kind.TRIGGER:
        if (cl.param("VALUE") or "").upper() == "DATE-TIME":
            parsed = _parse_time(cl.value)
            if parsed is None or not parsed.utc:
                return Code.DATETIME_INVALID, f"TRIGGER: {excerpt(cl.value)!r} is not a UTC DATE-TIME"
        elif not _is_duration(cl.value):
            return Code.DURATION_INVALID, f"TRIGGER: {excerpt(cl.value)!r} is not a DURATION"
    elif kind == Kind.UTC_OFFSET:
        if not _is_utc_offset(cl.value):
            return Code.UTC_OFFSET_INVALID, f"{cl.name}: {excerpt(cl.value)!r} is not a UTC offset"
    elif kind == Kind.RECUR:
        problem = _recur_problem(cl.value)
        if problem:
            return problem[0], f"{cl.name}: {problem[1]}"
    return None


class Rejected(Exception):
    """The component can not be used; ``line`` is the line at fault, if one is."""

    def __init__(self, code: Code, detail: str, line: int | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.line = code, detail, line


def _check_lines(comp: Component, zones: Zones | None, *, fatal: frozenset[str] = frozenset()
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
                raise Rejected(problem[0], problem[1], cl.line)
            comp.warn(problem[0], cl.line, problem[1] + "; property ignored")
            continue
        seen.add(cl.name)
        kept.append(cl)
    comp.lines = kept


def check_vtimezone(comp: Component) -> tuple[Code, int, str] | None:
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
    except Rejected as rejected:
        return rejected.code, rejected.line or comp.line, rejected.detail + "; VTIMEZONE ignored"
    return None


def _check_valarms(comp: Component, zones: Zones) -> None:
    kept = []
    for child in comp.children:
        if child.name != "VALARM":
            kept.append(child)
            continue
        try:
            _check_lines(child, zones, fatal=frozenset({"TRIGGER"}))
            missing = [n for n in ("ACTION", "TRIGGER") if child.get(n) is None]
            if missing:
                raise Rejected(Code.CONTENT_LINE_INVALID, f"VALARM without {missing[0]}")
            kept.append(child)
        except Rejected as rejected:
            comp.warn(rejected.code, rejected.line or child.line, rejected.detail + "; alarm ignored")
        comp.warnings.extend(child.warnings)
        child.warnings = []
    comp.children = kept


def check_vevent(comp: Component, zones: Zones, cancel: bool) -> None:
    """Validate in place; raise Rejected when the event can not be stored."""
    uid = comp.get("UID")
    if uid is None or not uid.value.strip():
        raise Rejected(Code.CONTENT_LINE_INVALID, "no UID")
    _check_lines(comp, zones, fatal=frozenset() if cancel else frozenset({"DTSTART", "RECURRENCE-ID"}))
    _check_valarms(comp, zones)
    if cancel:
        return
    if comp.get("DTSTART") is None:
        raise Rejected(Code.DATETIME_INVALID, "no DTSTART")
    if comp.get("SUMMARY") is None:
        raise Rejected(Code.CONTENT_LINE_INVALID, "no SUMMARY")
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
