"""What a recurring series is made of: its components, their DTSTART (or DUE), the
length of one instance, RDATE/EXDATE values, and the frame they are expanded in.

Values keep their iCalendar kind: all-day instances are ``date`` objects, timed
instances are UTC-aware ``datetime`` objects, floating instances stay naive unless a
``default_tz`` says where they float.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import vobject

from radicale_wcap.timezones import UnknownTimezone, get_zone

UTC = dt.timezone.utc

#: Components that may recur (RFC 5545 3.8.5: VEVENT, VTODO, VJOURNAL).
RECURRING_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")


def prop_value(comp, name: str):
    """First value of property *name*, TZID resolved even without a VTIMEZONE."""
    lines = comp.contents.get(name.lower())
    if not lines:
        return None
    return resolve_tzid(lines[0], lines[0].value)


def resolve_tzid(line, value):
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


def tzinfo_for(default_tz) -> dt.tzinfo:
    if default_tz is None:
        return UTC
    if isinstance(default_tz, str):
        return get_zone(default_tz)
    return default_tz


def instant(value, floating_tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of a DATE, floating or aware DATE-TIME (dates start at midnight)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=floating_tz)
    return value.astimezone(UTC)


def public_value(value, floating_tz: Optional[dt.tzinfo]):
    """Output form: dates stay dates, aware values become UTC, floating values become
    UTC only when the caller said where they float."""
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        if floating_tz is None:
            return value
        value = value.replace(tzinfo=floating_tz)
    return value.astimezone(UTC)


class Frame:
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



def rule_lines(comp, name: str) -> list[str]:
    return [line.value for line in comp.contents.get(name, ())]


def date_values(comp, name: str) -> list:
    """RDATE/EXDATE values; a PERIOD RDATE contributes its start."""
    values = []
    for line in comp.contents.get(name, ()):
        items = line.value if isinstance(line.value, list) else [line.value]
        for v in resolve_tzid(line, items):
            if isinstance(v, tuple):
                v = v[0]
            if isinstance(v, (dt.date, dt.datetime)):
                values.append(v)
    return values


def recurring_components(source) -> list:
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
        result.extend(recurring_components(item))
    return result


def anchor(comp):
    """DTSTART, or DUE for a VTODO without DTSTART (as vobject and RFC 4791 9.9 do)."""
    start = prop_value(comp, "dtstart")
    if start is None and comp.name.upper() == "VTODO":
        start = prop_value(comp, "due")
    return start


def instance_length(comp, start) -> dt.timedelta:
    """Length of one instance: DTEND/DUE minus start, DURATION, else one day for a DATE
    and zero for a DATE-TIME (RFC 5545 3.6.1)."""
    duration = prop_value(comp, "duration")
    if isinstance(duration, dt.timedelta):
        return max(duration, dt.timedelta(0))
    end = prop_value(comp, "dtend")
    if end is None and comp.name.upper() == "VTODO" and prop_value(comp, "dtstart") is not None:
        end = prop_value(comp, "due")
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


def is_this_and_future(comp) -> bool:
    line = comp.contents.get("recurrence-id", [None])[0]
    if line is None:
        return False
    return any(v.upper() == "THISANDFUTURE" for v in line.params.get("RANGE", ()))


def is_recurring(comp) -> bool:
    return any(comp.contents.get(n) for n in ("rrule", "rdate", "exrule", "exdate"))
