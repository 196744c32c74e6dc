"""verifyevents_by_ids / verifytodos_by_ids on a real store."""

from __future__ import annotations

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.conftest import ical_lines, parse_xml, run_js
from tests.wcap.fetch_data import populate, wcap


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = make_instance(str(tmp_path_factory.mktemp("verify")))
    add_user(instance, "alice")
    add_user(instance, "bob")
    client = InProcessClient(make_app(instance))
    populate(client)
    return client, instance.sessions.create("alice"), instance.sessions.create("bob")


def errno_of(r, fmt):
    if fmt == "text/calendar":
        return int([l for l in ical_lines(r.body) if l.startswith("X-NSCP-WCAP-ERRNO")][0][18:])
    if fmt == "text/xml":
        return int(next(parse_xml(r.body).iter("X-NSCP-WCAP-ERRNO")).text)
    return run_js(r.text)["errno"]


@pytest.mark.parametrize("fmt", ("text/calendar", "text/xml", "text/js"))
def test_unverified_pairs_are_listed(world, fmt):
    client, sid, _ = world
    r = wcap(client, "verifyevents_by_ids", sid, fmt_out=fmt,
             uid=["series-1", "series-1", "series-1", "nope", "todo-1", "allday-1"],
             rid=["0", "20240105T090000Z", "20240103T090000Z", "0", "0", "0"])
    assert errno_of(r, fmt) == 0
    if fmt == "text/calendar":
        lines = ical_lines(r.body)
        body = [l for l in lines if l.startswith(("UID", "RECURRENCE-ID"))]
        # the EXDATE'd instance, the unknown uid and the todo (not an event)
        assert body == ["UID:series-1", "RECURRENCE-ID:20240103T090000Z", "UID:nope",
                        "UID:todo-1"]
    elif fmt == "text/xml":
        events = parse_xml(r.body).find("iCal").findall("EVENT")
        assert [(e.findtext("UID"), e.findtext("RECURID")) for e in events] == [
            ("series-1", "20240103T090000Z"), ("nope", None), ("todo-1", None)]
    else:
        page = run_js(r.text)
        assert [e["uid"] for e in page["event"]] == ["series-1", "nope", "todo-1"]


def test_default_format_is_calendar_and_todos(world):
    client, sid, _ = world
    r = wcap(client, "verifytodos_by_ids", sid, uid=["todo-1", "series-1"], rid=["0", "0"])
    assert r.headers["content-type"].startswith("text/calendar")
    assert [l for l in ical_lines(r.body) if l.startswith("UID")] == ["UID:series-1"]
    assert "BEGIN:VTODO" in ical_lines(r.body)


def test_override_rid_verifies(world):
    client, sid, _ = world
    r = wcap(client, "verifyevents_by_ids", sid, uid="series-1", rid="20240102T090000Z")
    assert not [l for l in ical_lines(r.body) if l.startswith("UID")]


def test_errnos(world):
    client, sid, bob = world
    r = wcap(client, "verifyevents_by_ids", sid, uid=["a", "b"], rid="0")
    assert errno_of(r, "text/calendar") == 46
    r = wcap(client, "verifyevents_by_ids", sid, uid="a")
    assert errno_of(r, "text/calendar") == 46
    r = wcap(client, "verifyevents_by_ids", bob, uid="series-1", rid="0", calid="alice")
    assert errno_of(r, "text/calendar") == 28
    r = wcap(client, "verifyevents_by_ids", sid, uid="series-1", rid="0", calid="zed")
    assert errno_of(r, "text/calendar") == 29
    r = wcap(client, "verifyevents_by_ids", "bad", uid="series-1", rid="0")
    assert errno_of(r, "text/calendar") == 1


def test_live(live):
    add_user(live.instance, "vera")
    populate(live.client, "vera")
    sid = live.instance.sessions.create("vera")
    r = wcap(live.client, "verifyevents_by_ids", sid, fmt_out="text/xml",
             uid=["series-1", "gone"], rid=["20240104T090000Z", "20240104T090000Z"])
    events = parse_xml(r.body).find("iCal").findall("EVENT")
    assert [(e.findtext("UID"), e.findtext("RECURID")) for e in events] == [
        ("gone", "20240104T090000Z")]
