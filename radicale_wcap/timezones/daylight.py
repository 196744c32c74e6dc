"""WCAP get_all_timezones' Calendar Express ``TZ`` entries (Table 7-26): a zone's
standard and daylight names and offsets, and the instants it enters and leaves daylight
time in 1987-2087 (`crossovers`)."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Optional

from radicale_wcap.timezones.lookup import UTC, all_tzids, get_zone
from radicale_wcap.timezones.tzif import changes

#: WCAP get_all_timezones' "first known year" and "last known year" (Table 7-26):
#: crossover dates are given for instants in [KNOWN_START, KNOWN_END).
KNOWN_START = dt.datetime(1987, 1, 1, tzinfo=UTC)
KNOWN_END = dt.datetime(2088, 1, 1, tzinfo=UTC)
_KNOWN = (int(KNOWN_START.timestamp()), int(KNOWN_END.timestamp()))

# How far back from the range's end the names and offsets look for daylight time,
# so that a range within one winter still names the zone's daylight time.
_NAME_WINDOW = 366 * 86400


@dataclass(frozen=True)
class Crossovers:
    """One zone as Calendar Express's ``TZ`` (get_all_timezones, Table 7-26):
    standard and daylight abbreviations and offsets (``+HHMM``/``-HHMM``) and the UTC
    instants (``YYYYMMDDTHHMMSSZ``, in time order) the zone enters or leaves daylight
    time.  A zone without daylight time in the range has ``dst_* == std_*`` and no
    dates."""

    tzid: str
    std_name: str
    dst_name: str
    std_offset: str
    dst_offset: str
    dates: tuple[str, ...]


def _hhmm(seconds: int) -> str:
    """``+HHMM`` (WCAP has no seconds; a local mean time's are rounded away)."""
    minutes = round(abs(seconds) / 60)
    return "%s%02d%02d" % ("-" if seconds < 0 else "+", minutes // 60, minutes % 60)


@functools.lru_cache(maxsize=None)
def _type_changes(tzid: str):
    """(instants, states) of the zone in the known years: ``states[0]`` is its type
    (utoff, isdst, abbr) before ``instants[0]``, ``states[i + 1]`` the one from
    ``instants[i]`` on (``tzif.changes``: ~600 zones take a fraction of a second)."""
    get_zone(tzid)
    state, events, _ = changes(tzid, KNOWN_START.year - 1, KNOWN_END.year)
    instants, states = [], [state]
    for ts, utoff, isdst, abbr in events:
        new = (utoff, isdst, abbr)
        if ts >= _KNOWN[1]:
            break
        if ts < _KNOWN[0]:
            states[0] = new
        elif new != states[-1]:
            instants.append(ts)
            states.append(new)
    return tuple(instants), tuple(states)


def _stamp_utc(ts: int) -> str:
    return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=ts)).strftime("%Y%m%dT%H%M%SZ")


def crossovers(tzid: str, start: Optional[dt.datetime] = None,
               end: Optional[dt.datetime] = None) -> Crossovers:
    """The zone's `Crossovers` for the instants in [start, end) (aware datetimes;
    None is the first/last known year, and both are clamped to them).

    The dates are the instants at which the zone's TZif ``isdst`` flag (what
    zoneinfo's ``dst()`` reports as non-zero) changes, in time order, so they strictly
    alternate between entering and leaving daylight time.  Whether the first one
    enters or leaves depends on the zone's state at ``start``: the manual's Los
    Angeles example, whose range starts mid-1998, begins with a leaving one.
    A change of the standard offset alone (America/Caracas 2016) is no crossover; a
    change of the flag alone is one (Europe/Istanbul left daylight time for
    permanent +03 on 2016-09-07 without moving its clocks).

    Names and offsets are the zone's rule at the end of the range: the last
    standard-time type in effect in [min(start, end - 366 days), end) (if none, the
    last one before), and the last daylight type there (the year before the end is
    included so that a range within one winter still names the zone's daylight
    time); a zone without daylight time there repeats its standard name and offset
    (America/Phoenix: MST, MST, -0700, -0700).  For the default range that is the
    zone's rule in 2087, i.e. its current rule (tz data announces no change that far
    ahead), and for a zone that dropped daylight time, its last one.  Zones whose tz
    data has negative DST (Europe/Dublin: IST +0100 standard, GMT +0000 daylight in
    winter) are given as the data says, so that the daylight offset is the one in
    effect between a date that enters and one that leaves.
    """
    lo_ts = _KNOWN[0] if start is None else min(max(int(start.timestamp()), _KNOWN[0]), _KNOWN[1])
    hi_ts = _KNOWN[1] if end is None else min(max(int(end.timestamp()), _KNOWN[0]), _KNOWN[1])
    hi_ts = max(hi_ts, lo_ts)
    instants, states = _type_changes(tzid)
    first, stop = bisect.bisect_left(instants, lo_ts), bisect.bisect_left(instants, hi_ts)
    dates = tuple(_stamp_utc(instants[i]) for i in range(first, stop)
                  if states[i + 1][1] != states[i][1])
    # The types in effect at some instant of the naming window: from the one at its
    # start to the one just before its end (states[stop]).
    window = states[bisect.bisect_right(instants, min(lo_ts, hi_ts - _NAME_WINDOW)):stop + 1]
    dst = next((s for s in reversed(window) if s[1]), None)
    std = next((s for s in reversed(window) if not s[1]), None) \
        or next((s for s in reversed(states[:stop + 1]) if not s[1]), dst)
    dst = dst or std
    return Crossovers(tzid, std[2], dst[2], _hhmm(std[0]), _hhmm(dst[0]), dates)


@functools.lru_cache(maxsize=1)
def _default_crossovers() -> tuple:
    return tuple(crossovers(t) for t in all_tzids())


def all_crossovers(start: Optional[dt.datetime] = None,
                   end: Optional[dt.datetime] = None) -> tuple:
    """`Crossovers` of every zone of `all_tzids` (the default range is computed once
    per process; it is the same for every request)."""
    if start is None and end is None:
        return _default_crossovers()
    return tuple(crossovers(t, start, end) for t in all_tzids())
