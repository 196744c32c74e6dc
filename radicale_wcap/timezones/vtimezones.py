"""IANA time zones as iCalendar VTIMEZONE data (RFC 5545 3.6.5).

Used by WCAP ``get_all_timezones`` and for every TZID the server writes, so that
clients without their own zone database (and CalDAV clients reading our items) get
real STANDARD/DAYLIGHT rules.

The zone data is read from the same TZif files ``zoneinfo`` uses (system zoneinfo,
else the ``tzdata`` package) rather than built with vobject's
``TimezoneComponent(tzinfo)``: that one probes a tzinfo year by year and assumes
transitions on the hour, one-hour DST and at most two changes a year, which is wrong
for Australia/Lord_Howe (30 minutes) and Africa/Casablanca (Ramadan).  Here every
transition in the year window is reproduced exactly: yearly transitions that follow a
"weekday in a 7-day window" pattern become one RRULE (UNTIL in UTC when the pattern
stops), the rest become RDATEs, so a VTIMEZONE stays a handful of components.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from typing import Iterable, Optional

import vobject

from radicale_wcap.timezones.lookup import all_tzids, get_zone
from radicale_wcap.timezones.tzif import changes, local_time

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    return "%s%02d%02d%s" % (sign, h, m, "%02d" % s if s else "")


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


class _Transition:
    __slots__ = ("ts", "before", "after", "isdst", "abbr", "local")

    def __init__(self, ts, before, after, isdst, abbr):
        self.ts, self.before, self.after, self.isdst, self.abbr = ts, before, after, isdst, abbr
        # RFC 5545 3.6.5: onsets are local time in the offset in effect before them.
        self.local = local_time(ts, before)

    def key(self):
        return (self.isdst, self.abbr, self.before, self.after, self.local.month,
                self.local.weekday(), self.local.time())


def _transitions(tzid: str, first: int, last: int):
    """The zone's type at the start of the window and its transitions within it."""
    state, events, ongoing = changes(tzid, first, last)
    initial = None
    result = []
    for ts, utoff, isdst, abbr in events:
        new = (utoff, isdst, abbr)
        year = local_time(ts, state[0]).year
        if year > last:
            break
        if year >= first:
            if initial is None:
                initial = state
            if new != state:
                result.append(_Transition(ts, state[0], utoff, isdst, abbr))
        state = new
    return initial or state, result, ongoing


def _byday(run: list) -> str:
    """The BYDAY (and BYMONTHDAY) that yields every transition date of *run*."""
    wd = _WEEKDAYS[run[0].local.weekday()]
    days = [t.local.day for t in run]
    nths = {(d - 1) // 7 + 1 for d in days}
    if len(nths) == 1 and nths <= {1, 2, 3, 4}:
        return "BYDAY=%d%s" % (nths.pop(), wd)
    if all(t.local.day > calendar.monthrange(t.local.year, t.local.month)[1] - 7 for t in run):
        return "BYDAY=-1" + wd
    low = max(days) - 6
    return "BYMONTHDAY=%s;BYDAY=%s" % (",".join(str(d) for d in range(low, low + 7)), wd)


def _runs(transitions: list) -> list[list]:
    """Group transitions of consecutive years that share offsets, name, month, weekday
    and local time, and whose days fit one 7-day window (so one BYDAY rule)."""
    open_runs: dict = {}
    done = []
    for t in transitions:
        k = t.key()
        run = open_runs.get(k)
        if run is not None:
            days = [x.local.day for x in run] + [t.local.day]
            if run[-1].local.year == t.local.year - 1 and max(days) - min(days) <= 6:
                run.append(t)
                continue
            done.append(run)
        open_runs[k] = [t]
    done.extend(open_runs.values())
    return sorted(done, key=lambda r: r[0].ts)


def _observance(isdst, abbr, before, after, lines) -> list[str]:
    kind = "DAYLIGHT" if isdst else "STANDARD"
    out = ["BEGIN:" + kind] + lines
    if abbr:
        out.append("TZNAME:" + abbr)
    out += ["TZOFFSETFROM:" + _offset(before), "TZOFFSETTO:" + _offset(after), "END:" + kind]
    return out


@functools.lru_cache(maxsize=None)
def vtimezone_text(tzid: str, years: tuple = (1970, 2037)) -> str:
    """VTIMEZONE text (CRLF lines) exact for every instant in *years*, and for later
    ones too where the zone's current rule continues."""
    get_zone(tzid)
    first, last = years
    initial, transitions, ongoing = _transitions(tzid, first, last)
    lines = ["BEGIN:VTIMEZONE", "TZID:" + tzid, "X-LIC-LOCATION:" + tzid]
    # The state at the window start, so instants before the first onset are defined.
    start = dt.datetime(first, 1, 1)
    lines += _observance(initial[1], initial[2], initial[0], initial[0],
                         ["DTSTART:" + _stamp(start)])
    singles: dict = {}
    for run in _runs(transitions):
        t = run[0]
        if len(run) == 1:
            singles.setdefault((t.isdst, t.abbr, t.before, t.after), []).append(t)
            continue
        rule = "RRULE:FREQ=YEARLY;BYMONTH=%d;%s" % (t.local.month, _byday(run))
        if not (ongoing and run[-1].local.year == last):
            # A day after the last onset (the next would be a year later): parsers
            # that compare the UTC UNTIL with local onsets, as dateutil's tzical
            # does, would otherwise drop the last onset east of Greenwich.
            rule += ";UNTIL=" + _stamp(local_time(run[-1].ts + 86400, 0)) + "Z"
        lines += _observance(t.isdst, t.abbr, t.before, t.after,
                             ["DTSTART:" + _stamp(t.local), rule])
    for (isdst, abbr, before, after), group in sorted(singles.items(),
                                                      key=lambda kv: kv[1][0].ts):
        lines += _observance(isdst, abbr, before, after,
                             ["DTSTART:" + _stamp(group[0].local)]
                             + ["RDATE:" + _stamp(t.local) for t in group[1:]])
    lines.append("END:VTIMEZONE")
    return "\r\n".join(lines) + "\r\n"


def vtimezone(tzid: str, *, years: tuple = (1970, 2037)):
    """A fresh vobject VTIMEZONE component for *tzid* (the text is cached; the
    component is not shared, since callers add it to their own calendars).
    Note: vobject registers a parsed VTIMEZONE's tzinfo under its TZID globally
    (``vobject.icalendar.registerTzid``) when none is registered yet."""
    # Parsed inside a VCALENDAR so that vobject gives it the VTIMEZONE behaviour
    # (a TimezoneComponent with ``gettzinfo()``), as it does in a client's calendar.
    calendar_ = vobject.readOne("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//radicale_wcap//EN\r\n"
                                + vtimezone_text(tzid, tuple(years)) + "END:VCALENDAR\r\n")
    return calendar_.vtimezone


@functools.lru_cache(maxsize=8)
def _calendar_text(tzids: tuple) -> str:
    parts = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//radicale_wcap//timezones//EN\r\n"]
    parts += [vtimezone_text(t) for t in tzids]
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts)


def vtimezones_calendar(tzids: Optional[Iterable[str]] = None) -> str:
    """One VCALENDAR holding the VTIMEZONE of each of *tzids* (default: all zones)."""
    if tzids is None:
        return _calendar_text(tuple(all_tzids()))
    return _calendar_text(tuple(tzids))
