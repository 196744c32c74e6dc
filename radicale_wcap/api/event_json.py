"""An event as the JSON API answers it (docs/api.md "The JSON event").

Everything but ``cal_item_id``, ``calendar`` and ``version`` follows from the item's
text alone, so it is kept per ETag (the hash of that text): a week view polled again
answers without parsing any event. Parsing the same events again was 85 % of the
list's time (2,000-event calendar, 100 in the week: 370 to 530 ms in process before,
15 to 23 ms after; benchmarks/bench_api_events.py).  A redacted item has its own ETag.
"""

from __future__ import annotations

import datetime as dt

import vobject

from radicale_wcap.api.representation import (
    CUSTOM, ONE_TIME, REC_BY_FREQ, SPECIFIC_DATES, ValidationError, event_end, in_date_range,
    master_vevent, value_of, version_from_etag)
from radicale_wcap.lru import LRU

_RRULE_KEYS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL"}
# Weighed by the item's text plus a dict's own overhead: about 10,000 typical events.
KEPT_BYTES = 24 * 1024 * 1024
_ENTRY_OVERHEAD = 1024
_FIELDS = LRU(KEPT_BYTES)


@in_date_range
def event_to_json(vcalendar_or_vevent, *, cal_item_id: int, calendar: str, etag: str) -> dict:
    return dressed(_fields(master_vevent(vcalendar_or_vevent)),
                   cal_item_id=cal_item_id, calendar=calendar, etag=etag)


def stored_fields(text: str, etag: str) -> dict:
    """What the JSON event of a stored item's text says apart from ``cal_item_id``,
    ``calendar`` and ``version``; parsed only when its ETag is new here.

    Shared with the memo: callers dress it (``dressed``) and never change it.
    """
    fields = _FIELDS.get(etag)
    if fields is None:
        fields = _parsed_fields(text)
        _FIELDS.put(etag, fields, len(text) + _ENTRY_OVERHEAD)
    return fields


def dressed(fields: dict, *, cal_item_id: int, calendar: str, etag: str) -> dict:
    """The JSON event: ``fields`` with what does not follow from the text."""
    return {"cal_item_id": cal_item_id, "itemguid": fields["itemguid"], "calendar": calendar,
            "version": version_from_etag(etag), **fields}


@in_date_range
def _parsed_fields(text: str) -> dict:
    return _fields(master_vevent(vobject.readOne(text)))


def _fields(vevent) -> dict:
    data = {
        "itemguid": value_of(vevent, "uid") or "",
        "title": value_of(vevent, "summary") or "",
        "description": value_of(vevent, "description") or "",
        "location": value_of(vevent, "location") or "",
        "categories": _categories(vevent),
    }
    data.update(_time_to_json(vevent))
    data.update(_recurrence_to_json(vevent))
    return data


def _categories(vevent) -> list[str]:
    out = []
    for prop in vevent.contents.get("categories", []):
        value = prop.value
        out.extend(value if isinstance(value, list) else [value])
    return [str(v) for v in out if v]


def _time_to_json(vevent) -> dict:
    start = value_of(vevent, "dtstart")
    if start is None:
        raise ValidationError("the event has no DTSTART")
    end = event_end(vevent, start)
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


def _recurrence_to_json(vevent) -> dict:
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
