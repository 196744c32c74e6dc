"""get_calprops and search_calprops against a real store."""

from __future__ import annotations

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login

PRIVATE_ACL = "@@o^a^r^g;@@o^c^wdeic^g"


@pytest.fixture
def wclient(instance):
    add_user(instance, "jdoe", email="jdoe@sesta.com")
    add_user(instance, "bob")
    add_user(instance, "alice")
    instance.store.set_calendar_props("jdoe", name="John Doe", description="Work Calendar",
                                      tz="America/Los_Angeles")
    instance.store.create_calendar("jdoe:sports", name="Sports Calendar")
    instance.registry.set_owners("/jdoe/calendar/", ["susan"])
    instance.registry.update_settings("/jdoe/calendar/", categories=["business", "fun"],
                                      allow_double_booking=False)
    instance.registry.set_acl("/alice/calendar/", PRIVATE_ACL)
    return InProcessClient(make_app(instance))


def test_properties_of_own_calendar(wclient):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_calprops", "text/calendar", id=sid, calid="jdoe")
    assert answer.errno == 0
    assert answer.value("X-NSCP-CALPROPS-RELATIVE-CALID") == "jdoe"
    assert answer.value("X-NSCP-CALPROPS-NAME") == "John Doe"
    assert answer.value("X-NSCP-CALPROPS-DESCRIPTION") == "Work Calendar"
    assert answer.value("X-NSCP-CALPROPS-PRIMARY-OWNER") == "jdoe"
    assert answer.values("X-NSCP-CALPROPS-OWNERS") == ["susan"]
    assert answer.value("X-NSCP-CALPROPS-TZID") == "America/Los_Angeles"
    assert answer.values("X-NSCP-CALPROPS-CATEGORIES") == ["business", "fun"]
    assert answer.value("X-NSCP-CALPROPS-LANGUAGE") == "en"
    assert answer.values("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY")[-1] == "@^p^r^g"
    assert len(answer.values("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY")) == 5
    assert answer.value("X-S1CS-CALPROPS-COMMON-NAME") == "Jdoe"
    assert answer.value("X-S1CS-CALPROPS-ALLOW-DOUBLEBOOKING") == "0"
    for stamp in ("X-NSCP-CALPROPS-CREATED", "X-NSCP-CALPROPS-LAST-MODIFIED"):
        assert len(answer.value(stamp)) == 16 and answer.value(stamp).endswith("Z")
    assert answer.value("X-NSCP-CALPROPS-READ") == "1"


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_calendars_with_layer_errnos(wclient, fmt):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_calprops", fmt, query="appid=mozilla-calendar&id=" + sid,
                  calid="jdoe;nosuch;alice;mailto:bob@example.com;JDOE:sports")
    assert answer.errnos[:4] == [0, 29, 28, 0] if fmt != "text/calendar" else True
    assert answer.errno == (0 if fmt == "text/xml" else 20)
    if fmt == "text/xml":
        blocks = list(answer.xml.iter("iCal"))
        assert [b.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for b in blocks] == [
            "jdoe", "nosuch", "alice", "mailto:bob@example.com", "JDOE:sports"]
        mail = blocks[3].find("X-NSCP-CALPROPS-RELATIVE-CALID")
        assert mail.get("X-S1CS-EMAIL") == "bob@example.com"
        assert blocks[3].findtext("X-NSCP-CALPROPS-PRIMARY-OWNER") == "bob"
        assert blocks[2].findtext("X-NSCP-CALPROPS-NAME") is None  # nothing leaks
        assert answer.errnos[4] in (29, 30)
    if fmt == "text/js":
        assert [c["calid"] for c in answer.js["calprops"]][:2] == ["jdoe", "nosuch"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("calid,errno", [("nosuch", 29), ("alice", 28), ("a/b", 30),
                                         ("mailto:ghost@example.com", 29)])
def test_single_calendar_errors(wclient, fmt, calid, errno):
    sid = wcap_login(wclient, "jdoe")
    assert wcap(wclient, "get_calprops", fmt, id=sid, calid=calid).errno == errno


def test_default_is_own_calendar(wclient):
    sid = wcap_login(wclient, "bob")
    answer = wcap(wclient, "get_calprops", "text/xml", id=sid)
    assert answer.value("X-NSCP-CALPROPS-RELATIVE-CALID") == "bob"


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_reads_public_calendars_only(wclient, fmt):
    answer = wcap(wclient, "get_calprops", fmt, calid="bob;alice")
    assert answer.errnos[:2] == [0, 28] if fmt != "text/calendar" else answer.errno == 20
    assert wcap(wclient, "get_calprops", fmt).errno == 38
    # a dead session is still errno 1: Lightning re-logs in on it
    assert wcap(wclient, "get_calprops", fmt, id="expired", calid="bob").errno == 1


def _found(answer) -> list[str]:
    return [b.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for b in answer.xml.iter("iCal")
            if b.findtext("X-NSCP-CALPROPS-RELATIVE-CALID")]


@pytest.mark.parametrize("opts,text,expected", [
    (0, "o", ["bob", "jdoe", "jdoe:sports"]), (1, "jd", ["jdoe", "jdoe:sports"]),
    (2, "ports", ["jdoe:sports"]), (3, "JDOE", ["jdoe"]), (3, "jd", [])])
def test_search_calid(wclient, opts, text, expected):
    sid = wcap_login(wclient, "jdoe")
    # Lightning's own URL: calid=1 is a flag, not a calendar id
    answer = wcap(wclient, "search_calprops", "text/xml",
                  query="appid=mozilla-calendar&id=" + sid, search_string=text, calid=1,
                  searchOpts=opts)
    assert answer.errno == 0
    assert _found(answer) == expected  # alice's is private: never listed


def test_search_name_owner_and_limit(instance, wclient):
    sid = wcap_login(wclient, "bob")
    by_name = wcap(wclient, "search_calprops", "text/xml", id=sid, search_string="sports",
                   name=1)
    assert _found(by_name) == ["jdoe:sports"]
    by_owner = wcap(wclient, "search_calprops", "text/xml", id=sid, search_string="jdoe",
                    primaryOwner=1)
    assert _found(by_owner) == ["jdoe", "jdoe:sports"]
    # name=0 and primaryOwner=0: the calid is searched regardless
    assert _found(wcap(wclient, "search_calprops", "text/xml", id=sid,
                       search_string="bob")) == ["bob"]
    limited = wcap(wclient, "search_calprops", "text/js", id=sid, search_string="o",
                   calid=1, maxResults=1)
    assert len(limited.js["calprops"]) == 1 and limited.js["maxResults"] == 1
    ical = wcap(wclient, "search_calprops", "text/calendar", id=sid, search_string="bob")
    assert ical.errno == 0 and ical.values("X-NSCP-CALPROPS-RELATIVE-CALID") == ["bob"]


def test_search_finds_unregistered_calendars_on_disk(instance, wclient):
    instance.registry.remove("/bob/calendar/")
    sid = wcap_login(wclient, "jdoe")
    assert _found(wcap(wclient, "search_calprops", "text/xml", id=sid,
                       search_string="bob", searchOpts=3)) == ["bob"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_search_errors(wclient, fmt):
    assert wcap(wclient, "search_calprops", fmt, search_string="x").errno == 1
    sid = wcap_login(wclient, "jdoe")
    assert wcap(wclient, "search_calprops", fmt, id=sid).errno == 19
    assert wcap(wclient, "search_calprops", fmt, id=sid, search_string="x",
                searchOpts=7).errno == 19
