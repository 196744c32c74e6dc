"""The ACE model decides CalDAV requests too (owner, free/busy-only, denied)."""

import caldav
import pytest

from tests.conftest import TEST_PASSWORD, add_user

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
         "DTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\n"
         "SUMMARY:Private meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
FREEBUSY = ("<?xml version='1.0'?><C:free-busy-query xmlns:C='urn:ietf:params:xml:ns:caldav'>"
            "<C:time-range start='20240101T000000Z' end='20240110T000000Z'/></C:free-busy-query>")
PROPPATCH = ("<?xml version='1.0'?><D:propertyupdate xmlns:D='DAV:'><D:set><D:prop>"
             "<D:displayname>hacked</D:displayname></D:prop></D:set></D:propertyupdate>")


@pytest.fixture
def people(instance, client):
    for name in ("owner", "viewer", "fbonly", "writer", "stranger"):
        add_user(instance, name)
    instance.registry.set_acl("/owner/calendar/",
                              "viewer^a^r^g;writer^c^rw^g;stranger^a^rfw^d;@^a^f^g")
    assert client.request("PUT", "/owner/calendar/e1.ics", EVENT % "e1",
                          {"Content-Type": "text/calendar"}, user="owner").status == 201
    return client


@pytest.mark.parametrize("user, status", [("owner", 200), ("viewer", 200), ("writer", 200),
                                          ("fbonly", 403), ("stranger", 403)])
def test_get(people, user, status):
    response = people.request("GET", "/owner/calendar/e1.ics", user=user)
    assert response.status == status
    if status == 200:
        assert "Private meeting" in response.text


@pytest.mark.parametrize("user, ok", [("owner", True), ("fbonly", True), ("stranger", False)])
def test_freebusy_report(people, user, ok):
    response = people.request("REPORT", "/owner/calendar/", FREEBUSY,
                              {"Depth": "1", "Content-Type": "application/xml"}, user=user)
    assert (response.status == 200) == ok
    if ok:
        assert "FREEBUSY" in response.text and "Private meeting" not in response.text


def test_writer_can_change_but_not_delete(people):
    changed = (EVENT % "e1").replace("Private meeting", "Changed")
    assert people.request("PUT", "/owner/calendar/e1.ics", changed,
                          {"Content-Type": "text/calendar"}, user="writer").status in (201, 204)
    assert people.request("DELETE", "/owner/calendar/e1.ics", user="writer").status == 403
    assert people.request("GET", "/owner/calendar/e1.ics", user="owner").status == 200


def test_viewer_can_not_write(people):
    assert people.request("PUT", "/owner/calendar/e2.ics", EVENT % "e2",
                          {"Content-Type": "text/calendar"}, user="viewer").status == 403


def test_delete_with_d_is_allowed(people, instance):
    instance.registry.set_acl("/owner/calendar/", "writer^c^rwd^g")
    assert people.request("DELETE", "/owner/calendar/e1.ics", user="writer").status == 200


def test_proppatch_needs_property_write(people, instance):
    for user in ("writer", "viewer"):
        assert people.request("PROPPATCH", "/owner/calendar/", PROPPATCH,
                              {"Content-Type": "application/xml"}, user=user).status == 403
    instance.registry.set_acl("/owner/calendar/", "writer^c^rw^g;writer^p^rw^g")
    assert people.request("PROPPATCH", "/owner/calendar/", PROPPATCH,
                          {"Content-Type": "application/xml"}, user="writer").status == 207


def test_only_the_primary_owner_deletes_a_calendar(people):
    assert people.request("DELETE", "/owner/calendar/", user="writer").status == 403
    assert people.request("DELETE", "/owner/calendar/", user="owner").status == 200


def test_public_read_needs_no_login(people, instance):
    assert people.request("GET", "/owner/calendar/e1.ics").status in (401, 403)
    instance.registry.set_acl("/owner/calendar/", "@^a^r^g")
    assert people.request("GET", "/owner/calendar/e1.ics").status == 200


def test_wrong_password_is_refused(people):
    assert people.request("GET", "/owner/calendar/e1.ics", user="owner",
                          password="wrong").status == 401


def test_caldav_client_on_a_real_server(live):
    add_user(live.instance, "carol")
    add_user(live.instance, "dave")
    principal = caldav.DAVClient(live.url + "/carol/", username="carol",
                                 password=TEST_PASSWORD).principal()
    calendar = principal.calendar(cal_url=live.url + "/carol/calendar/")
    event = calendar.save_event(EVENT % "live-1")
    assert calendar.event_by_uid("live-1").vobject_instance.vevent.summary.value == \
        "Private meeting"
    event.vobject_instance.vevent.summary.value = "Renamed"
    event.save()
    assert calendar.event_by_uid("live-1").vobject_instance.vevent.summary.value == "Renamed"
    found = calendar.search(start=__import__("datetime").datetime(2024, 1, 1),
                            end=__import__("datetime").datetime(2024, 1, 5), event=True)
    assert [e.vobject_instance.vevent.uid.value for e in found] == ["live-1"]
    dave = caldav.DAVClient(live.url + "/dave/", username="dave", password=TEST_PASSWORD)
    with pytest.raises(caldav.lib.error.DAVError):
        caldav.Calendar(client=dave, url=live.url + "/carol/calendar/").event_by_uid("live-1")
    event.delete()
    with pytest.raises(caldav.lib.error.NotFoundError):
        calendar.event_by_uid("live-1")
    assert "live-1" in {t.uid for t in live.instance.ledger.deleted_since("/carol/calendar/", 0)}


def test_a_whole_calendar_put_is_the_owners(people):
    """A PUT to the collection replaces every item and property: the rule of
    deleting the calendar, not of writing components."""
    replacement = (EVENT % "r1").replace("VERSION:2.0", "VERSION:2.0\r\nX-WR-CALNAME:Taken")
    assert people.request("PUT", "/owner/calendar/", replacement,
                          {"Content-Type": "text/calendar"}, user="writer").status == 403
    assert people.request("GET", "/owner/calendar/e1.ics", user="owner").status == 200
    assert people.request("PUT", "/owner/calendar/", replacement,
                          {"Content-Type": "text/calendar"}, user="owner").status == 201
    assert people.request("GET", "/owner/calendar/e1.ics", user="owner").status == 404


def test_the_guard_decides_on_the_path_radicale_acts_on(people):
    # The WSGI server has decoded %252F to %2F once; Radicale decodes no more.
    assert people.request("PUT", "/owner/calendar/a%252Fb.ics", EVENT % "ab",
                          {"Content-Type": "text/calendar"}, user="owner").status == 201
    assert people.request("DELETE", "/owner/calendar/a%252Fb.ics", user="writer").status == 403
    assert people.request("GET", "/owner/calendar/a%252Fb.ics", user="owner").status == 200


def test_move_needs_write_where_it_lands(people, instance):
    instance.registry.set_acl("/owner/calendar/", "writer^c^rwd^g")
    instance.registry.set_acl("/viewer/calendar/", "writer^a^r^g")
    assert people.request("MOVE", "/owner/calendar/e1.ics", "",
                          {"Destination": "/viewer/calendar/e1.ics"}, user="writer").status == 403
    assert people.request("MOVE", "/owner/calendar/e1.ics", "",
                          {"Destination": "/owner/calendar/deep/e1.ics"},
                          user="writer").status == 403
    assert people.request("GET", "/owner/calendar/e1.ics", user="owner").status == 200
