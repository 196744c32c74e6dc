"""login / logout / check_id against a real Instance (in-process and live)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import TEST_PASSWORD, InProcessClient, LiveServer, add_user
from tests.wcap.conftest import FORMATS, WcapAnswer, wcap, wcap_login


@pytest.fixture
def wclient(instance):
    add_user(instance, "jdoe")
    add_user(instance, "admin1", admin=True)
    return InProcessClient(make_app(instance))


def test_login_icalendar_lines_in_client_order(wclient):
    answer = wcap(wclient, "login", "text/calendar", user="jdoe", password=TEST_PASSWORD)
    names = [line.split(":")[0] for line in answer.lines]
    wanted = ["X-NSCP-WCAP-SESSION-ID", "X-NSCP-WCAP-USER-ID", "X-NSCP-WCAP-CALENDAR-ID",
              "X-NSCP-RECURRENCE-BOUND", "X-NSCP-WCAP-ERRNO"]
    assert [n for n in names if n in wanted] == wanted
    assert answer.value("X-NSCP-WCAP-USER-ID") == "jdoe"
    assert answer.value("X-NSCP-WCAP-CALENDAR-ID") == "jdoe"
    assert answer.value("X-NSCP-RECURRENCE-BOUND") == "60"
    assert answer.errno == 0


def test_login_xml_has_session_element(wclient):
    answer = wcap(wclient, "login", "text/xml", user="jdoe", password=TEST_PASSWORD)
    assert answer.errno == 0
    sid = answer.value("X-NSCP-WCAP-SESSION-ID")
    assert len(sid) >= 32
    assert wcap(wclient, "ping", "text/xml", id=sid).errno == 0


def test_login_js_refresh(wclient):
    full = wcap(wclient, "login", "text/js", user="jdoe", password=TEST_PASSWORD)
    assert full.errno == 0 and full.js["userid"] == "jdoe" and full.js["calid"] == "jdoe"
    only_id = wcap(wclient, "login", "text/js", user="jdoe", password=TEST_PASSWORD,
                   refresh=1)
    assert only_id.js["id"] not in ("", "0") and only_id.js["userid"] == ""
    assert only_id.js["id"] != full.js["id"]


def test_login_post_form(wclient):
    body = urlencode({"user": "jdoe", "password": TEST_PASSWORD, "fmt-out": "text/calendar"})
    response = wclient.request("POST", "/login.wcap", body=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = WcapAnswer("text/calendar", response)
    assert answer.errno == 0 and answer.value("X-NSCP-WCAP-USER-ID") == "jdoe"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("creds", [
    {"user": "jdoe", "password": "wrong"}, {"user": "nobody", "password": "x"},
    {"user": "jdoe"}, {"password": TEST_PASSWORD}, {"user": "bad/name", "password": "x"}])
def test_login_failures_are_errno_1(wclient, fmt, creds):
    answer = wcap(wclient, "login", fmt, **creds)
    assert answer.errno == 1
    assert "SESSION-ID" not in answer.text or answer.fmt == "text/js"
    if fmt == "text/js":
        assert answer.js["id"] == "0"


def test_login_text_html_is_not_served(wclient):
    response = wclient.request("GET", "/login.wcap?user=jdoe&password=%s&fmt-out=text%%2Fhtml"
                               % TEST_PASSWORD)
    assert response.status == 200  # never a 302 to a UI (Lightning would give up)
    assert "X-NSCP-WCAP-SESSION-ID" not in response.text
    assert "58" in response.text


def test_every_login_gets_a_new_id(wclient):
    first = wcap_login(wclient, "jdoe")
    again = wcap(wclient, "login", "text/calendar", user="jdoe", password=TEST_PASSWORD,
                 id=first).value("X-NSCP-WCAP-SESSION-ID")
    assert again != first
    # both stay valid: two Lightning profiles may share one account
    assert wcap(wclient, "check_id", "text/calendar", id=first).value(
        "X-NSCP-WCAP-CHECK-ID") == "1"


def test_password_and_id_never_logged(wclient, caplog):
    caplog.set_level(logging.DEBUG)
    wcap(wclient, "login", "text/calendar", user="jdoe", password="Wrong-Secret-42")
    sid = wcap_login(wclient, "jdoe")
    wcap(wclient, "get_userprefs", "text/xml", id=sid, userid="admin1")
    wcap(wclient, "logout", "text/xml", id=sid)
    wcap(wclient, "get_userprefs", "text/xml", id=sid)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "jdoe" in logged  # the log does name the user
    assert "Wrong-Secret-42" not in logged and TEST_PASSWORD not in logged
    assert sid not in logged


@pytest.mark.parametrize("fmt", FORMATS)
def test_logout_is_minus_one_and_kills_the_id(wclient, fmt):
    sid = wcap_login(wclient, "jdoe")
    assert wcap(wclient, "get_userprefs", fmt, id=sid).errno == 0
    answer = wcap(wclient, "logout", fmt, id=sid)
    assert answer.errno == -1
    if fmt == "text/js":
        assert answer.js["id"] == "0"
    assert wcap(wclient, "get_userprefs", fmt, id=sid).errno == 1
    assert wcap(wclient, "logout", fmt, id=sid).errno == -1  # quitting twice is fine
    assert wcap(wclient, "logout", fmt).errno == -1


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_id(wclient, fmt):
    sid = wcap_login(wclient, "jdoe")

    def checked(value):
        answer = wcap(wclient, "check_id", fmt, id=value)
        assert answer.errno == 0
        return answer.js["checkid"] if fmt == "text/js" else answer.value("X-NSCP-WCAP-CHECK-ID")

    assert checked(sid) == "1"
    assert checked("not-a-session") == "0"
    wcap(wclient, "logout", fmt, id=sid)
    assert checked(sid) == "0"


def test_expired_session_is_errno_1(instance, wclient):
    sid = wcap_login(wclient, "jdoe")
    instance.sessions.idle_timeout = -1
    assert wcap(wclient, "get_userprefs", "text/xml", id=sid).errno == 1


def test_two_servers_on_one_store_share_sessions(tmp_path):
    first = LiveServer(str(tmp_path))
    try:
        add_user(first.instance, "jdoe")
        second = LiveServer(str(tmp_path))
        try:
            sid = wcap_login(first.client, "jdoe")
            answer = wcap(second.client, "get_calprops", "text/xml",
                          query="appid=mozilla-calendar&id=" + sid, calid="jdoe")
            assert answer.errno == 0
            assert answer.value("X-NSCP-CALPROPS-RELATIVE-CALID") == "jdoe"
            other = wcap_login(second.client, "jdoe")
            assert wcap(first.client, "get_userprefs", "text/xml", id=other).errno == 0
            assert wcap(second.client, "logout", "text/xml", id=sid).errno == -1
            assert wcap(first.client, "get_userprefs", "text/xml", id=sid).errno == 1
        finally:
            second.stop()
    finally:
        first.stop()


def test_ids_are_letters_and_digits_for_old_clients(wclient, instance):
    """Old clients read ``WCAP-SESSION-ID:(\\w+)`` and take a leading ``-`` for a failed
    login: an id of 256 bits from ``secrets`` in [A-Za-z0-9] only."""
    import re
    answer = wcap(wclient, "login", "text/calendar", user="jdoe", password=TEST_PASSWORD)
    sid = answer.value("X-NSCP-WCAP-SESSION-ID")
    assert re.search(r"WCAP-SESSION-ID:(\w+)", answer.text).group(1) == sid
    ids = {instance.sessions.create("jdoe") for _ in range(200)} | {sid}
    assert len(ids) == 201
    assert all(re.fullmatch(r"[A-Za-z0-9]{43}", i) for i in ids)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("tail", ["%0D%0A", "%0A", "%20", "%09%0D%0A"])
def test_id_with_trailing_line_end_is_accepted(wclient, fmt, tail):
    """A 2014 client sends ``id=<sid>%0D%0A``."""
    sid = wcap_login(wclient, "jdoe")
    query = "id=" + sid + tail
    answer = wcap(wclient, "get_userprefs", fmt, query=query)
    assert answer.errno == 0
    if fmt == "text/js":
        assert answer.js["id"] == sid  # echoed without the line end
    checked = wcap(wclient, "check_id", fmt, query=query)
    assert (checked.js["checkid"] if fmt == "text/js"
            else checked.value("X-NSCP-WCAP-CHECK-ID")) == "1"
    assert wcap(wclient, "logout", fmt, query=query).errno == -1
    assert wcap(wclient, "get_userprefs", fmt, id=sid).errno == 1


def test_blank_id_is_no_session(wclient):
    assert wcap(wclient, "get_userprefs", "text/xml", query="id=%0D%0A").errno == 1
    assert wcap(wclient, "logout", "text/xml", query="id=%20").errno == -1
