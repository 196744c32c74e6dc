import datetime as dt
import json

import pytest
import vobject

from radicale_wcap.api.errors import ICS_ERRORS, IcsApiError
from radicale_wcap.api.ics_generator import RESPONSE_HEADERS, new_uid, parse_request, render_ics

STAMP = dt.datetime(2021, 12, 10, 14, 12, 5, tzinfo=dt.timezone.utc)
SPEC_REQUEST = {
    "action": "createcalendar",
    "event-title": "Dunder Mifflin Christmas Party",
    "event-description": "Ugly sweaters encouraged! Also bring a gift for Yankee Swap!",
    "event-location": "Fake Address",
    "event-start-datetime": "2021-12-17T11:30:00Z",
    "event-end-datetime": "2021-12-17T13:30:00Z",
    "event-timezone": "America/New_York",
    "all-day-event": False,
}
# The spec's example response, with the times its own rule gives (11:30 in
# New York is 16:30 UTC; the example prints 113000Z).
SPEC_RESPONSE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//GENERIC//NONSGML iCal v1.0//EN
BEGIN:VEVENT
UID:20211210T141205Z-1441339694
DTSTAMP:20211210T141205Z
SUMMARY;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Dunder Mifflin Christmas Party
DTSTART:20211217T163000Z
DTEND:20211217T183000Z
LOCATION;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Fake Address
DESCRIPTION;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Ugly sweaters encouraged! Also bring a gift for Yankee Swap!
END:VEVENT
END:VCALENDAR
"""


def parse(fields=None, drop=(), content_type="application/json", raw=None):
    data = {**SPEC_REQUEST, **(fields or {})}
    for key in drop:
        del data[key]
    body = raw if raw is not None else json.dumps(data).encode()
    return parse_request(body, content_type)


def error_of(**kwargs):
    with pytest.raises(IcsApiError) as info:
        parse(**kwargs)
    return info.value


def test_spec_example_shape_with_rule_correct_times():
    out = render_ics(parse(), strict=False, uid="20211210T141205Z-1441339694", dtstamp=STAMP)
    assert out == SPEC_RESPONSE.replace("\n", "\r\n").encode()
    assert dict(RESPONSE_HEADERS) == {"Content-Type": "text/calendar; charset=utf-8",
                                      "Content-Disposition": "inline; filename=calendar.ics"}


@pytest.mark.parametrize("start, end, tz, dtstart, dtend", [
    ("2021-12-17T11:30:00+09:00", "2021-12-17T13:30:00-02:00", "America/New_York",
     "20211217T163000Z", "20211217T183000Z"),  # offsets ignored
    ("2021-07-01T09:00:00", "2021-07-01T10:00", "Europe/Paris", "20210701T070000Z", "20210701T080000Z"),
    ("20210701T090000Z", "2021-07-01 10:00:00", "Asia/Kolkata", "20210701T033000Z", "20210701T043000Z"),
])
def test_times_read_in_event_timezone(start, end, tz, dtstart, dtend):
    req = parse({"event-start-datetime": start, "event-end-datetime": end, "event-timezone": tz})
    text = render_ics(req, strict=False, uid="u", dtstamp=STAMP).decode()
    assert f"DTSTART:{dtstart}\r\n" in text and f"DTEND:{dtend}\r\n" in text


def test_all_day_spans_utc_days():
    req = parse({"all-day-event": True, "event-start-datetime": "2021-12-17T23:30:00-05:00",
                 "event-end-datetime": "2021-12-19", "event-timezone": "Pacific/Auckland"})
    assert (req.start, req.end) == (dt.datetime(2021, 12, 17, tzinfo=dt.timezone.utc),
                                    dt.datetime(2021, 12, 19, 23, 59, tzinfo=dt.timezone.utc))


def test_action_case_insensitive_and_optional_all_day():
    req = parse({"action": "CreateCalendar"}, drop=["all-day-event"])
    assert req.action == "createcalendar" and req.all_day is False and req.strict is None


def test_strict_mode_escapes_folds_and_parses():
    text = "Café; bring, snacks\\n\n" + "é" * 80
    req = parse({"event-title": text, "event-description": text, "ics-format": "RFC5545"})
    assert req.strict is True
    out = render_ics(req, strict=True, uid="u-1", dtstamp=STAMP)
    assert b"ENCODING" not in out
    lines = out.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")  # folding never splits a character
    event = vobject.readOne(out.decode()).vevent
    assert event.summary.value == text and event.description.value == text
    assert event.uid.value == "u-1"
    assert event.dtstart.value == dt.datetime(2021, 12, 17, 16, 30, tzinfo=dt.timezone.utc)


def test_default_mode_quoted_printable_reads_back():
    text = "Café = fun\nline two "
    out = render_ics(parse({"event-location": text}), strict=False, uid="u", dtstamp=STAMP)
    assert b"LOCATION;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C3=A9 =3D fun=0D=0Aline two=20\r\n" in out
    assert vobject.readOne(out.decode()).vevent.location.value == "Café = fun\r\nline two "


def test_generated_uids_are_unique():
    uids = {new_uid(STAMP) for _ in range(100)}
    assert len(uids) == 100 and all(u.startswith("20211210T141205Z-") for u in uids)
    out = render_ics(parse(), strict=False, dtstamp=STAMP)
    assert b"UID:20211210T141205Z-" in out


def test_store_in_calendar_parsed():
    assert parse({"store-in-calendar": "jdoe:work"}).store_in_calendar == "jdoe:work"
    assert parse().store_in_calendar is None


ERROR_CASES = {
    "API_KEY_MISSING": None, "API_KEY_INVALID": None, "INTERNAL": None,  # endpoint's codes
    "CALENDAR_NOT_FOUND": None, "CALENDAR_FORBIDDEN": None, "METHOD_NOT_ALLOWED": None,
    "TITLE_EMPTY": [dict(drop=["event-title"]), dict(fields={"event-title": "  "}),
                    dict(fields={"event-title": None})],
    "DESCRIPTION_MISSING": [dict(drop=["event-description"])],
    "LOCATION_MISSING": [dict(drop=["event-location"])],
    "START_MISSING": [dict(drop=["event-start-datetime"])],
    "END_MISSING": [dict(drop=["event-end-datetime"])],
    "TIMEZONE_MISSING": [dict(drop=["event-timezone"])],
    "ACTION_MISSING": [dict(drop=["action"])],
    "ACTION_UNKNOWN": [dict(fields={"action": "deletecalendar"})],
    "START_INVALID": [dict(fields={"event-start-datetime": "next friday"})],
    "END_INVALID": [dict(fields={"event-end-datetime": "2021-13-40T00:00"})],
    "TIMEZONE_UNKNOWN": [dict(fields={"event-timezone": "Mars/Olympus"}),
                         dict(fields={"event-timezone": "../etc/passwd"})],
    "END_BEFORE_START": [dict(fields={"event-end-datetime": "2021-12-17T11:00:00"}),
                         dict(fields={"all-day-event": True, "event-end-datetime": "2021-12-16"})],
    "ALL_DAY_INVALID": [dict(fields={"all-day-event": "yes"})],
    "FIELD_NOT_STRING": [dict(fields={"event-location": 42})],
    "CONTENT_TYPE": [dict(content_type="application/x-www-form-urlencoded")],
    "JSON_INVALID": [dict(raw=b"{not json"), dict(raw=b"[1]"), dict(raw=b"\xff")],
    "BODY_TOO_LARGE": [dict(fields={"event-description": "x" * 70000})],
    "CALENDAR_INVALID": [dict(fields={"store-in-calendar": "jdoe/work"}),
                         dict(fields={"store-in-calendar": "jdoe:calendar"})],
    "FORMAT_UNKNOWN": [dict(fields={"ics-format": "xml"})],
}


def test_every_error_code_has_a_case():
    assert set(ERROR_CASES) == {e.name for e in ICS_ERRORS}
    assert len({e.code for e in ICS_ERRORS}) == len(ICS_ERRORS)


@pytest.mark.parametrize("error", [e for e in ICS_ERRORS if ERROR_CASES[e.name]], ids=lambda e: e.name)
def test_error_paths(error):
    for case in ERROR_CASES[error.name]:
        raised = error_of(**case)
        assert (raised.code, raised.http_status) == (error.code, error.http_status), case
        assert raised.body()["status"] == "failure" and raised.body()["error-code"] == error.code


def test_spec_title_error_body():
    assert error_of(fields={"event-title": ""}).body() == {
        "status": "failure", "error-code": "E1703", "error-info": "Title cannot be empty for iCalendar."}


def test_endpoint_codes_from_table():
    error = IcsApiError.of("API_KEY_INVALID")
    assert (error.code, error.http_status) == ("E1702", 401)
    assert IcsApiError.of("CALENDAR_FORBIDDEN", "no").body()["error-info"] == "no"
