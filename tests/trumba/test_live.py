"""The import door against a real server: HTTP, concurrent PUTs, a CalDAV client."""

from __future__ import annotations

import threading

import caldav
import pytest
import vobject

from tests.conftest import TEST_PASSWORD, add_user
from tests.trumba.test_door_fixtures import FEEDS, codes, event, feed, messages, stored


@pytest.fixture(scope="module")
def server(live):
    for user, webname in (("tina", "TinaFeed"), ("tom", "TomFeed"), ("rob", None)):
        if live.instance.directory.get(user) is None:
            add_user(live.instance, user)
        if webname:
            live.instance.registry.set_webname("/%s/calendar/" % user, webname)
    return live


def dav_uids(server, user):
    client = caldav.DAVClient(url=server.url + "/%s/" % user, username=user,
                              password=TEST_PASSWORD)
    calendar = client.calendar(url=server.url + "/%s/calendar/" % user)
    found = {}
    for item in calendar.events():
        vcal = item.vobject_instance
        found[vcal.vevent.uid.value] = vcal
    return found, calendar


def test_caldav_client_sees_exactly_the_imported_events(server):
    r = server.client.request("PUT", "/service/TinaFeed.ics",
                              (FEEDS / "trumba.ics").read_bytes(), user="tina")
    assert r.status == 200, r.text
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    imported = {uid for code, uid, _ in messages(r) if code == 1101}
    found, calendar = dav_uids(server, "tina")
    assert set(found) == imported
    lecture = found["evt-1001@events.example.edu"].vevent
    assert lecture.summary.value == "Lecture: Übersetzung & Kultur – Café Ñandú"
    recurring = calendar.event_by_uid("evt-1003@events.example.edu").vobject_instance
    assert len(recurring.vevent_list) == 2
    assert any(hasattr(v, "recurrence_id") for v in recurring.vevent_list)
    etags = stored(server.instance, "/tina/calendar/")
    again = server.client.request("PUT", "/service/TinaFeed.ics",
                                  (FEEDS / "trumba.ics").read_bytes(), user="tina")
    assert again.status == 200 and codes(again) == []
    assert stored(server.instance, "/tina/calendar/") == etags


def test_outlook_feed_and_cancel_over_http(server):
    body = (FEEDS / "outlook.ics").read_bytes()
    r = server.client.request("PUT", "/service/TinaFeed.ics?delta=true", body, user="tina")
    assert r.status == 200 and 1101 in codes(r)
    uid = next(u for c, u, _ in messages(r) if c == 1101)
    cancel = feed(["BEGIN:VEVENT", "UID:" + uid, "END:VEVENT"], method="CANCEL")
    r = server.client.request("PUT", "/service/TinaFeed.ics", cancel, user="tina")
    assert messages(r)[0][:2] == (1103, uid)
    assert uid not in dav_uids(server, "tina")[0]


def test_status_codes_over_http(server):
    body = feed(event("s1"))
    assert server.client.request("PUT", "/service/TomFeed.ics", body).status == 401
    r = server.client.request("PUT", "/service/TomFeed.ics", body, user="rob")
    assert r.status == 403 and codes(r) == [3101]
    assert server.client.request("PUT", "/service/NoSuch.ics", body, user="tom").status == 404
    r = server.client.request("PUT", "/service/TomFeed.ics", b"BEGIN:VCALENDAR\r\n", user="tom")
    assert r.status == 400 and codes(r) == [3101]
    number = server.instance.registry.get("/tom/calendar/").number
    r = server.client.request("PUT", "/service/calendar.%d.ics?delta=true" % number, body,
                              user="tom")
    assert r.status == 200 and codes(r) == [1101]


def test_get_subscription_over_http(server):
    server.client.request("PUT", "/service/TinaFeed.ics?delta=true",
                          feed(event("pub-1", "Öffentlich")), user="tina")
    assert server.client.request("GET", "/service/TinaFeed.ics").status == 401
    server.instance.registry.set_acl("/tina/calendar/", "@@o^a^r^g;@^c^r^g")
    r = server.client.request("GET", "/service/TinaFeed.ics")
    assert r.status == 200 and r.headers["content-type"].startswith("text/calendar")
    calendar = vobject.readOne(r.text)
    uids = {v.uid.value for v in calendar.vevent_list}
    assert uids == set(stored(server.instance, "/tina/calendar/"))
    assert "Öffentlich" in r.text


def test_concurrent_full_feeds_serialise(server):
    """Two connectors replace the whole calendar at once: the result is one feed or the
    other, never a mix, and both PUTs get a complete answer."""
    server.instance.registry.update_settings("/tom/calendar/", feed_allow_mass_delete=True)
    feeds = {name: feed(*(event("%s-%d" % (name, i), "Ev %s %d" % (name, i))
                          for i in range(40))) for name in ("red", "blue")}
    for _ in range(3):
        results = {}

        def send(name):
            results[name] = server.client.request("PUT", "/service/TomFeed.ics",
                                                  feeds[name], user="tom")
        threads = [threading.Thread(target=send, args=(n,)) for n in feeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.status == 200 for r in results.values()), \
            [r.text for r in results.values()]
        uids = set(stored(server.instance, "/tom/calendar/"))
        prefixes = {uid.split("-")[0] for uid in uids}
        assert len(prefixes) == 1 and len(uids) == 40, sorted(uids)[:5]
        assert set(dav_uids(server, "tom")[0]) == uids


def test_feed_report_names_the_offending_property_line_over_http(server):
    from tests.trumba.test_door import _bad_dtstart_feed
    r = server.client.request("PUT", "/service/TomFeed.ics", _bad_dtstart_feed(), user="tom")
    found = {(code, uid): line for code, uid, line in messages(r)}
    assert found[(2103, "bad-start")] == "13" and found[(2105, "bad-end")] == "22"
