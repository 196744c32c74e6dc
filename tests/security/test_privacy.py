"""Security issue: privacy classes. A user granted only read on a calendar saw the full
text of its CLASS:PRIVATE and CLASS:CONFIDENTIAL events through every door.

Now (``privacy.py``): the calendar's owners (primary and co-owners) and administrators
get them whole; everyone else gets them redacted (``redact``), private ones left out
(``hide``) or whole again (``show``), in WCAP, CalDAV (GET, calendar-query on both
paths, multiget, sync-collection, PROPFIND), the JSON API and the feed GET; free/busy
is the same in every mode; and nobody who sees a shadow of an item can overwrite,
move or delete it. Each door in process, then against a real server with the
``caldav`` library.
"""

from __future__ import annotations

import io
import json
import re
from xml.etree import ElementTree

import pytest
import vobject
from radicale import item as radicale_item

from radicale_wcap import caldav_report, config, privacy
from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from tests.conftest import (InProcessClient, LiveServer, TEST_PASSWORD, add_user, basic,
                            make_instance, plugin_collection)
from tests.wcap.conftest import wcap, wcap_login

OWNER, CO_OWNER, READER, ADMIN, BUSY_ONLY = "jdoe", "carol", "bob", "root", "eve"
PATH = "/jdoe/calendar/"
# The reader may read, write and delete components: only the classes stop them.
ACL = ("@@o^a^r^g;@@o^c^wdeic^g;bob^a^r^g;bob^c^rwd^g;@^a^fs^g;@^c^^g")
FEED = "JdoeFeed"

PRIVATE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:private-1\r\nDTSTAMP:20240101T000000Z\r\n"
    "DTSTART:20240108T100000Z\r\nDTEND:20240108T110000Z\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Salary review\r\n"
    "DESCRIPTION:The raise for Bob\r\nLOCATION:HR room\r\nCATEGORIES:Personnel\r\n"
    "ORGANIZER:mailto:jdoe@example.com\r\n"
    "ATTENDEE;CN=Hr:mailto:hr@example.com\r\nX-SECRET-NOTE:keep out\r\n"
    "CLASS:PRIVATE\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Prepare numbers\r\n"
    "TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
CONFIDENTIAL = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:confidential-1\r\nDTSTAMP:20240101T000000Z\r\n"
    "DTSTART:20240109T140000Z\r\nDTEND:20240109T150000Z\r\n"
    "SUMMARY:Merger talks\r\nDESCRIPTION:Acquisition of Initech\r\n"
    "CLASS:CONFIDENTIAL\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
PUBLIC = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:public-1\r\nDTSTAMP:20240101T000000Z\r\n"
    "DTSTART:20240110T090000Z\r\nDTEND:20240110T100000Z\r\n"
    "SUMMARY:Team lunch\r\nDESCRIPTION:Pizza\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
EVENTS = {"private.ics": PRIVATE, "confidential.ics": CONFIDENTIAL, "public.ics": PUBLIC}
SECRETS = ("Salary review", "raise", "HR room", "Personnel", "hr@example.com", "keep out",
           "Prepare numbers", "Merger talks", "Initech")
WEEKS = {"dtstart": "20240101T000000Z", "dtend": "20240201T000000Z"}
ICAL = {"Content-Type": "text/calendar; charset=utf-8"}
XML = {"Content-Type": "application/xml; charset=utf-8", "Depth": "1"}
JSON = {"Content-Type": "application/json"}

QUERY = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' "
         "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/><C:calendar-data/>"
         "</D:prop><C:filter><C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
         "%s</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>")
TIME_RANGE = "<C:time-range start='20240101T000000Z' end='20240201T000000Z'/>"
MULTIGET = ("<?xml version='1.0'?><C:calendar-multiget xmlns:D='DAV:' "
            "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/>"
            "<C:calendar-data/></D:prop>%s</C:calendar-multiget>"
            % "".join("<D:href>%s%s</D:href>" % (PATH, h) for h in EVENTS))
SYNC = ("<?xml version='1.0'?><D:sync-collection xmlns:D='DAV:' "
        "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:sync-token/><D:sync-level>1"
        "</D:sync-level><D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>")
FREE_BUSY = ("<?xml version='1.0'?><C:free-busy-query xmlns:C='urn:ietf:params:xml:ns:caldav'>"
             "<C:time-range start='20240101T000000Z' end='20240201T000000Z'/>"
             "</C:free-busy-query>")


# ---------------------------------------------------------------- worlds

class World:
    def __init__(self, instance, client, folder: str = "") -> None:
        self.instance, self.client, self.folder = instance, client, folder

    def request(self, method, path, body=b"", headers=None, user=READER):
        return self.client.request(method, path, body, headers, user=user)

    def stored(self, href: str) -> str:
        with self.instance.store.reading(PATH, SYSTEM, READ) as calendar:
            found = calendar.by_href(href)
            return found.serialize() if found is not None else ""


def populate(instance, client, folder: str = "") -> World:
    for name in (OWNER, CO_OWNER, READER, BUSY_ONLY):
        add_user(instance, name)
    add_user(instance, ADMIN, admin=True)
    instance.registry.set_acl(PATH, ACL)
    instance.registry.set_owners(PATH, [CO_OWNER])
    instance.registry.set_webname(PATH, FEED)
    for href, text in EVENTS.items():
        response = client.request("PUT", PATH + href, text, ICAL, user=OWNER)
        assert response.status == 201, response.body
    return World(instance, client, folder)


def build(folder: str, mode=None) -> World:
    instance = make_instance(folder, {"rights": {"private_events": mode}} if mode else None)
    return populate(instance, InProcessClient(make_app(instance)), folder)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """One world per mode, for the tests that only read."""
    made = {}

    def get(mode="redact"):
        if mode not in made:
            made[mode] = build(str(tmp_path_factory.mktemp("privacy-" + mode)), mode)
        return made[mode]
    return get


@pytest.fixture
def world(tmp_path):
    """A world of its own, for the tests that write."""
    return build(str(tmp_path))


def assert_whole(text: str, secrets=SECRETS) -> None:
    for secret in secrets:
        assert secret in text, secret
    assert "Team lunch" in text


def assert_whole_event_texts(text: str) -> None:
    """What every door sends of the owner's events (WCAP and the API shape them, and
    do not carry alarms' texts or X- properties)."""
    assert_whole(text, ("Salary review", "raise", "HR room", "Merger talks", "Initech"))


def assert_redacted(text: str, hidden: bool = False) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    assert "Team lunch" in text and "Pizza" in text
    assert "Confidential" in text
    assert ("private-1" in text) is not hidden
    assert ("Busy" in text) is not hidden


def assert_shown_as(mode: str, text: str, whole=assert_whole) -> None:
    if mode == "show":
        whole(text)
    else:
        assert_redacted(text, hidden=mode == "hide")


def multistatus(body: bytes) -> dict:
    """href -> (status, etag, calendar-data) of a 207 answer."""
    found = {}
    for response in ElementTree.fromstring(body).iter("{DAV:}response"):
        href = response.findtext("{DAV:}href")
        status = response.findtext("{DAV:}status") or response.findtext(
            "{DAV:}propstat/{DAV:}status")
        found[href.rsplit("/", 1)[-1]] = (
            status, response.findtext(".//{DAV:}getetag"),
            response.findtext(".//{urn:ietf:params:xml:ns:caldav}calendar-data"))
    return found


def freebusy_lines(text: str) -> list:
    return sorted(line for line in text.replace("\r\n ", "").splitlines()
                  if line.startswith("FREEBUSY"))


# ---------------------------------------------------------------- the rule itself

def test_the_setting_offers_exactly_the_modes(tmp_path):
    setting = next(s for s in config.SETTINGS
                   if (s.section, s.option) == privacy.SETTING)
    assert setting.default == privacy.REDACT
    assert setting.type.choices == privacy.MODES
    with pytest.raises(config.ConfigError):
        make_instance(str(tmp_path), {"rights": {"private_events": "reveal"}})


def test_each_class_keeps_what_its_row_says():
    for rule in privacy.CLASS_RULES:
        text = PRIVATE.replace("CLASS:PRIVATE", "CLASS:" + rule.name)
        assert privacy.rule_of(text) is rule
        redacted = privacy.redact(text, rule)
        event = vobject.readOne(redacted).vevent
        names = {line.name for line in event.lines()}
        assert names - {"SUMMARY", "CLASS"} <= rule.keeps
        assert names >= {"UID", "DTSTART", "DTEND", "RRULE", "DTSTAMP"}
        assert event.summary.value == rule.summary
        assert not list(event.components())  # no VALARM
        assert event.contents["class"][0].value == rule.name
        for secret in SECRETS:
            assert secret not in redacted


def test_public_unknown_and_mixed_classes():
    assert privacy.rule_of(PUBLIC) is None
    assert privacy.rule_of(PUBLIC.replace("END:VEVENT", "CLASS:public\r\nEND:VEVENT")) is None
    # RFC 5545 3.8.1.3: a class we do not know is treated as PRIVATE
    assert privacy.rule_of(PUBLIC.replace("END:VEVENT", "CLASS:X-SECRET\r\nEND:VEVENT")) \
        is privacy.RULES["PRIVATE"]
    # a CLASS inside an alarm is not the event's
    assert privacy.rule_of(PUBLIC.replace(
        "END:VEVENT", "BEGIN:VALARM\r\nCLASS:PRIVATE\r\nEND:VALARM\r\nEND:VEVENT")) is None
    # one private exception makes the whole series private, every component redacted
    series = CONFIDENTIAL.replace("END:VCALENDAR", (
        "BEGIN:VEVENT\r\nUID:confidential-1\r\nRECURRENCE-ID:20240116T140000Z\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240116T150000Z\r\nDTEND:20240116T160000Z\r\n"
        "SUMMARY:Merger talks moved\r\nCLASS:PRIVATE\r\nEND:VEVENT\r\nEND:VCALENDAR"))
    assert privacy.rule_of(series) is privacy.RULES["PRIVATE"]
    redacted = privacy.View("redact", False).text(series)
    events = vobject.readOne(redacted).vevent_list
    assert [e.summary.value for e in events] == ["Busy", "Busy"]
    assert "recurrence-id" in events[1].contents and "Merger" not in redacted


def test_views_and_timezones_and_folding():
    zoned = PRIVATE.replace("DTSTART:20240108T100000Z",
                            "DTSTART;TZID=Europe/Paris:20240108T110000") \
        .replace("VERSION:2.0\r\n", "VERSION:2.0\r\nX-WR-CALNAME:Private stuff\r\n"
                 "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\n"
                 "DTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
                 "END:STANDARD\r\nEND:VTIMEZONE\r\n") \
        .replace("RRULE:FREQ=WEEKLY;COUNT=3", "RRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE:" + ",".join(
            "202402%02dT100000Z" % d for d in range(1, 20)))
    redacted = privacy.View("redact", False).text(zoned)
    assert "BEGIN:VTIMEZONE" in redacted and "TZID=Europe/Paris" in redacted
    assert "Private stuff" not in redacted
    assert all(len(line.encode()) <= 75 for line in redacted.split("\r\n"))
    vobject.readOne(redacted).vevent.getrruleset()  # still a valid, expandable event
    assert privacy.View("hide", False).text(zoned) is None
    assert privacy.View("hide", False).text(CONFIDENTIAL) is not None
    for whole in (privacy.View("show", False), privacy.View("redact", True)):
        assert whole.text(zoned) is zoned and whole.may_change(zoned)
    reader = privacy.View("redact", False)
    assert reader.text(PUBLIC) is PUBLIC
    assert not reader.may_change(PRIVATE) and not reader.may_change(CONFIDENTIAL)
    assert reader.may_change(PUBLIC) and reader.may_change(None)


# ---------------------------------------------------------------- CalDAV in process

@pytest.mark.parametrize("user", [OWNER, CO_OWNER, ADMIN])
def test_caldav_owners_and_administrators_see_everything(worlds, user):
    w = worlds()
    assert_whole(w.request("GET", PATH, user=user).text)
    got = w.request("GET", PATH + "private.ics", user=user)
    assert got.status == 200 and got.text == w.stored("private.ics")
    assert got.headers["etag"] == radicale_item.get_etag(got.text)
    for body in (QUERY % "", QUERY % TIME_RANGE, MULTIGET, SYNC):
        answer = w.request("REPORT", PATH, body, XML, user=user)
        assert answer.status == 207
        assert_whole(answer.text)


@pytest.mark.parametrize("mode", privacy.MODES)
def test_caldav_reader_gets_the_modes_view_everywhere(worlds, mode):
    w = worlds(mode)
    hidden = mode == "hide"
    assert_shown_as(mode, w.request("GET", PATH).text)
    private = w.request("GET", PATH + "private.ics")
    confidential = w.request("GET", PATH + "confidential.ics")
    assert w.request("GET", PATH + "public.ics").text == w.stored("public.ics")
    if mode == "show":
        assert private.text == w.stored("private.ics")
    elif hidden:
        assert private.status == 404
    else:
        assert private.status == 200 and "SUMMARY:Busy" in private.text
        assert private.text != w.stored("private.ics")
    if mode != "show":
        assert "SUMMARY:Confidential" in confidential.text
    # One text, one ETag, whichever way it is read.
    served = {href: w.request("GET", PATH + href) for href in EVENTS}
    for href, response in served.items():
        if response.status == 200:
            assert response.headers["etag"] == radicale_item.get_etag(response.text)
    for body in (QUERY % "", QUERY % TIME_RANGE, MULTIGET, SYNC):
        answer = w.request("REPORT", PATH, body, XML)
        assert answer.status == 207, answer.text
        assert_shown_as(mode, answer.text)
        for href, (status, etag, data) in multistatus(answer.body).items():
            if href not in EVENTS:
                continue
            if data is None:  # multiget of a hidden item
                assert hidden and href == "private.ics" and "404" in status
                continue
            assert data.replace("\r\n", "\n") == served[href].text.replace("\r\n", "\n")
            assert etag == served[href].headers["etag"]
    listing = multistatus(w.request("PROPFIND", PATH, "", {"Depth": "1"}).body)
    for href, response in served.items():
        if response.status == 200:
            assert listing[href][1] == response.headers["etag"]
        else:
            assert href not in listing


def test_caldav_fast_and_radicale_paths_answer_the_same(worlds):
    w = worlds()
    slow_instance = make_instance(w.folder, {"http": {"fast_calendar_query": "False"}})
    slow = InProcessClient(make_app(slow_instance))
    body = QUERY % TIME_RANGE
    for user in (READER, OWNER):
        environ = {"REQUEST_METHOD": "REPORT", "PATH_INFO": PATH, "HTTP_DEPTH": "1",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body.encode()),
                   "HTTP_AUTHORIZATION": basic(user)}
        assert caldav_report.answer(w.instance, environ) is not None  # the fast path answers
        fast_answer = w.request("REPORT", PATH, body, XML, user=user)
        slow_answer = slow.request("REPORT", PATH, body, XML, user=user)
        assert (fast_answer.status, fast_answer.body) == (slow_answer.status, slow_answer.body)


def test_caldav_sync_token_does_not_depend_on_who_asks(worlds):
    w = worlds()
    prop = ("<?xml version='1.0'?><D:propfind xmlns:D='DAV:'><D:prop><D:sync-token/>"
            "</D:prop></D:propfind>")

    def token(user):
        answer = w.request("PROPFIND", PATH, prop, {"Depth": "0"}, user=user)
        return re.search(r"<sync-token>([^<]+)</sync-token>", answer.text).group(1)
    first = token(OWNER)
    assert token(READER) == first == token(OWNER)
    # and an owner's sync from the reader's token sees nothing changed
    since = SYNC.replace("<D:sync-token/>", "<D:sync-token>%s</D:sync-token>" % first)
    answer = w.request("REPORT", PATH, since, XML, user=OWNER)
    assert not [h for h in multistatus(answer.body) if h in EVENTS]


@pytest.mark.parametrize("mode", privacy.MODES)
def test_free_busy_is_the_same_in_every_mode_and_door(worlds, mode):
    w, reference = worlds(mode), worlds("show")
    expected = freebusy_lines(reference.request("REPORT", PATH, FREE_BUSY, XML,
                                                user=OWNER).text)
    assert len(expected) == 5  # three private instances, the confidential, the public
    for user in (OWNER, READER, BUSY_ONLY):
        answer = w.request("REPORT", PATH, FREE_BUSY, XML, user=user)
        assert answer.status == 200 and freebusy_lines(answer.text) == expected
        view = w.request("GET", PATH + "?view=freebusy&start=20240101T000000Z"
                         "&end=20240201T000000Z", user=user)
        assert freebusy_lines(view.text) == expected
    sid = wcap_login(w.client, READER)
    answer = wcap(w.client, "get_freebusy", "text/calendar", id=sid, calid=OWNER, **WEEKS)
    assert len(freebusy_lines("\n".join(answer.lines))) == 5


# ---------------------------------------------------------------- CalDAV writes

def test_caldav_reader_can_not_overwrite_move_or_delete_what_it_can_not_see(world):
    w = world
    before = {href: w.stored(href) for href in EVENTS}
    shadow = w.request("GET", PATH + "private.ics").text
    for href, body in (("private.ics", shadow), ("confidential.ics", CONFIDENTIAL)):
        assert w.request("PUT", PATH + href, body, ICAL).status == 403
        assert w.request("DELETE", PATH + href).status == 403
        move = w.request("MOVE", PATH + href, headers={
            "Destination": "http://localhost/bob/calendar/stolen.ics"})
        assert move.status == 403
    over = w.request("MOVE", PATH + "public.ics", headers={
        "Destination": "http://localhost%sprivate.ics" % PATH, "Overwrite": "T"})
    assert over.status == 403
    whole = w.request("PUT", PATH, PUBLIC, ICAL)
    assert whole.status == 403
    assert {href: w.stored(href) for href in EVENTS} == before
    assert w.request("GET", "/bob/calendar/stolen.ics", user=READER).status == 404
    # what it sees whole it edits; a new item of any class it creates (and then can
    # not change, as it can not see it whole any more)
    assert w.request("PUT", PATH + "public.ics", PUBLIC.replace("Pizza", "Sushi"),
                     ICAL).status == 204
    mine = PRIVATE.replace("private-1", "bobs-own")
    assert w.request("PUT", PATH + "bobs.ics", mine, ICAL).status == 201
    assert w.request("PUT", PATH + "bobs.ics", mine, ICAL).status == 403
    # the owner still does everything
    assert w.request("PUT", PATH + "private.ics", PRIVATE.replace("HR room", "Board room"),
                     ICAL, user=OWNER).status == 204
    assert w.request("DELETE", PATH + "confidential.ics", user=OWNER).status == 200


def test_show_mode_lets_readers_write_as_before(tmp_path):
    w = build(str(tmp_path), "show")
    assert w.request("PUT", PATH + "private.ics", PRIVATE.replace("HR room", "Cafe"),
                     ICAL).status == 204
    assert "Cafe" in w.stored("private.ics")
    assert w.request("DELETE", PATH + "confidential.ics").status == 200


def test_the_store_refuses_every_door_but_scheduling_and_feeds(world):
    """The check binds every handle made for the user's own edits and the storage
    plugin's own writes (Radicale's PUT), whatever the door; a handle that writes for
    someone else (a feed, scheduling) is not the user's edit."""
    from radicale_wcap.store import DELETE, FEED, WRITE, prepare_item
    store = world.instance.store
    item = prepare_item(world.instance.configuration, PATH,
                        PRIVATE.replace("HR room", "Basement"))
    for purpose in (WRITE, DELETE):
        with pytest.raises(privacy.OwnerOnly):
            with store.writing(PATH, READER, purpose) as calendar:
                calendar.put(item)
        with pytest.raises(privacy.OwnerOnly):
            with store.writing(PATH, READER, purpose) as calendar:
                calendar.delete("confidential-1")
    with plugin_collection(world.instance, PATH, READER, "w") as collection:
        with pytest.raises(privacy.OwnerOnly):
            collection.upload("private.ics", item)
        with pytest.raises(privacy.OwnerOnly):
            collection.delete("confidential.ics")
    assert "HR room" in world.stored("private.ics")
    with store.writing(PATH, READER, FEED) as calendar:
        calendar.put(item)
    assert "Basement" in world.stored("private.ics")


# ---------------------------------------------------------------- WCAP

FORMATS = ("text/calendar", "text/xml", "text/js")


@pytest.mark.parametrize("mode", privacy.MODES)
def test_wcap_fetches_and_export(worlds, mode):
    w = worlds(mode)
    reader, owner = wcap_login(w.client, READER), wcap_login(w.client, OWNER)
    for fmt in FORMATS:
        for recurring in ("1", "0"):
            for sid, check in ((owner, assert_whole_event_texts),
                               (reader, lambda text: assert_shown_as(
                                   mode, text, assert_whole_event_texts))):
                answer = wcap(w.client, "fetchcomponents_by_range", fmt, id=sid,
                              calid=OWNER, recurring=recurring, **WEEKS)
                assert answer.errno == 0
                check(answer.text)
    by_id = wcap(w.client, "fetchevents_by_id", "text/calendar", id=reader, calid=OWNER,
                 uid="private-1", recurring="1")
    if mode == "hide":
        assert by_id.errno == 59
    else:
        assert by_id.errno == 0
        assert by_id.values("SUMMARY") == (["Busy"] if mode == "redact" else ["Salary review"])
    lastmod = wcap(w.client, "fetchcomponents_by_lastmod", "text/calendar", id=reader,
                   calid=OWNER, dtstart="20000101T000000Z", dtend="0")
    assert_shown_as(mode, lastmod.text, assert_whole_event_texts)
    exported = w.request("GET", "/export.wcap?id=%s&calid=%s&content-out=text/calendar"
                         % (reader, OWNER))
    assert exported.status == 200
    assert_shown_as(mode, exported.text, assert_whole_event_texts)


def test_wcap_output_cache_keeps_the_views_apart(worlds):
    w = worlds()
    cache = w.instance.output_cache
    assert cache.enabled
    reader, owner = wcap_login(w.client, READER), wcap_login(w.client, OWNER)
    admin = wcap_login(w.client, ADMIN)
    order = [(owner, True), (reader, False), (owner, True), (reader, False), (admin, True)]
    hits = cache.hits
    for fmt in FORMATS:
        for sid, whole in order:
            answer = wcap(w.client, "fetchcomponents_by_range", fmt, id=sid, calid=OWNER,
                          recurring="1", **WEEKS)
            (assert_whole_event_texts if whole else assert_redacted)(answer.text)
    assert cache.hits >= hits + 3 * 3 * 3  # second owner, second reader, admin: all hits


def test_wcap_reader_store_and_delete_are_errno_47(world):
    w = world
    reader = wcap_login(w.client, READER)
    before = w.stored("private.ics")
    store = wcap(w.client, "storeevents", "text/calendar", id=reader, calid=OWNER,
                 uid="private-1", summary="Busy", dtstart="20240108T100000Z",
                 dtend="20240108T110000Z", fetch="1")
    assert store.errno == 47
    assert wcap(w.client, "deleteevents_by_id", "text/calendar", id=reader, calid=OWNER,
                uid="confidential-1", rid="0", mod="4").errno == 47
    assert w.stored("private.ics") == before and "Merger" in w.stored("confidential.ics")
    assert wcap(w.client, "storeevents", "text/calendar", id=reader, calid=OWNER,
                uid="public-1", location="Canteen").errno == 0
    # a new private event: created, answered as the reader's view, then out of reach
    made = wcap(w.client, "storeevents", "text/calendar", id=reader, calid=OWNER,
                uid="bobs-own", summary="Bob secret", icsClass="PRIVATE",
                dtstart="20240111T100000Z", dtend="20240111T110000Z", fetch="1")
    assert made.errno == 0 and made.values("SUMMARY") == ["Busy"]
    assert wcap(w.client, "storeevents", "text/calendar", id=reader, calid=OWNER,
                uid="bobs-own", summary="Changed").errno == 47
    owner = wcap_login(w.client, OWNER)
    assert wcap(w.client, "storeevents", "text/calendar", id=owner, calid=OWNER,
                uid="private-1", location="Board room").errno == 0
    assert "Board room" in w.stored("private.ics") and "Salary review" in w.stored(
        "private.ics")


def test_wcap_addlink_copies_only_the_readers_view(world, tmp_path):
    w = world
    reader = wcap_login(w.client, READER)
    answer = wcap(w.client, "addlink", "text/calendar", id=reader, destCal=READER,
                  srcCal=OWNER, uid="private-1;confidential-1;public-1", rid="0;0;0")
    assert answer.errno == 0
    assert_redacted(w.request("GET", "/bob/calendar/", user=READER).text)
    hidden = build(str(tmp_path / "hide"), "hide")
    reader = wcap_login(hidden.client, READER)
    assert wcap(hidden.client, "addlink", "text/calendar", id=reader, destCal=READER,
                srcCal=OWNER, uid="private-1", rid="0").errno == 12


def test_scheduling_updates_private_copies_in_others_calendars(tmp_path):
    from tests.wcap.test_store import Wcap
    instance = make_instance(str(tmp_path))
    for name in ("org", "atta"):
        add_user(instance, name)
    client = InProcessClient(make_app(instance))
    org, atta = Wcap(client, instance, "org"), Wcap(client, instance, "atta")
    quiet = dict(smtp="0", smtpNotify="0", notify="0")
    assert b"X-NSCP-WCAP-ERRNO:0" in org(
        "storeevents", calid="org", uid="m1", dtstart="20240201T200000Z",
        dtend="20240201T210000Z", summary="Reorg", icsClass="PRIVATE", method="2",
        attendees="PARTSTAT=NEEDS-ACTION^RSVP=TRUE^atta", **quiet)
    assert atta.stored("m1").vevent.summary.value == "Reorg"
    assert atta.stored("m1").vevent.contents["class"][0].value == "PRIVATE"
    org("storeevents", calid="org", uid="m1", summary="Reorg 2", method="2", **quiet)
    assert atta.stored("m1").vevent.summary.value == "Reorg 2"
    assert b"X-NSCP-WCAP-ERRNO:0" in atta(
        "storeevents", calid="atta", uid="m1", method="4",
        attendees="PARTSTAT=ACCEPTED^mailto%3Aatta%40example.com", **quiet)
    accepted = [a.params["PARTSTAT"][0] for a in org.stored("m1").vevent.attendee_list
                if "atta" in a.value]
    assert accepted == ["ACCEPTED"]


# ---------------------------------------------------------------- JSON API and feed

def api_event(w, uid, user=READER, method="GET", body=None):
    return w.request(method, "/restapi/v1/events/itemguid=%s?calendar=%s" % (uid, OWNER),
                     json.dumps(body) if body is not None else b"", JSON, user=user)


@pytest.mark.parametrize("mode", privacy.MODES)
def test_api_reads(worlds, mode):
    w = worlds(mode)
    owner = api_event(w, "private-1", user=OWNER)
    assert owner.status == 200 and owner.json()["title"] == "Salary review"
    mine = api_event(w, "private-1")
    listing = w.request("GET", "/restapi/v1/events?calendar=%s" % OWNER, user=READER)
    assert listing.status == 200
    titles = sorted(e["title"] for e in listing.json()["events"])
    if mode == "show":
        assert mine.json() == owner.json()
        assert "Salary review" in titles
    elif mode == "hide":
        assert mine.status == 404 and titles == ["Confidential", "Team lunch"]
    else:
        event = mine.json()
        assert event["title"] == "Busy" and mine.headers["etag"] != owner.headers["etag"]
        assert titles == ["Busy", "Confidential", "Team lunch"]
    for secret in SECRETS:
        if mode != "show":
            assert secret not in listing.text and secret not in mine.text


def test_api_reader_writes_are_403(world):
    w = world
    event = api_event(w, "confidential-1").json()
    assert api_event(w, "confidential-1", method="PUT", body=dict(event, title="x")).status == 403
    assert api_event(w, "confidential-1", method="DELETE").status == 403
    fork = w.request("POST", "/restapi/v1/events/itemguid=private-1?calendar=%s&fork=1"
                     "&starting_date=2024-01-15" % OWNER, "{}", JSON)
    assert fork.status == 403
    assert "Merger talks" in w.stored("confidential.ics")
    public = api_event(w, "public-1").json()
    assert api_event(w, "public-1", method="PUT", body=dict(public, title="Lunch")).status == 200
    owner_view = api_event(w, "confidential-1", user=OWNER).json()
    assert api_event(w, "confidential-1", user=OWNER, method="PUT",
                     body=dict(owner_view, title="Merger talks 2")).status == 200


@pytest.mark.parametrize("mode", privacy.MODES)
def test_feed_get(worlds, mode):
    w = worlds(mode)
    assert_whole(w.request("GET", "/service/%s.ics" % FEED, user=OWNER).text)
    answer = w.request("GET", "/service/%s.ics" % FEED, user=READER)
    assert answer.status == 200
    assert_shown_as(mode, answer.text)


# ---------------------------------------------------------------- a real server

@pytest.fixture(scope="module")
def live_world(tmp_path_factory):
    server = LiveServer(str(tmp_path_factory.mktemp("privacy-live")))
    w = populate(server.instance, server.client)
    w.url = server.url
    yield w
    server.stop()


def dav_calendar(w, user):
    import caldav
    client = caldav.DAVClient(url=w.url + PATH, username=user, password=TEST_PASSWORD)
    return client.calendar(url=w.url + PATH)


def test_live_caldav_library_reads(live_world):
    w = live_world
    import datetime as dt
    for user, check in ((OWNER, assert_whole), (CO_OWNER, assert_whole),
                        (READER, assert_redacted)):
        calendar = dav_calendar(w, user)
        check("".join(event.data for event in calendar.events()))
        found = calendar.search(start=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
                                end=dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc),
                                event=True)
        check("".join(event.data for event in found))
        one = calendar.event_by_uid("private-1")
        assert ("Salary review" in one.data) is (user != READER)
        synced = calendar.objects_by_sync_token(load_objects=True)
        check("".join(obj.data for obj in synced))


def test_live_caldav_library_write_refused(live_world):
    import caldav
    w = live_world
    calendar = dav_calendar(w, READER)
    event = calendar.event_by_uid("private-1")
    event.data = event.data.replace("SUMMARY:Busy", "SUMMARY:Mine now")
    with pytest.raises(caldav.lib.error.DAVError):
        event.save()
    with pytest.raises(caldav.lib.error.DAVError):
        calendar.event_by_uid("confidential-1").delete()
    owner_copy = dav_calendar(w, OWNER).event_by_uid("private-1").data
    assert "Salary review" in owner_copy and "Mine now" not in owner_copy


def test_live_wcap_api_and_feed(live_world):
    w = live_world
    reader, owner = wcap_login(w.client, READER), wcap_login(w.client, OWNER)
    for sid, check in ((owner, assert_whole_event_texts), (reader, assert_redacted),
                       (owner, assert_whole_event_texts)):
        check(wcap(w.client, "fetchcomponents_by_range", "text/xml", id=sid, calid=OWNER,
                   recurring="1", **WEEKS).text)
    assert api_event(w, "private-1").json()["title"] == "Busy"
    assert api_event(w, "private-1", user=OWNER).json()["title"] == "Salary review"
    assert_redacted(w.request("GET", "/service/%s.ics" % FEED).text)
    assert_whole(w.request("GET", "/service/%s.ics" % FEED, user=OWNER).text)
    assert wcap(w.client, "storeevents", "text/calendar", id=reader, calid=OWNER,
                uid="private-1", summary="x").errno == 47
