"""radicale_wcap.timezones: TZID validation and VTIMEZONE round trips."""

import datetime as dt
import time
import zoneinfo

import pytest
import vobject

from radicale_wcap import timezones
from radicale_wcap.timezones import UnknownTimezone

UTC = dt.timezone.utc

# (tzid, local wall time, expected UTC): RFC-style known instants, including a
# southern-hemisphere DST, a zone without DST and a half-hour offset.
KNOWN = [
    ("America/New_York", dt.datetime(2021, 12, 17, 11, 30), dt.datetime(2021, 12, 17, 16, 30)),
    ("America/New_York", dt.datetime(2021, 7, 17, 11, 30), dt.datetime(2021, 7, 17, 15, 30)),
    ("America/New_York", dt.datetime(2005, 4, 1, 12, 0), dt.datetime(2005, 4, 1, 17, 0)),  # pre-2007 rule
    ("Europe/Berlin", dt.datetime(2024, 7, 1, 12, 0), dt.datetime(2024, 7, 1, 10, 0)),
    ("Europe/Berlin", dt.datetime(2024, 1, 1, 12, 0), dt.datetime(2024, 1, 1, 11, 0)),
    ("Asia/Tokyo", dt.datetime(2024, 7, 1, 12, 0), dt.datetime(2024, 7, 1, 3, 0)),
    ("Australia/Sydney", dt.datetime(2024, 1, 15, 12, 0), dt.datetime(2024, 1, 15, 1, 0)),
    ("Australia/Sydney", dt.datetime(2024, 7, 15, 12, 0), dt.datetime(2024, 7, 15, 2, 0)),
    ("Europe/London", dt.datetime(2024, 7, 1, 12, 0), dt.datetime(2024, 7, 1, 11, 0)),
    ("Europe/London", dt.datetime(2024, 12, 1, 12, 0), dt.datetime(2024, 12, 1, 12, 0)),
    ("Asia/Kolkata", dt.datetime(2024, 7, 1, 12, 0), dt.datetime(2024, 7, 1, 6, 30)),
    ("Australia/Lord_Howe", dt.datetime(2024, 1, 15, 12, 0), dt.datetime(2024, 1, 15, 1, 0)),
]

ROUND_TRIP_ZONES = sorted({k[0] for k in KNOWN} | {"America/Sao_Paulo", "Asia/Jerusalem",
                                                    "Pacific/Auckland", "America/St_Johns"})


def parsed_tzinfo(tzid):
    """The tzinfo an independent parser (dateutil's tzical, through vobject) builds."""
    return timezones.vtimezone(tzid).gettzinfo()


def test_all_tzids_lists_real_zones_only():
    ids = timezones.all_tzids()
    assert len(ids) > 400
    assert ids == sorted(ids)
    for tzid in ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"):
        assert tzid in ids
    for junk in ("posixrules", "Factory", "localtime"):
        assert junk not in ids
    assert not [t for t in ids if t.startswith(("posix/", "right/"))]


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../etc/passwd", "/etc/passwd",
                                 "America/../../etc/passwd", "", "Europe/Berlin\x00",
                                 "posixrules", "Factory", "america/new_york", None, 42])
def test_unknown_or_hostile_tzid_refused(bad):
    assert not timezones.is_valid_tzid(bad)
    with pytest.raises(UnknownTimezone):
        timezones.get_zone(bad)
    assert issubclass(UnknownTimezone, ValueError)
    if isinstance(bad, str):
        with pytest.raises(UnknownTimezone):
            timezones.vtimezone_text(bad)


def test_get_zone_and_utc_helpers():
    assert timezones.get_zone("Europe/Berlin") == zoneinfo.ZoneInfo("Europe/Berlin")
    assert timezones.to_utc(dt.datetime(2024, 7, 1, 12), "Europe/Berlin") == \
        dt.datetime(2024, 7, 1, 10, tzinfo=UTC)
    back = timezones.from_utc(dt.datetime(2024, 7, 1, 10), "Europe/Berlin")
    assert back.replace(tzinfo=None) == dt.datetime(2024, 7, 1, 12)
    assert back.utcoffset() == dt.timedelta(hours=2)


def test_normalize_tzid_strips_client_prefixes():
    assert timezones.normalize_tzid("/mozilla.org/20070129_1/America/New_York") == "America/New_York"
    assert timezones.normalize_tzid(
        "/softwarestudio.org/Olson_20011030_5/Europe/Berlin") == "Europe/Berlin"
    assert timezones.normalize_tzid(
        "/freeassociation.sourceforge.net/Tzfile/Asia/Tokyo") == "Asia/Tokyo"
    assert timezones.normalize_tzid("Europe/Berlin") == "Europe/Berlin"
    assert timezones.normalize_tzid("/x/Nowhere") == "/x/Nowhere"


@pytest.mark.parametrize("tzid,local,utc", KNOWN)
def test_vtimezone_round_trip_known_instants(tzid, local, utc):
    tzi = parsed_tzinfo(tzid)
    utc = utc.replace(tzinfo=UTC)
    assert local.replace(tzinfo=tzi).astimezone(UTC) == utc
    assert utc.astimezone(tzi).replace(tzinfo=None) == local
    # and zoneinfo agrees with the expectation itself
    assert timezones.to_utc(local, tzid) == utc


@pytest.mark.parametrize("tzid", ROUND_TRIP_ZONES)
def test_vtimezone_matches_zoneinfo_1970_2037(tzid):
    """Every ~10 days over the whole window, the parsed VTIMEZONE gives zoneinfo's offset."""
    tzi, zone = parsed_tzinfo(tzid), zoneinfo.ZoneInfo(tzid)
    t = dt.datetime(1970, 1, 3, 5, tzinfo=UTC)
    while t.year < 2038:
        assert t.astimezone(tzi).utcoffset() == t.astimezone(zone).utcoffset(), (tzid, t)
        t += dt.timedelta(days=9, hours=13)


def test_vtimezone_uses_rrules_and_stays_small():
    text = timezones.vtimezone_text("America/New_York")
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n" in text
    assert "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n" in text
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" in timezones.vtimezone_text("Europe/Berlin")
    tokyo = timezones.vtimezone_text("Asia/Tokyo")
    assert "TZOFFSETTO:+0900" in tokyo and "DAYLIGHT" not in tokyo
    assert "TZOFFSETTO:+0530" in timezones.vtimezone_text("Asia/Kolkata")
    sizes = {t: timezones.vtimezone_text(t).count("BEGIN:") - 1 for t in timezones.all_tzids()}
    assert max(sizes.values()) <= 40, max(sizes.items(), key=lambda kv: kv[1])
    assert sizes["America/New_York"] <= 10


def test_vtimezone_component_is_fresh_and_serializable():
    a, b = timezones.vtimezone("Europe/London"), timezones.vtimezone("Europe/London")
    assert a is not b
    assert a.name == "VTIMEZONE" and a.tzid.value == "Europe/London"
    cal = vobject.iCalendar()
    cal.add(a)
    assert "BEGIN:VTIMEZONE" in cal.serialize()


def test_vtimezones_calendar_all_zones_fast_and_parseable():
    start = time.monotonic()
    text = timezones.vtimezones_calendar()
    assert time.monotonic() - start < 10
    assert text.count("BEGIN:VTIMEZONE") == len(timezones.all_tzids())
    start = time.monotonic()
    assert timezones.vtimezones_calendar() is text  # cached
    assert time.monotonic() - start < 0.01
    cal = vobject.readOne(text)
    assert len(list(cal.vtimezone_list)) == len(timezones.all_tzids())
    two = timezones.vtimezones_calendar(["Europe/Berlin", "Asia/Tokyo"])
    assert two.count("BEGIN:VTIMEZONE") == 2
    assert two.startswith("BEGIN:VCALENDAR\r\n") and two.endswith("END:VCALENDAR\r\n")
