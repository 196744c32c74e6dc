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
