"""The store's handles: the one way a door reads or writes items.

Each handle is opened for a principal and a purpose; the store asks the ACE evaluator
before it opens one and before each change, keeps a scheduling or reply handle to the
items its mandate covers, and writes what a block queued all or nothing.
"""

from __future__ import annotations

import pytest

from radicale_wcap import privacy
from radicale_wcap.storage import batch as batch_mod
from radicale_wcap.store import (ANY, DELETE, FEED, FREEBUSY, READ, REPLY, SCHEDULE,
                                 SYSTEM, WRITE, AccessDenied, CalendarNotFound, Changed,
                                 ForeignItem, StoredText, prepare_item)
from tests.conftest import add_user, make_instance

JDOE, BOB = "/jdoe/calendar/", "/bob/calendar/"
OWNERS = "@@o^a^r^g;@@o^c^wdeic^g"


def ical(uid, summary="Talk", start="20250110T100000Z", end="20250110T110000Z", *extra):
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
                        "BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20250101T000000Z",
                        "DTSTART:" + start, "DTEND:" + end, "SUMMARY:" + summary,
                        *extra, "END:VEVENT", "END:VCALENDAR", ""])


def invitation(uid, organizer="bob", attendee="jdoe", summary="Meeting"):
    return ical(uid, summary, "20250110T100000Z", "20250110T110000Z",
                "ORGANIZER:mailto:%s@example.com" % organizer,
                "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:%s@example.com" % attendee)


@pytest.fixture
def instance(tmp_path):
    instance = make_instance(str(tmp_path))
    for name in ("jdoe", "bob", "carol"):
        add_user(instance, name)
    return instance


def put(instance, path, text, principal=SYSTEM, purpose=WRITE):
    item = prepare_item(instance.configuration, path, text)
    with instance.store.writing(path, principal, purpose) as calendar:
        calendar.put(item)


def summaries(instance, path=JDOE):
    with instance.store.reading(path, SYSTEM, READ) as calendar:
        return {item.uid: item.vobject_item.vevent.summary.value for item in calendar.items()}


# ---------------------------------------------------------------- the ACE decides

def test_a_handle_is_opened_only_for_what_the_ace_allows(instance):
    store = instance.store
    instance.registry.set_acl(JDOE, OWNERS + ";bob^c^r^g")
    put(instance, JDOE, ical("a"))
    with store.reading(JDOE, "bob", READ) as calendar:
        assert [i.uid for i in calendar.items()] == ["a"]
    for principal, purpose in (("carol", READ), ("", READ), ("bob", WRITE), ("bob", DELETE),
                               ("bob", FEED), ("carol", FREEBUSY)):
        with pytest.raises(AccessDenied):
            with store.reading(JDOE, principal, purpose):
                pass
        with pytest.raises(AccessDenied):
            store.check(JDOE, principal, purpose)
    with pytest.raises(AccessDenied):
        with store.writing(JDOE, "bob", WRITE):
            pass
    with store.reading(JDOE, "jdoe", DELETE) as calendar:    # the owner
        assert calendar.by_uid("a") is not None


def test_a_write_handle_needs_delete_rights_to_delete(instance):
    instance.registry.set_acl(JDOE, OWNERS + ";bob^c^rw^g")
    put(instance, JDOE, ical("a"))
    item = prepare_item(instance.configuration, JDOE, ical("b"))
    with instance.store.writing(JDOE, "bob", WRITE) as calendar:
        calendar.put(item)
        with pytest.raises(AccessDenied):
            calendar.delete("a")
    assert sorted(summaries(instance)) == ["a", "b"]


def test_a_missing_calendar_is_not_found(instance):
    with pytest.raises(CalendarNotFound):
        with instance.store.reading("/jdoe/nothing/", SYSTEM, READ):
            pass
    with pytest.raises(CalendarNotFound):
        with instance.store.writing("/jdoe/nothing/", "jdoe", WRITE):
            pass


# ---------------------------------------------------------------- writes

def test_changes_are_written_when_the_block_ends_and_not_at_all_on_an_error(instance):
    store = instance.store
    first = prepare_item(instance.configuration, JDOE, ical("a", "First"))
    with store.writing(JDOE, "jdoe", WRITE) as calendar:
        write = calendar.put(first)
        assert calendar.by_uid("a") is None              # queued, not yet written
    assert write.result.etag == first.etag
    assert summaries(instance) == {"a": "First"}
    second = prepare_item(instance.configuration, JDOE, ical("b", "Second"))
    with pytest.raises(RuntimeError):
        with store.writing(JDOE, "jdoe", WRITE) as calendar:
            calendar.put(second)
            calendar.delete("a")
            raise RuntimeError("the door changed its mind")
    assert summaries(instance) == {"a": "First"}


def test_if_etag_refuses_an_item_changed_meanwhile(instance):
    put(instance, JDOE, ical("a", "First"))
    with instance.store.reading(JDOE, "jdoe", READ) as calendar:
        seen = calendar.etag("a")
        assert seen == calendar.by_uid("a").etag
    put(instance, JDOE, ical("a", "Changed by someone else"))
    item = prepare_item(instance.configuration, JDOE, ical("a", "Mine"))
    with instance.store.writing(JDOE, "jdoe", WRITE) as calendar:
        with pytest.raises(Changed):
            calendar.put(item, if_etag=seen)
        with pytest.raises(Changed):
            calendar.put(prepare_item(instance.configuration, JDOE, ical("new")),
                         if_etag="\"something\"")
        with pytest.raises(Changed):
            calendar.delete("a", if_etag=seen)
        calendar.put(prepare_item(instance.configuration, JDOE, ical("new")), if_etag=None)
        assert calendar.delete("nothing-here", if_etag=ANY) is False
    assert summaries(instance) == {"a": "Changed by someone else", "new": "Talk"}


def test_a_batch_over_several_calendars_is_all_or_nothing(instance, monkeypatch):
    store = instance.store
    items = {path: [prepare_item(instance.configuration, path, ical(u)) for u in "xyz"]
             for path in (JDOE, BOB)}

    def fail_at_fourth(number):
        if number == 4:
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(batch_mod, "before_write", fail_at_fourth)
    with pytest.raises(OSError):
        with store.batch([BOB, JDOE], SYSTEM, WRITE) as batch:
            for path, queued in items.items():
                for item in queued:
                    batch.calendar(path).put(item)
    assert summaries(instance, JDOE) == summaries(instance, BOB) == {}
    assert instance.services.journal.pending() == []
    monkeypatch.setattr(batch_mod, "before_write", None)
    with store.batch([BOB, JDOE], SYSTEM, WRITE) as batch:
        for path, queued in items.items():
            for item in queued:
                batch.calendar(path).put(item)
    assert sorted(summaries(instance, JDOE)) == sorted(summaries(instance, BOB)) == list("xyz")


def test_a_batch_decides_every_calendar_before_it_locks_any(instance):
    instance.registry.set_acl(BOB, OWNERS)
    with pytest.raises(AccessDenied) as refused:
        with instance.store.batch([JDOE, BOB], "jdoe", WRITE):
            pytest.fail("opened")
    assert refused.value.path == BOB and refused.value.operation == "write"


# ---------------------------------------------------------------- mandates

def test_scheduling_needs_s_and_changes_only_the_organizers_events(instance):
    store = instance.store
    put(instance, JDOE, ical("hers", "Dentist"))
    put(instance, JDOE, invitation("carols", organizer="carol"))
    put(instance, JDOE, invitation("bobs", summary="Old"))
    copy = prepare_item(instance.configuration, JDOE, invitation("bobs", summary="New"))
    tamper = prepare_item(instance.configuration, JDOE, invitation("hers", summary="Mine"))
    forged = prepare_item(instance.configuration, JDOE,
                          invitation("fresh", organizer="carol"))
    with store.writing(JDOE, "bob", SCHEDULE) as calendar:
        calendar.put(copy)
        for item in (tamper, forged):
            with pytest.raises(ForeignItem):
                calendar.put(item)
        for uid in ("hers", "carols"):
            with pytest.raises(ForeignItem):
                calendar.delete(uid)
    assert summaries(instance) == {"hers": "Dentist", "carols": "Meeting", "bobs": "New"}
    with store.writing(JDOE, "bob", SCHEDULE) as calendar:
        assert calendar.delete("bobs")
    assert "bobs" not in summaries(instance)
    instance.registry.set_acl(JDOE, OWNERS + ";@^a^f^g")
    with pytest.raises(AccessDenied) as refused:
        store.check(JDOE, "bob", SCHEDULE)
    assert refused.value.operation == "schedule"


def test_a_reply_changes_only_an_invitation_of_the_replier(instance):
    store = instance.store
    instance.registry.set_acl(BOB, OWNERS)                  # no ACE for jdoe at all
    put(instance, BOB, invitation("meeting"))
    put(instance, BOB, invitation("other", attendee="carol"))
    put(instance, BOB, invitation("carols", organizer="carol"))
    put(instance, BOB, ical("private", "Bob's own"))
    answered = invitation("meeting").replace("NEEDS-ACTION", "ACCEPTED")
    with store.writing(BOB, "jdoe", REPLY, organizer="bob") as calendar:
        calendar.put(prepare_item(instance.configuration, BOB, answered))
        for uid, text in (("other", invitation("other", attendee="carol")),
                          ("carols", invitation("carols", organizer="carol")),
                          ("private", invitation("private")),
                          ("new", invitation("new"))):
            with pytest.raises(ForeignItem):
                calendar.put(prepare_item(instance.configuration, BOB, text))
        with pytest.raises(AccessDenied):
            calendar.delete("meeting")
    with store.reading(BOB, SYSTEM, READ) as calendar:
        assert "PARTSTAT=ACCEPTED" in calendar.by_uid("meeting").serialize()
        assert calendar.by_uid("new") is None


def test_the_privacy_rule_binds_own_edits_not_writes_for_someone_else(instance):
    """A reader who sees a private event as a shadow may not change it; a scheduling
    delivery or a feed is not the reader's own edit (``Purpose.on_behalf``)."""
    instance.registry.set_acl(JDOE, OWNERS + ";bob^c^rwd^g;bob^a^s^g")
    put(instance, JDOE, invitation("private", summary="HR").replace(
        "SUMMARY:HR", "SUMMARY:HR\r\nCLASS:PRIVATE"))
    changed = invitation("private", summary="Basement").replace(
        "SUMMARY:Basement", "SUMMARY:Basement\r\nCLASS:PRIVATE")
    item = prepare_item(instance.configuration, JDOE, changed)
    for purpose in (WRITE, DELETE):
        with pytest.raises(privacy.OwnerOnly):
            with instance.store.writing(JDOE, "bob", purpose) as calendar:
                calendar.put(item)
        with pytest.raises(privacy.OwnerOnly):
            with instance.store.writing(JDOE, "bob", DELETE) as calendar:
                calendar.delete("private")
    assert summaries(instance) == {"private": "HR"}
    with instance.store.writing(JDOE, "bob", SCHEDULE) as calendar:
        calendar.put(item)
    assert summaries(instance) == {"private": "Basement"}
    with instance.store.writing(JDOE, "bob", FEED) as calendar:
        calendar.delete("private")
    assert summaries(instance) == {}


# ---------------------------------------------------------------- reads

def test_queries_answer_items_or_the_index_texts(instance):
    put(instance, JDOE, ical("jan", "January", "20250110T100000Z", "20250110T110000Z"))
    put(instance, JDOE, ical("feb", "February", "20250210T100000Z", "20250210T110000Z"))
    put(instance, JDOE, ical("alarm", "Alarm", "20250310T100000Z", "20250310T110000Z",
                             "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x",
                             "TRIGGER:-PT15M", "END:VALARM"))
    jan = 1735689600          # 2025-01-01
    feb = 1738368000          # 2025-02-01
    with instance.store.reading(JDOE, "jdoe", READ) as calendar:
        assert calendar.calid == "jdoe" and calendar.path == JDOE
        assert [i.uid for i in calendar.in_range(jan, feb, "VEVENT")] == ["jan"]
        texts = calendar.in_range(jan, feb + 86400 * 28, texts=True)
        assert all(isinstance(t, StoredText) for t in texts)
        assert sorted("SUMMARY:January" in t.text for t in texts) == [False, True]
        assert [uid for uid, _ in calendar.within(feb, feb + 86400 * 28)] == ["feb"]
        assert calendar.within(feb, feb + 86400 * 9) == []        # ends after the range
        assert len(calendar.changed_since(0)) == 3
        assert [i.uid for i in calendar.alarms_between(jan, jan + 86400 * 90)] == ["alarm"]
        assert sorted(calendar.entries()) == ["alarm", "feb", "jan"]
        assert sorted(calendar.by_uids(["jan", "nope", "feb"])) == ["feb", "jan"]
        rows = calendar.confirmed_in_range(jan, feb, "VEVENT")
        assert [row[0] for row in rows] == [calendar.by_uid("jan").href]
        assert calendar.properties().meta["D:displayname"] == "Jdoe"
    with instance.store.writing(JDOE, "jdoe", DELETE) as calendar:
        calendar.delete("jan")
    with instance.store.reading(JDOE, "jdoe", READ) as calendar:
        assert [t.uid for t in calendar.deleted_since(0)] == ["jan"]


def test_a_handle_shows_private_items_through_the_principals_view(instance):
    instance.registry.set_acl(JDOE, OWNERS + ";bob^c^r^g")
    put(instance, JDOE, ical("p", "HR", "20250110T100000Z", "20250110T110000Z",
                             "CLASS:PRIVATE"))
    with instance.store.reading(JDOE, "bob", READ) as calendar:
        stored = calendar.by_uid("p")
        assert "SUMMARY:HR" in stored.serialize()              # reads answer stored items
        assert not calendar.view.whole
        assert "SUMMARY:HR" not in calendar.view.item(stored).serialize()
    with instance.store.reading(JDOE, "jdoe", READ) as calendar:
        assert calendar.view.whole
