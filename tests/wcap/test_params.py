import datetime as dt

import pytest

from radicale_wcap.wcap.commands.table import COMMANDS
from radicale_wcap.wcap.params import (Attendee, AttendeeValue, BadParam, Param, RRule,
                                       SemicolonList, Text, parse_duration, parse_params,
                                       raw_request, split_list)

UTC = dt.timezone.utc


def parse(command, query, body=None, content_type=None, tz="UTC"):
    return parse_params(COMMANDS[command].params, raw_request(query, body, content_type), tz)


def test_list_split_before_decoding():
    # Lightning encodes each calid by itself: %3B inside an item is not a separator.
    p = parse("get_calprops", "calid=jdoe;a%3Bb;jdoe%3Awork")
    assert p["calid"] == ["jdoe", "a;b", "jdoe:work"]


def test_quoted_rrules_keep_their_semicolons():
    p = parse("storeevents", 'calid=jdoe&rrules="count%3D10%3Bfreq%3Ddaily";"freq%3Dweekly%3Bcount%3D4"')
    assert p["rrules"] == ["COUNT=10;FREQ=DAILY", "FREQ=WEEKLY;COUNT=4"]


def test_percent_encoded_quotes_and_raw_semicolons_inside_quotes():
    p = parse("storeevents", "calid=jdoe&rrules=%22FREQ=DAILY;COUNT=3%22;%22FREQ=WEEKLY%22")
    assert p["rrules"] == ["FREQ=DAILY;COUNT=3", "FREQ=WEEKLY"]


def test_bad_rrule_rejected():
    with pytest.raises(BadParam) as e:
        parse("storeevents", 'calid=jdoe&rrules="COUNT%3D3"')
    assert e.value.name == "rrules"


def test_unbalanced_quote_rejected():
    with pytest.raises(ValueError):
        split_list('"a;b', quotes=True)
    with pytest.raises(BadParam):
        parse("storeevents", 'calid=jdoe&rrules="FREQ%3DDAILY')


def test_attendees_split_on_caret_before_decoding():
    # %3D inside CN stays part of the value; %5E is an encoded separator (Necko).
    query = ("calid=jdoe&attendees=RSVP=TRUE^PARTSTAT=NEEDS-ACTION^CN=Jane%20Smith%3D2"
             "^mailto%3Ajane%40example.com;PARTSTAT=ACCEPTED%5ERSVP=TRUE%5Ejdoe")
    attendees = parse("storeevents", query)["attendees"]
    assert attendees[0] == AttendeeValue("mailto:jane@example.com", (
        ("RSVP", "TRUE"), ("PARTSTAT", "NEEDS-ACTION"), ("CN", "Jane Smith=2")))
    assert attendees[1].value == "jdoe" and attendees[1].param("partstat") == "ACCEPTED"


def test_attendee_manual_colon_form():
    value = Attendee().parse("PARTSTAT=NEEDS-ACTION^RSVP=FALSE:mailto:jdoe@xyz.com")
    assert value.value == "mailto:jdoe@xyz.com"
    assert value.param("RSVP") == "FALSE"
    assert Attendee().parse("mailto:a=b@x.org").value == "mailto:a=b@x.org"


def test_empty_attendees_means_clear_and_is_recorded_as_sent():
    p = parse("storeevents", "calid=jdoe&attendees=&alarmStart=")
    assert p["attendees"] == [] and p.sent("attendees")
    assert p["alarmStart"] is None and p.sent("alarmStart")
    assert not p.sent("summary") and p["summary"] is None


def test_datetimes_zulu_floating_date_and_zero():
    p = parse("fetchcomponents_by_range",
              "dtstart=20020506T100000&dtend=20020507T100000Z&tzid=America/Los_Angeles")
    start, end = p["dtstart"], p["dtend"]
    assert start.tzinfo is not None and start.astimezone(UTC) == dt.datetime(2002, 5, 6, 17, tzinfo=UTC)
    # Zulu values are never shifted by tzid.
    assert end == dt.datetime(2002, 5, 7, 10, tzinfo=UTC)
    p = parse("fetchcomponents_by_range", "dtstart=0&dtend=0")
    assert p["dtstart"] is None and p["dtend"] is None
    p = parse("storeevents", "calid=jdoe&dtstart=20240120&dtend=20240121&isAllDay=1")
    assert p["dtstart"] == dt.date(2024, 1, 20) and p["isAllDay"] is True


def test_floating_time_uses_server_default_zone_without_tzid():
    p = parse("fetchcomponents_by_range", "dtstart=20020101T120000", tz="Europe/Berlin")
    assert p["dtstart"].astimezone(UTC).hour == 11


@pytest.mark.parametrize("value", ["2002-01-01", "20021301T000000Z", "yesterday", "20020101T25"])
def test_bad_datetimes(value):
    with pytest.raises(BadParam):
        parse("fetchcomponents_by_range", f"dtstart={value}")


def test_bad_tzid_is_flagged():
    with pytest.raises(BadParam) as e:
        parse("fetchcomponents_by_range", "tzid=Mars/Olympus")
    assert e.value.tz
    with pytest.raises(BadParam):
        parse("fetchcomponents_by_range", "tzid=../../etc/passwd")


def test_durations():
    assert parse_duration("-PT15M") == -dt.timedelta(minutes=15)
    assert parse_duration("P1DT2H") == dt.timedelta(days=1, hours=2)
    assert parse_duration("P1W") == dt.timedelta(weeks=1)
    with pytest.raises(ValueError):
        parse_duration("P15M")  # strict: 15 months is not an RFC 5545 duration
    assert parse_duration("P15M", lenient=True) == dt.timedelta(minutes=15)
    for bad in ("P", "PT", "15M", "-P-1D"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    p = parse("storeevents", "calid=jdoe&alarmStart=-PT15M&alarmPopup=P15M")
    assert p["alarmStart"] == -dt.timedelta(minutes=15)
    assert p["alarmPopup"] == dt.timedelta(minutes=15)


def test_booleans_and_integer_ranges():
    assert parse("fetchcomponents_by_range", "recurring=1&compressed=0")["recurring"] is True
    with pytest.raises(BadParam):
        parse("fetchcomponents_by_range", "recurring=yes")
    with pytest.raises(BadParam):
        parse("storeevents", "calid=jdoe&priority=10")
    with pytest.raises(BadParam):
        parse("storeevents", "calid=jdoe&method=3")
    assert parse("storeevents", "calid=jdoe&method=256")["method"] == 256


def test_component_type_invalid_means_all_and_compstate_alias():
    p = parse("fetchcomponents_by_range", "component-type=bogus&compstate=REQUEST_NEEDS-ACTION")
    assert p["component-type"] == "all"
    assert p["compstate"] == ["REQUEST-NEEDS-ACTION"]


def test_long_values_accepted():
    desc = "x" * 5000
    assert parse("storeevents", f"calid=jdoe&desc={desc}")["desc"] == desc


def test_form_post_body_and_plus():
    body = b"calid=jdoe&summary=new+year%20event&categories=a;b"
    p = parse("storeevents", "fmt-out=text/xml", body, "application/x-www-form-urlencoded; charset=utf-8")
    assert p["summary"] == "new year event" and p["categories"] == ["a", "b"]
    # In a GET query too '+' is a space and %2B a plus (form encoding, as CGI decoded it).
    assert parse("storeevents", "calid=jdoe&summary=Team+meeting")["summary"] == "Team meeting"
    assert parse("storeevents", "calid=jdoe&categories=C%2B%2B;a+b")["categories"] == [
        "C++", "a b"]
    assert parse("storeevents", 'calid=jdoe&rrules="FREQ%3DMONTHLY%3BBYDAY%3D%2B1MO"'
                 )["rrules"] == ["FREQ=MONTHLY;BYDAY=+1MO"]
    # Bodies of other types are not parameters.
    assert parse("storeevents", "calid=jdoe", b"summary=x", "text/calendar")["summary"] is None


def test_repeated_keys():
    assert parse("get_calprops", "calid=a&calid=b;c")["calid"] == ["a", "b", "c"]
    assert parse("storeevents", "calid=jdoe&summary=one&summary=two")["summary"] == "two"
    p = parse("set_calprops", "calid=x&cal=calid%3Dxxxx%26description%3DX&cal=calid%3Dyyyy")
    assert p["cal"] == ["calid=xxxx&description=X", "calid=yyyy"]


def test_unknown_parameters_ignored_and_required_missing():
    p = parse("fetchcomponents_by_range", "appid=mozilla-calendar&whatever=1")
    assert "whatever" not in p
    with pytest.raises(BadParam) as e:
        parse("deleteevents_by_id", "uid=a&rid=0&mod=4")
    assert e.value.name == "calid" and e.value.missing


def test_aliases_and_lists_of_dates():
    assert parse("get_guids", "count=3")["guidCount"] == 3
    p = parse("deleteevents_by_id", "calid=jdoe&uid=u;u&rid=20020101T000000Z;0&mod=1")
    assert p["rid"] == [dt.datetime(2002, 1, 1, tzinfo=UTC), None]
    assert p["mod"] == [1]


def test_non_utf8_and_nul_rejected():
    with pytest.raises(BadParam):
        parse("storeevents", "calid=jdoe&summary=%FF%FE")
    with pytest.raises(BadParam):
        parse("storeevents", "calid=jdoe&summary=a%00b")


def test_semicolonlist_of_text_drops_empty_items():
    assert SemicolonList(Text()).parse("a;;b;") == ["a", "b"]
    assert Param("x").type.parse("a%20b") == "a b"
    assert RRule().parse("%22RRULE:freq=daily%22") == "FREQ=DAILY"


@pytest.mark.parametrize("name", ["Factory", "posixrules", "localtime", "Europe/Nowhere"])
def test_tzid_is_a_zone_the_server_lists(name):
    """zoneinfo alone accepts Factory/posixrules/localtime; get_all_timezones does not
    list them and the output code could not convert to them, so the request fails
    here, with the command's errno, not later with a traceback."""
    with pytest.raises(BadParam):
        parse("fetchcomponents_by_range", "tzidout=" + name)


def test_tzid_names_are_normalised():
    p = parse("fetchcomponents_by_range",
              "tzidout=/mozilla.org/20070129_1/Europe/Berlin&tzid=Zulu")
    assert p["tzidout"] == "Europe/Berlin"
    assert p["tzid"] == "UTC"
