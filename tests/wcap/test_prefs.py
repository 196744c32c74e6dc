"""get_userprefs against the directory."""

from __future__ import annotations

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.wcap.commands.prefs import SERVER_PREFS, USER_PREFS
from tests.conftest import InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login


@pytest.fixture
def wclient(instance):
    add_user(instance, "jdoe", email="john.doe@example.com")
    instance.directory.update("jdoe", cn="John Doe", tz="Europe/London")
    add_user(instance, "boss", admin=True)
    return InProcessClient(make_app(instance))


def test_manual_prefs_from_directory(wclient):
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_userprefs", "text/calendar", id=sid)
    assert answer.errno == 0
    assert answer.value("X-NSCP-WCAP-PREF-cn") == "John Doe"
    assert answer.value("X-NSCP-WCAP-PREF-givenName") == "John"
    assert answer.value("X-NSCP-WCAP-PREF-sn") == "Doe"
    assert answer.value("X-NSCP-WCAP-PREF-mail") == "john.doe@example.com"
    assert answer.value("X-NSCP-WCAP-PREF-icsCalendar") == "jdoe"
    assert answer.value("X-NSCP-WCAP-PREF-icsTimezone") == "Europe/London"
    assert answer.value("X-NSCP-WCAP-PREF-ceDefaultAlarmStart") == "PT15M"
    assert answer.value("X-NSCP-WCAP-PREF-ceDefaultAlarmEmail") == "john.doe@example.com"
    assert answer.value("X-NSCP-WCAP-PREF-icsCalendarOwned") == "jdoe$jdoe"
    for name, _ in USER_PREFS:
        assert answer.values(f"X-NSCP-WCAP-PREF-{name}"), name
    for name, _ in SERVER_PREFS:
        assert answer.value(f"X-NSCP-WCAP-SERVER-PREF-{name}") in ("yes", "no")


def test_stored_prefs_override_and_extend(instance, wclient):
    instance.directory.set_prefs("jdoe", {"icsSubscribed": "bob$Bob,jdoe:work$Work",
                                          "ceInterval": "PT0H30M",
                                          "icsCalendar": "jdoe:work"})
    sid = wcap_login(wclient, "jdoe")
    answer = wcap(wclient, "get_userprefs", "text/xml", id=sid, userid="jdoe")
    assert answer.value("X-NSCP-WCAP-PREF-icsSubscribed") == "bob$Bob,jdoe:work$Work"
    assert answer.value("X-NSCP-WCAP-PREF-ceInterval") == "PT0H30M"
    assert answer.values("X-NSCP-WCAP-PREF-icsCalendar") == ["jdoe:work"]
    login = wcap(wclient, "login", "text/calendar", user="jdoe", password="secret-pass")
    assert login.value("X-NSCP-WCAP-CALENDAR-ID") == "jdoe:work"


@pytest.mark.parametrize("fmt", FORMATS)
def test_own_userid_allowed_other_denied(wclient, fmt):
    sid = wcap_login(wclient, "jdoe")
    # Lightning always sends its own login name as userid.
    own = wcap(wclient, "get_userprefs", fmt, query="appid=mozilla-calendar&id=" + sid,
               userid="jdoe")
    assert own.errno == 0
    if fmt == "text/js":
        assert own.js["props"]["X-NSCP-WCAP-PREF-cn"] == "John Doe"
    assert wcap(wclient, "get_userprefs", fmt, id=sid, userid="boss").errno == 44


@pytest.mark.parametrize("fmt", FORMATS)
def test_admin_reads_others(wclient, fmt):
    sid = wcap_login(wclient, "boss")
    answer = wcap(wclient, "get_userprefs", fmt, id=sid, userid="jdoe")
    assert answer.errno == 0
    if fmt != "text/js":
        assert answer.value("X-NSCP-WCAP-PREF-mail") == "john.doe@example.com"
    assert wcap(wclient, "get_userprefs", fmt, id=sid, userid="ghost").errno == 61


@pytest.mark.parametrize("fmt", FORMATS)
def test_needs_session(wclient, fmt):
    assert wcap(wclient, "get_userprefs", fmt).errno == 1
    assert wcap(wclient, "get_userprefs", fmt, id="bogus").errno == 1
