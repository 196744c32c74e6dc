"""POST /api/ics in process: the key, the reply headers, store-in-calendar, the setting."""

import json

import pytest

from radicale_wcap import cli
from radicale_wcap.api import ics_endpoint
from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from tests.conftest import InProcessClient, add_user, make_instance

REQUEST = {"action": "createcalendar", "event-title": "Dunder Mifflin Christmas Party",
           "event-description": "Ugly sweaters, commas; too", "event-location": "Fake Address",
           "event-start-datetime": "2021-12-17T11:30:00Z",
           "event-end-datetime": "2021-12-17T13:30:00Z", "event-timezone": "America/New_York",
           "all-day-event": False}


@pytest.fixture
def inst(tmp_path):
    instance = make_instance(str(tmp_path))
    add_user(instance, "alice")
    add_user(instance, "bob")
    return instance


@pytest.fixture
def api(inst):
    return InProcessClient(make_app(inst))


def post(api, key, data=REQUEST, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["x-api-key"] = key
    body = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return api.request("POST", "/api/ics", body, headers)


def events_in(inst, path):
    with inst.store.reading(path, SYSTEM, READ) as calendar:
        return [item.vobject_item.vevent.summary.value for item in calendar.items()]


def test_generates_the_spec_shape(api, inst):
    response = post(api, inst.apikeys.create("alice"))
    assert response.status == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == "inline; filename=calendar.ics"
    assert "SUMMARY;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Dunder Mifflin Christmas Party\r\n" in response.text
    assert "DTSTART:20211217T163000Z\r\n" in response.text
    assert events_in(inst, "/alice/calendar/") == []


def test_strict_by_setting_and_by_request(tmp_path, inst):
    strict = make_instance(str(tmp_path), {"api": {"ics_strict": "true"}})
    key = strict.apikeys.create("alice")
    text = post(InProcessClient(make_app(strict)), key).text
    assert "ENCODING=" not in text and "DESCRIPTION:Ugly sweaters\\, commas\\; too" in text
    text = post(InProcessClient(make_app(strict)), key, dict(REQUEST, **{"ics-format": "spec"})).text
    assert "ENCODING=QUOTED-PRINTABLE" in text


@pytest.mark.parametrize("key, code, status", [
    (None, "E1701", 401), ("", "E1701", 401), ("rwk_1_" + "x" * 43, "E1702", 401),
    ("not-a-key", "E1702", 401)])
def test_key_failures(api, key, code, status):
    response = post(api, key)
    assert response.status == status
    assert response.json() == {"status": "failure", "error-code": code,
                               "error-info": response.json()["error-info"]}


def test_revoked_key(api, inst):
    key = inst.apikeys.create("alice")
    inst.apikeys.revoke(inst.apikeys.list("alice")[0].id)
    assert post(api, key).json()["error-code"] == "E1702"


@pytest.mark.parametrize("change, code, status", [
    ({"event-title": " "}, "E1703", 400),
    ({"event-timezone": "Nowhere"}, "E1713", 400),
    ({"store-in-calendar": "al/../x"}, "E1720", 400),
    ({"store-in-calendar": "alice:nope"}, "E1721", 404),
    ({"store-in-calendar": "bob"}, "E1722", 403),
    ({"store-in-calendar": "ghost:cal"}, "E1722", 403),
])
def test_failures_store_nothing(api, inst, change, code, status):
    response = post(api, inst.apikeys.create("alice"), dict(REQUEST, **change))
    assert response.status == status and response.json()["error-code"] == code
    assert events_in(inst, "/alice/calendar/") == [] and events_in(inst, "/bob/calendar/") == []


def test_transport_failures(api, inst):
    key = inst.apikeys.create("alice")
    assert post(api, key, "action=createcalendar", "application/x-www-form-urlencoded").status == 415
    assert post(api, key, "[1]").json()["error-code"] == "E1718"
    big = post(api, key, b"{" + b" " * (70 * 1024) + b"}")
    assert big.status == 413 and big.json()["error-code"] == "E1719"
    wrong = api.request("GET", "/api/ics", headers={"x-api-key": key})
    assert wrong.status == 405 and wrong.json()["error-code"] == "E1724"


def test_store_in_calendar(api, inst):
    response = post(api, inst.apikeys.create("alice"), dict(REQUEST, **{"store-in-calendar": "alice"}))
    assert response.status == 200
    assert events_in(inst, "/alice/calendar/") == [REQUEST["event-title"]]
    uid = next(l for l in response.text.split("\r\n") if l.startswith("UID:"))[4:]
    listed = api.request("GET", "/restapi/v1/events/itemguid=" + uid, user="alice")
    assert listed.status == 200 and listed.json()["starting_time"] == "16:30:00"
    inst.registry.set_acl("/bob/calendar/", "@@o^a^r^g;@@o^c^wdeic^g;alice^c^w^g")
    assert post(api, inst.apikeys.create("alice"),
                dict(REQUEST, **{"store-in-calendar": "bob"})).status == 200
    assert events_in(inst, "/bob/calendar/") == [REQUEST["event-title"]]


def test_internal_error_is_e1700(api, inst, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(ics_endpoint, "render_ics", explode)
    response = post(api, inst.apikeys.create("alice"), dict(REQUEST, **{"store-in-calendar": "alice"}))
    assert response.status == 500 and response.json()["error-code"] == "E1700"
    assert "boom" not in response.text
    assert events_in(inst, "/alice/calendar/") == []


def test_cli_key_works(tmp_path, inst, api, capsys):
    folder = inst.configuration.get("storage", "filesystem_folder")
    config = tmp_path / "server.conf"
    config.write_text("[storage]\nfilesystem_folder = %s\ndatabase_url = %s\n"
                      % (folder, inst.settings.get("storage", "database_url")))
    assert cli.main(["--config", str(config), "apikey", "create", "alice", "--label", "ci"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("rwk_") and " " not in key
    assert post(api, key).status == 200
