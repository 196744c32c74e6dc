"""createcalendar, deletecalendar, set_calprops: every fmt-out, every errno, live + CalDAV."""

from __future__ import annotations

import urllib.parse

import caldav
import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import TEST_PASSWORD, InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap

ACL = "@@o^a^r^g;@^a^r^g"


@pytest.fixture
def wc(instance):
    add_user(instance, "jdoe")
    add_user(instance, "bob")
    add_user(instance, "boss", admin=True)
    return InProcessClient(make_app(instance))


def sid(instance, user="jdoe"):
    return instance.sessions.create(user)


@pytest.mark.parametrize("fmt", FORMATS)
def test_createcalendar_under_own_id_with_props(instance, wc, fmt):
    a = wcap(wc, "createcalendar", fmt, id=sid(instance), calid="tv", set_calprops=1,
             name="TV Guide", categories="business;work", description="shows",
             tzid="Europe/Paris", acl=ACL, doublebooking=0, webname="tv-guide")
    assert a.errno == 0, a.text
    record = instance.registry.get("/jdoe/tv/")
    assert record.owner == "jdoe" and record.webname == "tv-guide"
    assert record.setting("categories") == ["business", "work"]
    assert record.setting("allow_double_booking") is False
    assert record.acl == ACL
    props = instance.store.calendar_props("jdoe:tv")
    assert props["D:displayname"] == "TV Guide"
    assert props["C:calendar-description"] == "shows"
    if fmt != "text/js":
        assert a.value("X-NSCP-CALPROPS-NAME") == "TV Guide"
        assert a.value("X-NSCP-CALPROPS-PRIMARY-OWNER") == "jdoe"


@pytest.mark.parametrize("fmt", FORMATS)
def test_createcalendar_errnos(instance, wc, fmt):
    s = sid(instance)
    assert wcap(wc, "createcalendar", fmt, id=s, calid="tv").errno == 0
    assert wcap(wc, "createcalendar", fmt, id=s, calid="tv").errno == 25
    assert wcap(wc, "createcalendar", fmt, id=s, calid="bad/name").errno == 30
    assert wcap(wc, "createcalendar", fmt, id=s, calid="calendar").errno == 30
    assert wcap(wc, "createcalendar", fmt, id=s, calid="bob:x").errno == 28
    assert wcap(wc, "createcalendar", fmt, id="nope", calid="y").errno == 1
    # A bad ACL refuses the whole creation: nothing on disk, nothing registered.
    assert wcap(wc, "createcalendar", fmt, id=s, calid="z", set_calprops=1,
                acl="@^q^r^g").errno == 10
    assert instance.registry.get("/jdoe/z/") is None
    assert instance.store.calendar_props("jdoe:z") is None


def test_admin_creates_for_another_user_and_subscribe(instance, wc):
    a = wcap(wc, "createcalendar", "text/xml", id=sid(instance, "boss"), calid="bob:team")
    assert a.errno == 0 and instance.registry.get("/bob/team/").owner == "bob"
    s = sid(instance)
    assert wcap(wc, "createcalendar", "text/xml", id=s, calid="sub", subscribe=1).errno == 0
    assert "jdoe:sub$" in instance.directory.get("jdoe").prefs["icsSubscribed"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_deletecalendar(instance, wc, fmt):
    s = sid(instance)
    wcap(wc, "createcalendar", fmt, id=s, calid="old")
    assert wcap(wc, "deletecalendar", fmt, id=sid(instance, "bob"), calid="jdoe:old").errno == 28
    a = wcap(wc, "deletecalendar", fmt, id=s, calid="jdoe:old")
    assert a.errno == 0
    assert instance.store.calendar_props("jdoe:old") is None
    assert instance.registry.get("/jdoe/old/") is None
    a = wcap(wc, "deletecalendar", fmt, id=s, calid="jdoe:old")
    assert a.errno == 29
    if fmt == "text/js":
        # One element: an array literal, since "new Array(1)" is an empty array.
        assert "var delete_layer_errno=[1]" in a.text
    assert wcap(wc, "deletecalendar", fmt, id=s, calid="jdoe:calendar").errno == 30
    wcap(wc, "createcalendar", fmt, id=sid(instance, "bob"), calid="x")
    assert wcap(wc, "deletecalendar", fmt, id=sid(instance, "boss"), calid="bob:x").errno == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_set_calprops_updates_only_what_is_sent(instance, wc, fmt):
    s = sid(instance)
    a = wcap(wc, "set_calprops", fmt, id=s, calid="jdoe", name="John's", owners="bob",
             categories="a;b", tzid="America/New_York", webname="jdoe-pub", doublebooking=0)
    assert a.errno == 0, a.text
    record = instance.registry.get("/jdoe/calendar/")
    assert record.owners == ["bob"] and record.webname == "jdoe-pub"
    assert record.setting("tzid") == "America/New_York"
    assert instance.store.calendar_props("jdoe")["D:displayname"] == "John's"
    assert wcap(wc, "set_calprops", fmt, id=s, calid="jdoe", description="d").errno == 0
    assert instance.store.calendar_props("jdoe")["D:displayname"] == "John's"
    assert instance.registry.get("/jdoe/calendar/").owners == ["bob"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_set_calprops_refusals_change_nothing(instance, wc, fmt):
    s = sid(instance)
    before = (instance.registry.get("/jdoe/calendar/"), instance.store.calendar_props("jdoe"))
    wcap(wc, "set_calprops", "text/xml", id=sid(instance, "bob"), calid="bob", webname="taken")
    for bad in ({"acl": "@^a^rw^g;nonsense"}, {"owners": "ghost"}, {"webname": "no spaces"},
                {"webname": "taken"}):
        a = wcap(wc, "set_calprops", fmt, id=s, calid="jdoe", name="NEW", **bad)
        assert a.errno == 8, bad
    assert wcap(wc, "set_calprops", fmt, id=s, calid="jdoe", primaryOwner="bob").errno == 28
    assert wcap(wc, "set_calprops", fmt, id=sid(instance, "bob"), calid="jdoe",
                name="x").errno == 28
    assert wcap(wc, "set_calprops", fmt, id=s, calid="nobody").errno == 29
    assert wcap(wc, "set_calprops", fmt, id=s, calid="a/b").errno == 30
    assert wcap(wc, "set_calprops", fmt, id=s).errno == 38
    assert (instance.registry.get("/jdoe/calendar/"),
            instance.store.calendar_props("jdoe")) == before


def test_set_calprops_primary_owner_by_admin(instance, wc):
    a = wcap(wc, "set_calprops", "text/calendar", id=sid(instance, "boss"), calid="jdoe",
             primaryOwner="bob")
    assert a.errno == 0 and instance.registry.get("/jdoe/calendar/").owner == "bob"


def test_set_calprops_multiple(instance, wc):
    s = sid(instance)
    wcap(wc, "createcalendar", "text/xml", id=s, calid="two")
    cals = ["calid%3Djdoe%26description%3DX-Calendar",
            "calid%3Djdoe:two%26description%3DY-Calendar"]
    q = "&".join("cal=" + c for c in cals)
    a = wcap(wc, "set_calprops", "text/xml", query=q, id=s, multiple=2)
    assert a.errno == 0, a.text
    assert instance.store.calendar_props("jdoe")["C:calendar-description"] == "X-Calendar"
    assert instance.store.calendar_props("jdoe:two")["C:calendar-description"] == "Y-Calendar"
    # One bad calendar: neither changes.
    bad = "cal=calid%3Djdoe%26description%3DQ&cal=calid%3Dnobody%26description%3DQ"
    assert wcap(wc, "set_calprops", "text/xml", query=bad, id=s, multiple=2).errno == 29
    assert instance.store.calendar_props("jdoe")["C:calendar-description"] == "X-Calendar"


def test_live_createcalendar_visible_over_caldav(live):
    add_user(live.instance, "carol")
    s = live.instance.sessions.create("carol")
    a = wcap(live.client, "createcalendar", "text/calendar", id=s, calid="trips",
             set_calprops=1, name="Trips")
    assert a.errno == 0
    dav = caldav.DAVClient(url=live.url + "/", username="carol", password=TEST_PASSWORD)
    names = {c.get_display_name() for c in dav.principal().calendars()}
    assert "Trips" in names
    a = wcap(live.client, "set_calprops", "text/calendar", id=s, calid="carol:trips",
             name="Journeys")
    assert a.errno == 0
    names = {c.get_display_name() for c in dav.principal().calendars()}
    assert "Journeys" in names
    assert wcap(live.client, "deletecalendar", "text/js", id=s, calid="carol:trips").errno == 0
    assert "Journeys" not in {c.get_display_name() for c in dav.principal().calendars()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_createcalendar_oracle_form_name_without_calid(instance, wc, fmt):
    """Oracle CS 7/8: name (required there) and no calid; the server makes the calid and
    the answer names it. desc is Oracle's description; fbinclude is accepted."""
    s = sid(instance)
    a = wcap(wc, "createcalendar", fmt, id=s, name="Team Room 1", desc="the room",
             fbinclude=1)
    assert a.errno == 0, a.text
    assert instance.registry.get("/jdoe/Team-Room-1/").owner == "jdoe"
    props = instance.store.calendar_props("jdoe:Team-Room-1")
    assert props["D:displayname"] == "Team Room 1"
    assert props["C:calendar-description"] == "the room"
    if fmt != "text/js":
        assert a.value("X-NSCP-CALPROPS-RELATIVE-CALID") == "jdoe:Team-Room-1"
    again = wcap(wc, "createcalendar", fmt, id=s, name="Team Room 1")
    assert again.errno == 0
    assert instance.registry.get("/jdoe/Team-Room-1-2/") is not None
    assert wcap(wc, "createcalendar", fmt, id=s).errno == 38
    # Sun's form is unchanged: calid wins, name is only set with set_calprops=1
    assert wcap(wc, "createcalendar", fmt, id=s, calid="sun", name="ignored").errno == 0
    assert instance.store.calendar_props("jdoe:sun").get("D:displayname") != "ignored"


def test_default_calendar_is_marked_for_oracle_clients(instance, wc):
    s = sid(instance)
    wcap(wc, "createcalendar", "text/xml", id=s, calid="other")
    answer = wcap(wc, "get_calprops", "text/xml", id=s, calid="jdoe;jdoe:other")
    blocks = list(answer.xml.iter("iCal"))
    assert [b.findtext("X-S1CS-DEFAULTCALENDAR") for b in blocks] == ["1", None]
