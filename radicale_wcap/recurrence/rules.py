"""Recurrence rules: parsed into bounded dateutil rules, and checked when an item is
written (RFC 5545 3.3.10) so that hostile rules never reach the store.

Stock Radicale 3.9 expands with dateutil without limits, and two kinds of rules turn
that into a denial of service: ``FREQ=SECONDLY`` without COUNT/UNTIL (minutes of CPU
and gigabytes of memory), and rules that can never match
(``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``, a BYSETPOS beyond the set size), which
dateutil walks period by period to year 9999.  Writes are checked by
:func:`validate_rules` (and, without a DTSTART, by :func:`rule_problem`): rules whose
period holds so many candidate instances that one period is a long scan, BYSETPOS
positions no period has, month and day lists that name no date, and rules without an
end that repeat more often than the finest frequency allowed, however their FREQ is
spelled.  Every rule parsed here checks a deadline between dateutil's periods
(``timebudget.py``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Optional

from dateutil import rrule as du_rrule

from radicale_wcap.recurrence.series import (UTC, Frame, anchor, date_values,
                                             recurring_components, rule_lines)
from radicale_wcap.timebudget import BudgetExceeded, bounded, deadline_in

#: FREQ values from the finest to the coarsest, for ``max_infinite_freq``.
FREQ_ORDER = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")

_RULE_PROPS = ("rrule", "exrule")


class RecurrenceLimitError(ValueError):
    """A rule is refused when written."""


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


def _parse_until(text: str, frame: Frame) -> dt.datetime:
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


def parse_rule(text: str, frame: Frame, deadline: float = math.inf) -> du_rrule.rrule:
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


def first_instance(rule) -> Optional[dt.datetime]:
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
    for comp in recurring_components(component_or_calendar):
        start = anchor(comp)
        if start is None:
            if any(comp.contents.get(n) for n in _RULE_PROPS):
                raise RecurrenceLimitError(
                    "%s with a recurrence rule but no DTSTART" % comp.name)
            continue
        frame = Frame(start, UTC)
        for name in _RULE_PROPS:
            for text in rule_lines(comp, name):
                _validate_rule(name.upper(), text, frame, max_count=max_count,
                               budget_s=budget_s, limit=limit)
        rdates = len(date_values(comp, "rdate"))
        if rdates > max_count:
            raise RecurrenceLimitError(
                "%d RDATE values exceed the limit of %d" % (rdates, max_count))


def _validate_rule(kind: str, text: str, frame: Frame, *, max_count: int,
                   budget_s: float, limit: int) -> None:
    label = "%s:%s" % (kind, text)
    try:
        parts = _split_rule(text)
        lists = _check_structure(parts)
        rule = parse_rule(text, frame, deadline_in(budget_s))
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
        first = first_instance(rule)
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
