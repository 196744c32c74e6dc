"""PUT/GET /service/<webname>.ics in-process: codes, rights, full vs delta, limits."""

from __future__ import annotations

import os

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user, make_instance
from tests.trumba.test_door_fixtures import (FEEDS, PATH, codes, event, feed, messages,
                                             setup_calendar, stored, stored_texts)

URL = "/service/Campus.ics"


@pytest.fixture
def inst(tmp_path):
    instance = make_instance(str(tmp_path), {"feeds": {"max_events": "50",
                                                       "max_body_size": "200000"}})
    setup_calendar(instance)
    return instance


@pytest.fixture
def cl(inst):
    return InProcessClient(make_app(inst))


def put(cl, body, query="", user="jdoe", **kw):
    return cl.request("PUT", URL + query, body, user=user, **kw)


@pytest.mark.file_engine(reason="compares the item files' mtimes")
@pytest.mark.parametrize("name", ["trumba.ics", "outlook.ics"])
def test_real_world_feed_imports_and_reimports_unchanged(cl, inst, name):
    body = (FEEDS / name).read_bytes()
    r = put(cl, body)
    assert r.status == 200, r.text
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    added = [uid for code, uid, _ in messages(r) if code == 1101]
    assert added and set(added) == set(stored(inst))
    before = stored(inst)
    folder = os.path.join(inst.configuration.get("storage", "filesystem_folder"),
                          "collection-root", "jdoe", "calendar")
    mtimes = {e.name: e.stat().st_mtime_ns for e in os.scandir(folder) if e.is_file()}
    again = put(cl, body)
    assert again.status == 200
    assert not {1101, 1102, 1103} & set(codes(again))
    assert stored(inst) == before
    assert {e.name: e.stat().st_mtime_ns for e in os.scandir(folder) if e.is_file()} == mtimes


def test_trumba_feed_content(cl, inst):
    inst.registry.update_settings(PATH, tzid="Europe/Berlin")
    assert put(cl, (FEEDS / "trumba.ics").read_bytes()).status == 200
    texts = stored_texts(inst)
    lecture = texts["evt-1001@events.example.edu"]
    assert "DTSTART;TZID=Europe/Berlin:20240215T180000" in lecture   # floating -> calendar zone
    assert "BEGIN:VTIMEZONE" in lecture and "Zürich" in lecture and "東" in lecture
    assert "DTSTART;VALUE=DATE:20240301" in texts["evt-1002@events.example.edu"]
    recurring = texts["evt-1003@events.example.edu"]
    assert recurring.count("BEGIN:VEVENT") == 2 and "RECURRENCE-ID" in recurring


def test_floating_time_takes_owner_zone_without_calendar_zone(tmp_path):
    instance = make_instance(str(tmp_path))
    add_user(instance, "kim", tz="Asia/Tokyo")
    instance.registry.set_webname("/kim/calendar/", "KimFeed")
    client = InProcessClient(make_app(instance))
    r = client.request("PUT", "/service/KimFeed.ics",
                       feed(event("f1", start="20250110T100000")), user="kim")
    assert r.status == 200
    assert "TZID=Asia/Tokyo:20250110T100000" in stored_texts(instance, "/kim/calendar/")["f1"]


def test_modified_added_deleted_full_feed(cl, inst):
    put(cl, feed(event("a"), event("b"), event("c"), event("d")))
    etags = stored(inst)
    r = put(cl, feed(event("a"), event("b", "Changed"), event("c"), event("e")))
    assert sorted((c, u) for c, u, _ in messages(r)) == [
        (1101, "e"), (1102, "b"), (1103, "d")]
    now = stored(inst)
    assert set(now) == {"a", "b", "c", "e"}
    assert now["a"] == etags["a"] and now["b"] != etags["b"]


def test_delta_keeps_unlisted_events(cl, inst):
    put(cl, feed(event("a"), event("b")))
    r = put(cl, feed(event("c")), "?delta=true")
    assert codes(r) == [1101]
    assert set(stored(inst)) == {"a", "b", "c"}


def test_dtstamp_only_change_is_unchanged(cl, inst):
    put(cl, feed(event("a")))
    etag = stored(inst)["a"]
    body = feed(event("a")).replace(b"DTSTAMP:20250101T000000Z", b"DTSTAMP:20250202T000000Z")
    assert codes(put(cl, body)) == []
    assert stored(inst)["a"] == etag


def test_caldav_edit_since_import_counts_as_changed(cl, inst):
    put(cl, feed(event("a")))
    text = stored_texts(inst)["a"].replace("SUMMARY:Talk", "SUMMARY:Edited by CalDAV")
    href = "a.ics"
    r = cl.request("PUT", PATH + href, text, user="jdoe",
                   headers={"Content-Type": "text/calendar"})
    assert r.status in (201, 204), r.text
    r = put(cl, feed(event("a")))
    assert codes(r) == [1102]
    assert "SUMMARY:Talk" in stored_texts(inst)["a"]


def test_cancel_deletes_named_only_whatever_delta(cl, inst):
    put(cl, feed(event("a"), event("b"), event("c")))
    for query in ("", "?delta=false"):
        r = put(cl, feed(["BEGIN:VEVENT", "UID:a", "END:VEVENT"], method="CANCEL"), query)
        assert r.status == 200
    assert set(stored(inst)) == {"b", "c"}
    r = put(cl, feed(["BEGIN:VEVENT", "UID:b", "END:VEVENT"], method="CANCEL"))
    assert messages(r)[0][:2] == (1103, "b")
    assert set(stored(inst)) == {"c"}


def test_mass_delete_refused_then_allowed(cl, inst):
    put(cl, feed(*(event("e%d" % i) for i in range(6))))
    before = stored(inst)
    r = put(cl, feed(event("e0"), event("e1")))          # would delete 4 of 6
    assert r.status == 400 and codes(r) == [3101]
    assert "would delete 4 of the calendar's 6 events" in r.text
    assert stored(inst) == before
    r = put(cl, feed())                                   # empty file: no wipe
    assert r.status == 400 and stored(inst) == before
    inst.registry.update_settings(PATH, feed_allow_mass_delete=True)
    r = put(cl, feed(event("e0"), event("e1")))
    assert r.status == 200 and codes(r).count(1103) == 4
    assert set(stored(inst)) == {"e0", "e1"}


def test_deletes_own_only_spares_caldav_events(cl, inst):
    put(cl, feed(event("a"), event("b"), event("c")))
    mine = stored_texts(inst)["a"].replace("UID:a", "UID:mine")
    assert cl.request("PUT", PATH + "mine.ics", mine, user="jdoe").status == 201
    inst.registry.update_settings(PATH, feed_deletes_own_only=True)
    r = put(cl, feed(event("a"), event("b")))
    assert [(c, u) for c, u, _ in messages(r)] == [(1103, "c")]
    assert set(stored(inst)) == {"a", "b", "mine"}


def test_full_feed_deletes_caldav_events_by_default(cl, inst):
    put(cl, feed(event("a"), event("b"), event("c")))
    other = stored_texts(inst)["a"].replace("UID:a", "UID:other")
    assert cl.request("PUT", PATH + "other.ics", other, user="jdoe").status == 201
    r = put(cl, feed(event("a"), event("b"), event("c")))
    assert [(c, u) for c, u, _ in messages(r)] == [(1103, "other")]


def test_rejected_event_is_not_deleted(cl, inst):
    put(cl, feed(event("a"), event("b")))
    broken = ["BEGIN:VEVENT", "UID:b", "DTSTART:2025-01-10", "SUMMARY:x", "END:VEVENT"]
    r = put(cl, feed(event("a"), broken))
    assert r.status == 200 and 2103 in codes(r) and 1103 not in codes(r)
    assert set(stored(inst)) == {"a", "b"}


@pytest.mark.parametrize("body, detail", [
    (b"", "no VCALENDAR"),
    (feed(event("a")) + feed(event("b")), "second VCALENDAR"),
    (feed(event("a"))[:-30], "truncated"),
    (feed(*(event("e%d" % i) for i in range(51))), "events"),
])
def test_3101_changes_nothing(cl, inst, body, detail):
    put(cl, feed(event("keep")))
    before = stored(inst)
    r = put(cl, body)
    assert r.status == 400 and codes(r) == [3101], (detail, r.text)
    assert stored(inst) == before


def test_body_over_limit_is_413(cl, inst):
    r = put(cl, feed(event("a", "x" * 250000)))
    assert r.status == 413
    assert stored(inst) == {}


def test_sub_calendar_uid_clash(cl, inst):
    inst.store.create_calendar("jdoe:sub", owner="jdoe", user="jdoe")
    inst.registry.set_parent("/jdoe/sub/", PATH)
    sub_text = feed(event("shared")).decode()
    assert cl.request("PUT", "/jdoe/sub/shared.ics", sub_text, user="jdoe").status == 201
    r = put(cl, feed(event("shared"), event("own")))
    assert r.status == 200
    clash = [m for m in messages(r) if m[1] == "shared"]
    assert clash and clash[0][0] == 2102 and "calendar tree" in r.text
    assert set(stored(inst)) == {"own"}
    # and from the sub-calendar's side: the parent's UID clashes too
    inst.registry.set_webname("/jdoe/sub/", "Sub")
    r = cl.request("PUT", "/service/Sub.ics?delta=true", feed(event("own")), user="jdoe")
    assert 1101 not in codes(r) and 2102 in codes(r)


def test_numeric_url(cl, inst):
    number = inst.registry.get(PATH).number
    r = cl.request("PUT", "/service/calendar.%d.ics" % number, feed(event("n")), user="jdoe")
    assert r.status == 200 and codes(r) == [1101]
    assert cl.request("PUT", "/service/calendar.99999.ics", feed(), user="jdoe").status == 404


def test_auth_and_rights(cl, inst):
    add_user(inst, "eve")
    add_user(inst, "rita")
    inst.registry.set_acl(PATH, "@@o^a^r^g;rita^c^r^g;eve^c^rw^g")
    body = feed(event("a"))
    r = cl.request("PUT", URL, body)
    assert r.status == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert codes(r) == [3101]
    assert cl.request("PUT", URL, body, user="jdoe", password="wrong").status == 401
    r = cl.request("PUT", URL, body, user="rita")
    assert r.status == 403 and r.headers["content-type"].startswith("text/xml")
    assert cl.request("PUT", URL, body, user="eve").status == 403  # w without d
    inst.registry.set_acl(PATH, "@@o^a^r^g;eve^c^wd^g")
    assert cl.request("PUT", URL, body, user="eve").status == 200
    assert cl.request("PUT", "/service/Nobody.ics", body, user="jdoe").status == 404
    assert cl.request("PUT", "/service/../jdoe/calendar.ics", body, user="jdoe").status == 404
    assert cl.request("DELETE", URL, user="jdoe").status == 405


def test_get_feed_public_and_private(cl, inst):
    put(cl, (FEEDS / "trumba.ics").read_bytes())
    add_user(inst, "rita")
    r = cl.request("GET", URL)
    assert r.status == 401 and "www-authenticate" in r.headers
    assert cl.request("GET", URL, user="rita").status == 403
    r = cl.request("GET", URL, user="jdoe")
    assert r.status == 200 and r.headers["content-type"].startswith("text/calendar")
    import vobject
    calendar = vobject.readOne(r.text)
    uids = {e.uid.value for e in calendar.vevent_list}
    assert uids == set(stored(inst))
    assert {tz.tzid.value for tz in calendar.vtimezone_list} >= {"America/New_York"}
    inst.registry.set_acl(PATH, "@@o^a^r^g;@^c^r^g")
    assert cl.request("GET", URL).status == 200
    assert cl.request("GET", "/service/Nope.ics").status == 404


def _bad_dtstart_feed() -> bytes:
    # bad-start: BEGIN on line 10, its DTSTART on 13; bad-end: DTEND 21, DURATION 22
    return feed(event("good-1"),
                ["BEGIN:VEVENT", "UID:bad-start", "DTSTAMP:20250101T000000Z",
                 "DTSTART:2025-01-10 10:00", "SUMMARY:x", "END:VEVENT"],
                event("bad-end", "Talk", "20250110T100000Z", "DTEND:20251310T110000Z",
                      "DURATION:PT1X"))


def test_feed_report_names_the_offending_property_line(cl, inst):
    """2103/2105 carry the line of the property at fault, in the XML report a feed
    sender reads, both for a rejected event and for a dropped property."""
    found = {(code, uid): line for code, uid, line in messages(put(cl, _bad_dtstart_feed()))}
    assert found[(2103, "bad-start")] == "13"      # DTSTART, not the BEGIN on line 10
    assert found[(2103, "bad-end")] == "21"        # its DTEND
    assert found[(2105, "bad-end")] == "22"        # its DURATION
