"""Every path, method and status in openapi.json is one the server really answers,
and every route the server answers is in the document."""

import json
import pathlib
import sqlite3

import pytest

from radicale_wcap.api import errors, events_endpoint
from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user, make_instance

DOC = json.loads((pathlib.Path(errors.__file__).parent / "openapi.json").read_text("utf-8"))
JSON = {"Content-Type": "application/json"}
EVENT = {"title": "Walk", "starting_date": "2024-03-04", "starting_time": "09:00",
         "rec_type": 0, "rec_count": 3}
ICS = {"action": "createcalendar", "event-title": "t", "event-description": "",
       "event-location": "", "event-start-datetime": "2024-01-01T10:00",
       "event-end-datetime": "2024-01-01T11:00", "event-timezone": "UTC"}


class World:
    def __init__(self, folder):
        self.inst = make_instance(folder)
        for name in ("alice", "bob", "carol"):
            add_user(self.inst, name)
        # carol: no right at all on alice's calendar
        self.inst.registry.set_acl("/alice/calendar/", "@@o^a^r^g;@@o^c^wdeic^g;bob^a^f^g")
        self.api = InProcessClient(make_app(self.inst))
        self.key = self.inst.apikeys.create("alice")

    def event(self):
        response = self.api.request("POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="alice")
        return response.json()

    def url(self):
        return "/restapi/v1/events/%d" % self.event()["cal_item_id"]

    def ics(self, change=None, headers=None, method="POST"):
        return self.api.request(method, "/api/ics", json.dumps(dict(ICS, **(change or {}))),
                                dict(JSON, **({"x-api-key": self.key} if headers is None else headers)))


def boom(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(events_endpoint, "stored_fields", explode)


def disk_full(world, monkeypatch):
    """Every item write from now on finds the disk full, as SQLite reports it when the
    write's first step (its durable note in the project database) can not grow a file."""
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(world.inst.services.intents, "note", full)
    monkeypatch.setattr(world.inst.services.journal, "begin", full)  # the store's batches


def boom_ics(monkeypatch):
    from radicale_wcap.api import ics_endpoint
    monkeypatch.setattr(ics_endpoint, "render_ics", lambda *a, **k: 1 / 0)


# (path, method, status) -> a request that must answer that status
SCENARIOS = {
    ("/api/openapi.json", "get", "200"): lambda w, m: w.api.request("GET", "/api/openapi.json"),
    ("/api/ics", "post", "200"): lambda w, m: w.ics(),
    ("/api/ics", "post", "400"): lambda w, m: w.ics({"event-title": ""}),
    ("/api/ics", "post", "401"): lambda w, m: w.ics(headers={}),
    ("/api/ics", "post", "403"): lambda w, m: w.ics({"store-in-calendar": "bob"}),
    ("/api/ics", "post", "404"): lambda w, m: w.ics({"store-in-calendar": "alice:nope"}),
    ("/api/ics", "post", "405"): lambda w, m: w.ics(method="PUT"),
    ("/api/ics", "post", "413"): lambda w, m: w.api.request(
        "POST", "/api/ics", b" " * (65 * 1024), dict(JSON, **{"x-api-key": w.key})),
    ("/api/ics", "post", "415"): lambda w, m: w.ics(headers={"x-api-key": w.key, "Content-Type": "text/plain"}),
    ("/api/ics", "post", "500"): lambda w, m: (boom_ics(m), w.ics())[1],
    ("/restapi/v1/events", "get", "200"): lambda w, m: w.api.request("GET", "/restapi/v1/events", user="alice"),
    ("/restapi/v1/events", "get", "400"): lambda w, m: w.api.request("GET", "/restapi/v1/events?from=x", user="alice"),
    ("/restapi/v1/events", "get", "401"): lambda w, m: w.api.request("GET", "/restapi/v1/events"),
    ("/restapi/v1/events", "get", "403"): lambda w, m: w.api.request(
        "GET", "/restapi/v1/events?calendar=alice", user="bob"),
    ("/restapi/v1/events", "get", "404"): lambda w, m: w.api.request(
        "GET", "/restapi/v1/events?calendar=alice:nope", user="alice"),
    ("/restapi/v1/events", "post", "201"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="alice"),
    ("/restapi/v1/events", "post", "400"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events", json.dumps({"title": ""}), JSON, user="alice"),
    ("/restapi/v1/events", "post", "401"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events", json.dumps(EVENT), JSON),
    ("/restapi/v1/events", "post", "403"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events", json.dumps(dict(EVENT, calendar="alice")), JSON, user="bob"),
    ("/restapi/v1/events", "post", "405"): lambda w, m: w.api.request("DELETE", "/restapi/v1/events", user="alice"),
    ("/restapi/v1/events", "post", "413"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events", b" " * (1024 * 1024 + 1), JSON, user="alice"),
    ("/restapi/v1/events", "post", "415"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events", "title=x", {"Content-Type": "application/x-www-form-urlencoded"}, user="alice"),
    ("/restapi/v1/events", "post", "500"): lambda w, m: (boom(m), w.api.request(
        "POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="alice"))[1],
    ("/restapi/v1/events", "post", "507"): lambda w, m: (disk_full(w, m), w.api.request(
        "POST", "/restapi/v1/events", json.dumps(EVENT), JSON, user="alice"))[1],
    ("/restapi/v1/events/{event}", "get", "200"): lambda w, m: w.api.request("GET", w.url(), user="alice"),
    ("/restapi/v1/events/{event}", "get", "400"): lambda w, m: w.api.request("GET", "/restapi/v1/events/x", user="alice"),
    ("/restapi/v1/events/{event}", "get", "401"): lambda w, m: w.api.request("GET", w.url()),
    ("/restapi/v1/events/{event}", "get", "403"): lambda w, m: w.api.request("GET", w.url(), user="bob"),
    ("/restapi/v1/events/{event}", "get", "404"): lambda w, m: w.api.request("GET", w.url(), user="carol"),
    ("/restapi/v1/events/{event}", "put", "200"): lambda w, m: w.api.request(
        "PUT", w.url(), json.dumps({"title": "x"}), JSON, user="alice"),
    ("/restapi/v1/events/{event}", "put", "400"): lambda w, m: w.api.request(
        "PUT", w.url(), "{", JSON, user="alice"),
    ("/restapi/v1/events/{event}", "put", "401"): lambda w, m: w.api.request("PUT", w.url(), "{}", JSON),
    ("/restapi/v1/events/{event}", "put", "403"): lambda w, m: w.api.request(
        "PUT", w.url(), "{}", JSON, user="bob"),
    ("/restapi/v1/events/{event}", "put", "404"): lambda w, m: w.api.request(
        "PUT", "/restapi/v1/events/99999", "{}", JSON, user="alice"),
    ("/restapi/v1/events/{event}", "put", "409"): lambda w, m: w.api.request(
        "PUT", w.url(), "{}", dict(JSON, **{"If-Match": '"stale"'}), user="alice"),
    ("/restapi/v1/events/{event}", "put", "413"): lambda w, m: w.api.request(
        "PUT", w.url(), b" " * (1024 * 1024 + 1), JSON, user="alice"),
    ("/restapi/v1/events/{event}", "put", "415"): lambda w, m: w.api.request(
        "PUT", w.url(), "{}", {"Content-Type": "text/plain"}, user="alice"),
    ("/restapi/v1/events/{event}", "put", "500"): lambda w, m: (lambda url: (boom(m), w.api.request(
        "PUT", url, json.dumps({"title": "y"}), JSON, user="alice"))[1])(w.url()),
    ("/restapi/v1/events/{event}", "put", "507"): lambda w, m: (lambda url: (disk_full(w, m), w.api.request(
        "PUT", url, json.dumps({"title": "y"}), JSON, user="alice"))[1])(w.url()),
    ("/restapi/v1/events/{event}", "post", "201"): lambda w, m: w.api.request(
        "POST", w.url() + "?fork=1&starting_date=2024-03-05", b"", JSON, user="alice"),
    ("/restapi/v1/events/{event}", "post", "400"): lambda w, m: w.api.request(
        "POST", w.url() + "?fork=1&starting_date=2024-09-05", b"", JSON, user="alice"),
    ("/restapi/v1/events/{event}", "post", "401"): lambda w, m: w.api.request(
        "POST", w.url() + "?fork=1&starting_date=2024-03-05", b"", JSON),
    ("/restapi/v1/events/{event}", "post", "403"): lambda w, m: w.api.request(
        "POST", w.url() + "?fork=1&starting_date=2024-03-05", b"", JSON, user="bob"),
    ("/restapi/v1/events/{event}", "post", "404"): lambda w, m: w.api.request(
        "POST", "/restapi/v1/events/99999?fork=1&starting_date=2024-03-05", b"", JSON, user="alice"),
    ("/restapi/v1/events/{event}", "post", "413"): lambda w, m: w.api.request(
        "POST", w.url(), b" " * (1024 * 1024 + 1), JSON, user="alice"),
    ("/restapi/v1/events/{event}", "post", "415"): lambda w, m: w.api.request(
        "POST", w.url() + "?fork=1&starting_date=2024-03-05", b"", {}, user="alice"),
    ("/restapi/v1/events/{event}", "post", "500"): lambda w, m: (lambda url: (boom(m), w.api.request(
        "POST", url + "?fork=1&starting_date=2024-03-05", b"", JSON, user="alice"))[1])(w.url()),
    ("/restapi/v1/events/{event}", "post", "507"): lambda w, m: (lambda url: (disk_full(w, m), w.api.request(
        "POST", url + "?fork=1&starting_date=2024-03-05", b"", JSON, user="alice"))[1])(w.url()),
    ("/restapi/v1/events/{event}", "delete", "204"): lambda w, m: w.api.request("DELETE", w.url(), user="alice"),
    ("/restapi/v1/events/{event}", "delete", "200"): lambda w, m: w.api.request(
        "DELETE", w.url(), headers={"If-Match": '"stale"'}, user="alice"),
    ("/restapi/v1/events/{event}", "delete", "400"): lambda w, m: w.api.request(
        "DELETE", "/restapi/v1/events/x", user="alice"),
    ("/restapi/v1/events/{event}", "delete", "401"): lambda w, m: w.api.request("DELETE", w.url()),
    ("/restapi/v1/events/{event}", "delete", "403"): lambda w, m: w.api.request("DELETE", w.url(), user="bob"),
    ("/restapi/v1/events/{event}", "delete", "404"): lambda w, m: w.api.request("DELETE", w.url(), user="carol"),
    ("/restapi/v1/events/{event}", "delete", "507"): lambda w, m: (lambda url: (disk_full(w, m), w.api.request(
        "DELETE", url, user="alice"))[1])(w.url()),
}

DOCUMENTED = sorted((path, method, status) for path, item in DOC["paths"].items()
                    for method, op in item.items() if method in ("get", "put", "post", "delete")
                    for status in op["responses"])


def test_every_documented_status_has_a_scenario_and_back():
    assert sorted(SCENARIOS) == DOCUMENTED


@pytest.mark.parametrize("route", [
    pytest.param(r, marks=pytest.mark.file_engine(
        reason="simulates a full disk by hooking the file engine's intents and journal"))
    if r[2] == "507" else r for r in DOCUMENTED], ids=["%s %s %s" % r for r in DOCUMENTED])
def test_server_answers_documented_status(tmp_path, monkeypatch, route):
    world = World(str(tmp_path))
    response = SCENARIOS[route](world, monkeypatch)
    assert response.status == int(route[2]), response.body
    # 413 for a declared Content-Length comes from the middleware, before any door.
    if response.status not in (204, 413) and (route[0], response.status) != ("/api/ics", 200):
        assert response.headers["content-type"].startswith("application/json")
        response.json()


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/ics"), ("PUT", "/api/openapi.json"), ("PATCH", "/restapi/v1/events"),
    ("PUT", "/restapi/v1/events"), ("PATCH", "/restapi/v1/events/1"), ("HEAD", "/restapi/v1/events/1"),
])
def test_undocumented_routes_are_refused(tmp_path, method, path):
    world = World(str(tmp_path))
    templated = "/restapi/v1/events/{event}" if path.endswith("/1") else path
    assert method.lower() not in DOC["paths"][templated]
    response = world.api.request(method, path, b"", dict(JSON, **{"x-api-key": world.key}), user="alice")
    assert response.status == 405


def test_served_document_is_the_file(tmp_path):
    response = World(str(tmp_path)).api.request("GET", "/api/openapi.json")
    assert response.json() == DOC
