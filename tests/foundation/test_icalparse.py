"""icalparse: each VTIMEZONE parsed once per thread, the same trees as vobject's."""

from __future__ import annotations

import threading

from radicale import item as radicale_item

from radicale_wcap import icalparse, timezones

EVENT = ("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
         "DTSTART;TZID={tzid}:20240710T090000\r\nDTEND;TZID={tzid}:20240710T100000\r\n"
         "RRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\n")


def calendar(zone_text: str, uid: str, tzid: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + zone_text
            + EVENT.format(uid=uid, tzid=tzid) + "END:VCALENDAR\r\n")


def berlin() -> str:
    import vobject
    cal = vobject.iCalendar()
    cal.add(timezones.vtimezone("Europe/Berlin"))
    return icalparse.VTIMEZONE.findall(cal.serialize())[0]


CUSTOM = ("BEGIN:VTIMEZONE\r\nTZID:Campus Local Time\r\nBEGIN:STANDARD\r\n"
          "DTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\n"
          "END:STANDARD\r\nEND:VTIMEZONE\r\n")


def same(text: str) -> None:
    ours = icalparse.read_one(text)
    theirs = radicale_item.read_components(text)[0]
    assert ours.serialize() == theirs.serialize()
    a, b = ours.vevent.dtstart.value, theirs.vevent.dtstart.value
    assert a == b and a.utcoffset() == b.utcoffset()
    mine = radicale_item.Item(collection_path="u/c", vobject_item=ours)
    stock = radicale_item.Item(collection_path="u/c", vobject_item=theirs)
    assert (mine.etag, mine.time_range) == (stock.etag, stock.time_range)


def test_trees_serialize_and_resolve_as_vobjects_own():
    for n in range(3):  # the first parse fills the cache, the others use it
        same(calendar(berlin(), "b%d" % n, "Europe/Berlin"))


def test_a_zone_no_olson_database_knows_is_registered_from_its_vtimezone():
    for n in range(2):
        parsed = icalparse.read_one(calendar(CUSTOM, "c%d" % n, "Campus Local Time"))
        assert parsed.vevent.dtstart.value.utcoffset().total_seconds() == 5.5 * 3600


def test_text_without_zones_and_broken_zones_parse_the_plain_way():
    plain = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:p\r\n"
             "DTSTAMP:20240101T000000Z\r\nDTSTART:20240710T090000Z\r\nEND:VEVENT\r\n"
             "END:VCALENDAR\r\n")
    assert icalparse.read_one(plain).vevent.uid.value == "p"
    broken = "BEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n"
    text = calendar(broken, "x", "Europe/Berlin")

    def outcome(parse):
        try:
            return parse(text).serialize()
        except Exception as e:
            return type(e)

    assert outcome(icalparse.read_one) == outcome(
        lambda t: radicale_item.read_components(t)[0])


def test_threads_serialize_their_own_copies_at_once():
    text = calendar(berlin(), "t", "Europe/Berlin")
    expected = radicale_item.read_components(text)[0].serialize()
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(icalparse.read_one(text).serialize())
        except Exception as e:  # pragma: no cover - the failure being tested for
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(results) == {expected}
