"""set_userprefs and change_password."""

from __future__ import annotations

import logging

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import TEST_PASSWORD, InProcessClient, add_user
from tests.wcap.conftest import FORMATS, wcap, wcap_login


@pytest.fixture
def wc(instance):
    add_user(instance, "jdoe")
    add_user(instance, "bob")
    add_user(instance, "boss", admin=True)
    return InProcessClient(make_app(instance))


@pytest.mark.parametrize("fmt", FORMATS)
def test_set_add_del(instance, wc, fmt):
    s = instance.sessions.create("jdoe")
    a = wcap(wc, "set_userprefs", fmt, id=s, add_attrs="ceBgcolor=black",
             set_attrs="icsTimezone=Europe/Paris")
    assert a.errno == 0, a.text
    if fmt != "text/js":
        assert a.value("X-NSCP-WCAP-PREF-ceBgcolor") == "black"
        assert a.value("X-NSCP-WCAP-PREF-icsTimezone") == "Europe/Paris"
    assert instance.directory.get("jdoe").tz == "Europe/Paris"
    assert wcap(wc, "set_userprefs", fmt, id=s, set_attrs="ceBgcolor=white").errno == 0
    assert instance.directory.get("jdoe").prefs["ceBgcolor"] == "white"
    assert wcap(wc, "set_userprefs", fmt, id=s, del_attrs="ceBgcolor").errno == 0
    assert "ceBgcolor" not in instance.directory.get("jdoe").prefs


def test_convert_calid_and_subscribed_append(instance, wc):
    s = instance.sessions.create("jdoe")
    assert wcap(wc, "set_userprefs", "text/xml", id=s, convertCalid=1,
                set_attrs="icsSubscribed=bob^x$X").errno == 0
    assert wcap(wc, "set_userprefs", "text/xml", id=s,
                add_attrs="icsSubscribed=bob$Bob").errno == 0
    assert instance.directory.get("jdoe").prefs["icsSubscribed"] == "bob:x$X,bob$Bob"


@pytest.mark.parametrize("fmt", FORMATS)
def test_refusals_change_nothing(instance, wc, fmt):
    s = instance.sessions.create("jdoe")
    for bad in ({"set_attrs": "cn=Evil"}, {"set_attrs": "ok=1;mail=x@y"},
                {"set_attrs": "icsTimezone=Mars/Base"}, {"set_attrs": "novalue"},
                {"del_attrs": "icsCalendar"}, {"add_attrs": "bad name=1"}):
        assert wcap(wc, "set_userprefs", fmt, id=s, **bad).errno == 26, bad
    assert instance.directory.get("jdoe").prefs == {}
    assert wcap(wc, "set_userprefs", fmt, id=s, userid="bob", set_attrs="a=1").errno == 44
    b = wcap(wc, "set_userprefs", fmt, id=instance.sessions.create("boss"), userid="bob",
             set_attrs="a=1")
    assert b.errno == 0 and instance.directory.get("bob").prefs == {"a": "1"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_change_password(instance, wc, fmt, caplog):
    caplog.set_level(logging.DEBUG)
    mine = wcap_login(wc, "jdoe")
    other = instance.sessions.create("jdoe")
    assert wcap(wc, "change_password", fmt, id=mine, oldPassword="wrong-old",
                newPassword="n3w-secret-pass").errno == 27
    assert wcap(wc, "change_password", fmt, id=mine, oldPassword=TEST_PASSWORD,
                newPassword="").errno in (27,)
    assert wcap(wc, "change_password", fmt, id=mine, oldPassword=TEST_PASSWORD,
                newPassword="n3w-secret-pass").errno == 0
    assert instance.directory.verify_password("jdoe", "n3w-secret-pass")
    assert instance.sessions.user_of(mine) == "jdoe"
    assert instance.sessions.user_of(other) is None
    assert "n3w-secret-pass" not in caplog.text and TEST_PASSWORD not in caplog.text
    assert mine not in caplog.text
    instance.directory.set_password("jdoe", TEST_PASSWORD)


def test_live_change_password_then_login(live):
    add_user(live.instance, "pw")
    s = wcap_login(live.client, "pw")
    assert wcap(live.client, "change_password", "text/calendar", id=s,
                oldPassword=TEST_PASSWORD, newPassword="another-pass-1").errno == 0
    assert wcap(live.client, "login", "text/calendar", user="pw",
                password=TEST_PASSWORD).errno == 1
    wcap_login(live.client, "pw", "another-pass-1")


def test_change_password_keeps_the_login_back_off(tmp_path):
    # Holding a session must not let anyone guess the old password at full speed.
    from tests.conftest import make_instance
    instance = make_instance(str(tmp_path), {"auth": {"failed_login_backoff": "30"}})
    add_user(instance, "jdoe")
    client = InProcessClient(make_app(instance))
    sid = wcap_login(client, "jdoe")
    assert wcap(client, "change_password", "text/xml", id=sid, oldPassword="a-guess",
                newPassword="n3w-secret-pass").errno == 27
    assert wcap(client, "change_password", "text/xml", id=sid, oldPassword=TEST_PASSWORD,
                newPassword="n3w-secret-pass").errno == 27
    assert instance.directory.verify_password("jdoe", TEST_PASSWORD)
    assert not instance.directory.verify_password("jdoe", "n3w-secret-pass")
