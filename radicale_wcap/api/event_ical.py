"""A JSON event written into iCalendar: a new VCALENDAR, or a stored one updated.

The body has passed openapi.json's ``Event`` schema (``validation.py``) before it gets
here: types, shapes, ranges and unknown fields are settled.  What is left is what a
schema can not know: values brought into one form (``"09:00"`` is ``"09:00:00"``,
a Julian Day Number a date), whether a day exists, the zone names, and the rules
that look at the merged event (the stored one with the body's changes).

A PUT only rewrites the property groups whose JSON differs from what a GET would
return now; everything else (ATTENDEE, VALARM, X- properties, a rule the ``rec_*``
fields cannot express) is kept as stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo

import vobject
from dateutil import rrule as du_rrule

from radicale_wcap.api.event_json import event_to_json
from radicale_wcap.api.julian import parse_api_date
from radicale_wcap.api.representation import (
    CUSTOM, FIELDS, FIRST_DAY, LAST_DAY, ONE_TIME, OUT_OF_RANGE, REC_BY_CODE, SPECIFIC_DATES,
    UTC, TzidZone, ValidationError, event_end, in_date_range, master_vevent, touch, value_of)

_TEXT = {"title": "summary", "description": "description", "location": "location"}
_INTEGERS = ("rec_type", "rec_interval", "rec_count")
_DATES = ("starting_date", "ending_date", "rec_until")
_DATE_LISTS = ("rec_dates", "exceptions")


@in_date_range
def json_to_vcalendar(data: dict, *, existing=None, default_tz: str):
    """Create (``existing`` None) or update a VCALENDAR from a JSON event that passed
    the schema (``NewEvent`` to create, ``Event`` to update).

    ``existing`` is not modified; the returned calendar is a copy.
    """
    if existing is None:
        vcalendar = vobject.iCalendar()
        vevent = vcalendar.add("vevent")
        vevent.add("uid").value = data.get("itemguid") or _new_uid()
        vevent.add("dtstamp").value = dt.datetime.now(UTC)
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
        touch(vevent)
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
    """The body's writable fields in the form event_to_json writes them (null lists and
    texts are empty, integral numbers ints, times with seconds, dates ISO)."""
    out = {}
    for field, group in FIELDS.items():
        if group == "readonly" or field not in data:
            continue
        value = data[field]
        if field in _TEXT:
            value = value or ""
        elif field == "categories":
            value = [item or "" for item in value or ()]
        elif field in _INTEGERS:
            value = None if value is None else int(value)
        elif field in ("rec_month_days", "rec_months"):
            value = [int(item) for item in value or ()]
        elif field == "rec_weekdays":
            value = [item.strip().upper() for item in value or ()]
        elif field in ("starting_time", "ending_time"):
            value = None if value is None else value[:5] + ":" + (value[6:8] or "00")
        elif field == "timezone":
            value = None if value is None else _check_tz(value)
        elif field in _DATES:
            value = None if value is None else _date(value, "/" + field)
        elif field in _DATE_LISTS:
            value = [_date(item, "/%s/%d" % (field, index))
                     for index, item in enumerate(value or ())]
        out[field] = value
    if out.get("all_day"):
        out.update(starting_time=None, ending_time=None, timezone=None)
    return out


def _date(value, pointer: str) -> str:
    """A date the schema let through (its form) as ISO; whether that day exists is ours."""
    try:
        return parse_api_date(value).isoformat()
    except ValueError as error:
        raise ValidationError("%s: %s" % (pointer, error)) from None


def _check_tz(value):
    if value != "UTC" and value not in _zone_names():
        raise ValidationError(f"unknown time zone {value!r}")
    return value


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
        return UTC
    # Keep the stored zone object (maybe from the calendar's own VTIMEZONE,
    # maybe not an IANA name) while the client does not change the zone.
    stored = value_of(vevent, "dtstart") if current else None
    if current.get("timezone") == name and isinstance(stored, dt.datetime) and stored.tzinfo:
        return stored.tzinfo
    return TzidZone(name)


def _start_of(vevent, merged, current):
    """DTSTART as the merged JSON describes it (date, naive or aware datetime)."""
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
    length = event_end(vevent, old_start) - old_start
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
