"""Size limits of one calendar object, the same check at every door.

Security issue: one event with 100,000 X- properties (1.2 MB) cost 7 to 20 s to store
through each door, and a one-day WCAP fetch of its calendar 12 to 20 s afterwards.
``[storage] max_item_size``, ``max_item_lines``, ``max_item_components``,
``max_component_properties`` and ``max_line_size`` are checked by
``storage.validate_item`` (store.prepare_item, the storage plugin's upload and
whole-calendar PUT) and, on the text before any parse, by the feed.
"""

from __future__ import annotations

import datetime
import json
import time
import urllib.parse

import pytest
import vobject

from radicale_wcap.limits import ItemLimits, ItemOverLimits
from radicale_wcap.store import READ, SYSTEM, CalendarNotFound, ItemRefused, prepare_item
from tests.conftest import LiveServer, add_user, make_instance, plugin_collection

#: Generous: the machines running the suite are shared and slow.
PROMPT = 2.0
ICS = {"Content-Type": "text/calendar"}
HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
TAIL = "END:VCALENDAR\r\n"


def vevent(uid: str, extra: str = "", rid: str = "") -> str:
    return ("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20240101T000000Z\r\n%s"
            "DTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\nSUMMARY:x\r\n%sEND:VEVENT\r\n"
            % (uid, "RECURRENCE-ID:%s\r\n" % rid if rid else "", extra))


def x_props(count: int) -> str:
    return "".join("X-P%d:v\r\n" % i for i in range(count))


def calendar(*events: str) -> str:
    return HEAD + "".join(events) + TAIL


def heavy(uid: str = "heavy") -> str:
    """The issue's event: 100,000 X- properties, 1.2 MB."""
    return calendar(vevent(uid, x_props(100_000)))


def many_overrides(uid: str = "series", count: int = 1001, props: int = 1) -> str:
    master = vevent(uid, "RRULE:FREQ=DAILY;COUNT=2000\r\n")
    days = (datetime.date(2024, 1, 3) + datetime.timedelta(days=i) for i in range(count))
    return calendar(master, *(vevent(uid, x_props(props), rid=day.strftime("%Y%m%dT100000Z"))
                              for day in days))


#: (body, what the refusal says), each over exactly one default limit.
OVER = {
    "properties": (calendar(vevent("p", x_props(2001))), "more than 2000 properties"),
    "components": (many_overrides(), "more than 1000 components"),
    "lines": (many_overrides(count=500, props=35), "more than 20000 content lines"),
    "line size": (calendar(vevent("l", "DESCRIPTION:%s\r\n" % ("x" * 300_000))),
                  "longer than 262144"),
    "size": (calendar(vevent("s", "".join("X-A%d:%s\r\n" % (i, "y" * 1000) for i in range(1100)))),
             "larger than 1048576 bytes"),
}


# ---------------------------------------------------------------- the check itself

@pytest.mark.parametrize("body", [heavy(), many_overrides(count=1000, props=80)],
                         ids=["100k-properties", "1000x80-overrides"])
def test_prepare_item_refuses_the_heavy_items_before_parsing(instance, body):
    started = time.monotonic()
    with pytest.raises(ItemRefused):
        prepare_item(instance.configuration, "/alice/calendar/", body)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("limit", sorted(OVER))
def test_each_limit_on_text_and_on_a_parsed_item(instance, limit):
    body, message = OVER[limit]
    with pytest.raises(ItemRefused, match=message):
        prepare_item(instance.configuration, "/alice/calendar/", body)
    with pytest.raises(ItemRefused, match=message):
        prepare_item(instance.configuration, "/alice/calendar/", vobject.readOne(body))


def test_items_at_the_limits_are_accepted(instance):
    for body in (calendar(vevent("p", x_props(1990))),
                 many_overrides(count=990),
                 calendar(vevent("l", "DESCRIPTION:%s\r\n" % ("x" * 200_000)))):
        prepare_item(instance.configuration, "/alice/calendar/", body)
        prepare_item(instance.configuration, "/alice/calendar/", vobject.readOne(body))


def test_limits_are_settings_and_zero_is_off(tmp_path):
    instance = make_instance(str(tmp_path), {"storage": {
        "max_component_properties": "10", "max_item_lines": "0", "max_item_size": "0"}})
    with pytest.raises(ItemRefused, match="more than 10 properties"):
        prepare_item(instance.configuration, "/a/calendar/", calendar(vevent("a", x_props(6))))
    prepare_item(instance.configuration, "/a/calendar/", calendar(vevent("a", x_props(5))))


def test_folded_lines_count_once_and_refusals_name_the_line():
    folded = "DESCRIPTION:" + "\r\n ".join(["x" * 60] * 5) + "\r\n"   # 5 lines, 312 characters
    six = ItemLimits(size=0, lines=0, components=0, properties=6, line_size=0)
    six.check_text(calendar(vevent("f", folded)))  # UID DTSTAMP DTSTART DTEND SUMMARY DESCRIPTION
    with pytest.raises(ItemOverLimits, match="VEVENT has more than 5") as info:
        ItemLimits(size=0, lines=0, components=0, properties=5, line_size=0).check_text(
            calendar(vevent("f", folded)))
    assert info.value.line == 4
    long_lines = ItemLimits(size=0, lines=0, components=0, properties=0, line_size=300)
    with pytest.raises(ItemOverLimits, match="longer than 300") as info:
        long_lines.check_text(calendar(vevent("f")) + calendar(vevent("g", folded)),
                              one_item=False)
    assert info.value.line == 21  # the DESCRIPTION line of the second calendar
    long_lines.check_text(calendar(vevent("g", folded.replace("x" * 60, "x" * 50))))


def test_bare_cr_line_ends_are_lines_too():
    limits = ItemLimits(size=0, lines=0, components=0, properties=10, line_size=0)
    with pytest.raises(ItemOverLimits):
        limits.check_text(calendar(vevent("p", x_props(20))).replace("\r\n", "\r"))


def test_upload_of_the_storage_plugin_checks_too(instance):
    from radicale import item as radicale_item
    add_user(instance, "alice")
    body, message = OVER["properties"]
    item = radicale_item.Item(collection_path="alice/calendar", text=body)
    with plugin_collection(instance, "/alice/calendar/", "alice", "w") as collection:
        with pytest.raises(ItemOverLimits, match=message):
            collection.upload("p.ics", item)


# ---------------------------------------------------------------- every door, real server

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(str(tmp_path_factory.mktemp("limits")))
    add_user(live.instance, "alice")
    live.instance.registry.set_webname("/alice/calendar/", "AliceFeed")
    yield live
    live.stop()


def stored_uids(server, path="/alice/calendar/"):
    try:
        with server.instance.store.reading(path, SYSTEM, READ) as calendar:
            return set(calendar.entries())
    except CalendarNotFound:
        return set()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def errno(response) -> int:
    text = response.text
    return int(text.split("<X-NSCP-WCAP-ERRNO>")[1].split("<")[0])


def assert_answering(server):
    response, elapsed = timed(lambda: server.client.request(
        "PROPFIND", "/alice/calendar/", "", {"Depth": "0"}, user="alice"))
    assert response.status == 207 and elapsed < PROMPT


@pytest.mark.parametrize("limit", ["properties", "components", "line size"])
def test_caldav_put_is_refused_with_400(server, limit):
    body, _ = OVER[limit]
    response = server.client.request("PUT", "/alice/calendar/over.ics", body, ICS, user="alice")
    assert response.status == 400
    assert not {"p", "series", "l"} & stored_uids(server)
    assert_answering(server)


def test_caldav_put_of_a_heavy_event_is_refused_before_any_parse(server):
    # The guard counts on the text: Radicale's own parse of this body took 25 s.
    response, elapsed = timed(lambda: server.client.request(
        "PUT", "/alice/calendar/heavy.ics", heavy(), ICS, user="alice"))
    assert response.status == 400 and b"refused" in response.body
    assert elapsed < PROMPT
    assert "heavy" not in stored_uids(server)


def test_caldav_whole_calendar_put_is_refused_with_400(server):
    body = calendar(vevent("fine"), vevent("p", x_props(2001)))
    response = server.client.request("PUT", "/alice/imported/", body, ICS, user="alice")
    assert response.status == 400
    assert stored_uids(server, "/alice/imported/") == set()


def test_caldav_whole_calendar_put_within_the_limits_stores_every_item(server):
    body = calendar(vevent("whole-1"), vevent("whole-2", x_props(1990)))
    response = server.client.request("PUT", "/alice/whole/", body, ICS, user="alice")
    assert response.status == 201
    assert stored_uids(server, "/alice/whole/") == {"whole-1", "whole-2"}


def test_wcap_storeevents_is_refused_with_errno_14(server):
    sid = server.instance.sessions.create("alice")
    body = urllib.parse.urlencode({
        "id": sid, "calid": "alice", "uid": "long", "dtstart": "20240102T100000Z",
        "dtend": "20240102T110000Z", "summary": "x", "desc": "x" * 300_000,
        "fmt-out": "text/xml"})
    response, elapsed = timed(lambda: server.client.request(
        "POST", "/storeevents.wcap", body,
        {"Content-Type": "application/x-www-form-urlencoded"}))
    assert errno(response) == 14 and elapsed < PROMPT
    assert "long" not in stored_uids(server)


def test_wcap_import_is_refused_with_errno_35(server):
    sid = server.instance.sessions.create("alice")
    boundary = "b0undary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"a.ics\"\r\n\r\n"
             % boundary) + OVER["components"][0] + "\r\n--%s--\r\n" % boundary).encode()
    query = urllib.parse.urlencode({"id": sid, "calid": "alice", "content-in": "text/calendar",
                                    "fmt-out": "text/xml"})
    response = server.client.request("POST", "/import.wcap?" + query, body,
                                     {"Content-Type": "multipart/form-data; boundary=" + boundary})
    assert errno(response) == 35
    assert "series" not in stored_uids(server)


def test_wcap_import_of_a_heavy_event_is_refused_before_any_parse(server):
    sid = server.instance.sessions.create("alice")
    boundary = "b0undary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"a.ics\""
             "\r\n\r\n" % boundary) + heavy("heavy-import") + "\r\n--%s--\r\n" % boundary).encode()
    query = urllib.parse.urlencode({"id": sid, "calid": "alice", "content-in": "text/calendar",
                                    "fmt-out": "text/xml"})
    response, elapsed = timed(lambda: server.client.request(
        "POST", "/import.wcap?" + query, body,
        {"Content-Type": "multipart/form-data; boundary=" + boundary}))
    assert errno(response) == 35 and elapsed < PROMPT
    assert "heavy-import" not in stored_uids(server)


def test_feed_refuses_the_heavy_event_at_once(server):
    response, elapsed = timed(lambda: server.client.request(
        "PUT", "/service/AliceFeed.ics?delta=true", heavy(), ICS, user="alice"))
    assert response.status == 400 and 'Code="3101"' in response.text
    assert "more than 2000 properties" in response.text and 'Line="4"' in response.text
    assert elapsed < PROMPT
    assert "heavy" not in stored_uids(server)


def test_feed_rejects_one_oversized_object_and_imports_the_rest(server):
    body = many_overrides().replace(TAIL, vevent("neighbour") + TAIL)
    response = server.client.request("PUT", "/service/AliceFeed.ics?delta=true", body, ICS,
                                     user="alice")
    assert response.status == 200
    assert 'Code="2102"' in response.text and "more than 1000 components" in response.text
    assert 'Code="1101"' in response.text
    uids = stored_uids(server)
    assert "neighbour" in uids and "series" not in uids


def test_json_api_is_refused_with_a_json_error(server):
    event = {"title": "long", "description": "x" * 300_000, "starting_date": "2024-03-04",
             "starting_time": "09:00", "ending_time": "09:30", "timezone": "Europe/Paris"}
    response = server.client.request("POST", "/restapi/v1/events", json.dumps(event),
                                     {"Content-Type": "application/json"}, user="alice")
    assert response.status == 400
    assert "262144" in json.dumps(response.json())
    assert_answering(server)


def test_feed_drops_a_line_over_the_limit_and_keeps_the_event(server):
    body = calendar(vevent("long-line", "DESCRIPTION:%s\r\n" % ("x" * 300_000)))
    response = server.client.request("PUT", "/service/AliceFeed.ics?delta=true", body, ICS,
                                     user="alice")
    assert response.status == 200
    assert 'Code="2102"' in response.text and "longer than 262144" in response.text
    assert 'Code="1101"' in response.text and "long-line" in stored_uids(server)
