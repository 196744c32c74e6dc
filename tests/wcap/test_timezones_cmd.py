"""get_all_timezones: every IANA zone as a real VTIMEZONE, in all three formats."""

from __future__ import annotations

import pytest
import icalendar

from radicale_wcap import timezones
from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from tests.conftest import make_instance
    instance = make_instance(str(tmp_path_factory.mktemp("tz")))
    add_user(instance, "jdoe")
    client = InProcessClient(make_app(instance))
    return client, wcap_login(client, "jdoe")


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
    assert [z["TZID"] for z in js.js["timezone"]] == ["America/New_York"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_zone_and_errors(session, fmt):
    client, sid = session
    one = wcap(client, "get_all_timezones", fmt, id=sid, tzid="Australia/Lord_Howe",
               dtstart="19980101T000000Z", dtend="20060101T000000Z")
    assert one.errno == 0
    if fmt != "text/js":
        assert one.values("TZID") == ["Australia/Lord_Howe"]
    assert wcap(client, "get_all_timezones", fmt, id=sid, tzid="Mars/Olympus").errno == 24
    assert wcap(client, "get_all_timezones", fmt).errno == 1
