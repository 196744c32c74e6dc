import datetime as dt
import zoneinfo

import pytest
import vobject

from radicale_wcap.api.event_ical import json_to_vcalendar
from radicale_wcap.api.event_json import event_to_json
from radicale_wcap.api.fork import fork_occurrence
from radicale_wcap.api.representation import (
    NoOccurrence, ValidationError, version_from_etag, version_matches)
from radicale_wcap.api.validation import problems

ETAG = '"5e1f-abc"'


def reparse(vcalendar):
    return vobject.readOne(vcalendar.serialize())


def to_json(vcalendar, **kw):
    return event_to_json(reparse(vcalendar), cal_item_id=kw.get("cal_item_id", 1),
                         calendar="jdoe", etag=ETAG)


def create(**data):
    return json_to_vcalendar({"title": "T", **data}, existing=None, default_tz="Europe/Paris")


EXISTING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:series-1
DTSTAMP:20240101T000000Z
DTSTART;TZID=America/New_York:20240105T180000
DURATION:PT90M
RRULE:FREQ=WEEKLY;BYDAY=FR;COUNT=10
SUMMARY:Choir practice
LOCATION:Hall
ATTENDEE;CN=Ann:mailto:ann@example.com
X-CUSTOM-THING:keep me
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:soon
TRIGGER:-PT15M
END:VALARM
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.parametrize("data", [
    dict(starting_date="2024-03-04", starting_time="09:30", ending_time="10:15:30", timezone="Europe/Paris"),
    dict(starting_date="2024-03-04", starting_time="23:00", ending_date="2024-03-05", ending_time="01:00",
         timezone="UTC"),
    dict(starting_date="2024-03-04", starting_time="08:00", ending_time="09:00", timezone=None),  # floating
    dict(all_day=True, starting_date="2024-03-04", ending_date="2024-03-06"),
    dict(starting_date="2024-03-04", starting_time="09:00", timezone="America/New_York",
         rec_type=1, rec_weekdays=["MO", "WE"], rec_until="2024-04-01", exceptions=["2024-03-06"]),
    dict(starting_date="2024-03-04", starting_time="09:00", rec_type=1, rec_interval=2,
         rec_weekdays=["MO"], rec_count=5),
    dict(all_day=True, starting_date="2024-01-31", rec_type=2, rec_month_days=[-1], rec_count=3),
    dict(all_day=True, starting_date="2024-03-12", rec_type=2, rec_weekdays=["2TU"]),
    dict(starting_date="2024-03-04", starting_time="09:00", rec_type=4, rec_months=[3], rec_month_days=[4]),
    dict(starting_date="2024-03-04", starting_time="09:00", rec_type=0, rec_interval=3,
         rec_until="2024-03-31"),
    dict(all_day=True, starting_date="2024-03-04", rec_type=5, rec_dates=["2024-04-01", "2024-05-06"]),
    dict(starting_date="2024-03-04", starting_time="09:00", rec_type=3),
], ids=lambda d: str(d.get("rec_type", "one")) + ("-allday" if d.get("all_day") else ""))
def test_round_trip(data):
    out = to_json(create(**data))
    for key, value in data.items():
        expected = value
        if key in ("starting_time", "ending_time") and len(value) == 5:
            expected = value + ":00"
        assert out[key] == expected, key
    assert out["title"] == "T" and out["version"] == "5e1f-abc"
    # A GET body sent back as a PUT changes nothing.
    again = json_to_vcalendar(out, existing=reparse(create(**data)), default_tz="UTC")
    assert {k: v for k, v in to_json(again).items() if k != "itemguid"} == \
           {k: v for k, v in out.items() if k != "itemguid"}


def test_one_time_defaults_and_ical_shape():
    cal = reparse(create(starting_date="2024-03-04", starting_time="09:00"))
    event = cal.vevent
    assert event.dtstart.value == dt.datetime(2024, 3, 4, 9, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    assert event.dtstart.params["X-VOBJ-ORIGINAL-TZID"] == ["Europe/Paris"]
    assert "rrule" not in event.contents
    out = to_json(cal)
    assert (out["rec_type"], out["timezone"], out["ending_time"], out["all_day"]) == (3, "Europe/Paris", "09:00:00", False)


def test_all_day_dtend_is_exclusive():
    event = reparse(create(all_day=True, starting_date="2024-03-04", ending_date="2024-03-06")).vevent
    assert (event.dtstart.value, event.dtend.value) == (dt.date(2024, 3, 4), dt.date(2024, 3, 7))


def test_julian_dates_accepted():
    out = to_json(create(all_day=True, starting_date=2460374, ending_date="2460375",
                         rec_type=0, rec_until=2460380, exceptions=[2460376]))
    assert (out["starting_date"], out["ending_date"], out["rec_until"], out["exceptions"]) == \
           ("2024-03-04", "2024-03-05", "2024-03-10", ["2024-03-06"])


def test_weekly_until_is_utc_end_of_local_day():
    event = reparse(create(starting_date="2024-03-04", starting_time="09:00", timezone="America/New_York",
                           rec_type=1, rec_until="2024-03-25")).vevent
    assert event.rrule.value == "FREQ=WEEKLY;UNTIL=20240326T035959Z"
    assert list(event.getrruleset())[-1].date() == dt.date(2024, 3, 25)


def test_partial_update_keeps_other_properties():
    existing = vobject.readOne(EXISTING)
    updated = reparse(json_to_vcalendar({"title": "Choir (moved)", "starting_time": "19:00"},
                                        existing=existing, default_tz="UTC"))
    event = updated.vevent
    assert event.summary.value == "Choir (moved)"
    assert event.attendee.value == "mailto:ann@example.com" and event.attendee.params["CN"] == ["Ann"]
    assert event.valarm.trigger.value == dt.timedelta(minutes=-15)
    assert event.x_custom_thing.value == "keep me" and event.location.value == "Hall"
    assert event.rrule.value == "FREQ=WEEKLY;BYDAY=FR;COUNT=10"
    assert event.dtstart.value.hour == 19 and event.dtend.value.hour == 20  # 90 minutes kept
    assert event.sequence.value == "1"
    assert existing.vevent.summary.value == "Choir practice"  # input untouched


def test_unchanged_put_keeps_custom_rule_and_duration():
    existing = vobject.readOne(EXISTING.replace("COUNT=10", "BYSETPOS=1;COUNT=10"))
    out = event_to_json(existing, cal_item_id=3, calendar="jdoe", etag=ETAG)
    assert out["rec_type"] == 6 and out["rrule"] == "FREQ=WEEKLY;BYDAY=FR;BYSETPOS=1;COUNT=10"
    event = reparse(json_to_vcalendar(out, existing=existing, default_tz="UTC")).vevent
    assert event.rrule.value == out["rrule"] and "duration" in event.contents
    assert "sequence" not in event.contents  # nothing changed, nothing touched
    with pytest.raises(ValidationError):
        create(starting_date="2024-03-04", rec_type=6)


def test_update_all_day_to_timed_uses_default_zone():
    existing = reparse(create(all_day=True, starting_date="2024-03-04"))
    out = to_json(json_to_vcalendar({"all_day": False, "starting_time": "10:00"}, existing=existing,
                                    default_tz="Asia/Tokyo"))
    assert (out["timezone"], out["starting_time"], out["ending_date"]) == ("Asia/Tokyo", "10:00:00", "2024-03-04")


def refusal(data) -> tuple[str, str]:
    """(who refused the new event: "schema" or "code", the message)."""
    body = {"title": "T", **data}
    found = problems("NewEvent", body)
    if found:
        return "schema", found[0].message
    with pytest.raises(ValidationError) as info:
        json_to_vcalendar(body, existing=None, default_tz="UTC")
    return "code", info.value.message


# The schema (openapi.json) refuses what it can say; the code what needs the
# merged event, the tz database or the calendar.
@pytest.mark.parametrize("data, who, words", [
    (dict(starting_date="2024-03-04", starting_time="09:00", timezone="Mars/Base"), "code", "time zone"),
    (dict(starting_date="2024-03-04", starting_time="09:00", ending_time="08:00"), "code", "before"),
    (dict(all_day=True, starting_date="2024-03-04", ending_date="2024-03-03"), "code", "before"),
    (dict(starting_date="03/04/2024"), "schema", "/starting_date: \"03/04/2024\" is not a date"),
    (dict(starting_date="2024-02-30"), "code", "/starting_date: not a calendar date"),
    (dict(starting_date="0"), "code", "/starting_date: julian day number 0 is outside"),
    (dict(starting_date="2024-03-04", starting_time="9am"), "schema", "/starting_time"),
    (dict(starting_date="2024-03-04", all_day="yes"), "schema", "/all_day: must be true or false"),
    (dict(starting_date="2024-03-04", title=5), "schema", "/title: must be a string"),
    (dict(starting_date="2024-03-04", rec_type=9), "schema", "/rec_type"),
    (dict(starting_date="2024-03-04", rec_type=True), "schema", "/rec_type: must be an integer"),
    (dict(starting_date="2024-03-04", rec_interval=1001), "schema", "/rec_interval: must be at most 1000"),
    (dict(starting_date="2024-03-04", rec_type=1, rec_count=100001), "schema", "/rec_count"),
    (dict(starting_date="2024-03-04", rec_type=1, rec_count=3, rec_until="2024-05-01"), "code", "exclude"),
    (dict(starting_date="2024-03-04", rec_type=1, rec_weekdays=["MO", "XX"]), "schema", "/rec_weekdays/1"),
    (dict(starting_date="2024-03-04", rec_type=1, rec_weekdays=["2MO"]), "code", "numbered"),
    (dict(starting_date="2024-03-04", rec_type=2, rec_month_days=[0]), "schema",
     "/rec_month_days/0: must not be 0"),
    (dict(starting_date="2024-03-04", rec_type=1, rec_until="2024-01-01"), "code", "rec_until"),
    (dict(starting_date="2024-03-04", rec_type=5), "code", "rec_dates"),
    (dict(starting_date="2024-03-04", exceptions=["2024-03-05"]), "code", "one-time"),
    (dict(starting_date="2024-03-04", exceptions=["2024-03-05", "x"]), "schema", "/exceptions/1"),
    (dict(starting_date="2024-03-04", colour="red"), "schema", "unknown field(s): \"colour\""),
    (dict(starting_date="2024-03-04", itemguid="  "), "schema", "/itemguid"),
    (dict(starting_date="2024-03-04", calendar="jdoe:calendar"), "schema", "/calendar"),
    (dict(starting_date="2024-03-04", version=3), "schema", "/version"),
    (dict(), "schema", "/starting_date: is required"),
    (dict(starting_date="2024-03-04", title=""), "schema", "/title"),
    (dict(starting_date="2024-03-04", title=" " * 10 ** 6), "schema", "..."),  # shortened
])
def test_validation_errors(data, who, words):
    refused_by, message = refusal(data)
    assert (refused_by, words in message) == (who, True), message
    assert len(message) < 200


@pytest.mark.parametrize("data", [
    dict(starting_date=2460374.0, rec_type=0, rec_interval=2.0, rec_count=3.0),  # integral numbers
    dict(starting_date="2024-03-04", title=None, description=None, categories=None),
    dict(starting_date="2460374", calendar="", itemguid=None, rec_weekdays=None),
])
def test_schema_accepts_what_the_code_reads(data):
    assert refusal_free(data)


def refusal_free(data) -> bool:
    body = {"title": "T", **data} if data.get("title", "T") is not None else data
    if problems("Event", body):
        return False
    out = to_json(json_to_vcalendar(body, existing=None, default_tz="UTC"))
    return out["starting_date"] == "2024-03-04" and out["rec_interval"] in (1, 2)


def test_version_from_etag_and_match():
    assert version_from_etag('W/"abc"') == "abc" == version_from_etag('"abc"')
    assert version_matches('"abc"', 'W/"abc"') and version_matches("abc", '"abc"')
    assert version_matches("*", '"x"') and not version_matches('"abd"', '"abc"')


def test_fork_on_occurrence_day():
    series, clone = fork_occurrence(vobject.readOne(EXISTING), "2024-01-19", new_uid="clone-1")
    series, clone = reparse(series), reparse(clone)
    ny = zoneinfo.ZoneInfo("America/New_York")
    assert series.vevent.exdate.value == [dt.datetime(2024, 1, 19, 18, tzinfo=ny)]
    occurrences = list(series.vevent.getrruleset(addRDate=True))
    assert dt.datetime(2024, 1, 19, 18, tzinfo=ny) not in occurrences and len(occurrences) == 9
    event = clone.vevent
    assert event.uid.value == "clone-1" and event.summary.value == "Choir practice"
    assert event.dtstart.value == dt.datetime(2024, 1, 19, 18, tzinfo=ny)
    assert event.duration.value == dt.timedelta(minutes=90)
    assert event.attendee.value == "mailto:ann@example.com"
    assert not {"rrule", "exdate", "rdate", "recurrence-id"} & set(event.contents)
    out = event_to_json(clone, cal_item_id=99, calendar="jdoe", etag=ETAG)
    assert (out["rec_type"], out["starting_date"], out["ending_time"]) == (3, "2024-01-19", "19:30:00")


def test_fork_uses_override_and_julian_date():
    text = EXISTING.replace("END:VCALENDAR", """BEGIN:VEVENT
UID:series-1
RECURRENCE-ID;TZID=America/New_York:20240112T180000
DTSTART;TZID=America/New_York:20240112T200000
DURATION:PT1H
SUMMARY:Choir at eight
END:VEVENT
END:VCALENDAR""")
    series, clone = fork_occurrence(vobject.readOne(text), 2460322, new_uid="c2")  # 2024-01-12
    assert len(series.vevent_list) == 1
    assert clone.vevent.summary.value == "Choir at eight" and clone.vevent.dtstart.value.hour == 20


@pytest.mark.parametrize("day", ["2024-01-20", "2024-03-15", "2023-12-29"])  # a Saturday, after COUNT, before
def test_fork_not_an_occurrence(day):
    with pytest.raises(NoOccurrence):
        fork_occurrence(vobject.readOne(EXISTING), day, new_uid="x")


def test_fork_refuses_one_time_and_excluded_days():
    with pytest.raises(NoOccurrence):
        fork_occurrence(reparse(create(starting_date="2024-03-04")), "2024-03-04", new_uid="x")
    series, _ = fork_occurrence(vobject.readOne(EXISTING), "2024-01-19", new_uid="x")
    with pytest.raises(NoOccurrence):
        fork_occurrence(reparse(series), "2024-01-19", new_uid="y")


def test_fork_all_day_series():
    cal = reparse(create(all_day=True, starting_date="2024-03-04", rec_type=0, rec_count=5))
    series, clone = fork_occurrence(cal, dt.date(2024, 3, 6), new_uid="x")
    assert reparse(series).vevent.exdate.value == [dt.date(2024, 3, 6)]
    assert (clone.vevent.dtstart.value, clone.vevent.dtend.value) == (dt.date(2024, 3, 6), dt.date(2024, 3, 7))
