"""The JSON APIs against a real server (waitress on a free port), and CalDAV beside them."""

import json
import threading

import caldav
import pytest

from tests.conftest import TEST_PASSWORD, add_user

JSON = {"Content-Type": "application/json"}
EVENT = {"title": "Live", "starting_date": "2024-06-03", "starting_time": "14:00",
         "ending_time": "15:00", "timezone": "Europe/Berlin"}


@pytest.fixture(scope="module")
def server(live):
    for name in ("lena", "lars"):
        if live.instance.directory.get(name) is None:
            add_user(live.instance, name)
    return live


def dav_calendar(server, user="lena"):
    client = caldav.DAVClient(url=server.url + "/%s/calendar/" % user, username=user,
                              password=TEST_PASSWORD)
    return client.calendar(url=server.url + "/%s/calendar/" % user)


def test_created_here_seen_by_caldav(server):
    created = server.client.request("POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="lena")
    assert created.status == 201
    uid = created.json()["itemguid"]
    event = dav_calendar(server).event_by_uid(uid)
    vevent = event.vobject_instance.vevent
    assert vevent.summary.value == "Live"
    assert vevent.dtstart.value.isoformat() == "2024-06-03T14:00:00+02:00"


def test_caldav_event_read_and_updated_here(server):
    calendar = dav_calendar(server)
    calendar.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
                        "UID:dav-live-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240610T080000Z\r\n"
                        "DTEND:20240610T090000Z\r\nSUMMARY:From DAV\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    got = server.client.request("GET", "/restapi/v1/events/itemguid=dav-live-1", user="lena")
    assert got.status == 200 and got.json()["title"] == "From DAV"
    put = server.client.request("PUT", "/restapi/v1/events/%d" % got.json()["cal_item_id"],
                                json.dumps({"title": "Renamed"}),
                                dict(JSON, **{"If-Match": got.headers["etag"]}), user="lena")
    assert put.status == 200 and put.json()["title"] == "Renamed"
    assert dav_calendar(server).event_by_uid("dav-live-1").vobject_instance.vevent.summary.value == "Renamed"


def test_statuses_over_http(server):
    assert server.client.request("GET", "/restapi/v1/events").status == 401
    created = server.client.request("POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="lena").json()
    url = "/restapi/v1/events/%d" % created["cal_item_id"]
    assert server.client.request("GET", url, user="lars").status == 403
    assert server.client.request("PUT", url, "title=x", {"Content-Type": "application/x-www-form-urlencoded"},
                                 user="lena").status == 415
    assert server.client.request("DELETE", url, user="lena").status == 204
    assert server.client.request("GET", url, user="lena").status == 404
    doc = server.client.request("GET", "/api/openapi.json")
    assert doc.status == 200 and doc.json()["openapi"].startswith("3.1")


def test_concurrent_puts_over_http(server):
    created = server.client.request("POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="lena")
    url = "/restapi/v1/events/%d" % created.json()["cal_item_id"]
    headers = dict(JSON, **{"If-Match": created.headers["etag"]})
    barrier = threading.Barrier(2)
    results = {}

    def put(title):
        barrier.wait()
        results[title] = server.client.request("PUT", url, json.dumps({"title": title}), headers, user="lena")

    threads = [threading.Thread(target=put, args=(t,)) for t in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for r in results.values()) == [200, 409]
    winner = next(t for t, r in results.items() if r.status == 200)
    assert server.client.request("GET", url, user="lena").json()["title"] == winner


def test_ics_generator_with_real_key(server):
    key = server.instance.apikeys.create("lena", "live")
    body = {"action": "createcalendar", "event-title": "Party", "event-description": "d",
            "event-location": "l", "event-start-datetime": "2021-12-17T11:30:00Z",
            "event-end-datetime": "2021-12-17T13:30:00Z", "event-timezone": "America/New_York",
            "store-in-calendar": "lena"}
    response = server.client.request("POST", "/api/ics", json.dumps(body), dict(JSON, **{"x-api-key": key}))
    assert response.status == 200
    assert response.headers["content-disposition"] == "inline; filename=calendar.ics"
    uid = next(l for l in response.text.split("\r\n") if l.startswith("UID:"))[4:]
    assert dav_calendar(server).event_by_uid(uid).vobject_instance.vevent.summary.value == "Party"
    refused = server.client.request("POST", "/api/ics", json.dumps(dict(body, **{"store-in-calendar": "lars"})),
                                    dict(JSON, **{"x-api-key": key}))
    assert refused.status == 403 and refused.json()["error-code"] == "E1722"
    missing = server.client.request("POST", "/api/ics", json.dumps(body), JSON)
    assert missing.status == 401 and missing.json()["error-code"] == "E1701"
