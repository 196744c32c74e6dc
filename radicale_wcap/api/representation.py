"""The JSON event of the Event CRUD API (seed 003): its fields, recurrence kinds and
the iCalendar pieces that both directions share.

Seed 003 only says "grab one and take a look at it", names ``rec_type``
(3 = one-time, anything else recurs), ``starting_date``, ``ending_date`` and
``exceptions`` (``yyyy-mm-dd`` or julian day numbers), and ``cal_item_id`` /
``itemguid``.  The rest of the shape is ours and is documented field by field
in docs/api.md and in openapi.json's ``Event`` schema, which also checks
request bodies (``validation.py``); every field maps onto one iCalendar
property group (``FIELDS`` below), so a GET body sent back as a PUT changes
nothing.

``event_json.py`` reads an event as JSON, ``event_ical.py`` writes JSON into
an event, ``fork.py`` splits an occurrence off a series.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import NamedTuple

from dateutil import tz as du_tz


class ValidationError(ValueError):
    """Bad input the schema can not see; ``message`` is safe to show to the client."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoOccurrence(ValidationError):
    """The fork date is not an occurrence of the series."""


# A day inside datetime's range at both ends, so that the UTC instant of a time in any
# zone (offsets are under a day) and an all-day event's exclusive end exist: the store's
# index and the renderers compute both (9999-12-31 23:00 in Los Angeles was a 500, and
# the item already on disk made every later read of its calendar fail).
FIRST_DAY, LAST_DAY = dt.date(1, 1, 2), dt.date(9999, 12, 30)
OUT_OF_RANGE = f"dates must lie between {FIRST_DAY} and {LAST_DAY}, in UTC too"


def in_date_range(func):
    """Date arithmetic that overflows at the ends of years 1-9999 is the input's fault."""
    @functools.wraps(func)
    def checked(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OverflowError:
            raise ValidationError(OUT_OF_RANGE) from None
    return checked


class RecType(NamedTuple):
    code: int
    freq: str | None  # RRULE FREQ, None when the event has no RRULE
    meaning: str


# Connect Daily's recurrence kinds (its manual, "Recurring Event Types").
# Only 3 = one-time is fixed by seed 003; the other numbers are ours.
REC_TYPES: tuple[RecType, ...] = (
    RecType(0, "DAILY", "every rec_interval days"),
    RecType(1, "WEEKLY", "every rec_interval weeks on rec_weekdays"),
    RecType(2, "MONTHLY", "every rec_interval months on rec_month_days or rec_weekdays (\"2TU\", \"-1FR\")"),
    RecType(3, None, "one-time: no RRULE, no RDATE"),
    RecType(4, "YEARLY", "every rec_interval years, in rec_months, on rec_month_days or rec_weekdays"),
    RecType(5, None, "specific dates: DTSTART plus the RDATEs of rec_dates"),
    RecType(6, None, "custom: an RRULE the rec_* fields cannot express; read-only, kept as is"),
)
REC_BY_CODE = {rec.code: rec for rec in REC_TYPES}
REC_BY_FREQ = {rec.freq: rec for rec in REC_TYPES if rec.freq}
ONE_TIME, SPECIFIC_DATES, CUSTOM = 3, 5, 6

# JSON field -> the iCalendar group it lives in.  "readonly" fields are
# computed by the server and ignored on input.
FIELDS: dict[str, str] = {
    "cal_item_id": "readonly",
    "itemguid": "readonly",  # UID; taken from the body only on create
    "calendar": "readonly",  # the endpoint reads it on create to pick the calendar
    "version": "readonly",
    "rrule": "readonly",
    "title": "SUMMARY",
    "description": "DESCRIPTION",
    "location": "LOCATION",
    "categories": "CATEGORIES",
    "all_day": "time",
    "starting_date": "time",
    "starting_time": "time",
    "ending_date": "time",
    "ending_time": "time",
    "timezone": "time",
    "rec_type": "recurrence",
    "rec_interval": "recurrence",
    "rec_weekdays": "recurrence",
    "rec_month_days": "recurrence",
    "rec_months": "recurrence",
    "rec_count": "recurrence",
    "rec_until": "recurrence",
    "rec_dates": "recurrence",
    "exceptions": "EXDATE",
}
# vobject writes "Z" only for dateutil's tzutc; datetime.timezone.utc makes it
# raise "Unable to guess TZID".
UTC = du_tz.tzutc()


class TzidZone(zoneinfo.ZoneInfo):
    """A ZoneInfo vobject names by its IANA key.

    vobject 0.9.9 looks for ``tzid``/``zone`` and otherwise writes the
    zone's abbreviation (``TZID=EST`` for America/New_York), which loses
    the zone and collides between zones sharing an abbreviation.
    """

    @property
    def tzid(self) -> str:
        return self.key


# --------------------------------------------------------------- versions --

def version_from_etag(etag: str) -> str:
    """The ``version`` field for an ETag: its opaque part (no W/, no quotes)."""
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')


def version_matches(client_version: str, etag: str) -> bool:
    """Whether a client's If-Match value or ``version`` names ``etag``."""
    return client_version.strip() == "*" or version_from_etag(client_version) == version_from_etag(etag)


# ------------------------------------------------------- shared vobject --

def master_vevent(vcalendar_or_vevent):
    """The series' master VEVENT (no RECURRENCE-ID), else the first one."""
    if vcalendar_or_vevent.name == "VEVENT":
        return vcalendar_or_vevent
    vevents = list(getattr(vcalendar_or_vevent, "vevent_list", []))
    if not vevents:
        raise ValidationError("the calendar object holds no VEVENT")
    for vevent in vevents:
        if "recurrence-id" not in vevent.contents:
            return vevent
    return vevents[0]


def value_of(vevent, name):
    prop = vevent.contents.get(name)
    return prop[0].value if prop else None


def event_end(vevent, start):
    end = value_of(vevent, "dtend")
    if end is not None:
        if isinstance(start, dt.datetime) and not isinstance(end, dt.datetime):
            end = dt.datetime.combine(end, dt.time(), start.tzinfo)
        return end
    duration = value_of(vevent, "duration")
    if duration is not None:
        return start + duration
    # RFC 5545 3.6.1: no DTEND/DURATION is one day for a date, zero otherwise.
    return start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else start


def touch(vevent):
    """A changed event's new DTSTAMP, LAST-MODIFIED and SEQUENCE (RFC 5546 clients
    tell a new version from an old one by them)."""
    now = dt.datetime.now(UTC).replace(microsecond=0)
    for name in ("dtstamp", "last-modified"):
        vevent.contents.pop(name, None)
        vevent.add(name).value = now
    sequence = int(value_of(vevent, "sequence") or 0)
    vevent.contents.pop("sequence", None)
    vevent.add("sequence").value = str(sequence + 1)
