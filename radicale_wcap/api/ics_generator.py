"""The ICS generator: ``POST /api/ics`` (seed 002), minus HTTP and the store.

``parse_request`` turns the JSON body into an :class:`IcsRequest` or raises
:class:`~radicale_wcap.api.errors.IcsApiError` (the E17xx table lives in
``errors.py``); ``render_ics`` writes the calendar.  The endpoint checks the
``x-api-key`` and stores the event when ``store-in-calendar`` asks for it.

Times follow the spec's *rule*, not its example: the offset or ``Z`` of a
datetime string is ignored and the wall time is read in ``event-timezone``,
so ``2021-12-17T11:30:00Z`` in ``America/New_York`` is ``20211217T163000Z``
(the spec's example prints ``113000Z``, contradicting its own rule).  All-day
events run from 00:00 UTC of the start date to 23:59 UTC of the end date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import secrets
import zoneinfo

import vobject

from radicale_wcap.api import request as request_mod
from radicale_wcap.api.errors import ICS_BY_NAME, IcsApiError
from radicale_wcap.api.validation import Problem, problems
from radicale_wcap.ical_text import escape_text, fold

MAX_BODY_BYTES = 64 * 1024
PRODID = "-//GENERIC//NONSGML iCal v1.0//EN"
RESPONSE_HEADERS = (
    ("Content-Type", "text/calendar; charset=utf-8"),
    ("Content-Disposition", "inline; filename=calendar.ics"),
)

# openapi.json's IcsRequest checks the body; its failures become the spec's codes:
# field -> (absent or null, any other failure). A text field of another type is
# FIELD_NOT_STRING. The first failure in the schema's field order is reported.
SCHEMA_ERRORS = {
    "action": ("ACTION_MISSING", "ACTION_UNKNOWN"),
    "event-title": ("TITLE_EMPTY", "TITLE_EMPTY"),
    "event-description": ("DESCRIPTION_MISSING", None),
    "event-location": ("LOCATION_MISSING", None),
    "event-start-datetime": ("START_MISSING", None),
    "event-end-datetime": ("END_MISSING", None),
    "event-timezone": ("TIMEZONE_MISSING", None),
    "all-day-event": (None, "ALL_DAY_INVALID"),
    "store-in-calendar": (None, "CALENDAR_INVALID"),
    "ics-format": (None, "FORMAT_UNKNOWN"),
}


@dataclasses.dataclass(frozen=True)
class IcsRequest:
    action: str
    title: str
    description: str
    location: str
    start: dt.datetime  # aware, UTC
    end: dt.datetime  # aware, UTC
    timezone: str
    all_day: bool = False
    store_in_calendar: str | None = None  # our extension: a calid
    ics_format: str | None = None  # our extension: "spec", "rfc5545" or unset

    @property
    def strict(self) -> bool | None:
        """The body's choice of output, ``None`` to let the server decide."""
        return None if self.ics_format is None else self.ics_format == "rfc5545"


def parse_request(body: bytes, content_type: str | None, *,
                  max_bytes: int = MAX_BODY_BYTES) -> IcsRequest:
    if len(body) > max_bytes:
        raise IcsApiError.of("BODY_TOO_LARGE", f"The request body exceeds {max_bytes} bytes.")
    if not _is_json_type(content_type):
        raise IcsApiError.of("CONTENT_TYPE")
    try:
        data = request_mod.loads(body)
    except request_mod.BadJson:
        raise IcsApiError.of("JSON_INVALID") from None
    found = problems("IcsRequest", data)
    if found:
        raise _schema_failure(found[0])

    tz_name = data["event-timezone"].strip()
    if tz_name not in _zone_names():
        raise IcsApiError.of("TIMEZONE_UNKNOWN", f"Unknown time zone {tz_name!r}.")
    start_local = _wall_time(data["event-start-datetime"], "START_INVALID")
    end_local = _wall_time(data["event-end-datetime"], "END_INVALID")

    all_day = bool(data.get("all-day-event"))
    if all_day:
        start = dt.datetime.combine(start_local.date(), dt.time(0, 0), dt.timezone.utc)
        end = dt.datetime.combine(end_local.date(), dt.time(23, 59), dt.timezone.utc)
    else:
        zone = zoneinfo.ZoneInfo(tz_name)
        start = _in_utc(start_local, zone, "START_INVALID")
        end = _in_utc(end_local, zone, "END_INVALID")
    if end < start:
        raise IcsApiError.of("END_BEFORE_START")

    return IcsRequest(
        action=data["action"].strip().lower(),
        title=data["event-title"],
        description=data["event-description"],
        location=data["event-location"],
        start=start, end=end, timezone=tz_name, all_day=all_day,
        store_in_calendar=data.get("store-in-calendar"),
        ics_format=(data.get("ics-format") or "").lower() or None,
    )


def _schema_failure(problem: Problem) -> IcsApiError:
    """The spec's code for the first way the body fails IcsRequest."""
    if problem.field not in SCHEMA_ERRORS:
        return IcsApiError.of("JSON_INVALID", "The request body is not a JSON object.")
    missing, invalid = SCHEMA_ERRORS[problem.field]
    if problem.missing and missing:
        return IcsApiError.of(missing)
    if invalid is None or (problem.keyword == "type" and missing):
        return IcsApiError.of("FIELD_NOT_STRING", f"{problem.message}.")
    return IcsApiError.of(invalid)


def render_ics(req: IcsRequest, *, strict: bool, uid: str | None = None,
               dtstamp: dt.datetime | None = None) -> bytes:
    """The calendar file, in the spec's shape or (``strict``) RFC 5545.

    The spec's shape marks SUMMARY, LOCATION and DESCRIPTION
    ``ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8`` (a vCalendar 1.0 habit that
    Outlook honours); we encode the values accordingly, so the spec's ASCII
    example comes out byte for byte and vobject reads back the original
    text.  Lines are not folded in that shape: a folded quoted-printable
    value is read differently by different clients.  ``strict`` drops the
    parameters, escapes TEXT and folds at 75 octets.
    """
    dtstamp = dtstamp or dt.datetime.now(dt.timezone.utc)
    uid = uid or new_uid(dtstamp)
    if strict:
        def text(name, value):
            return fold(f"{name}:{escape_text(value)}")
    else:
        def text(name, value):
            return f"{name};ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:{_quoted_printable(value)}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "BEGIN:VEVENT",
        fold(f"UID:{escape_text(uid)}") if strict else f"UID:{uid}",
        f"DTSTAMP:{_utc(dtstamp)}",
        text("SUMMARY", req.title),
        f"DTSTART:{_utc(req.start)}",
        f"DTEND:{_utc(req.end)}",
        text("LOCATION", req.location),
        text("DESCRIPTION", req.description),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def event_vcalendar(req: IcsRequest, *, uid: str, dtstamp: dt.datetime):
    """The generated event as a vobject VCALENDAR, for ``store-in-calendar``.

    Built from the strict rendering so that the stored event and the
    downloaded one cannot drift apart.
    """
    return vobject.readOne(render_ics(req, strict=True, uid=uid, dtstamp=dtstamp).decode("utf-8"))


def new_uid(dtstamp: dt.datetime) -> str:
    """``<stamp>-<random>`` like the spec's ``20211210T141205Z-1441339694``.

    63 random bits instead of the example's ~31 keep two calendars generated
    in the same second apart.
    """
    return f"{_utc(dtstamp)}-{secrets.randbits(63)}"


def _is_json_type(content_type: str | None) -> bool:
    # curl -d without -H sends form-urlencoded; the spec's example sets
    # application/json.  A missing header is accepted (the body must still be
    # JSON), anything else is refused.
    if not content_type:
        return True
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


@functools.lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _wall_time(text: str, error: str) -> dt.datetime:
    """The naive wall time of an ISO 8601 date or date-time, offset dropped."""
    value = text.strip()
    try:
        if len(value) in (8, 10) and "T" not in value.upper():
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise IcsApiError.of(error, f"{ICS_BY_NAME[error].info[:-1]}: {text!r}.") from None
    return parsed.replace(tzinfo=None)


def _in_utc(wall: dt.datetime, zone, error: str) -> dt.datetime:
    # 9999-12-31T23:00 in New York has no UTC instant (datetime ends the year before): a 500.
    try:
        return wall.replace(tzinfo=zone).astimezone(dt.timezone.utc)
    except OverflowError:
        raise IcsApiError.of(error, f"{ICS_BY_NAME[error].info[:-1]}: it is outside years "
                                    "1-9999 in UTC.") from None


def _utc(value: dt.datetime) -> str:
    # Not strftime("%Y"): glibc writes year 1 as "1", and "10101T000000Z" is no DATE-TIME.
    value = value.astimezone(dt.timezone.utc)
    return (f"{value.year:04d}{value.month:02d}{value.day:02d}"
            f"T{value.hour:02d}{value.minute:02d}{value.second:02d}Z")


def _quoted_printable(value: str) -> str:
    """RFC 2045 quoted-printable without soft line breaks (see render_ics)."""
    raw = value.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    out = []
    for index, byte in enumerate(raw):
        printable = 33 <= byte <= 126 and byte != ord("=")
        inner_space = byte == 0x20 and index != len(raw) - 1
        out.append(chr(byte) if printable or inner_space else f"={byte:02X}")
    return "".join(out)
