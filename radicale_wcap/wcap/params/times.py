"""WCAP date-times, durations and time zones as parameter values (manual ch. 7, "Time
Zones"; docs/wcap-clients.md#times).

A date-time without ``Z`` is a `WcapTime` until all parameters are parsed; then
``parse.parse_params`` takes it in the request's ``tzid``.  Values that go into an item
(store*) keep a day's margin inside datetime's range.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from radicale_wcap import timezones
from radicale_wcap.wcap.params.values import ValueType

UTC = dt.timezone.utc


@dataclass(frozen=True)
class WcapTime:
    """A parsed WCAP date-time before zone resolution.

    ``value`` is an aware UTC datetime (``Z`` form), a naive datetime (to be taken in
    ``tzid``) or a `datetime.date` (DATE form).
    """

    value: dt.datetime | dt.date
    stored: bool = False  # will be written into an item: see DateTime(stored=True)

    @property
    def floating(self) -> bool:
        return isinstance(self.value, dt.datetime) and self.value.tzinfo is None


_DT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?\Z")


def parse_datetime(text: str) -> WcapTime:
    """``yyyymmddThhmmssZ`` | ``yyyymmddThhmmss`` | ``yyyymmdd`` -> `WcapTime`."""
    m = _DT.match(text.strip().upper())
    if not m:
        raise ValueError("not an ISO 8601 basic date-time")
    y, mo, d, h, mi, s, z = m.groups()
    if h is None:
        return WcapTime(dt.date(int(y), int(mo), int(d)))
    value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    return WcapTime(value.replace(tzinfo=UTC) if z else value)


# Store values keep a day inside datetime's range at each end, in their own zone and in
# UTC: an all-day event's exclusive end and the time in any tzidout then exist (one at
# 99991231T230000Z made every fetch of its calendar with an eastern tzidout fail).
STORED_FIRST_DAY, STORED_LAST_DAY = dt.date(1, 1, 2), dt.date(9999, 12, 30)


def check_stored_day(day: dt.date) -> None:
    if not STORED_FIRST_DAY <= day <= STORED_LAST_DAY:
        raise ValueError("a stored date must lie between %s and %s"
                         % (STORED_FIRST_DAY, STORED_LAST_DAY))


class DateTime(ValueType):
    """A WCAP date-time; ``zero`` says what ``0`` means (None = not allowed).

    dtstart/dtend: ``0`` is unbounded (None); rid: ``0`` is "not an instance" (None);
    completed: ``0`` clears it (None). ``stored``: the value goes into an item (store*),
    not into a query, and must leave the margin of `STORED_FIRST_DAY`/`STORED_LAST_DAY`
    (a fetch may still ask up to 99991231T235959Z).
    """

    def __init__(self, zero_allowed: bool = True, stored: bool = False) -> None:
        self.zero_allowed = zero_allowed
        self.stored = stored

    def parse_text(self, text: str) -> WcapTime | None:
        if text.strip() == "0":
            if not self.zero_allowed:
                raise ValueError("0 is not allowed here")
            return None
        parsed = parse_datetime(text)
        if not self.stored:
            return parsed
        value = parsed.value
        check_stored_day(value.date() if isinstance(value, dt.datetime) else value)
        return WcapTime(value, stored=True)


_DURATION = re.compile(
    r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\Z")
_BUGGY_MINUTES = re.compile(r"([+-])?P(\d+)([HMS])\Z")


def parse_duration(text: str, lenient: bool = False) -> dt.timedelta:
    """RFC 5545 duration (``-PT15M``, ``P1D``, ``P1W``) -> timedelta.

    ``lenient``: also accept Calendar Server's "missing T" bug ``P15M`` as 15 minutes
    (its own ``ceDefaultAlarmStart`` example; Lightning repairs it the same way with
    ``.replace(/(^P)(\\d+[HMS]$)/, "$1T$2")``). Only used where a month-long offset would
    make no sense (alarm offsets, prefs), never for event durations.
    """
    text = text.strip().upper()
    if lenient:
        bug = _BUGGY_MINUTES.match(text)
        if bug:
            text = f"{bug.group(1) or ''}PT{bug.group(2)}{bug.group(3)}"
    m = _DURATION.match(text)
    if not m or text.rstrip("T").endswith("P") or text.endswith("T"):
        raise ValueError("not an ISO 8601 duration")
    sign, w, d, h, mi, s = m.groups()
    if not any((w, d, h, mi, s)):
        raise ValueError("empty duration")
    try:
        delta = dt.timedelta(weeks=int(w or 0), days=int(d or 0), hours=int(h or 0),
                             minutes=int(mi or 0), seconds=int(s or 0))
    except OverflowError:  # P9999999999999D: beyond timedelta's 999,999,999 days
        raise ValueError("duration out of range") from None
    return -delta if sign == "-" else delta


class Duration(ValueType):
    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient

    def parse_text(self, text: str) -> dt.timedelta:
        return parse_duration(text, self.lenient)


class AlarmTime(ValueType):
    """``alarmStart``/``alarmPopup``...: a date-time ([MANUAL]) or a signed duration
    relative to the start ([Q4]/[63]; Lightning sends ``-PT15M`` with relativealarm=1)."""

    def parse_text(self, text: str) -> WcapTime | dt.timedelta:
        stripped = text.strip().upper()
        if stripped.lstrip("+-").startswith("P"):
            return parse_duration(stripped, lenient=True)
        return parse_datetime(stripped)


UTC_NAMES = ("Z", "UTC", "GMT", "ZULU")


def zone_name(tzid: str) -> str:
    """The server's name for ``tzid``, or ValueError: ``UTC`` for its aliases, else a
    zone `timezones.all_tzids` lists (a vendor prefix such as ``/mozilla.org/...``
    stripped). The same list get_all_timezones serves and the output code converts
    to, so a name accepted here can not fail later (zoneinfo alone also knows
    ``posixrules``, ``Factory``...)."""
    name = tzid.strip()
    if name.upper() in UTC_NAMES:
        return "UTC"
    name = timezones.normalize_tzid(name)
    if not timezones.is_valid_tzid(name):
        raise ValueError("unknown tzid")
    return name


def zone(tzid: str) -> ZoneInfo:
    """The zoneinfo zone for ``tzid`` (``GMT``/``UTC``/``Z`` included) or ValueError."""
    return ZoneInfo(zone_name(tzid))


class TzId(ValueType):
    def parse_text(self, text: str) -> str:
        return zone_name(text)
