"""/restapi/v1/events in process: statuses, visibility, conflicts, fork, listing."""

import json
import threading

import pytest
import vobject

from radicale_wcap.api import events_endpoint
from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from tests.conftest import InProcessClient, add_user, make_instance

JSON = {"Content-Type": "application/json"}
OWNERS_ONLY = "@@o^a^r^g;@@o^c^wdeic^g"
EVENT = {"title": "Standup", "starting_date": "2024-03-04", "starting_time": "09:00",
         "ending_time": "09:30", "timezone": "Europe/Paris"}
SERIES = dict(EVENT, rec_type=0, rec_count=5)


@pytest.fixture
def inst(tmp_path):
    instance = make_instance(str(tmp_path))
    for name in ("alice", "bob", "carol"):
        add_user(instance, name)
    return instance


@pytest.fixture
def api(inst):
    return InProcessClient(make_app(inst))


def create(api, data=EVENT, user="alice"):
    response = api.request("POST", "/restapi/v1/events", json.dumps(data), JSON, user=user)
    assert response.status == 201, response.body
    return response


def set_acl(inst, calid, acl):
    inst.registry.set_acl("/%s/calendar/" % calid, acl)


def stored_summary(inst, path, uid):
    with inst.store.reading(path, SYSTEM, READ) as calendar:
        item = calendar.by_uid(uid)
        return None if item is None else item.vobject_item.vevent.summary.value


def test_create_get_roundtrip(api, inst):
    response = create(api)
    event = response.json()
    assert event["calendar"] == "alice" and event["title"] == "Standup"
    assert event["timezone"] == "Europe/Paris" and event["rec_type"] == 3
    assert response.headers["etag"].strip('"') == event["version"]
    assert event["cal_item_id"] == inst.ledger.item_id("/alice/calendar/", event["itemguid"])
    assert response.headers["location"] == "/restapi/v1/events/%d" % event["cal_item_id"]
    got = api.request("GET", "/restapi/v1/events/%d" % event["cal_item_id"], user="alice")
    assert got.status == 200 and got.json() == event and got.headers["etag"] == response.headers["etag"]
    by_uid = api.request("GET", "/restapi/v1/events/itemguid=" + event["itemguid"], user="alice")
    assert by_uid.status == 200 and by_uid.json() == event


def test_create_in_other_calendar_needs_write(api, inst):
    assert api.request("POST", "/restapi/v1/events", json.dumps(dict(EVENT, calendar="alice")),
                       JSON, user="bob").status == 403
    assert api.request("POST", "/restapi/v1/events", json.dumps(dict(EVENT, calendar="nobody:x")),
                       JSON, user="bob").status == 403
    set_acl(inst, "alice", OWNERS_ONLY + ";bob^c^rw^g")
    event = create(api, dict(EVENT, calendar="alice"), user="bob").json()
    assert event["calendar"] == "alice"
    assert stored_summary(inst, "/alice/calendar/", event["itemguid"]) == "Standup"


@pytest.mark.parametrize("body, headers", [
    ({"starting_date": "2024-03-04"}, JSON),                   # no title
    (dict(EVENT, timezone="Mars/Olympus"), JSON),
    (dict(EVENT, colour="red"), JSON),
    (dict(EVENT, calendar="x:calendar"), JSON),
    ([1, 2], JSON),
])
def test_create_invalid_is_400_and_stores_nothing(api, inst, body, headers):
    response = api.request("POST", "/restapi/v1/events", json.dumps(body), headers, user="alice")
    assert response.status == 400 and response.json()["error"] == 1
    with inst.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        assert calendar.entries() == {}


def test_create_duplicate_itemguid(api):
    create(api, dict(EVENT, itemguid="fixed-uid"))
    response = api.request("POST", "/restapi/v1/events", json.dumps(dict(EVENT, itemguid="fixed-uid")),
                           JSON, user="alice")
    assert response.status == 400 and "itemguid" in response.json()["message"]


def test_form_posts_and_bad_json_are_refused(api, inst):
    form = api.request("POST", "/restapi/v1/events", "title=x",
                       {"Content-Type": "application/x-www-form-urlencoded"}, user="alice")
    assert form.status == 415 and form.json()["error"] == 1
    plain = api.request("POST", "/restapi/v1/events", json.dumps(EVENT),
                        {"Content-Type": "text/plain"}, user="alice")
    assert plain.status == 415
    broken = api.request("POST", "/restapi/v1/events", "{not json", JSON, user="alice")
    assert broken.status == 400
    with inst.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        assert calendar.entries() == {}


def test_body_cap(api):
    big = api.request("POST", "/restapi/v1/events", b"x" * (1024 * 1024 + 1), JSON, user="alice")
    assert big.status == 413


def test_authentication(api, inst):
    no = api.request("GET", "/restapi/v1/events")
    assert no.status == 401 and no.headers["www-authenticate"].startswith("Basic")
    assert no.json() == {"error": 1, "message": "Authentication required."}
    assert api.request("GET", "/restapi/v1/events", user="alice", password="wrong").status == 401
    assert api.request("GET", "/restapi/v1/events", headers={"x-api-key": "rwk_1_" + "a" * 40}).status == 401
    key = inst.apikeys.create("alice", "test")
    assert api.request("GET", "/restapi/v1/events", headers={"x-api-key": key}).status == 200
    event = api.request("POST", "/restapi/v1/events", json.dumps(EVENT),
                        dict(JSON, **{"x-api-key": key})).json()
    assert event["calendar"] == "alice"


def test_visibility_403_and_404(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    # bob sees free/busy only (the default ACL): 403 for read, write and delete
    assert api.request("GET", url, user="bob").status == 403
    assert api.request("PUT", url, json.dumps({"title": "x"}), JSON, user="bob").status == 403
    assert api.request("DELETE", url, user="bob").status == 403
    # no right at all: indistinguishable from a missing event
    set_acl(inst, "alice", OWNERS_ONLY)
    for method, body in (("GET", b""), ("PUT", json.dumps({"title": "x"})), ("DELETE", b"")):
        hidden = api.request(method, url, body, JSON, user="bob")
        assert hidden.status == 404 and hidden.json() == {"error": 1, "message": "The event is not found."}
    assert api.request("GET", "/restapi/v1/events/itemguid=" + event["itemguid"], user="bob").status == 404
    assert api.request("GET", "/restapi/v1/events/999999", user="alice").status == 404
    assert api.request("GET", "/restapi/v1/events/itemguid=nope", user="alice").status == 404
    assert api.request("GET", "/restapi/v1/events/abc", user="alice").status == 400
    assert stored_summary(inst, "/alice/calendar/", event["itemguid"]) == "Standup"


def test_read_right_allows_get_not_put(api, inst):
    event = create(api).json()
    set_acl(inst, "alice", OWNERS_ONLY + ";bob^c^r^g")
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    assert api.request("GET", url, user="bob").json()["title"] == "Standup"
    assert api.request("PUT", url, json.dumps({"title": "x"}), JSON, user="bob").status == 403
    set_acl(inst, "alice", OWNERS_ONLY + ";bob^c^rw^g")
    assert api.request("DELETE", url, user="bob").status == 403  # delete needs w and d
    assert api.request("PUT", url, json.dumps({"title": "by bob"}), JSON, user="bob").status == 200
    set_acl(inst, "alice", OWNERS_ONLY + ";bob^c^rwd^g")
    assert api.request("DELETE", url, user="bob").status == 204


def test_put_updates_and_returns_get(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    put = api.request("PUT", url, json.dumps({"title": "Retro", "starting_time": "10:00"}),
                      JSON, user="alice")
    assert put.status == 200
    updated = put.json()
    assert updated["title"] == "Retro" and updated["ending_time"] == "10:30:00"
    assert updated["version"] != event["version"] and put.headers["etag"].strip('"') == updated["version"]
    assert api.request("GET", url, user="alice").json() == updated
    assert stored_summary(inst, "/alice/calendar/", event["itemguid"]) == "Retro"


def test_put_invalid_is_200_error_and_changes_nothing(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    for bad in ({"timezone": "Nowhere/City"}, {"rec_type": 42}, {"ending_date": "2024-03-01"}):
        response = api.request("PUT", url, json.dumps(bad), JSON, user="alice")
        assert response.status == 200 and response.json()["error"] == 1 and response.json()["message"]
    assert api.request("GET", url, user="alice").json() == event


def test_put_conflicts(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    etag = '"%s"' % event["version"]
    assert api.request("PUT", url, json.dumps({"title": "A"}), dict(JSON, **{"If-Match": etag}),
                       user="alice").status == 200
    stale = api.request("PUT", url, json.dumps({"title": "B"}), dict(JSON, **{"If-Match": etag}),
                        user="alice")
    assert stale.status == 409 and stale.json()["error"] == 1
    by_version = api.request("PUT", url, json.dumps(dict(event, title="C")), JSON, user="alice")
    assert by_version.status == 409  # the body's version is the old one
    assert stored_summary(inst, "/alice/calendar/", event["itemguid"]) == "A"


def test_concurrent_puts_one_wins(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    headers = dict(JSON, **{"If-Match": '"%s"' % event["version"]})
    results = {}
    barrier = threading.Barrier(2)

    def put(title):
        barrier.wait()
        results[title] = api.request("PUT", url, json.dumps({"title": title}), headers, user="alice")

    threads = [threading.Thread(target=put, args=(t,)) for t in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status for r in results.values())
    assert statuses == [200, 409]
    winner = next(t for t, r in results.items() if r.status == 200)
    assert stored_summary(inst, "/alice/calendar/", event["itemguid"]) == winner
    assert api.request("GET", url, user="alice").json()["title"] == winner


def test_delete(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d" % event["cal_item_id"]
    stale = api.request("DELETE", url, headers={"If-Match": '"old"'}, user="alice")
    assert stale.status == 200 and stale.json()["error"] == 1
    assert api.request("DELETE", url, user="alice").status == 204
    assert api.request("DELETE", url, user="alice").status == 404
    assert api.request("GET", url, user="alice").status == 404
    assert stored_summary(inst, "/alice/calendar/", event["itemguid"]) is None


def test_fork(api, inst):
    series = create(api, SERIES).json()
    url = "/restapi/v1/events/%d" % series["cal_item_id"]
    forked = api.request("POST", url + "?fork=1&starting_date=2024-03-06", b"", JSON, user="alice")
    assert forked.status == 201
    result = forked.json()
    assert result["error"] == 0 and result["message"] is None
    clone = result["event"]
    assert clone["cal_item_id"] == result["cal_item_id"] != series["cal_item_id"]
    assert clone["rec_type"] == 3 and clone["starting_date"] == "2024-03-06"
    assert clone["starting_time"] == "09:00:00" and clone["title"] == "Standup"
    assert api.request("GET", url, user="alice").json()["exceptions"] == ["2024-03-06"]
    # body form, julian day 2460377 = 2024-03-07
    body = api.request("POST", url, json.dumps({"fork": 1, "starting_date": 2460377}), JSON, user="alice")
    assert body.status == 201 and body.json()["event"]["starting_date"] == "2024-03-07"


@pytest.mark.parametrize("query, status", [
    ("?fork=1&starting_date=2024-04-01", 400),   # no occurrence that day
    ("?fork=1&starting_date=2024-03-06", 400),   # already an exception
    ("?fork=0&starting_date=2024-03-05", 400),
    ("?fork=1", 400),
    ("?fork=1&starting_date=someday", 400),
])
def test_fork_refusals_store_nothing(api, inst, query, status):
    series = create(api, dict(SERIES, exceptions=["2024-03-06"])).json()
    response = api.request("POST", "/restapi/v1/events/%d%s" % (series["cal_item_id"], query),
                           b"", JSON, user="alice")
    assert response.status == status and response.json()["error"] == 1
    with inst.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        assert len(calendar.entries()) == 1


def test_fork_of_one_time_event_and_rights(api, inst):
    event = create(api).json()
    url = "/restapi/v1/events/%d?fork=1&starting_date=2024-03-04" % event["cal_item_id"]
    assert api.request("POST", url, b"", JSON, user="alice").status == 400
    assert api.request("POST", url, b"", JSON, user="bob").status == 403
    assert api.request("POST", url, b"", {"Content-Type": "text/plain"}, user="alice").status == 415


def test_list(api, inst):
    a = create(api).json()
    b = create(api, dict(EVENT, title="Later", starting_date="2024-05-01")).json()
    create(api, dict(EVENT, title="Bob's"), user="bob")
    all_events = api.request("GET", "/restapi/v1/events", user="alice").json()["events"]
    assert [e["title"] for e in all_events] == ["Standup", "Later"]
    march = api.request("GET", "/restapi/v1/events?from=2024-03-01&to=2024-03-31", user="alice")
    assert [e["cal_item_id"] for e in march.json()["events"]] == [a["cal_item_id"]]
    may = api.request("GET", "/restapi/v1/events?calendar=alice&from=2024-05-01", user="alice")
    assert [e["cal_item_id"] for e in may.json()["events"]] == [b["cal_item_id"]]
    assert api.request("GET", "/restapi/v1/events?calendar=alice", user="bob").status == 403
    assert api.request("GET", "/restapi/v1/events?calendar=alice:nope", user="alice").status == 404
    assert api.request("GET", "/restapi/v1/events?from=tomorrow", user="alice").status == 400
    assert api.request("GET", "/restapi/v1/events?from=2024-03-02&to=2024-03-01", user="alice").status == 400
    set_acl(inst, "bob", OWNERS_ONLY + ";alice^c^r^g")
    titles = {e["title"] for e in api.request("GET", "/restapi/v1/events", user="alice").json()["events"]}
    assert titles == {"Standup", "Later", "Bob's"}


def test_itemguid_ambiguous(api, inst):
    create(api, dict(EVENT, itemguid="shared"))
    create(api, dict(EVENT, itemguid="shared", title="Bob's"), user="bob")
    set_acl(inst, "bob", OWNERS_ONLY + ";alice^c^r^g")
    assert api.request("GET", "/restapi/v1/events/itemguid=shared", user="alice").status == 400
    got = api.request("GET", "/restapi/v1/events/itemguid=shared?calendar=bob", user="alice")
    assert got.status == 200 and got.json()["title"] == "Bob's"


def test_caldav_item_readable_and_updatable(api, inst):
    cal = vobject.iCalendar()
    vevent = cal.add("vevent")
    vevent.add("uid").value = "from-caldav"
    vevent.add("summary").value = "Imported"
    vevent.add("dtstart").value = vobject.icalendar.DateOrDateTimeBehavior.transformToNative(
        vobject.base.ContentLine("DTSTART", [], "20240304T090000Z")).value
    vevent.add("attendee").value = "mailto:x@example.com"
    put = api.request("PUT", "/alice/calendar/from-caldav.ics", cal.serialize(),
                      {"Content-Type": "text/calendar"}, user="alice")
    assert put.status == 201
    got = api.request("GET", "/restapi/v1/events/itemguid=from-caldav", user="alice")
    assert got.status == 200 and got.json()["title"] == "Imported"
    updated = api.request("PUT", "/restapi/v1/events/itemguid=from-caldav",
                          json.dumps(dict(got.json(), title="Renamed")), JSON, user="alice")
    assert updated.status == 200
    ics = api.request("GET", "/alice/calendar/from-caldav.ics", user="alice").text
    assert "SUMMARY:Renamed" in ics and "ATTENDEE" in ics


CALDAV_EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:elsewhere\r
DTSTAMP:20240101T000000Z\r
DTSTART:20240304T090000Z\r
DTEND:20240304T100000Z\r
SUMMARY:%s\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_list_follows_writes_of_other_doors(api, inst):
    """The list keeps each event's JSON per ETag: a change made over CalDAV is in the
    very next answer, with the id the event had."""
    week = "/restapi/v1/events?from=2024-03-04&to=2024-03-10"
    assert api.request("GET", week, user="alice").json() == {"events": []}
    for title, status in (("First", 201), ("Second", 204)):
        put = api.request("PUT", "/alice/calendar/elsewhere.ics", CALDAV_EVENT % title,
                          {"Content-Type": "text/calendar"}, user="alice")
        assert put.status == status
        listed = api.request("GET", week, user="alice").json()["events"]
        assert [(e["itemguid"], e["title"]) for e in listed] == [("elsewhere", title)]
        got = api.request("GET", "/restapi/v1/events/%d" % listed[0]["cal_item_id"], user="alice")
        assert got.json() == listed[0] and got.headers["etag"].strip('"') == listed[0]["version"]
    assert api.request("GET", week, user="alice").json()["events"][0]["cal_item_id"] == \
        listed[0]["cal_item_id"]


def test_invalid_bodies_name_the_field(api, inst):
    bad = api.request("POST", "/restapi/v1/events",
                      json.dumps(dict(SERIES, rec_weekdays=["MO", "XX"])), JSON, user="alice")
    assert bad.status == 400 and bad.json()["message"].startswith("/rec_weekdays/1: \"XX\"")
    url = "/restapi/v1/events/%d" % create(api).json()["cal_item_id"]
    put = api.request("PUT", url, json.dumps({"rec_month_days": [0]}), JSON, user="alice")
    assert (put.status, put.json()) == (200, {"error": 1, "message": "/rec_month_days/0: must not be 0"})
    huge = api.request("PUT", url, json.dumps({"starting_time": "x" * 100000}), JSON, user="alice")
    assert huge.json()["error"] == 1 and len(huge.json()["message"]) < 200
    put = api.request("PUT", url, json.dumps({"version": 7}), JSON, user="alice")
    assert put.json() == {"error": 1, "message": "/version: must be a string or null"}
    series = "/restapi/v1/events/%d" % create(api, SERIES).json()["cal_item_id"]
    fork = api.request("POST", series, json.dumps({"fork": 1, "starting_date": "March 6"}), JSON,
                       user="alice")
    assert fork.status == 400 and fork.json()["message"].startswith("/starting_date: ")
    assert api.request("POST", series, "[]", JSON, user="alice").json()["message"] == \
        "/: must be an object or null"


def test_methods_and_unknown_paths(api):
    not_allowed = api.request("PATCH", "/restapi/v1/events/1", user="alice")
    assert not_allowed.status == 405 and "PUT" in not_allowed.headers["allow"]
    assert api.request("DELETE", "/restapi/v1/events", user="alice").status == 405
    assert api.request("GET", "/restapi/v2/things", user="alice").status == 404
    assert api.request("GET", "/api/nothing").status == 404


def test_unexpected_exception_is_a_json_500(api, monkeypatch, caplog):
    event = create(api).json()

    def explode(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(events_endpoint, "stored_fields", explode)
    response = api.request("GET", "/restapi/v1/events/%d" % event["cal_item_id"], user="alice")
    assert response.status == 500
    assert response.json() == {"error": 1, "message": "internal error"}
    assert "secret detail" not in response.text
    assert any("secret detail" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_secrets_not_logged(api, inst, caplog):
    key = inst.apikeys.create("alice")
    caplog.set_level("DEBUG")
    api.request("GET", "/restapi/v1/events", user="alice", password="wrong-password-xyz")
    api.request("GET", "/restapi/v1/events", headers={"x-api-key": key + "x"})
    api.request("GET", "/restapi/v1/events", headers={"x-api-key": key})
    text = caplog.text
    assert "wrong-password-xyz" not in text and key not in text
