"""A zone's changes of UTC offset, daylight flag and abbreviation, read from the TZif
file zoneinfo itself would load (RFC 8536): its explicit transitions, then the POSIX TZ
footer's rule for the years after them.

Both the VTIMEZONE text and get_all_timezones' crossovers are built from these rather
than from zoneinfo's ``utcoffset``: an hour-by-hour walk through ~600 zones would take
an hour, and vobject's ``TimezoneComponent(tzinfo)`` assumes transitions on the hour.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.resources
import os
import re
import struct
import zoneinfo
from typing import Optional


def tzif_bytes(tzid: str) -> bytes:
    """The TZif file zoneinfo itself would load (TZPATH first, then tzdata)."""
    for directory in zoneinfo.TZPATH:
        path = os.path.join(directory, tzid)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                return f.read()
    package, _, name = ("tzdata.zoneinfo/" + tzid).rpartition("/")
    return importlib.resources.files(package.replace("/", ".")).joinpath(name).read_bytes()


def parse_tzif(data: bytes):
    """(transition times, type index per transition, [(utoff, isdst, abbr)], footer)
    per RFC 8536, using the 64-bit block of version 2+ files."""
    if data[:4] != b"TZif":
        raise ValueError("not a TZif file")

    def header(offset):
        return struct.unpack(">6l", data[offset + 20:offset + 44])

    isut, isstd, leap, timecnt, typecnt, charcnt = header(0)
    offset, tsize = 44, 4
    if data[4:5] >= b"2":
        offset += timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut
        isut, isstd, leap, timecnt, typecnt, charcnt = header(offset)
        offset, tsize = offset + 44, 8
    times = struct.unpack(">%d%s" % (timecnt, "q" if tsize == 8 else "l"),
                          data[offset:offset + timecnt * tsize])
    offset += timecnt * tsize
    indices = data[offset:offset + timecnt]
    offset += timecnt
    raw_types = [struct.unpack(">lBB", data[offset + 6 * i:offset + 6 * i + 6])
                 for i in range(typecnt)]
    offset += typecnt * 6
    chars = data[offset:offset + charcnt]
    offset += charcnt + leap * (tsize + 4) + isstd + isut
    types = [(utoff, bool(isdst), chars[ai:chars.index(b"\0", ai)].decode("ascii"))
             for utoff, isdst, ai in raw_types]
    footer = data[offset:].strip(b"\n").decode("ascii") if tsize == 8 else ""
    return list(times), list(indices), types, footer


_POSIX = re.compile(
    r"(?P<std><[^>]+>|[A-Za-z]+)(?P<stdoff>[-+]?[\d:]+)"
    r"(?:(?P<dst><[^>]+>|[A-Za-z]+)(?P<dstoff>[-+]?[\d:]+)?"
    r",M(?P<sm>\d+)\.(?P<sw>\d)\.(?P<sd>\d)(?:/(?P<st>[-+]?[\d:]+))?"
    r",M(?P<em>\d+)\.(?P<ew>\d)\.(?P<ed>\d)(?:/(?P<et>[-+]?[\d:]+))?)?\Z")


def _posix_seconds(text: Optional[str], default: int) -> int:
    if text is None:
        return default
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _posix_rule_date(year: int, month: int, week: int, weekday: int) -> dt.date:
    """POSIX ``Mm.w.d``: weekday d (0 = Sunday) of week w (5 = last) of month m."""
    first = dt.date(year, month, 1)
    day = 1 + (weekday - (first.weekday() + 1) % 7) % 7 + (week - 1) * 7
    last = calendar.monthrange(year, month)[1]
    while day > last:
        day -= 7
    return dt.date(year, month, day)


def _footer_transitions(footer: str, years: range):
    """Transitions of the POSIX TZ footer (the rule after the last explicit one) as
    (utc seconds, utoff, isdst, abbr).  J/n day rules are not used by current tzdata
    for zones with DST and are ignored."""
    m = _POSIX.match(footer or "")
    if not m or not m.group("dst"):
        return []
    std = -_posix_seconds(m.group("stdoff"), 0)
    dst = -_posix_seconds(m.group("dstoff"), -(std + 3600))
    names = [m.group(n).strip("<>") for n in ("std", "dst")]
    result = []
    for year in years:
        for prefix, before, after, isdst, abbr in (("s", std, dst, True, names[1]),
                                                   ("e", dst, std, False, names[0])):
            day = _posix_rule_date(year, int(m.group(prefix + "m")), int(m.group(prefix + "w")),
                                   int(m.group(prefix + "d")))
            local = (calendar.timegm(day.timetuple())
                     + _posix_seconds(m.group(prefix + "t"), 7200))
            result.append((local - before, after, isdst, abbr))
    return sorted(result)


def local_time(ts: int, utoff: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=ts + utoff)


def changes(tzid: str, first_year: int, last_year: int):
    """(the type before the first change, the changes as (utc seconds, utoff, isdst,
    abbr), whether the footer's rule has daylight time): the file's transitions, then
    the footer's from the year of the last one (``first_year`` when there is none)
    through ``last_year``."""
    times, indices, types, footer = parse_tzif(tzif_bytes(tzid))
    events = [(t, *types[i]) for t, i in zip(times, indices)]
    start_year = local_time(times[-1], 0).year if times else first_year
    events += [e for e in _footer_transitions(footer, range(start_year, last_year + 1))
               if not times or e[0] > times[-1]]
    # RFC 8536: type 0 applies before the first transition.
    initial = types[0] if types else (0, False, "UTC")
    rule = _POSIX.match(footer or "")
    return initial, events, bool(rule and rule.group("dst"))
