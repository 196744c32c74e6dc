"""Bounded recurrence expansion and write-time rule validation (RFC 5545 3.3.10, 3.8.5).

Every front door expands recurring items (CalDAV time-range REPORTs through the storage
index, WCAP ``fetchcomponents_by_range``, the JSON APIs) and every door writes them.
Stock Radicale 3.9 expands with dateutil without limits, and two kinds of rules turn that
into a denial of service:

* ``FREQ=SECONDLY`` without COUNT/UNTIL: minutes of CPU and gigabytes of memory;
* rules that can never match (``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``, a BYSETPOS beyond
  the set size): dateutil walks period by period to year 9999 and yields nothing, so a cap
  on the number of *yielded* occurrences never fires.

So expansion here is bounded twice: a cap on occurrences and a wall-clock budget that
the rules themselves check between dateutil's periods (``timebudget.py``) and the
expansion checks between occurrences; running out of it is an ordinary exception,
caught here.  Writes are checked by :func:`validate_rules` (and, without a DTSTART, by
:func:`rule_problem`) so that hostile rules never reach the store: rules whose period
holds so many candidate instances that one period is a long scan, BYSETPOS positions
no period has, month and day lists that name no date, and rules without an end that
repeat more often than the finest frequency allowed, however their FREQ is spelled.

The expander is dateutil's ``rrule``/``rruleset`` (what Radicale uses through vobject);
this module only assembles the set, because vobject's ``getrruleset(addRDate=True)``
mixes naive and aware datetimes and itself evaluates ``rrule[0]`` without any bound.

Values keep their iCalendar kind: all-day instances are ``date`` objects, timed
instances are UTC-aware ``datetime`` objects, floating instances stay naive unless a
``default_tz`` says where they float.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import vobject
from dateutil import rrule as du_rrule

from radicale_wcap.timebudget import BudgetExceeded, bounded, deadline_in, expired
from radicale_wcap.timezones import UnknownTimezone, get_zone

logger = logging.getLogger("radicale.wcap.recurrence")

UTC = dt.timezone.utc

#: Stand-in for "+infinity" in POSIX-second spans (10000-01-01T00:00:00Z, past dateutil's MAXYEAR).
INFINITY_TS = 253402300800
#: Stand-in for "-infinity" (0001-01-01T00:00:00Z).
NEG_INFINITY_TS = -62135596800

#: Components that may recur (RFC 5545 3.8.5: VEVENT, VTODO, VJOURNAL).
RECURRING_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")

#: FREQ values from the finest to the coarsest, for ``max_infinite_freq``.
FREQ_ORDER = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")

_RULE_PROPS = ("rrule", "exrule")


class RecurrenceLimitError(ValueError):
    """A rule is refused when written."""


# ---------------------------------------------------------------------------- values

def _prop_value(comp, name: str):
    """First value of property *name*, TZID resolved even without a VTIMEZONE."""
    lines = comp.contents.get(name.lower())
    if not lines:
        return None
    return _resolve_tzid(lines[0], lines[0].value)


def _resolve_tzid(line, value):
    """Give every DATE-TIME with a TZID a tzinfo that does wall-time arithmetic.

    vobject resolves a TZID without VTIMEZONE through pytz when pytz is installed; a
    pytz zone has a fixed offset per value, so dateutil would expand a weekly 09:00
    New York meeting to 10:00 after the DST change.  Such values are moved to the
    zoneinfo zone of the same name.  Without pytz, vobject leaves the value naive with
    the TZID parameter still set: resolve it from the IANA database instead of treating
    it as floating."""
    tzid = line.params.get("TZID") if hasattr(line, "params") else None

    def fix(v):
        if not isinstance(v, dt.datetime):
            return v
        if v.tzinfo is None and tzid:
            try:
                return v.replace(tzinfo=get_zone(tzid[0]))
            except UnknownTimezone:
                return v
        zone = getattr(v.tzinfo, "zone", None)
        if zone and hasattr(v.tzinfo, "localize"):
            try:
                return v.astimezone(get_zone(zone))
            except UnknownTimezone:
                return v
        return v

    if isinstance(value, list):
        return [fix(v) for v in value]
    return fix(value)


def _tzinfo(default_tz) -> dt.tzinfo:
    if default_tz is None:
        return UTC
    if isinstance(default_tz, str):
        return get_zone(default_tz)
    return default_tz


def _instant(value, floating_tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of a DATE, floating or aware DATE-TIME (dates start at midnight)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=floating_tz)
    return value.astimezone(UTC)


def _public(value, floating_tz: Optional[dt.tzinfo]):
    """Output form: dates stay dates, aware values become UTC, floating values become
    UTC only when the caller said where they float."""
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        if floating_tz is None:
            return value
        value = value.replace(tzinfo=floating_tz)
    return value.astimezone(UTC)


class _Frame:
    """The time frame of one series: the kind of its DTSTART.

    dateutil needs every value of an rruleset in one kind (all naive or all aware), and
    rules keep local wall time only when expanded in DTSTART's own zone.  Values of
    another kind (a UTC EXDATE on a TZID event, a DATE RDATE on a timed event) are
    converted into this frame."""

    def __init__(self, dtstart, floating_tz: dt.tzinfo):
        self.is_date = not isinstance(dtstart, dt.datetime)
        self.tz = None if self.is_date else dtstart.tzinfo
        self.floating_tz = floating_tz
        self.dtstart = self.to_frame(dtstart)

    def to_frame(self, value) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
            return value.replace(tzinfo=self.tz) if self.tz is not None else value
        if self.tz is not None:
            if value.tzinfo is None:
                return value.replace(tzinfo=self.tz)
            return value.astimezone(self.tz)
        if value.tzinfo is not None:
            return value.astimezone(self.floating_tz).replace(tzinfo=None)
        return value

    def from_frame(self, value: dt.datetime):
        return value.date() if self.is_date else value


# ---------------------------------------------------------------------------- rules

def _split_rule(text: str) -> dict[str, str]:
    # A Ruby iCalendar library escapes the semicolons (vobject strips them the same way).
    text = text.replace("\\", "").strip()
    if text.upper().startswith(("RRULE:", "EXRULE:")):
        text = text.split(":", 1)[1]
    parts: dict[str, str] = {}
    for pair in text.split(";"):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        if not sep or not value:
            raise ValueError("malformed rule part %r" % pair)
        name = name.strip().upper()
        if name in parts:
            raise ValueError("rule part %s repeated" % name)
        parts[name] = value.strip()
    if parts.get("FREQ", "").upper() not in FREQ_ORDER:
        raise ValueError("missing or unknown FREQ")
    if "INTERVAL" in parts and int(parts["INTERVAL"]) < 1:
        # dateutil accepts INTERVAL=0 and then never advances.
        raise ValueError("INTERVAL must be at least 1")
    if "COUNT" in parts and int(parts["COUNT"]) < 1:
        raise ValueError("COUNT must be at least 1")
    return parts


def _parse_until(text: str, frame: _Frame) -> dt.datetime:
    text = text.strip().upper()
    if len(text) == 8:
        day = dt.datetime.strptime(text, "%Y%m%d")
        # A DATE UNTIL is inclusive of that whole day.
        value = day if frame.is_date else day.replace(hour=23, minute=59, second=59)
        return frame.to_frame(value) if frame.tz is None else value.replace(tzinfo=frame.tz)
    utc = text.endswith("Z")
    value = dt.datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S")
    if utc:
        value = value.replace(tzinfo=UTC)
    if frame.is_date:
        # RFC 5545 wants a DATE UNTIL here; keep the day of a DATE-TIME one.
        value = frame.to_frame(value)
        return dt.datetime(value.year, value.month, value.day)
    return frame.to_frame(value)


def _parse_rule(text: str, frame: _Frame, deadline: float = math.inf) -> du_rrule.rrule:
    """One RRULE/EXRULE as a dateutil rrule in *frame*, iterating until *deadline*.
    UNTIL is parsed here because dateutil refuses an UNTIL whose kind differs from
    DTSTART's (floating DTSTART with a UTC UNTIL is common), and RFC 5545 allows a DATE
    UNTIL for a DATE DTSTART."""
    parts = _split_rule(text)
    until = parts.pop("UNTIL", None)
    rule = du_rrule.rrulestr(";".join("%s=%s" % kv for kv in parts.items()),
                             dtstart=frame.dtstart)
    changes = {} if until is None else {"until": _parse_until(until, frame)}
    return bounded(rule, deadline, **changes)


def _rule_lines(comp, name: str) -> list[str]:
    return [line.value for line in comp.contents.get(name, ())]


def _date_values(comp, name: str) -> list:
    """RDATE/EXDATE values; a PERIOD RDATE contributes its start."""
    values = []
    for line in comp.contents.get(name, ()):
        items = line.value if isinstance(line.value, list) else [line.value]
        for v in _resolve_tzid(line, items):
            if isinstance(v, tuple):
                v = v[0]
            if isinstance(v, (dt.date, dt.datetime)):
                values.append(v)
    return values


def _first(rule) -> Optional[dt.datetime]:
    return next(iter(rule), None)


# ---------------------------------------------------------------------------- rule structure

#: Most candidate instances one period of a rule may hold (days of the period that its
#: day lists allow, times its BYHOUR x BYMINUTE x BYSECOND times).  dateutil builds the
#: time list when the rule is parsed, at every expansion (the full 86,400-entry one took
#: 0.2 s), and walks a period's candidates without looking at the clock: a yearly rule
#: listing every month, day, hour, minute and second holds 32 million, and with a DTSTART
#: in July its first instance took 16 s to find.  A daily rule at every minute of a
#: working day (540), or a yearly one on every weekday at every working hour (2,385),
#: stays well below.
MAX_PERIOD_CANDIDATES = 10_000

_RULE_PART_NAMES = frozenset({"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE",
                              "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO",
                              "BYMONTH", "BYSETPOS", "WKST"})
#: RFC 5545 3.3.10 value ranges; the signed ones count from the end and exclude 0.
_RANGES = {"BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
           "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True),
           "BYWEEKNO": (1, 53, True), "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True)}
_INTEGER = re.compile(r"[+-]?[0-9]{1,3}\Z")
_WEEKDAY = re.compile(r"([+-]?[0-9]{1,2})?(SU|MO|TU|WE|TH|FR|SA)\Z")
_UNTIL = re.compile(r"[0-9]{8}(T[0-9]{6}Z?)?\Z")
_PERIOD_DAYS = {"YEARLY": 366, "MONTHLY": 31, "WEEKLY": 7}
#: Instances a day may hold at the finest allowed frequency, for rules without an end.
_PER_DAY = {"SECONDLY": 86400, "MINUTELY": 1440, "HOURLY": 24}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _NeverMatches(ValueError):
    pass


def _values(parts: dict[str, str], name: str) -> list[str]:
    return [v.strip().upper() for v in parts[name].split(",")] if name in parts else []


def _check_values(parts: dict[str, str]) -> dict[str, list]:
    """Each list part's values, checked against RFC 5545 3.3.10 (ValueError)."""
    unknown = sorted(set(parts) - _RULE_PART_NAMES)
    if unknown:
        raise ValueError("unknown rule part %s" % unknown[0])
    for name in ("COUNT", "INTERVAL"):
        if name in parts and not parts[name].isdigit():
            raise ValueError("%s is not a positive integer" % name)
    if "UNTIL" in parts and not _UNTIL.match(parts["UNTIL"].upper()):
        raise ValueError("UNTIL is not a DATE or DATE-TIME")
    if "WKST" in parts and not _WEEKDAY.match(parts["WKST"].upper()):
        raise ValueError("WKST is not a weekday")
    lists: dict[str, list] = {}
    for name, (low, high, signed) in _RANGES.items():
        numbers = []
        for value in _values(parts, name):
            number = int(value) if _INTEGER.match(value) else None
            if number is None or not (low <= abs(number) <= high if signed
                                      else low <= number <= high):
                raise ValueError("%s value %r is out of range" % (name, value))
            numbers.append(number)
        if numbers:
            lists[name] = sorted(set(numbers))
    days = []
    for value in _values(parts, "BYDAY"):
        match = _WEEKDAY.match(value)
        if match is None or (match.group(1) and not 1 <= abs(int(match.group(1))) <= 53):
            raise ValueError("BYDAY value %r is not a weekday" % value)
        days.append((int(match.group(1)) if match.group(1) else 0, match.group(2)))
    if days:
        lists["BYDAY"] = sorted(set(days))
    return lists


def _day_candidates(freq: str, lists: dict[str, list]) -> int:
    """Most days one period may hold (an upper bound: the day lists intersect)."""
    period = _PERIOD_DAYS.get(freq, 1)
    if period == 1:
        return 1
    months = len(lists.get("BYMONTH", ())) if freq == "YEARLY" else 0
    bounds = [period]
    if "BYWEEKNO" in lists:
        bounds.append(7 * len(lists["BYWEEKNO"]))
    if "BYYEARDAY" in lists:
        bounds.append(len(lists["BYYEARDAY"]))
    if "BYMONTHDAY" in lists:
        bounds.append(len(lists["BYMONTHDAY"]) * (months or (12 if freq == "YEARLY" else 1)))
    if "BYDAY" in lists:
        per_weekday = {"YEARLY": 53, "MONTHLY": 5, "WEEKLY": 1}[freq]
        bounds.append(sum(1 if n else per_weekday for n, _ in lists["BYDAY"]))
    if len(bounds) == 1:
        # No day list: dateutil takes DTSTART's day (in each BYMONTH month).
        return max(months, 1)
    if months:
        bounds.append(31 * months)
    return min(bounds)


def _time_candidates(freq: str, lists: dict[str, list]) -> int:
    """Times one period holds: the BYxxx lists finer than FREQ multiply."""
    finer = {"HOURLY": ("BYMINUTE", "BYSECOND"), "MINUTELY": ("BYSECOND",),
             "SECONDLY": ()}.get(freq, ("BYHOUR", "BYMINUTE", "BYSECOND"))
    return math.prod(len(lists.get(name, (0,))) for name in finer)


def _per_day(freq: str, interval: int, lists: dict[str, list]) -> int:
    """Most instances the rule can put on one day, whatever its FREQ says."""
    hours, minutes, seconds = (len(lists.get(n, ())) for n in ("BYHOUR", "BYMINUTE", "BYSECOND"))
    if freq == "HOURLY":
        return min(math.ceil(24 / interval), hours or 24) * (minutes or 1) * (seconds or 1)
    if freq == "MINUTELY":
        return min(math.ceil(1440 / interval), (hours or 24) * (minutes or 60)) * (seconds or 1)
    if freq == "SECONDLY":
        return min(math.ceil(86400 / interval), (hours or 24) * (minutes or 60) * (seconds or 60))
    return (hours or 1) * (minutes or 1) * (seconds or 1)


def _check_structure(parts: dict[str, str]) -> dict[str, list]:
    """Refuse what no DTSTART makes reasonable: bad values (ValueError), dates the lists
    can not name and BYSETPOS positions no period has (_NeverMatches), periods with too
    many candidates (RecurrenceLimitError)."""
    lists = _check_values(parts)
    freq = parts["FREQ"].upper()
    months = lists.get("BYMONTH", range(1, 13))
    if "BYMONTHDAY" in lists and not any(abs(day) <= _MONTH_DAYS[month - 1]
                                         for month in months for day in lists["BYMONTHDAY"]):
        raise _NeverMatches("no month of BYMONTH has a day of BYMONTHDAY")
    if "BYYEARDAY" in lists and "BYMONTH" in lists and not any(
            _month_of_yearday(day, leap) in months
            for day in lists["BYYEARDAY"] for leap in (False, True)):
        raise _NeverMatches("no day of BYYEARDAY falls in a month of BYMONTH")
    candidates = _day_candidates(freq, lists) * _time_candidates(freq, lists)
    if candidates > MAX_PERIOD_CANDIDATES:
        raise RecurrenceLimitError(
            "one %s period holds up to %d candidate instances, more than %d"
            % (freq, candidates, MAX_PERIOD_CANDIDATES))
    beyond = [p for p in lists.get("BYSETPOS", ()) if abs(p) > candidates]
    if beyond:
        raise _NeverMatches("BYSETPOS %d is beyond the %d candidate(s) of a %s period"
                            % (beyond[0], candidates, freq))
    return lists


def _month_of_yearday(day: int, leap: bool) -> Optional[int]:
    length = 366 if leap else 365
    if abs(day) > length:
        return None
    ordinal = day if day > 0 else length + day + 1
    date = dt.date(2024 if leap else 2023, 1, 1) + dt.timedelta(days=ordinal - 1)
    return date.month


def rule_problem(text: str) -> Optional[str]:
    """Why the write-time check refuses this rule whatever its DTSTART, or None.

    The part of :func:`validate_rules` that needs no component, for a door that checks
    RECUR values line by line (the feed); the rest is checked when the item is stored.
    """
    try:
        _check_structure(_split_rule(text))
    except _NeverMatches as e:
        return "never matches any date (%s)" % e
    except RecurrenceLimitError as e:
        return str(e)
    except (ValueError, TypeError, OverflowError) as e:
        return "cannot parse (%s)" % e
    return None


# ---------------------------------------------------------------------------- components

def _components(source) -> list:
    """Flatten a VCALENDAR, a single component, ICS text or an iterable of those."""
    if isinstance(source, (str, bytes)):
        text = source.decode() if isinstance(source, bytes) else source
        source = list(vobject.readComponents(text))
    if isinstance(source, vobject.base.Component):
        if source.name.upper() == "VCALENDAR":
            return [c for c in source.getChildren()
                    if isinstance(c, vobject.base.Component)
                    and c.name.upper() in RECURRING_COMPONENTS]
        return [source] if source.name.upper() in RECURRING_COMPONENTS else []
    result = []
    for item in source:
        result.extend(_components(item))
    return result


def _anchor(comp):
    """DTSTART, or DUE for a VTODO without DTSTART (as vobject and RFC 4791 9.9 do)."""
    start = _prop_value(comp, "dtstart")
    if start is None and comp.name.upper() == "VTODO":
        start = _prop_value(comp, "due")
    return start


def _duration(comp, start) -> dt.timedelta:
    """Length of one instance: DTEND/DUE minus start, DURATION, else one day for a DATE
    and zero for a DATE-TIME (RFC 5545 3.6.1)."""
    duration = _prop_value(comp, "duration")
    if isinstance(duration, dt.timedelta):
        return max(duration, dt.timedelta(0))
    end = _prop_value(comp, "dtend")
    if end is None and comp.name.upper() == "VTODO" and _prop_value(comp, "dtstart") is not None:
        end = _prop_value(comp, "due")
    if end is not None and type(end) is type(start):
        if isinstance(start, dt.datetime) and (start.tzinfo is None) != (end.tzinfo is None):
            end = end.replace(tzinfo=start.tzinfo)
        if isinstance(start, dt.datetime) and start.tzinfo is not None and end.tzinfo is not start.tzinfo:
            end = end.astimezone(start.tzinfo)
        return max(end - start, dt.timedelta(0))
    if end is not None and isinstance(start, dt.datetime):
        # DATE DTEND on a timed DTSTART: keep the distance to that midnight.
        end = dt.datetime(end.year, end.month, end.day, tzinfo=start.tzinfo)
        return max(end - start, dt.timedelta(0))
    return dt.timedelta(days=1) if not isinstance(start, dt.datetime) else dt.timedelta(0)


def _is_this_and_future(comp) -> bool:
    line = comp.contents.get("recurrence-id", [None])[0]
    if line is None:
        return False
    return any(v.upper() == "THISANDFUTURE" for v in line.params.get("RANGE", ()))


def _is_recurring(comp) -> bool:
    return any(comp.contents.get(n) for n in ("rrule", "rdate", "exrule", "exdate"))


# ---------------------------------------------------------------------------- validation

def validate_rules(component_or_calendar, *, max_count: int, budget_s: float,
                   max_infinite_freq: str = "HOURLY") -> None:
    """Refuse rules that would make later expansion expensive or meaningless.

    Called when an item is written, through every door.  Raises
    :class:`RecurrenceLimitError` naming the rule for a rule that cannot be parsed or
    that :func:`rule_problem` refuses; an infinite rule (no COUNT/UNTIL) finer than
    *max_infinite_freq*, or with more instances a day than that frequency has (a DAILY
    rule listing 48 BYMINUTE/BYHOUR times is half-hourly); a rule with no occurrence
    found within *budget_s* (never-matching); a finite rule with more than *max_count*
    occurrences.  A rule bounded by UNTIL that simply ends before it
    matches is harmless and accepted (clients produce it when truncating a series).
    """
    limit = FREQ_ORDER.index(max_infinite_freq.upper())
    for comp in _components(component_or_calendar):
        start = _anchor(comp)
        if start is None:
            if any(comp.contents.get(n) for n in _RULE_PROPS):
                raise RecurrenceLimitError(
                    "%s with a recurrence rule but no DTSTART" % comp.name)
            continue
        frame = _Frame(start, UTC)
        for name in _RULE_PROPS:
            for text in _rule_lines(comp, name):
                _validate_rule(name.upper(), text, frame, max_count=max_count,
                               budget_s=budget_s, limit=limit)
        rdates = len(_date_values(comp, "rdate"))
        if rdates > max_count:
            raise RecurrenceLimitError(
                "%d RDATE values exceed the limit of %d" % (rdates, max_count))


def _validate_rule(kind: str, text: str, frame: _Frame, *, max_count: int,
                   budget_s: float, limit: int) -> None:
    label = "%s:%s" % (kind, text)
    try:
        parts = _split_rule(text)
        lists = _check_structure(parts)
        rule = _parse_rule(text, frame, deadline_in(budget_s))
    except _NeverMatches as e:
        raise RecurrenceLimitError("%s never matches any date (%s)" % (label, e)) from None
    except RecurrenceLimitError as e:
        raise RecurrenceLimitError("%s is refused: %s" % (label, e)) from None
    except (ValueError, TypeError, OverflowError) as e:
        raise RecurrenceLimitError("cannot parse %s (%s)" % (label, e)) from None
    freq = parts["FREQ"].upper()
    finite = "COUNT" in parts or "UNTIL" in parts
    per_day = _per_day(freq, int(parts.get("INTERVAL", 1)), lists)
    if not finite and (FREQ_ORDER.index(freq) < limit
                       or per_day > _PER_DAY.get(FREQ_ORDER[limit], 1)):
        raise RecurrenceLimitError(
            "%s repeats forever more often than %s (up to %d times a day); add COUNT "
            "or UNTIL" % (label, FREQ_ORDER[limit], per_day))
    if "COUNT" in parts and "UNTIL" not in parts and int(parts["COUNT"]) > max_count:
        raise RecurrenceLimitError(
            "%s has more than %d occurrences" % (label, max_count))
    try:
        first = _first(rule)
        count = (sum(1 for _ in zip(rule, range(max_count + 1)))
                 if finite and first is not None else 0)
    except BudgetExceeded:
        raise RecurrenceLimitError(
            "%s is too expensive to expand (nothing found within %gs): it may never match"
            % (label, budget_s)) from None
    if first is None and "UNTIL" not in parts:
        raise RecurrenceLimitError("%s never matches any date" % label)
    if count > max_count:
        raise RecurrenceLimitError("%s has more than %d occurrences" % (label, max_count))


# ---------------------------------------------------------------------------- expansion

@dataclass(frozen=True)
class Occurrence:
    """One instance.  *component* is the master, or the RECURRENCE-ID override that
    replaces this instance.  *recurrence_id* is the instance's original start (None for
    a non-recurring component); *start*/*end* are dates for all-day instances,
    UTC-aware datetimes otherwise (naive when floating without a default_tz), and None
    for a VTODO without any date."""

    recurrence_id: Any
    start: Any
    end: Any
    component: Any

    @property
    def is_all_day(self) -> bool:
        return self.start is not None and not isinstance(self.start, dt.datetime)


@dataclass
class Expansion:
    """Occurrences sorted by start.  *truncated* means the cap or the time budget
    stopped early; every occurrence starting before *expanded_until* (UTC, None = no
    limit reached) is then listed (some after it may be listed too)."""

    occurrences: list
    truncated: bool = False
    expanded_until: Optional[dt.datetime] = None
    #: No instance of any series starts at or after range_end (or at all, unbounded).
    complete: bool = False


@dataclass
class _Series:
    occurrences: list
    frontier: Optional[dt.datetime]  # every start before it is listed; None: all
    exhausted: bool                   # nothing after range_end either


def _group_by_uid(components) -> list[list]:
    groups: dict[str, list] = {}
    for comp in components:
        uid = _prop_value(comp, "uid")
        groups.setdefault(uid if uid is not None else id(comp), []).append(comp)
    return list(groups.values())


def expand(vcalendar_or_components, range_start=None, range_end=None, *,
           max_count: int, budget_s: float, default_tz=None) -> Expansion:
    """Occurrences overlapping [range_start, range_end) (None = unbounded).

    Bounds may be dates, naive (read in *default_tz*, else UTC) or aware datetimes.
    Overrides may move an instance into or out of the range; overrides whose
    RECURRENCE-ID is not generated by the rule are still listed (clients keep them).
    RANGE=THISANDFUTURE overrides shift every later, non-overridden instance by the
    override's start delta and give it the override's duration and component.
    Never raises for hostile stored data: a rule that cannot be parsed is logged and
    ignored (the series is its DTSTART), limits set ``truncated``.
    """
    floating_tz = _tzinfo(default_tz)
    public_tz = _tzinfo(default_tz) if default_tz is not None else None
    lo = _instant(range_start, floating_tz) if range_start is not None else None
    hi = _instant(range_end, floating_tz) if range_end is not None else None
    deadline = deadline_in(budget_s)
    series_results = [_expand_series(group, lo, hi, max_count, deadline, floating_tz,
                                     public_tz)
                      for group in _group_by_uid(_components(vcalendar_or_components))]
    occurrences = [o for s in series_results for o in s.occurrences]
    frontiers = [s.frontier for s in series_results if s.frontier is not None]
    frontier = min(frontiers) if frontiers else None

    def key(o):
        return (_instant(o.start, floating_tz) if o.start is not None
                else dt.datetime.min.replace(tzinfo=UTC))

    occurrences.sort(key=key)
    if len(occurrences) > max_count:
        cut = key(occurrences[max_count])
        frontier = cut if frontier is None else min(frontier, cut)
    occurrences = occurrences[:max_count]
    truncated = frontier is not None and (hi is None or frontier < hi)
    complete = not truncated and all(s.exhausted for s in series_results)
    return Expansion(occurrences, truncated, frontier if truncated else None, complete)


def _overlaps(start: dt.datetime, end: dt.datetime, lo, hi) -> bool:
    if end <= start:
        # RFC 4791 9.9: a zero-length instance overlaps when it starts inside the range.
        return (lo is None or start >= lo) and (hi is None or start < hi)
    return (hi is None or start < hi) and (lo is None or end > lo)


def _expand_series(group: list, lo, hi, max_count: int, deadline: float,
                   floating_tz, public_tz) -> _Series:
    masters = [c for c in group if "recurrence-id" not in c.contents]
    overrides = [c for c in group if "recurrence-id" in c.contents]
    out: list[Occurrence] = []

    def emit(rid, start, duration, comp):
        if start is None:
            out.append(Occurrence(_public(rid, public_tz) if rid is not None else None,
                                  None, None, comp))
            return
        end = start + duration
        s, e = _instant(start, floating_tz), _instant(end, floating_tz)
        if _overlaps(s, e, lo, hi):
            out.append(Occurrence(_public(rid, public_tz) if rid is not None else None,
                                  _public(start, public_tz), _public(end, public_tz), comp))

    beyond = False  # an override starts at or after range_end
    by_rid = {}
    future = []  # THISANDFUTURE overrides: (rid instant, delta, duration, comp)
    for comp in overrides:
        rid = _prop_value(comp, "recurrence-id")
        start = _anchor(comp)
        if rid is None:
            continue
        by_rid[_instant(rid, floating_tz)] = comp
        if start is not None:
            emit(rid, start, _duration(comp, start), comp)
            beyond = beyond or (hi is not None and _instant(start, floating_tz) >= hi)
            if _is_this_and_future(comp):
                future.append((_instant(rid, floating_tz),
                               _instant(start, floating_tz) - _instant(rid, floating_tz),
                               _duration(comp, start), comp))
    future.sort(key=lambda f: f[0])

    if not masters:
        return _Series(out, None, not beyond)
    master = masters[0]
    start = _anchor(master)
    if start is None:
        if master.name.upper() == "VTODO":
            emit(None, None, None, master)  # RFC 4791 9.9: an undated VTODO matches any range
        return _Series(out, None, not beyond)
    duration = _duration(master, start)
    if not _is_recurring(master):
        emit(None, start, duration, master)
        return _Series(out, None, not beyond)

    frame = _Frame(start, floating_tz)
    # An instance shifted earlier by THISANDFUTURE may enter the range after its rule
    # date passed range_end: iterate that much further.
    slack = max([-f[1] for f in future] + [dt.timedelta(0)])
    frontier = None
    exhausted = False
    last = None
    try:
        for value in _iter_instances(master, frame, deadline):
            # The rules look at the clock between periods; a dense rule yields many
            # instances within one period, so look here too.
            if expired(deadline):
                raise BudgetExceeded("recurrence expansion ran out of its time budget")
            inst = _instant(value, floating_tz)
            last = inst
            if hi is not None and inst - slack >= hi:
                frontier = hi
                break
            if inst in by_rid:
                continue
            rid = frame.from_frame(value)
            i = _latest_before(future, inst)
            if i is None:
                emit(rid, rid, duration, master)
            else:
                _, delta, f_duration, f_comp = i
                emit(rid, rid + delta, f_duration, f_comp)
            if len(out) > max_count:
                frontier = inst + dt.timedelta(microseconds=1)
                break
        else:
            exhausted = True
    except BudgetExceeded:
        frontier = (last + dt.timedelta(microseconds=1)) if last is not None else (
            dt.datetime.min.replace(tzinfo=UTC))
        logger.warning("recurrence expansion of %r stopped by its time budget",
                       _prop_value(master, "uid"))
    if exhausted:
        frontier = None
    elif hi is not None and frontier is not None and frontier >= hi:
        frontier = hi
    return _Series(out, frontier, exhausted and not beyond)


def _latest_before(future: list, inst: dt.datetime):
    found = None
    for f in future:
        if f[0] <= inst:
            found = f
        else:
            break
    return found


def _iter_instances(master, frame: _Frame, deadline: float = math.inf
                    ) -> Iterator[dt.datetime]:
    """Instance starts of *master* in frame order (DTSTART always first, RFC 5545
    3.8.5.3), EXDATE/EXRULE removed.  A stored rule that cannot be parsed is ignored
    (the write-time check refuses such rules; data from before it may have one).
    Raises :class:`BudgetExceeded` once *deadline* has passed."""
    rs = du_rrule.rruleset()
    rs.rdate(frame.dtstart)
    for text in _rule_lines(master, "rrule"):
        try:
            rule = _parse_rule(text, frame, deadline)
        except (ValueError, TypeError, OverflowError) as e:
            logger.warning("ignoring unparsable RRULE %r: %s", text, e)
            continue
        # As vobject's addRDate: DTSTART counts as the first of COUNT even when the
        # rule itself would not generate it (Radicale expands the same way).
        if rule._count is not None and _first(rule) != frame.dtstart:
            if rule._count <= 1:
                continue
            rule = bounded(rule, deadline, count=rule._count - 1)
        rs.rrule(rule)
    for value in _date_values(master, "rdate"):
        rs.rdate(frame.to_frame(value))
    excluded_days = set()
    for value in _date_values(master, "exdate"):
        if not frame.is_date and not isinstance(value, dt.datetime):
            # EXDATE;VALUE=DATE on a timed series removes that local day's instances.
            excluded_days.add(value)
        else:
            rs.exdate(frame.to_frame(value))
    for text in _rule_lines(master, "exrule"):
        try:
            rs.exrule(_parse_rule(text, frame, deadline))
        except (ValueError, TypeError, OverflowError) as e:
            logger.warning("ignoring unparsable EXRULE %r: %s", text, e)
    for value in rs:
        if excluded_days and value.date() in excluded_days:
            continue
        yield value


# ---------------------------------------------------------------------------- index

def epoch(value, floating_tz: dt.tzinfo = UTC) -> int:
    """POSIX seconds of a DATE (its midnight), a floating or an aware DATE-TIME; dates and
    floating values are read in ``floating_tz``. Every door and the index count in these."""
    return int(_instant(value, floating_tz).timestamp())


def instances_for_index(vcalendar_or_components, horizon_end, *, max_count: int,
                        budget_s: float, default_tz=None) -> tuple[list, bool, int]:
    """POSIX-second spans of every instance starting before *horizon_end*.

    Returns ``(spans, complete, expanded_until_ts)``: *complete* is True when the list
    holds every instance of the item (finite series fully expanded); otherwise the
    spans are exact for starts before *expanded_until_ts* (the horizon, or where the
    cap/budget stopped) and the index must fall back to :func:`master_span` beyond it.
    When complete, *expanded_until_ts* is :data:`INFINITY_TS`.  Floating times are
    indexed as UTC unless *default_tz* is given; an undated VTODO spans everything.
    """
    floating_tz = _tzinfo(default_tz)
    hi = _instant(horizon_end, floating_tz)
    result = expand(vcalendar_or_components, None, hi, max_count=max_count,
                    budget_s=budget_s, default_tz=default_tz)
    until = (int(result.expanded_until.timestamp()) if result.truncated
             else INFINITY_TS if result.complete else int(hi.timestamp()))
    spans = []
    for o in result.occurrences:
        if o.start is None:
            spans.append((NEG_INFINITY_TS, INFINITY_TS))
        elif epoch(o.start, floating_tz) < until:
            spans.append((epoch(o.start, floating_tz), epoch(o.end, floating_tz)))
    return spans, result.complete, until


def master_span(vcalendar_or_components, *, max_count: int, budget_s: float,
                default_tz=None) -> tuple[int, int]:
    """[start, end) of a whole item as POSIX seconds; end is :data:`INFINITY_TS` for
    an infinite rule or when the limits stopped the expansion (conservative: the index
    then matches the item for every later range)."""
    floating_tz = _tzinfo(default_tz)
    components = _components(vcalendar_or_components)
    result = expand(components, None, None, max_count=max_count, budget_s=budget_s,
                    default_tz=default_tz)
    anchors = [epoch(a, floating_tz) for a in map(_anchor, components) if a is not None]
    if any(o.start is None for o in result.occurrences) or not (anchors or result.occurrences):
        return NEG_INFINITY_TS, INFINITY_TS
    starts = [epoch(o.start, floating_tz) for o in result.occurrences] + anchors
    if result.truncated:
        return min(starts), INFINITY_TS
    ends = [epoch(o.end, floating_tz) for o in result.occurrences]
    return min(starts), max(ends) if ends else max(starts)
