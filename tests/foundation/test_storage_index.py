"""The side index answers range and UID queries exactly as a full scan would.

Random items (single, all-day, floating, recurring with exceptions) are
written; random ranges are asked of the index and of an independent oracle
(Radicale's own filter code run over every item), and of stock Radicale
serving a copy of the same store.
"""

import datetime as dt
import random
import shutil
import xml.etree.ElementTree as ET

import pytest
import radicale
from radicale import config as radicale_config
from radicale.item import filter as radicale_filter

from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM, WRITE, prepare_item
from tests.conftest import InProcessClient, add_user, make_instance, plugin_collection

CALDAV = "urn:ietf:params:xml:ns:caldav"


def random_event(rng: random.Random, n: int) -> str:
    base = dt.datetime(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700),
                                                  hours=rng.randint(0, 23))
    kind = rng.choice(["utc", "utc", "tz", "floating", "allday", "weekly", "daily",
                       "infinite", "exceptions"])
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    uid = "ev-%d" % n
    head = ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20240101T000000Z", "SUMMARY:e%d" % n]
    length = dt.timedelta(hours=rng.randint(1, 30))
    if kind == "allday":
        day = base.date()
        head += ["DTSTART;VALUE=DATE:%s" % day.strftime("%Y%m%d"),
                 "DTEND;VALUE=DATE:%s" % (day + dt.timedelta(days=rng.randint(1, 3))).strftime("%Y%m%d")]
    elif kind == "floating":
        head += ["DTSTART:%s" % base.strftime("%Y%m%dT%H%M%S"),
                 "DTEND:%s" % (base + length).strftime("%Y%m%dT%H%M%S")]
    elif kind == "tz":
        head += ["DTSTART;TZID=Europe/Berlin:%s" % base.strftime("%Y%m%dT%H%M%S"),
                 "DTEND;TZID=Europe/Berlin:%s" % (base + length).strftime("%Y%m%dT%H%M%S")]
    else:
        head += ["DTSTART:%s" % base.strftime("%Y%m%dT%H%M%SZ"),
                 "DTEND:%s" % (base + dt.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")]
    if kind == "weekly":
        head.append("RRULE:FREQ=WEEKLY;COUNT=%d" % rng.randint(2, 30))
    elif kind == "daily":
        until = base + dt.timedelta(days=rng.randint(2, 60))
        head.append("RRULE:FREQ=DAILY;UNTIL=%s" % until.strftime("%Y%m%dT%H%M%SZ"))
    elif kind == "infinite":
        head.append("RRULE:FREQ=WEEKLY;INTERVAL=%d" % rng.randint(1, 4))
    elif kind == "exceptions":
        head.append("RRULE:FREQ=DAILY;COUNT=20")
        head.append("EXDATE:%s" % (base + dt.timedelta(days=2)).strftime("%Y%m%dT%H%M%SZ"))
    lines += head + ["END:VEVENT"]
    if kind == "exceptions":
        rid = base + dt.timedelta(days=5)
        moved = rid + dt.timedelta(days=rng.randint(-40, 40))
        lines += ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20240101T000000Z",
                  "RECURRENCE-ID:%s" % rid.strftime("%Y%m%dT%H%M%SZ"),
                  "DTSTART:%s" % moved.strftime("%Y%m%dT%H%M%SZ"),
                  "DTEND:%s" % (moved + dt.timedelta(hours=2)).strftime("%Y%m%dT%H%M%SZ"),
                  "SUMMARY:moved", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def time_range(start: dt.datetime, end: dt.datetime) -> ET.Element:
    element = ET.Element("{%s}time-range" % CALDAV)
    element.set("start", start.strftime("%Y%m%dT%H%M%SZ"))
    element.set("end", end.strftime("%Y%m%dT%H%M%SZ"))
    return element


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("index"))
    instance = make_instance(folder)
    add_user(instance, "alice")
    rng = random.Random(4242)
    texts = [random_event(rng, n) for n in range(300)]
    path = "/alice/calendar/"
    items = [prepare_item(instance.configuration, path, text) for text in texts]
    with instance.store.writing(path, "alice", WRITE) as calendar:
        for item in items:
            calendar.put(item)
    return instance, folder


def query_report(client, user, start, end):
    body = ("<?xml version='1.0'?><C:calendar-query xmlns:D='DAV:' xmlns:C='%s'>"
            "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name='VCALENDAR'>"
            "<C:comp-filter name='VEVENT'><C:time-range start='%s' end='%s'/>"
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
            % (CALDAV, start.strftime("%Y%m%dT%H%M%SZ"), end.strftime("%Y%m%dT%H%M%SZ")))
    response = client.request("REPORT", "/alice/calendar/", body,
                              {"Depth": "1", "Content-Type": "application/xml"}, user=user)
    assert response.status == 207
    tree = ET.fromstring(response.body)
    return {h.text.rsplit("/", 1)[-1] for h in tree.iter("{DAV:}href")}


def test_index_matches_a_full_scan(populated):
    instance, _ = populated
    rng = random.Random(7)
    with plugin_collection(instance, "/alice/calendar/") as collection:
        all_items = list(collection.get_all())
        assert len(all_items) == 300
        for _ in range(40):
            start = dt.datetime(2023, 12, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
                days=rng.randint(0, 800), hours=rng.randint(0, 23))
            end = start + dt.timedelta(days=rng.choice([1, 7, 31]))
            element = time_range(start, end)
            truth = {item.href for item in all_items
                     if radicale_filter.time_range_match(item.vobject_item, element, "VEVENT", None)}
            found = set(collection.index().hrefs_in_range(
                collection.key, int(start.timestamp()), int(end.timestamp()), "VEVENT",
                collection=collection))
            assert truth <= found, "index missed items"
            # the index may over-approximate only through Radicale's own
            # enclosing range; a REPORT filters those exactly (next test)
            loose = found - truth
            assert len(loose) <= max(3, len(truth) // 2)


def test_report_answers_like_stock_radicale(populated, tmp_path):
    instance, folder = populated
    ours = InProcessClient(make_app(instance))
    copy = tmp_path / "stock"
    shutil.copytree(folder + "/collections", copy / "collections",
                    ignore=shutil.ignore_patterns("collection-db"))
    configuration = radicale_config.load()
    configuration.update({"storage": {"filesystem_folder": str(copy / "collections")},
                          "auth": {"type": "none"}, "rights": {"type": "owner_only"},
                          "logging": {"level": "warning"}, "web": {"type": "none"}}, "test")
    stock = InProcessClient(radicale.Application(configuration))
    rng = random.Random(11)
    for _ in range(15):
        start = dt.datetime(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        end = start + dt.timedelta(days=rng.choice([1, 7, 31]))
        assert query_report(ours, "alice", start, end) == query_report(stock, "alice", start, end)


def test_external_writes_are_noticed(populated):
    instance, folder = populated
    client = InProcessClient(make_app(instance))
    text = random_event(random.Random(1), 9999).replace("UID:ev-9999", "UID:outside")
    target = folder + "/collections/collection-root/alice/calendar/outside.ics"
    with open(target, "w", newline="") as f:
        f.write(text)
    with instance.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        assert calendar.by_uid("outside") is not None
    import os
    os.remove(target)
    with instance.store.reading("/alice/calendar/", SYSTEM, READ) as calendar:
        assert calendar.by_uid("outside") is None
    tombstones = instance.ledger.deleted_since("/alice/calendar/", 0)
    assert "outside" in {t.uid for t in tombstones}


def test_uid_conflict_check_uses_the_index(populated):
    instance, _ = populated
    client = InProcessClient(make_app(instance))
    text = random_event(random.Random(3), 5)  # UID ev-5 exists under ev-5.ics
    response = client.request("PUT", "/alice/calendar/other-name.ics", text,
                              {"Content-Type": "text/calendar"}, user="alice")
    assert response.status == 409
    assert b"no-uid-conflict" in response.body


def test_last_modified_from_the_index_is_radicales(populated):
    """The collection's last-modified comes from the index, not a stat of every
    item, and must equal Radicale's own (newest of folder, props and items),
    also after an item file is touched from outside and after a delete."""
    import os
    import time
    from radicale.storage import multifilesystem
    instance, folder = populated
    calendar = folder + "/collections/collection-root/alice/calendar/"

    def both():
        with plugin_collection(instance, "/alice/calendar/") as collection:
            return (collection.last_modified,
                    multifilesystem.Collection.last_modified.fget(collection))
    ours, stock = both()
    assert ours == stock
    future = time.time() + 86400 * 3
    os.utime(calendar + "ev-7.ics", (future, future))
    os.utime(calendar, None)  # what a rename into the folder does
    ours, stock = both()
    assert ours == stock == time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(future))
    with plugin_collection(instance, "/alice/calendar/", "alice", "w") as collection:
        collection.delete("ev-7.ics")
    ours, stock = both()
    assert ours == stock


ALARMED = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VTIMEZONE\r
TZID:America/New_York\r
BEGIN:STANDARD\r
DTSTART:19701101T020000\r
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r
TZOFFSETFROM:-0400\r
TZOFFSETTO:-0500\r
TZNAME:EST\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:19700308T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r
TZOFFSETFROM:-0500\r
TZOFFSETTO:-0400\r
TZNAME:EDT\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:alarmed-%(n)d\r
DTSTAMP:20240101T000000Z\r
DTSTART;TZID=America/New_York:202406%(day)02dT090000\r
DTEND;TZID=America/New_York:202406%(day)02dT100000\r
%(rule)sSUMMARY:with an alarm\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:soon\r
TRIGGER:-PT15M\r
END:VALARM\r
END:VEVENT\r
END:VCALENDAR\r
"""

ROW_COLUMNS = ("uid", "component", "start", "end", "recurring", "complete", "hostile",
               "etag", "size", "has_alarm", "long", "text")


def index_rows(instance, path):
    db = instance.store.services.index_db
    items = {r["href"]: tuple(r[c] for c in ROW_COLUMNS) + (r["expanded_until"],)
             for r in db.query("SELECT * FROM items WHERE path = ?", (path,))}
    instances = sorted((r["href"], r["start"], r["end"]) for r in db.query(
        "SELECT href, start, end FROM instances WHERE path = ?", (path,)))
    alarms = sorted((r["href"], r["trigger"]) for r in db.query(
        "SELECT href, trigger FROM alarms WHERE path = ?", (path,)))
    return items, instances, alarms


def test_an_index_built_from_plain_files_is_the_one_uploads_build(tmp_path):
    """A store written by another program (plain Radicale, an upgrade) gets, on its
    first request, exactly the index that uploading the same items builds, its items
    load exactly as stock Radicale loads them, and no Radicale item cache is written
    for them (the index holds what it would)."""
    import os
    import time
    rng = random.Random(99)
    texts = [random_event(rng, n) for n in range(120)]
    texts += [ALARMED % {"n": n, "day": 1 + n, "rule": "RRULE:FREQ=WEEKLY;COUNT=5\r\n"
                         if n % 2 else ""} for n in range(6)]
    path = "/alice/calendar/"
    uploaded = make_instance(str(tmp_path / "uploaded"))
    add_user(uploaded, "alice")
    with uploaded.store.writing(path, "alice", WRITE) as calendar:
        for text in texts:
            calendar.put(prepare_item(uploaded.configuration, path, text))

    plain = make_instance(str(tmp_path / "plain"))
    add_user(plain, "alice")
    source = tmp_path / "uploaded/collections/collection-root/alice/calendar"
    target = tmp_path / "plain/collections/collection-root/alice/calendar"
    names = sorted(n for n in os.listdir(source) if n.endswith(".ics"))
    for name in names:
        shutil.copyfile(source / name, target / name)
    time.sleep(0.15)  # past the racy window, so that the copy is listed once
    client = InProcessClient(make_app(plain))
    assert query_report(client, "alice", dt.datetime(2024, 6, 1), dt.datetime(2024, 6, 8))

    ours, theirs = index_rows(plain, path), index_rows(uploaded, path)
    assert set(ours[0]) == set(names)
    for href, row in ours[0].items():
        assert row[:-1] == theirs[0][href][:-1], href
        # expanded_until is the horizon, counted from the moment of indexing
        assert abs(row[-1] - theirs[0][href][-1]) < 600, href
    horizon = int(time.time()) + 700 * 86400
    assert ([i for i in ours[1] if i[1] < horizon] == [i for i in theirs[1] if i[1] < horizon])
    assert ours[2] == theirs[2] and len(ours[2]) == 6 + 3 * 4

    copy = tmp_path / "stock"
    shutil.copytree(tmp_path / "plain/collections", copy / "collections",
                    ignore=shutil.ignore_patterns("collection-db", ".Radicale.cache"))
    configuration = radicale_config.load()
    configuration.update({"storage": {"filesystem_folder": str(copy / "collections")}},
                         "test")
    stock_storage = radicale.storage.load(configuration)

    def fields(items):
        return {i.href: (i.etag, i.uid, i.serialize(), i.component_name, i.time_range,
                         i.name) for i in items}
    with stock_storage.acquire_lock("r"):
        stock = fields(next(iter(stock_storage.discover(path))).get_all())
    with plugin_collection(plain, path) as collection:
        assert fields(collection.get_all()) == stock
    cache = target / ".Radicale.cache" / "item"
    assert not cache.exists() or not os.listdir(cache)
