"""list, list_subscribed, subscribe_calendars, unsubscribe_calendars."""

from __future__ import annotations

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap


@pytest.fixture
def wc(instance):
    add_user(instance, "jdoe")
    add_user(instance, "bob")
    add_user(instance, "boss", admin=True)
    instance.store.create_calendar("bob:team", owner="bob", name="Team, A$")
    instance.registry.set_owners("/bob/team/", ["jdoe"])
    return InProcessClient(make_app(instance))


def calids(answer):
    if answer.fmt == "text/js":
        return [c["calid"] for c in answer.js.get("calprops", [])]
    return answer.values("X-NSCP-CALPROPS-RELATIVE-CALID")


@pytest.mark.parametrize("fmt", FORMATS)
def test_owned_list(instance, wc, fmt):
    a = wcap(wc, "list", fmt, id=instance.sessions.create("jdoe"))
    assert a.errno == 0 and calids(a) == ["bob:team", "jdoe"]
    assert wcap(wc, "list", fmt, id=instance.sessions.create("jdoe"), userid="bob").errno == 76
    a = wcap(wc, "list", fmt, id=instance.sessions.create("boss"), userid="bob")
    assert calids(a) == ["bob", "bob:team"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_subscribe_roundtrip(instance, wc, fmt):
    s = instance.sessions.create("jdoe")
    assert wcap(wc, "subscribe_calendars", fmt, id=s, calid="bob;bob:team").errno == 0
    prefs = instance.directory.get("jdoe").prefs["icsSubscribed"]
    # Lightning's parse: split on ',', the part before '$' is the calid.
    assert [p.split("$")[0] for p in prefs.split(",")] == ["bob", "bob:team"]
    assert all("$" in p for p in prefs.split(","))
    a = wcap(wc, "list_subscribed", fmt, id=s)
    assert a.errno == 0 and calids(a) == ["bob", "bob:team"]
    g = wcap(wc, "get_userprefs", "text/xml", id=s)
    assert g.value("X-NSCP-WCAP-PREF-icsSubscribed") == prefs
    assert wcap(wc, "subscribe_calendars", fmt, id=s, calid="ghost").errno == 29
    assert wcap(wc, "subscribe_calendars", fmt, id=s, calid="a/b").errno == 30
    assert wcap(wc, "subscribe_calendars", fmt, id=s, calid="bob", userid="bob").errno == 76
    assert wcap(wc, "unsubscribe_calendars", fmt, id=s, calid="bob").errno == 0
    assert calids(wcap(wc, "list_subscribed", fmt, id=s)) == ["bob:team"]


def test_subscribed_calendar_deleted_or_denied_gets_layer_errno(instance, wc):
    s = instance.sessions.create("jdoe")
    wcap(wc, "subscribe_calendars", "text/xml", id=s, calid="bob:team;bob")
    instance.store.delete_calendar("bob:team")
    instance.registry.set_acl("/bob/calendar/", "@^a^^d")
    a = wcap(wc, "list_subscribed", "text/xml", id=s)
    assert a.errnos == [29, 28]  # one <iCal> per calendar, each with its errno
    assert wcap(wc, "unsubscribe_calendars", "text/xml", id=s, calid="bob:team").errno == 0
    assert instance.directory.get("jdoe").prefs["icsSubscribed"].startswith("bob$")


def test_live_subscribe_and_list(live):
    add_user(live.instance, "ann")
    add_user(live.instance, "ben")
    s = live.instance.sessions.create("ann")
    assert wcap(live.client, "subscribe_calendars", "text/calendar", id=s,
                calid="ben").errno == 0
    a = wcap(live.client, "list_subscribed", "text/calendar", id=s)
    assert a.values("X-NSCP-CALPROPS-RELATIVE-CALID") == ["ben"]
