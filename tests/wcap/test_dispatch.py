import logging

import pytest

from radicale_wcap.wcap.commands.table import COMMANDS, MANUAL_TABLE_7_1, WCAP3_COMMANDS, Session
from radicale_wcap.wcap.dispatch import WcapDispatcher
from radicale_wcap.wcap.errors import WcapErrno, WcapError
from radicale_wcap.wcap.result import Result

from .conftest import FakeBackend, errno_of, ical_errno, run_js, xml_errnos

FORMATS = ["text/calendar", "text/xml", "text/js", "text/json"]


def make(handlers, **kw):
    return WcapDispatcher(FakeBackend(), handlers=handlers, **kw)


def test_table_covers_the_manual_and_wcap3():
    assert len(MANUAL_TABLE_7_1) == 36  # Table 7-1 as printed
    for name in MANUAL_TABLE_7_1 + WCAP3_COMMANDS:
        command = COMMANDS[name]
        assert command.manual and command.failed is not None
        names = [p.name for p in command.params]
        assert len(names) == len(set(names)), name
        if command.session is Session.REQUIRED:
            assert "id" in names, name


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_command_is_a_protocol_answer(dispatcher, fmt):
    answer = dispatcher("no_such_command", "GET", f"fmt-out={fmt}")
    assert answer[0] == "200 OK"
    assert errno_of(answer, fmt) == WcapErrno.BAD_COMMAND


@pytest.mark.parametrize("default", FORMATS)
def test_bad_fmt_out_is_58_in_the_default_format(backend, default):
    d = WcapDispatcher(backend, default_fmt_out=default)
    status, headers, body = d("version", "GET", "fmt-out=text/html")
    assert dict(headers)["Content-Type"].startswith(default)
    assert errno_of((status, headers, body), default) == WcapErrno.NO_SUCH_FORMAT


def test_default_fmt_out_is_configurable(backend):
    answer = WcapDispatcher(backend, default_fmt_out="text/calendar")("version")
    assert dict(answer[1])["Content-Type"] == "text/calendar; charset=utf-8"
    assert ical_errno(answer[2]) == 0
    with pytest.raises(ValueError):
        WcapDispatcher(backend, default_fmt_out="text/html")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("query", ["", "id=", "id=expired", "appid=mozilla-calendar&id=nope"])
def test_missing_or_invalid_session_is_errno_1(dispatcher, fmt, query):
    assert errno_of(dispatcher("gettime", "GET", f"{query}&fmt-out={fmt}"), fmt) == 1


def test_errno_1_only_for_sessions():
    """A valid session with bad parameters, a refused HTTP method or a crash is never 1."""
    def boom(ctx, params):
        raise RuntimeError("secret-internal-state")
    d = make({"fetchcomponents_by_range": boom, "storeevents": lambda ctx, params: Result()})
    ok = "id=good&fmt-out=text/xml"
    assert xml_errnos(d("fetchcomponents_by_range", "GET", ok + "&dtstart=yesterday")[2]) == [13]
    assert xml_errnos(d("fetchcomponents_by_range", "GET", ok + "&tzid=No/Where")[2]) == [18]
    assert xml_errnos(d("fetchcomponents_by_range", "GET", ok)[2]) == [13]
    # The manual's own storeevents examples are GET URLs; import is POST only ("You must
    # use this command with an HTTP POST"), refused with its bad-arguments errno.
    assert xml_errnos(d("storeevents", "GET", ok + "&calid=jdoe")[2]) == [0]
    assert xml_errnos(d("import", "GET", ok + "&calid=jdoe&content-in=text/calendar")[2]) == \
        [WcapErrno.BAD_IMPORT_ARGUMENTS]
    assert xml_errnos(d("deleteevents_by_id", "GET", ok + "&uid=a&rid=0&mod=4")[2]) == [38]


def test_crash_is_logged_not_leaked(caplog):
    def boom(ctx, params):
        raise RuntimeError("secret-internal-state")
    d = make({"get_calprops": boom})
    with caplog.at_level(logging.ERROR):
        for fmt in FORMATS:
            status, headers, body = d("get_calprops", "GET", f"id=good&fmt-out={fmt}")
            assert status == "200 OK" and b"secret" not in body and b"Traceback" not in body
            assert errno_of((status, headers, body), fmt) == WcapErrno.GET_CALPROPS_FAILED
    assert "secret-internal-state" in caplog.text
    assert "good" not in caplog.text.replace("goodbye", "")  # no session id in the log


def test_wcap_error_detail_stays_in_the_log(caplog):
    def denied(ctx, params):
        raise WcapError(WcapErrno.ACCESS_DENIED_TO_CALENDAR, "acl of jdoe:private")
    d = make({"get_calprops": denied})
    # On the logger itself: an Instance built earlier set Radicale's level on "radicale".
    with caplog.at_level(logging.INFO, logger="radicale.wcap"):
        body = d("get_calprops", "GET", "id=good&calid=jdoe:private&fmt-out=text/xml")[2]
    assert xml_errnos(body) == [28] and b"acl of" not in body
    assert "acl of jdoe:private" in caplog.text


def test_handler_gets_typed_params_and_context():
    seen = {}

    def fetch(ctx, params):
        seen.update(user=ctx.user.userid, sid=ctx.session_id, calid=params["calid"],
                    start=params["dtstart"], recurring=params["recurring"], fmt=ctx.fmt_out)
        return Result()
    d = make({"fetchcomponents_by_range": fetch})
    query = ("appid=mozilla-calendar&id=good&relativealarm=1&compressed=1&recurring=1"
             "&emailorcalid=1&fmt-out=text%2Fcalendar&component-type=event"
             "&dtstart=20240101T000000Z&dtend=0&calid=jdoe%3Awork")
    assert ical_errno(d("fetchcomponents_by_range", "GET", query)[2]) == 0
    assert seen["user"] == "jdoe" and seen["sid"] == "good" and seen["calid"] == ["jdoe:work"]
    assert seen["recurring"] is True and seen["fmt"] == "text/calendar"
    assert seen["start"].year == 2024


def test_post_form_body_is_read():
    seen = {}

    def store(ctx, params):
        seen["summary"] = params["summary"]
        return Result()
    d = make({"storeevents": store})
    answer = d("storeevents", "POST", "id=good", b"calid=jdoe&summary=a+b&fmt-out=text%2Fxml",
               "application/x-www-form-urlencoded")
    assert xml_errnos(answer[2]) == [0] and seen["summary"] == "a b"


def test_headers_and_js_session_header(dispatcher):
    status, headers, body = dispatcher("ping", "GET", "id=good")
    headers = dict(headers)
    assert status == "200 OK" and headers["Content-Type"] == "text/js; charset=utf-8"
    assert headers["Content-Length"] == str(len(body)) and headers["Cache-Control"] == "no-cache"
    values = run_js(body.decode())
    assert (values["id"], values["userid"], values["calid"], values["errno"]) == ("good", "jdoe", "jdoe", 0)


def test_handler_returning_garbage_is_answered():
    d = make({"version": lambda ctx, params: "not a result"})
    assert ical_errno(d("version", "GET", "fmt-out=text/calendar")[2]) == WcapErrno.NOT_FOUND


def test_logout_with_expired_session_is_not_errno_1():
    d = make({"logout": lambda ctx, params: Result(errno=WcapErrno.LOGOUT if ctx.user is None else -1)})
    assert xml_errnos(d("logout", "GET", "fmt-out=text/xml&id=gone")[2]) == [-1]


def test_garbage_input_never_raises(dispatcher):
    for query in ["%", "&&&", "=x", "fmt-out=%FF", "id=%00", "a" * 10000, "fmt-out"]:
        status, headers, body = dispatcher("gettime", "GET", query)
        assert status == "200 OK" and body
