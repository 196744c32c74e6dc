"""The JSON event of the Event CRUD API (seed 003) and its iCalendar twin.

Seed 003 only says "grab one and take a look at it", names ``rec_type``
(3 = one-time, anything else recurs), ``starting_date``, ``ending_date`` and
``exceptions`` (``yyyy-mm-dd`` or julian day numbers), and ``cal_item_id`` /
``itemguid``.  The rest of the shape is ours and is documented field by field
in docs/api.md and in openapi.json's ``Event`` schema; every field maps onto
one iCalendar property group (``FIELDS`` below), so a GET body sent back as
a PUT changes nothing.

A PUT only rewrites the property groups whose JSON differs from what a GET
would return now; everything else (ATTENDEE, VALARM, X- properties, a rule the
``rec_*`` fields cannot express) is kept as stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
import zoneinfo
from typing import NamedTuple

import vobject
from dateutil import rrule as du_rrule
from dateutil import tz as du_tz

from radicale_wcap.api.julian import parse_api_date


class ValidationError(ValueError):
    """Bad input; ``message`` is safe to show to the client."""

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


def _in_date_range(func):
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
_TEXT = {"title": "summary", "description": "description", "location": "location"}
_RRULE_KEYS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL"}
_WEEKDAY = re.compile(r"^([+-]?[1-9]\d?)?(MO|TU|WE|TH|FR|SA|SU)$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
# vobject writes "Z" only for dateutil's tzutc; datetime.timezone.utc makes it
# raise "Unable to guess TZID".
_UTC = du_tz.tzutc()
_RECURRENCE_PROPS = ("rrule", "rdate", "exrule", "exdate", "recurrence-id")


class _TzidZone(zoneinfo.ZoneInfo):
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


# ---------------------------------------------------------- iCal -> JSON --

@_in_date_range
def event_to_json(vcalendar_or_vevent, *, cal_item_id: int, calendar: str, etag: str) -> dict:
    vevent = master_vevent(vcalendar_or_vevent)
    data = {
        "cal_item_id": cal_item_id,
        "itemguid": _value(vevent, "uid") or "",
        "calendar": calendar,
        "version": version_from_etag(etag),
        "title": _value(vevent, "summary") or "",
        "description": _value(vevent, "description") or "",
        "location": _value(vevent, "location") or "",
        "categories": _categories(vevent),
    }
    data.update(_time_to_json(vevent))
    data.update(_recurrence_to_json(vevent, data))
    return data


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


def _value(vevent, name):
    prop = vevent.contents.get(name)
    return prop[0].value if prop else None


def _categories(vevent) -> list[str]:
    out = []
    for prop in vevent.contents.get("categories", []):
        value = prop.value
        out.extend(value if isinstance(value, list) else [value])
    return [str(v) for v in out if v]


def _time_to_json(vevent) -> dict:
    start = _value(vevent, "dtstart")
    if start is None:
        raise ValidationError("the event has no DTSTART")
    end = _event_end(vevent, start)
    if not isinstance(start, dt.datetime):
        last_day = end - dt.timedelta(days=1) if end > start else start
        return {"all_day": True, "starting_date": start.isoformat(), "starting_time": None,
                "ending_date": last_day.isoformat(), "ending_time": None, "timezone": None}
    if start.tzinfo is not None and isinstance(end, dt.datetime) and end.tzinfo is not None:
        end = end.astimezone(start.tzinfo)
    return {"all_day": False,
            "starting_date": start.date().isoformat(), "starting_time": start.strftime("%H:%M:%S"),
            "ending_date": end.date().isoformat(), "ending_time": end.strftime("%H:%M:%S"),
            "timezone": _tzid(vevent.dtstart)}


def _event_end(vevent, start):
    end = _value(vevent, "dtend")
    if end is not None:
        if isinstance(start, dt.datetime) and not isinstance(end, dt.datetime):
            end = dt.datetime.combine(end, dt.time(), start.tzinfo)
        return end
    duration = _value(vevent, "duration")
    if duration is not None:
        return start + duration
    # RFC 5545 3.6.1: no DTEND/DURATION is one day for a date, zero otherwise.
    return start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else start


def _tzid(prop) -> str | None:
    value = prop.value
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return None
    for param in ("X-VOBJ-ORIGINAL-TZID", "TZID"):
        if prop.params.get(param):
            return prop.params[param][0]
    for attr in ("key", "zone", "tzid", "_tzid"):
        name = getattr(value.tzinfo, attr, None)
        if isinstance(name, str) and name:
            return name
    return value.tzname()  # "UTC" for dateutil's tzutc and datetime.timezone.utc


def _local_date(value, tzinfo) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and tzinfo is not None:
            value = value.astimezone(tzinfo)
        return value.date()
    return value


def _recurrence_to_json(vevent, time: dict) -> dict:
    start = vevent.dtstart.value
    tzinfo = start.tzinfo if isinstance(start, dt.datetime) else None
    rrules = vevent.contents.get("rrule", [])
    rdates = sorted({_local_date(v, tzinfo) for p in vevent.contents.get("rdate", []) for v in p.value
                     if isinstance(v, (dt.date, dt.datetime))})
    exdates = sorted({_local_date(v, tzinfo) for p in vevent.contents.get("exdate", []) for v in p.value})
    out = {"rec_type": ONE_TIME, "rec_interval": 1, "rec_weekdays": [], "rec_month_days": [],
           "rec_months": [], "rec_count": None, "rec_until": None,
           "rec_dates": [d.isoformat() for d in rdates],
           "exceptions": [d.isoformat() for d in exdates],
           "rrule": rrules[0].value if len(rrules) == 1 else None}
    if not rrules:
        out["rec_type"] = SPECIFIC_DATES if rdates else ONE_TIME
        return out
    parts = _rrule_parts(rrules[0].value) if len(rrules) == 1 else {}
    if len(rrules) > 1 or not set(parts) <= _RRULE_KEYS or parts.get("FREQ") not in REC_BY_FREQ \
            or "exrule" in vevent.contents:
        out["rec_type"] = CUSTOM
        return out
    try:
        out.update({
            "rec_type": REC_BY_FREQ[parts["FREQ"]].code,
            "rec_interval": int(parts.get("INTERVAL", "1")),
            "rec_weekdays": [d for d in parts.get("BYDAY", "").split(",") if d],
            "rec_month_days": [int(d) for d in parts.get("BYMONTHDAY", "").split(",") if d],
            "rec_months": [int(m) for m in parts.get("BYMONTH", "").split(",") if m],
            "rec_count": int(parts["COUNT"]) if "COUNT" in parts else None,
            "rec_until": _until_to_date(parts["UNTIL"], tzinfo).isoformat() if "UNTIL" in parts else None,
        })
    except ValueError:
        out["rec_type"] = CUSTOM
    return out


def _rrule_parts(text: str) -> dict[str, str]:
    parts = {}
    for item in text.strip().split(";"):
        if item:
            key, _, value = item.partition("=")
            parts[key.strip().upper()] = value.strip().upper()
    return parts


def _until_to_date(text: str, tzinfo) -> dt.date:
    if "T" not in text:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    if text.endswith("Z"):
        until = dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        return until.astimezone(tzinfo).date() if tzinfo else until.date()
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%S").date()


# ---------------------------------------------------------- JSON -> iCal --

@_in_date_range
def json_to_vcalendar(data: dict, *, existing=None, default_tz: str):
    """Create (``existing`` None) or update a VCALENDAR from a JSON event.

    ``existing`` is not modified; the returned calendar is a copy.
    """
    if not isinstance(data, dict):
        raise ValidationError("the event must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}")
    if existing is None:
        vcalendar = vobject.iCalendar()
        vevent = vcalendar.add("vevent")
        uid = data.get("itemguid")
        if uid is not None and (not isinstance(uid, str) or not uid.strip()):
            raise ValidationError("itemguid must be a non-empty string")
        vevent.add("uid").value = uid or _new_uid()
        vevent.add("dtstamp").value = dt.datetime.now(_UTC)
        current = {}
    else:
        vcalendar = existing.duplicate(existing)
        vevent = master_vevent(vcalendar)
        current = event_to_json(vevent, cal_item_id=0, calendar="", etag="")

    given = _normalize(data)
    merged = {**_defaults(given, current, default_tz), **given}
    if current.get("all_day") and not merged["all_day"] and "timezone" not in given:
        merged["timezone"] = _check_tz(default_tz)  # an all-day event had no zone
    changed = {group for field, group in FIELDS.items()
               if group != "readonly" and merged.get(field) != current.get(field)}
    if existing is None and not merged.get("title", "").strip():
        raise ValidationError("title is required")

    for field, name in _TEXT.items():
        if FIELDS[field] in changed:
            _set_text(vevent, name, merged[field])
    if "CATEGORIES" in changed:
        vevent.contents.pop("categories", None)
        if merged["categories"]:
            vevent.add("categories").value = merged["categories"]

    start = _start_of(vevent, merged, current)
    if current and "time" in changed and not {"ending_date", "ending_time"} & set(given):
        _keep_duration(merged, current, start, vevent)
    if "time" in changed:
        _write_time(vevent, merged, start)
    if "recurrence" in changed or ("time" in changed and merged["rec_type"] != CUSTOM):
        _write_recurrence(vevent, merged, start)
    if "EXDATE" in changed or "time" in changed:
        _write_dates(vevent, "exdate", merged["exceptions"], start)
    if {"time", "recurrence", "EXDATE"} & changed:
        _check_range(vevent)
    if existing is not None and changed:
        _touch(vevent)
    return vcalendar


def _new_uid() -> str:
    return str(uuid.uuid4())


def _defaults(given: dict, current: dict, default_tz: str) -> dict:
    if current:
        return dict(current)
    all_day = given.get("all_day", given.get("starting_time") is None)
    starting = given.get("starting_date")
    return {
        "title": "", "description": "", "location": "", "categories": [],
        "all_day": all_day, "starting_date": starting, "starting_time": None,
        "ending_date": starting, "ending_time": given.get("starting_time"),
        "timezone": None if all_day else _check_tz(default_tz),
        "rec_type": ONE_TIME, "rec_interval": 1, "rec_weekdays": [], "rec_month_days": [],
        "rec_months": [], "rec_count": None, "rec_until": None, "rec_dates": [], "exceptions": [],
    }


def _normalize(data: dict) -> dict:
    """Check types and bring values into the form event_to_json writes."""
    out = {}
    for field, value in data.items():
        if FIELDS[field] == "readonly":
            continue
        checker = _CHECKERS[field]
        try:
            out[field] = checker(value)
        except ValidationError:
            raise
        except (TypeError, ValueError) as error:
            raise ValidationError(f"{field}: {error}") from None
    if out.get("all_day"):
        out.update(starting_time=None, ending_time=None, timezone=None)
    return out


def _text(value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError("must be a string")
    return value


def _bool(value):
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def _int(minimum, maximum=None, nullable=False):
    def check(value):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("must be an integer")
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(f"must be between {minimum} and {maximum}" if maximum else f"must be >= {minimum}")
        return value
    return check


def _date(nullable=False):
    def check(value):
        if value is None and nullable:
            return None
        if value is None:
            raise TypeError("a date is required")
        return parse_api_date(value).isoformat()
    return check


def _time(value):
    if value is None:
        return None
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"time must be \"HH:MM\" or \"HH:MM:SS\", not {value!r}")
    return f"{match[1]}:{match[2]}:{match[3] or '00'}"


def _list_of(check):
    def check_list(value):
        if value is None:
            return []
        if not isinstance(value, list):
            raise TypeError("must be a list")
        return [check(item) for item in value]
    return check_list


def _weekday(value):
    if not isinstance(value, str) or not _WEEKDAY.match(value.strip().upper()):
        raise ValueError(f"weekday must look like \"MO\" or \"-1FR\", not {value!r}")
    return value.strip().upper()


def _month_day(value):
    value = _int(-31, 31)(value)
    if value == 0:
        raise ValueError("month day 0 does not exist")
    return value


def _rec_type(value):
    value = _int(0)(value)
    if value not in REC_BY_CODE:
        raise ValueError(f"unknown rec_type {value}; known: {sorted(REC_BY_CODE)}")
    return value


def _tz(value):
    return None if value is None else _check_tz(value)


def _check_tz(value):
    if not isinstance(value, str):
        raise TypeError("time zone must be a string")
    if value != "UTC" and value not in _zone_names():
        raise ValidationError(f"unknown time zone {value!r}")
    return value


def _categories_in(value):
    return _list_of(lambda item: _text(item) if item is not None else "")(value)


_CHECKERS = {
    "title": _text, "description": _text, "location": _text, "categories": _categories_in,
    "all_day": _bool, "starting_date": _date(), "starting_time": _time,
    "ending_date": _date(), "ending_time": _time, "timezone": _tz,
    "rec_type": _rec_type, "rec_interval": _int(1, 1000),
    "rec_weekdays": _list_of(_weekday), "rec_month_days": _list_of(_month_day),
    "rec_months": _list_of(_int(1, 12)), "rec_count": _int(1, 100000, nullable=True),
    "rec_until": _date(nullable=True), "rec_dates": _list_of(_date()), "exceptions": _list_of(_date()),
}


@functools.lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _set_text(vevent, name, value):
    vevent.contents.pop(name, None)
    if value:
        vevent.add(name).value = value


def _tzinfo(name, current, vevent):
    if name is None:
        return None
    if name == "UTC":
        return _UTC
    # Keep the stored zone object (maybe from the calendar's own VTIMEZONE,
    # maybe not an IANA name) while the client does not change the zone.
    stored = _value(vevent, "dtstart") if current else None
    if current.get("timezone") == name and isinstance(stored, dt.datetime) and stored.tzinfo:
        return stored.tzinfo
    return _TzidZone(name)


def _start_of(vevent, merged, current):
    """DTSTART as the merged JSON describes it (date, naive or aware datetime)."""
    if merged.get("starting_date") is None:
        raise ValidationError("starting_date is required")
    day = dt.date.fromisoformat(merged["starting_date"])
    if merged["all_day"]:
        return day
    if merged.get("starting_time") is None:
        raise ValidationError("starting_time is required unless all_day is true")
    tzinfo = _tzinfo(merged["timezone"], current, vevent)
    return dt.datetime.combine(day, dt.time.fromisoformat(merged["starting_time"]), tzinfo)


def _keep_duration(merged, current, start, vevent):
    """A request that moves the start and names no end moves the end too."""
    old_start = vevent.dtstart.value
    length = _event_end(vevent, old_start) - old_start
    if merged["all_day"] != current["all_day"]:
        return  # the old length is meaningless in the other unit
    end = start + length
    if merged["all_day"]:
        merged["ending_date"] = (end - dt.timedelta(days=1)).isoformat()
    else:
        merged["ending_date"], merged["ending_time"] = end.date().isoformat(), end.strftime("%H:%M:%S")


def _write_time(vevent, merged, start):
    end_day = dt.date.fromisoformat(merged["ending_date"] or merged["starting_date"])
    if merged["all_day"]:
        if end_day < start:
            raise ValidationError("ending_date is before starting_date")
        end = end_day + dt.timedelta(days=1)  # DTEND is exclusive for dates
    else:
        end_time = dt.time.fromisoformat(merged["ending_time"] or merged["starting_time"])
        end = dt.datetime.combine(end_day, end_time, start.tzinfo)
        if end < start:
            raise ValidationError("the event ends before it starts")
    for name in ("dtstart", "dtend", "duration"):
        vevent.contents.pop(name, None)
    vevent.add("dtstart").value = start
    vevent.add("dtend").value = end


# The widest UTC offsets in use: a floating time is read later in some zone.
_EXTREME_ZONES = (dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12)))


def _check_range(vevent):
    for name in ("dtstart", "dtend", "rdate", "exdate"):
        for prop in vevent.contents.get(name, []):
            for value in prop.value if isinstance(prop.value, list) else [prop.value]:
                if not isinstance(value, dt.datetime):
                    days = [value]
                elif value.tzinfo is not None:
                    days = [value.date(), value.astimezone(dt.timezone.utc).date()]
                else:
                    days = [value.replace(tzinfo=zone).astimezone(dt.timezone.utc).date()
                            for zone in _EXTREME_ZONES] + [value.date()]
                if not all(FIRST_DAY <= day <= LAST_DAY for day in days):
                    raise ValidationError(OUT_OF_RANGE)


def _write_recurrence(vevent, merged, start):
    rec = REC_BY_CODE[merged["rec_type"]]
    if rec.code == CUSTOM:
        if "rrule" not in vevent.contents:
            raise ValidationError("rec_type 6 (custom) cannot be set, only kept")
        return  # the stored rule stays; only rec_dates may have changed
    vevent.contents.pop("rrule", None)
    vevent.contents.pop("exrule", None)
    if rec.code == ONE_TIME and (merged["rec_dates"] or merged["exceptions"]):
        raise ValidationError("a one-time event (rec_type 3) has no rec_dates or exceptions")
    if rec.code == SPECIFIC_DATES and not merged["rec_dates"]:
        raise ValidationError("rec_type 5 (specific dates) needs rec_dates")
    if rec.freq:
        vevent.add("rrule").value = _build_rrule(rec, merged, start)
    _write_dates(vevent, "rdate", merged["rec_dates"], start)


def _build_rrule(rec, merged, start) -> str:
    if merged["rec_count"] is not None and merged["rec_until"] is not None:
        raise ValidationError("rec_count and rec_until exclude each other")
    weekdays = merged["rec_weekdays"]
    if rec.freq in ("DAILY", "WEEKLY") and any(not d[:1].isalpha() for d in weekdays):
        raise ValidationError("numbered weekdays (\"2TU\") need rec_type 2 or 4")
    if rec.freq == "DAILY" and (merged["rec_month_days"] or merged["rec_months"]):
        raise ValidationError("rec_type 0 (daily) takes no rec_month_days or rec_months")
    parts = [f"FREQ={rec.freq}"]
    if merged["rec_interval"] != 1:
        parts.append(f"INTERVAL={merged['rec_interval']}")
    if weekdays:
        parts.append("BYDAY=" + ",".join(weekdays))
    if merged["rec_month_days"]:
        parts.append("BYMONTHDAY=" + ",".join(map(str, merged["rec_month_days"])))
    if merged["rec_months"]:
        parts.append("BYMONTH=" + ",".join(map(str, merged["rec_months"])))
    if merged["rec_count"] is not None:
        parts.append(f"COUNT={merged['rec_count']}")
    if merged["rec_until"] is not None:
        until = dt.date.fromisoformat(merged["rec_until"])
        start_day = start if not isinstance(start, dt.datetime) else start.date()
        if until < start_day:
            raise ValidationError("rec_until is before starting_date")
        parts.append("UNTIL=" + _until_text(until, start))
    text = ";".join(parts)
    try:
        du_rrule.rrulestr(text, dtstart=start if isinstance(start, dt.datetime)
                          else dt.datetime.combine(start, dt.time()))
    except (ValueError, TypeError) as error:
        raise ValidationError(f"recurrence: {error}") from None
    return text


def _until_text(until: dt.date, start) -> str:
    """RFC 5545 3.3.10: UNTIL has DTSTART's value type, in UTC when DTSTART is zoned."""
    if not isinstance(start, dt.datetime):
        return until.strftime("%Y%m%d")
    last = dt.datetime.combine(until, dt.time(23, 59, 59), start.tzinfo)
    if start.tzinfo is None:
        return last.strftime("%Y%m%dT%H%M%S")
    return last.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _write_dates(vevent, name, dates, start):
    """EXDATE/RDATE values on DTSTART's time of day, zone and value type."""
    vevent.contents.pop(name, None)
    if not dates:
        return
    values = [_on_day(dt.date.fromisoformat(d), start) for d in dates]
    vevent.add(name).value = values


def _on_day(day: dt.date, start):
    if isinstance(start, dt.datetime):
        return dt.datetime.combine(day, start.timetz())
    return day


def _touch(vevent):
    now = dt.datetime.now(_UTC).replace(microsecond=0)
    for name in ("dtstamp", "last-modified"):
        vevent.contents.pop(name, None)
        vevent.add(name).value = now
    sequence = int(_value(vevent, "sequence") or 0)
    vevent.contents.pop("sequence", None)
    vevent.add("sequence").value = str(sequence + 1)


# ------------------------------------------------------------------ fork --

@_in_date_range
def fork_occurrence(vcalendar, starting_date, *, new_uid: str):
    """Seed 003 "Fork Instance of Recurring Event".

    Returns ``(series, clone)``: the series with an EXDATE for the
    occurrence, and a new one-time event on that date with the series'
    times and fields (taken from the occurrence's override when the series
    has one, which is then dropped from the series).  ``vcalendar`` is not
    modified.
    """
    if not isinstance(starting_date, dt.date):
        try:
            starting_date = parse_api_date(starting_date)
        except ValueError as error:
            raise ValidationError(f"starting_date: {error}") from None
    series = vcalendar.duplicate(vcalendar)
    master = master_vevent(series)
    occurrence = _occurrence_on(master, starting_date)

    source = master
    for vevent in list(series.vevent_list):
        rid = _value(vevent, "recurrence-id")
        if vevent is not master and rid is not None and _same_instant(rid, occurrence):
            source = vevent
            series.remove(vevent)
    clone_vevent = source.duplicate(source)
    for name in _RECURRENCE_PROPS + ("sequence", "dtstamp", "last-modified", "uid"):
        clone_vevent.contents.pop(name, None)
    clone_vevent.add("uid").value = new_uid
    clone_vevent.add("dtstamp").value = dt.datetime.now(_UTC).replace(microsecond=0)
    if source is master:
        start = master.dtstart.value
        end = _event_end(master, start)
        for name in ("dtstart", "dtend"):
            clone_vevent.contents.pop(name, None)
        clone_vevent.add("dtstart").value = occurrence
        if "duration" not in clone_vevent.contents:
            clone_vevent.add("dtend").value = occurrence + (end - start)

    master.add("exdate").value = [occurrence]
    _touch(master)

    clone = vobject.iCalendar()
    for vtimezone in getattr(series, "vtimezone_list", []):
        clone.add(vtimezone.duplicate(vtimezone))
    clone.add(clone_vevent)
    return series, clone


def _occurrence_on(master, day: dt.date):
    """The series' occurrence starting on ``day`` (wall time of DTSTART's zone)."""
    if not any(name in master.contents for name in ("rrule", "rdate")):
        raise NoOccurrence("the event is not recurring")
    start = master.dtstart.value
    rruleset = master.getrruleset(addRDate=True)
    if isinstance(start, dt.datetime):
        low = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), start.tzinfo)
    else:
        low = dt.datetime.combine(day - dt.timedelta(days=1), dt.time())
    for occurrence in rruleset.xafter(low, inc=True):
        if occurrence.date() > day:
            break
        if occurrence.date() == day:
            return occurrence if isinstance(start, dt.datetime) else occurrence.date()
    raise NoOccurrence(f"the series has no occurrence on {day.isoformat()}")


def _same_instant(a, b) -> bool:
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        return False
    if isinstance(a, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b
