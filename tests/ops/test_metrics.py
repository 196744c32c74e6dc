"""``GET /metrics``: gated by the setting, the address and the token; the counters the
operators asked for. Values are process-wide, so the tests compare before and after."""

from __future__ import annotations

import io
import re
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from radicale_wcap.middleware import make_app
from tests.conftest import TEST_PASSWORD, InProcessClient, add_user, make_instance

TOKEN = "s3cret-metrics-token"
FEED = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n%s"
        "END:VCALENDAR\r\n")
EVENT = ("BEGIN:VEVENT\r\nUID:m-%d\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T08%02d00Z"
         "\r\nDURATION:PT30M\r\nSUMMARY:Metric %d\r\nEND:VEVENT\r\n")


def get(app, path, remote="127.0.0.1", **headers):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
               "REMOTE_ADDR": remote, "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "CONTENT_LENGTH": "0", "SCRIPT_NAME": ""}
    environ.update(("HTTP_" + k.upper(), v) for k, v in headers.items())
    answer = {}
    body = app(environ, lambda status, headers_, exc=None: answer.update(status=status))
    data = b"".join(body)
    body.close()
    return int(answer["status"].split()[0]), data


def samples(app) -> dict:
    status, body = get(app, "/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


@pytest.fixture
def app(tmp_path):
    instance = make_instance(str(tmp_path), {"http": {"metrics": "True", "metrics_token": TOKEN,
                                                      "metrics_allow": "127.0.0.1, 10.9.0.0/16"}})
    add_user(instance, "alice")
    instance.registry.set_webname("/alice/calendar/", "AliceFeed")
    return make_app(instance)


def test_off_unless_enabled(tmp_path):
    app = make_app(make_instance(str(tmp_path)))
    status, body = get(app, "/metrics")
    assert status != 200 or b"radicale_wcap_requests_total" not in body


def test_address_or_token(app):
    assert get(app, "/metrics")[0] == 200
    assert get(app, "/metrics", remote="10.9.3.4")[0] == 200
    assert get(app, "/metrics", remote="::ffff:127.0.0.1")[0] == 200
    assert get(app, "/metrics", remote="192.0.2.7")[0] == 403
    assert get(app, "/metrics", remote="192.0.2.7", authorization="Bearer " + TOKEN)[0] == 200
    assert get(app, "/metrics", authorization="Bearer wrong")[0] == 403
    # Through a proxy on the same machine the proxy's address says nothing.
    assert get(app, "/metrics", x_forwarded_for="192.0.2.7")[0] == 403
    assert get(app, "/metrics", x_forwarded_for="192.0.2.7",
               authorization="Bearer " + TOKEN)[0] == 200


def test_requests_errors_feeds_sessions(app):
    client = InProcessClient(app)
    before = samples(app)
    login = client.request("GET", "/wcap/login.wcap?user=alice&password=%s&fmt-out=text/calendar"
                           % TEST_PASSWORD)
    sid = re.search(r"X-NSCP-WCAP-SESSION-ID:(\w+)", login.text).group(1)
    client.request("GET", "/wcap/login.wcap?user=alice&password=wrong")
    client.request("GET", "/wcap/fetchcomponents_by_range.wcap?id=%s&calid=alice" % sid)
    feed = FEED % "".join(EVENT % (i, i, i) for i in range(3))
    assert client.request("PUT", "/service/AliceFeed.ics", feed, user="alice").status == 200
    assert client.request("PUT", "/service/AliceFeed.ics", FEED % "", user="bob").status == 401
    client.request("PROPFIND", "/alice/calendar/", headers={"Depth": "0"}, user="alice")
    after = samples(app)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    wcap = {"door": "wcap"}
    assert delta("radicale_wcap_requests_total", command="login", status="200", **wcap) == 2
    assert delta("radicale_wcap_errors_total", command="login", code="1", **wcap) == 1
    assert delta("radicale_wcap_request_duration_seconds_count",
                 command="fetchcomponents_by_range", **wcap) == 1
    assert delta("radicale_wcap_requests_total", door="caldav", command="PROPFIND",
                 status="207") == 1
    assert delta("radicale_wcap_errors_total", door="feeds", command="import", code="401") == 1
    assert delta("radicale_wcap_feed_imports_total", status="200") == 1
    assert delta("radicale_wcap_feed_imports_total", status="401") == 1
    assert delta("radicale_wcap_feed_events_total", change="added") == 3
    assert delta("radicale_wcap_requests_total", door="ops", command="metrics",
                 status="200") == 1
    assert after[("radicale_wcap_sessions", ())] == 1
    assert ("radicale_wcap_index_rebuilds_total", ()) in after
