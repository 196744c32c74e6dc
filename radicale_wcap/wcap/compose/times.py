"""Time values of a composed component, in the form they are stored.

Times: DTSTART/DTEND/DUE are stored in the request's ``tzid`` zone (``TZID=`` plus its
VTIMEZONE), whether the client sent them with ``Z`` or without (the parameter parser
takes a value without ``Z`` in ``tzid``); RECURRENCE-ID, RDATE and EXDATE follow the
master's DTSTART. Thunderbird sends ``dtstart=20240116T080000Z&tzid=Europe/Berlin``:
stored in UTC, a weekly 09:00 meeting made in January would be at 10:00 in July, and
CalDAV clients would see a UTC event. The instant is never moved (the manual: ``tzid``
does not shift Zulu input); only its zone is kept. Without ``tzid`` (or with a UTC one)
``Z`` values stay UTC; DATE values (isAllDay) are ``VALUE=DATE``, and an all-day
request's date-times are not re-zoned (a UTC midnight west of Greenwich would become
the previous day).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil import tz as du_tz

from radicale_wcap import timezones


def utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in vobject's UTC (vobject 0.9.9 writes ``Z`` only for it)."""
    return value.astimezone(du_tz.UTC)


def zone_of(value) -> str | None:
    """The IANA zone a parsed non-Z request value was given in (None: UTC or DATE)."""
    if isinstance(value, dt.datetime) and isinstance(value.tzinfo, ZoneInfo) \
            and value.tzinfo.key not in ("UTC", "Etc/UTC"):
        return value.tzinfo.key
    return None


def set_time(comp, name: str, value, tzids: set) -> None:
    """Replace ``name`` by one time value, in the form described in the module doc."""
    comp.contents.pop(name, None)
    if value is None:
        return
    line = comp.add(name)
    if not isinstance(value, dt.datetime):
        line.value = value
        line.params["VALUE"] = ["DATE"]
        return
    tzid = zone_of(value)
    if tzid:
        line.value = value.replace(tzinfo=None)
        line.params["TZID"] = [tzid]
        tzids.add(tzid)
    else:
        line.value = utc(value)


def set_time_list(comp, name: str, values, tzids: set) -> None:
    """Replace ``name`` (EXDATE, RDATE) by one line per value, each in `set_time`'s form."""
    comp.contents.pop(name, None)
    lines = []
    for value in values:
        set_time(comp, "x-tmp", value, tzids)
        tmp = comp.contents.pop("x-tmp")[0]
        line = comp.add(name)
        comp.contents[name].remove(line)
        line.value = [tmp.value]
        line.params.update(tmp.params)
        lines.append(line)
    if lines:
        comp.contents[name] = lines


def native(comp, name):
    """The value of a time line as a date or an aware datetime (TZID resolved)."""
    line = comp.contents.get(name, [None])[0]
    if line is None:
        return None
    value = line.value
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dt.datetime):
        return value
    tzid = (line.params.get("TZID") or line.params.get("X-VOBJ-ORIGINAL-TZID") or [None])[0]
    zone = timezones.get_zone(tzid) if tzid and timezones.is_valid_tzid(tzid) else None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone or dt.timezone.utc)
    if zone is not None:
        # vobject resolved the TZID with its own tzinfo; as a zoneinfo zone, `zone_of`
        # knows it, so a RECURRENCE-ID or EXDATE made from it keeps the master's zone.
        return value.astimezone(zone)
    return value


def same_instant(a, b) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        a = a.date() if isinstance(a, dt.datetime) else a
        b = b.date() if isinstance(b, dt.datetime) else b
        return a == b
    return a == b


def in_frame(value, master_start):
    """``value`` (a rid) in the form of the master's DTSTART: DATE, zone or UTC."""
    if master_start is None or value is None:
        return value
    if not isinstance(master_start, dt.datetime):
        return value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, master_start.timetz())
    if zone_of(master_start):
        return value.astimezone(master_start.tzinfo)
    return value.astimezone(dt.timezone.utc)


def as_date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def delta_between(new, old):
    if isinstance(new, dt.datetime) and isinstance(old, dt.datetime):
        return new - old
    return as_date(new) - as_date(old)


def plus(value, delta):
    if not isinstance(value, dt.datetime) and delta.seconds:
        return dt.datetime.combine(value, dt.time(tzinfo=dt.timezone.utc)) + delta
    return value + delta
