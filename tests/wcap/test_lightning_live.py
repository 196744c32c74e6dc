"""Lightning's whole session against a real server, with its exact URLs
(docs/wcap-clients.md#lightning-login and the sections after it: version, login,
get_userprefs + gettime + get_all_timezones, get_calprops, fetchcomponents_by_range,
get_freebusy with mailto:, logout)."""

from __future__ import annotations

from urllib.parse import quote

from tests.conftest import TEST_PASSWORD, add_user
from tests.wcap.conftest import WcapAnswer


def enc(value: str) -> str:
    """encodeURIComponent, as the provider encodes every value it builds."""
    return quote(value, safe="-_.!~*'()")


def get(live, url: str, fmt: str) -> WcapAnswer:
    return WcapAnswer(fmt, live.client.request("GET", "/" + url))


def test_lightning_session(live):
    add_user(live.instance, "lt.user", email="lt.user@example.com")
    add_user(live.instance, "lt.peer", email="lt.peer@example.com")
    ical, xml = "text/calendar", "text/xml"

    version = get(live, "version.wcap?fmt-out=text%2Fcalendar", ical)
    assert int(version.value("X-NSCP-WCAPVERSION").split(".")[0]) >= 3

    wrong = get(live, "login.wcap?fmt-out=text%2Fcalendar&user=lt.user&password=nope", ical)
    assert wrong.errno == 1
    login = get(live, "login.wcap?fmt-out=text%2Fcalendar&user=" + enc("lt.user")
                + "&password=" + enc(TEST_PASSWORD), ical)
    assert login.errno == 0
    sid = login.value("X-NSCP-WCAP-SESSION-ID")
    assert enc(sid) == sid  # sent unencoded in every later URL
    assert int(login.value("X-NSCP-RECURRENCE-BOUND")) > 0
    base = "appid=mozilla-calendar&id=" + sid

    prefs = get(live, f"get_userprefs.wcap?{base}&fmt-out=text%2Fxml&userid=lt.user", xml)
    assert prefs.errno == 0
    calid = prefs.value("X-NSCP-WCAP-PREF-icsCalendar") or "lt.user"
    assert prefs.value("X-NSCP-WCAP-PREF-mail") == "lt.user@example.com"

    gettime = get(live, f"gettime.wcap?{base}&fmt-out=text%2Fcalendar", ical)
    assert gettime.value("X-NSCP-WCAPTIME").endswith("Z")
    zones = get(live, f"get_all_timezones.wcap?{base}&fmt-out=text%2Fcalendar", ical)
    assert zones.errno == 0 and "Europe/Berlin" in zones.values("TZID")

    calprops = get(live, f"get_calprops.wcap?{base}&fmt-out=text%2Fxml&calid={enc(calid)}", xml)
    assert calprops.errnos == [0]
    assert calprops.value("X-NSCP-CALPROPS-RELATIVE-CALID") == calid
    assert calprops.value("X-NSCP-CALPROPS-PRIMARY-OWNER") == "lt.user"

    fetch = get(live, f"fetchcomponents_by_range.wcap?{base}&relativealarm=1&compressed=1"
                "&recurring=1&emailorcalid=1&fmt-out=text%2Fcalendar&component-type=event"
                f"&dtstart=20240101T000000Z&dtend=20240201T000000Z&calid={enc(calid)}", ical)
    assert fetch.errno == 0 and "BEGIN:VEVENT" not in fetch.lines  # a new calendar

    search = get(live, f"search_calprops.wcap?{base}&fmt-out=text%2Fxml&search-string=lt."
                 "&name=1&calid=1&primaryOwner=1&searchOpts=0", xml)
    assert search.errno == 0 and len(search.values("X-NSCP-CALPROPS-RELATIVE-CALID")) == 2

    freebusy = get(live, f"get_freebusy.wcap?{base}&calid={enc('mailto:lt.peer@example.com')}"
                   "&busyonly=1&dtstart=20240101T000000Z&dtend=20240108T000000Z"
                   "&fmt-out=text%2Fxml", xml)
    assert freebusy.errnos == [0]
    assert freebusy.xml.find("iCal/FREEBUSY") is not None
    unknown = get(live, f"get_freebusy.wcap?{base}&calid={enc('mailto:nobody@example.com')}"
                  "&busyonly=1&dtstart=20240101T000000Z&dtend=20240108T000000Z"
                  "&fmt-out=text%2Fxml", xml)
    assert unknown.errno == 29

    assert get(live, f"logout.wcap?fmt-out=text%2Fxml&id={sid}", xml).errno == -1
    dead = get(live, f"get_calprops.wcap?{base}&fmt-out=text%2Fxml&calid={enc(calid)}", xml)
    assert dead.errno == 1
    assert get(live, f"get_userprefs.wcap?{base}&fmt-out=text%2Fxml&userid=lt.user",
               xml).errno == 1
