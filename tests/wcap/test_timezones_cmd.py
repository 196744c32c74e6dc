"""get_all_timezones: every IANA zone as a real VTIMEZONE, in all three formats, and
the manual's text/js ``timezoneList`` with the crossover dates of dtstart/dtend."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import icalendar

from radicale_wcap import timezones
from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login

UTC = dt.timezone.utc

# America/Los_Angeles from mid-1998 to 2006 (manual Table 7-26, Example 2). The
# manual's list has typos in 2002 (20020404, 20021031, 20020402, ...); these are the
# US rules of the time (first Sunday in April, last Sunday in October, 2:00 local).
LA_1998_2006 = [
    "19981025T090000Z",
    "19990404T100000Z", "19991031T090000Z", "20000402T100000Z", "20001029T090000Z",
    "20010401T100000Z", "20011028T090000Z", "20020407T100000Z", "20021027T090000Z",
    "20030406T100000Z", "20031026T090000Z", "20040404T100000Z", "20041031T090000Z",
    "20050403T100000Z", "20051030T090000Z", "20060402T100000Z", "20061029T090000Z",
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from tests.conftest import make_instance
    instance = make_instance(str(tmp_path_factory.mktemp("tz")))
    add_user(instance, "jdoe")
    client = InProcessClient(make_app(instance))
    return client, wcap_login(client, "jdoe")


def zone_js(session, tzid, **params):
    """The single timezoneList entry of a text/js answer for *tzid*, run in node."""
    client, sid = session
    answer = wcap(client, "get_all_timezones", "text/js", id=sid, tzid=tzid, **params)
    assert answer.errno == 0
    (entry,) = answer.js["timezoneList"]
    return entry


def test_all_zones_icalendar(session):
    client, sid = session
    answer = wcap(client, "get_all_timezones", "text/calendar",
                  query="appid=mozilla-calendar&id=" + sid)
    assert answer.errno == 0
    tzids = answer.values("TZID")
    assert tzids == timezones.all_tzids() and len(tzids) > 400
    # a real parser sees real rules (Lightning hands the body to libical/ical.js)
    calendar = icalendar.Calendar.from_ical(answer.body)
    berlin = next(c for c in calendar.walk("VTIMEZONE") if c["TZID"] == "Europe/Berlin")
    assert {s.name for s in berlin.subcomponents} == {"STANDARD", "DAYLIGHT"}


def test_xml_and_js(session):
    client, sid = session
    xml = wcap(client, "get_all_timezones", "text/xml", id=sid)
    assert xml.errno == 0
    assert len(list(xml.xml.iter("TIMEZONE"))) == len(timezones.all_tzids())
    js = wcap(client, "get_all_timezones", "text/js", id=sid, tzid="America/New_York")
    assert js.errno == 0
    # The manual's text/js form is timezoneList; the VTIMEZONEs' bare TZID fields are
    # no longer printed as a `timezone` array as well.
    assert [z["id"] for z in js.js["timezoneList"]] == ["America/New_York"]
    assert "timezone" not in js.js


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_zone_and_errors(session, fmt):
    client, sid = session
    one = wcap(client, "get_all_timezones", fmt, id=sid, tzid="Australia/Lord_Howe",
               dtstart="19980101T000000Z", dtend="20060101T000000Z")
    assert one.errno == 0
    if fmt != "text/js":
        assert one.values("TZID") == ["Australia/Lord_Howe"]
    else:
        assert [z["id"] for z in one.js["timezoneList"]] == ["Australia/Lord_Howe"]
    assert wcap(client, "get_all_timezones", fmt, id=sid, tzid="Mars/Olympus").errno == 24
    assert wcap(client, "get_all_timezones", fmt).errno == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtstart,dtend", [
    ("1998-06-01", "0"),                         # not ISO 8601 basic
    ("20241301T000000Z", "0"),                   # no 13th month
    ("19980601T000000Z", "yesterday"),
    ("20070101T000000Z", "19980601T000000Z"),    # dtend before dtstart
])
def test_bad_range(session, fmt, dtstart, dtend):
    client, sid = session
    answer = wcap(client, "get_all_timezones", fmt, id=sid, dtstart=dtstart, dtend=dtend)
    assert answer.errno == 24
    assert "Traceback" not in answer.text


def test_los_angeles_manual_example(session):
    entry = zone_js(session, "America/Los_Angeles",
                    dtstart="19980601T000000Z", dtend="20070101T000000Z")
    assert entry == {"id": "America/Los_Angeles", "stdName": "PST", "dstName": "PDT",
                     "stdOffset": "-0800", "dstOffset": "-0700", "crossover": LA_1998_2006}
    # a range starting in daylight time, as the manual's: "The odd index dates are
    # the beginning of daylight-savings. The even index dates are the end"
    assert all((dt.datetime.strptime(d, "%Y%m%dT%H%M%SZ").month in (3, 4)) == (i % 2 == 1)
               for i, d in enumerate(entry["crossover"]))


def test_phoenix_has_no_daylight_time(session):
    entry = zone_js(session, "America/Phoenix")
    assert entry == {"id": "America/Phoenix", "stdName": "MST", "dstName": "MST",
                     "stdOffset": "-0700", "dstOffset": "-0700", "crossover": []}


def test_berlin_2024(session):
    entry = zone_js(session, "Europe/Berlin", dtstart="20240101T000000Z",
                    dtend="20250101T000000Z")
    assert entry["crossover"] == ["20240331T010000Z", "20241027T010000Z"]
    assert (entry["stdName"], entry["dstName"], entry["stdOffset"], entry["dstOffset"]) \
        == ("CET", "CEST", "+0100", "+0200")
    # one date: a one-element array, written as a literal as every one-element
    # array of the page is (new Array(n) of a number would be n empty slots)
    client, sid = session
    answer = wcap(client, "get_all_timezones", "text/js", id=sid, tzid="Europe/Berlin",
                  dtstart="20240601T000000Z", dtend="20250101T000000Z")
    assert answer.js["timezoneList"][0]["crossover"] == ["20241027T010000Z"]
    assert ",['20241027T010000Z'])" in answer.text


def test_range_is_instants(session):
    # a range within one winter: no dates, but the zone's daylight time is still named
    winter = zone_js(session, "America/Los_Angeles", dtstart="20240101T000000Z",
                     dtend="20240201T000000Z")
    assert winter["crossover"] == [] and winter["dstName"] == "PDT"
    # a bound exactly on a crossover: [dtstart, dtend)
    assert zone_js(session, "Europe/Berlin", dtstart="20240331T010000Z",
                   dtend="20241027T010000Z")["crossover"] == ["20240331T010000Z"]
    # one bound only: the other is the first/last known year
    assert zone_js(session, "America/Los_Angeles",
                   dtend="19880101T000000Z")["crossover"] == ["19870405T100000Z",
                                                               "19871025T090000Z"]
    late = zone_js(session, "America/Los_Angeles", dtstart="20240101T000000Z")["crossover"]
    assert late[0] == "20240310T100000Z" and late[-1] == "20871102T090000Z"
    # beyond the known years: nothing, and no error
    assert zone_js(session, "Europe/Berlin", dtstart="20900101T000000Z",
                   dtend="20950101T000000Z")["crossover"] == []


def test_default_range_is_1987_to_2087(session):
    default = zone_js(session, "America/Los_Angeles")
    assert zone_js(session, "America/Los_Angeles", dtstart="0", dtend="0") == default
    dates = default["crossover"]
    assert dates[0] == "19870405T100000Z" and dates[-1] == "20871102T090000Z"
    assert len(dates) == 2 * (2087 - 1987 + 1)
    assert dates == sorted(dates)
    # southern hemisphere: the range starts in daylight time, so the first date ends it
    sydney = zone_js(session, "Australia/Sydney")["crossover"]
    assert sydney[0].startswith("198703") and sydney[-1].startswith("208710")
    # a zone that dropped daylight time: its old dates, its last daylight rule
    sao_paulo = zone_js(session, "America/Sao_Paulo")
    assert sao_paulo["crossover"][-1] == "20190217T020000Z"
    assert (sao_paulo["stdOffset"], sao_paulo["dstOffset"]) == ("-0300", "-0200")


def test_full_page_runs_and_lists_every_zone(session):
    client, sid = session
    ical = wcap(client, "get_all_timezones", "text/calendar", id=sid)
    js = wcap(client, "get_all_timezones", "text/js", id=sid)   # runs in node
    assert js.errno == 0 and "timezone" not in js.js
    zones = js.js["timezoneList"]
    assert [z["id"] for z in zones] == ical.values("TZID")
    assert all(set(z) == {"id", "stdName", "dstName", "stdOffset", "dstOffset", "crossover"}
               and isinstance(z["crossover"], list) for z in zones)
    by_id = {z["id"]: z for z in zones}
    assert by_id["America/Phoenix"]["crossover"] == []
    assert len(by_id["Europe/Berlin"]["crossover"]) == 2 * 101


@pytest.mark.parametrize("fmt", ["text/calendar", "text/xml"])
def test_range_leaves_other_formats_alone(session, fmt):
    client, sid = session
    plain = wcap(client, "get_all_timezones", fmt, id=sid)
    ranged = wcap(client, "get_all_timezones", fmt, id=sid, dtstart="19980601T000000Z",
                  dtend="20070101T000000Z")
    assert ranged.body == plain.body
    assert b"19981025T090000Z" not in plain.body and b"TZ(" not in plain.body


# ----------------------------------------------------------------- against zoneinfo

def _zoneinfo_crossovers(tzid: str, first: int, last: int) -> list[str]:
    """Where zoneinfo's dst() turns zero or non-zero, found by day steps and bisection."""
    zone = zoneinfo.ZoneInfo(tzid)

    def dst(ts):
        return bool(dt.datetime.fromtimestamp(ts, zone).dst())

    ts = int(dt.datetime(first, 1, 1, tzinfo=UTC).timestamp())
    end = int(dt.datetime(last + 1, 1, 1, tzinfo=UTC).timestamp())
    out, state = [], dst(ts)
    while ts < end:
        step = min(ts + 86400, end)
        if dst(step) != state:
            lo, hi = ts, step
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if dst(mid) == state else (lo, mid)
            out.append(dt.datetime.fromtimestamp(hi, UTC).strftime("%Y%m%dT%H%M%SZ"))
            state = not state
        ts = step
    return out


@pytest.mark.parametrize("tzid", [
    "America/Los_Angeles", "Australia/Lord_Howe", "Europe/Dublin", "Africa/Casablanca",
    "Europe/Istanbul", "America/Sao_Paulo", "Asia/Tehran", "Pacific/Chatham"])
def test_dates_match_zoneinfo(tzid):
    assert list(timezones.crossovers(tzid).dates) == _zoneinfo_crossovers(tzid, 1987, 2087)


def test_names_and_offsets_match_zoneinfo():
    for zone in timezones.all_crossovers():
        tz = zoneinfo.ZoneInfo(zone.tzid)
        for month in (1, 7):
            moment = dt.datetime(2087, month, 15, tzinfo=tz)
            seconds = int(moment.utcoffset().total_seconds())
            offset = "%s%02d%02d" % ("-" if seconds < 0 else "+", abs(seconds) // 3600,
                                     abs(seconds) % 3600 // 60)
            expected = (moment.tzname(), offset)
            if moment.dst():
                assert (zone.dst_name, zone.dst_offset) == expected, zone
            else:
                assert (zone.std_name, zone.std_offset) == expected, zone
        if not zone.dates:
            assert (zone.dst_name, zone.dst_offset) == (zone.std_name, zone.std_offset)


def test_default_answer_is_cached():
    assert timezones.all_crossovers() is timezones.all_crossovers()
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert timezones.all_crossovers(start) is not timezones.all_crossovers(start)
