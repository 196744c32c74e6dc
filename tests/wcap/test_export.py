"""export on a real store: all components, unexpanded, from several calendars."""

from __future__ import annotations

import pytest
import vobject

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.conftest import ical_lines, parse_xml, run_js
from tests.wcap.fetch_data import ALICE_ITEMS, put, populate, wcap


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = make_instance(str(tmp_path_factory.mktemp("export")))
    add_user(instance, "alice")
    add_user(instance, "bob")
    client = InProcessClient(make_app(instance))
    populate(client)
    put(client, "bob", "calendar", "bob-1", ALICE_ITEMS["later-1"].replace("later-1", "bob-1"))
    instance.registry.set_acl("/bob/calendar/", instance.registry.get(
        "/bob/calendar/").acl + ";alice^c^r^g")
    return client, instance.sessions.create("alice"), instance.sessions.create("bob")


def test_export_everything_as_icalendar(world):
    client, sid, _ = world
    r = wcap(client, "export", sid, content_out="text/calendar", calid=["alice", "bob"],
             dtstart=0, dtend=0)
    assert r.headers["content-type"].startswith("text/calendar")
    cal = vobject.readOne(r.text)  # one valid VCALENDAR
    found = [c.uid.value for c in cal.getChildren() if c.name in ("VEVENT", "VTODO")]
    assert sorted(set(found)) == sorted(list(ALICE_ITEMS) + ["bob-1"])
    assert found.count("series-1") == 2
    assert any(l == "RRULE:FREQ=WEEKLY" for l in ical_lines(r.body))
    # addresses stay as stored
    assert "ORGANIZER;CN=Bob:mailto:bob@example.com" in ical_lines(r.body)


@pytest.mark.parametrize("fmt_out", [None, "text/xml", "text/calendar", "text/js",
                                     "text/json", "bogus"])
def test_export_range_and_xml(world, fmt_out):
    """content-out decides the file whatever fmt-out says (or whether it is sent)."""
    client, sid, _ = world
    extra = {"fmt_out": fmt_out} if fmt_out else {}
    r = wcap(client, "export", sid, content_out="text/xml",
             dtstart="20240301T000000Z", dtend="20240302T000000Z", **extra)
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="export.xml"'
    events = parse_xml(r.body).find("iCal").findall("EVENT")
    assert {e.findtext("UID") for e in events} == {"later-1", "weekly-forever"}


@pytest.mark.parametrize("fmt_out", ["text/xml", "text/js"])
def test_export_icalendar_whatever_fmt_out(world, fmt_out):
    client, sid, _ = world
    r = wcap(client, "export", sid, content_out="text/calendar", fmt_out=fmt_out)
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="export.ics"'
    assert "BEGIN:VEVENT" in ical_lines(r.body)


def test_export_refusals_come_in_the_content_out_format(world):
    """An XML client (content-out=text/xml, no fmt-out) reads the refusal with its XML
    parser too: access denied, unknown calendar, and an expired session."""
    client, sid, bob = world
    for session, calid, errno in ((bob, "alice", 28), (sid, "nobody", 29), ("dead", "alice", 1)):
        r = wcap(client, "export", session, content_out="text/xml", calid=calid)
        assert r.headers["content-type"] == "text/xml; charset=utf-8"
        assert "content-disposition" not in r.headers
        assert parse_xml(r.body).findtext("iCal/X-NSCP-WCAP-ERRNO") == str(errno)


def test_export_errnos(world):
    client, sid, bob = world
    r = wcap(client, "export", bob, content_out="text/calendar", calid=["bob", "alice"])
    assert "X-NSCP-WCAP-ERRNO:28" in ical_lines(r.body)
    r = wcap(client, "export", sid, calid="alice")  # content-out is required
    assert "X-NSCP-WCAP-ERRNO:60" in ical_lines(r.body)  # BAD_ARGUMENTS
    r = wcap(client, "export", sid, content_out="text/calendar", calid="nobody")
    assert "X-NSCP-WCAP-ERRNO:29" in ical_lines(r.body)
    page = run_js(wcap(client, "export", "bad", fmt_out="text/js").text)  # no content-out
    assert page["errno"] == 1


def test_export_live(live):
    add_user(live.instance, "exa")
    populate(live.client, "exa")
    sid = live.instance.sessions.create("exa")
    r = wcap(live.client, "export", sid, content_out="text/calendar")
    assert len(set(c.uid.value for c in vobject.readOne(r.text).getChildren()
                   if c.name in ("VEVENT", "VTODO"))) == len(ALICE_ITEMS)
