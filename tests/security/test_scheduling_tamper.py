"""Group scheduling never writes an event that is not the acting organizer's (security
issue 1: jsmith stored an "invitation" with the UID of jdoe's own event, and jdoe's event
was replaced by his; a cancel, a delete of his copy, or dropping her from the attendees
deleted it, even with jdoe's ACL denying ``s`` to everyone).

Each scenario runs in-process and against a real server on a loopback port.
"""

from __future__ import annotations

import logging

import pytest

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, LiveServer, add_user, make_instance
from tests.wcap.conftest import ical_errno, run_js, xml_errnos
from tests.wcap.test_store import Wcap, comps

ACCESS_DENIED_TO_CALENDAR, NOT_ALLOWED_TO_REQUEST_PUBLISH = 28, 45
WHEN = dict(dtstart="20240301T090000Z", dtend="20240301T100000Z")
JDOE = "PARTSTAT%3DNEEDS-ACTION%5ERSVP%3DTRUE%5Ejdoe%40example.com"
# The request of the report, with the UID of jdoe's own event.
TAMPER = dict(calid="jsmith", uid="jdoe-own", summary="TAMPERED", orgCalid="jsmith",
              attendees=JDOE, **WHEN)
NO_AUTHORITY = b"REQUEST-STATUS:3.8;No authority;mailto:jdoe@example.com"
OWNER_ONLY = "@@o^a^r^g;@@o^c^wdeic^g"
NOBODY_SCHEDULES = OWNER_ONLY + ";@^a^f^g"
JSMITH_SCHEDULES = OWNER_ONLY + ";jsmith^c^s^g;@^a^f^g"


class Door:
    """One store, its users' WCAP sessions, and a way in (in-process or over HTTP)."""

    def __init__(self, instance, client):
        self.instance = instance
        for name in ("jdoe", "jsmith", "carol", "alice", "bob"):
            add_user(instance, name)
        self.w = {name: Wcap(client, instance, name)
                  for name in ("jdoe", "jsmith", "carol", "alice", "bob")}

    def __getattr__(self, name):
        return self.w[name]

    def acl(self, user, text):
        self.instance.registry.set_acl("/%s/calendar/" % user, text)


@pytest.fixture(params=["in-process", "live"])
def door(request, tmp_path):
    if request.param == "in-process":
        instance = make_instance(str(tmp_path))
        yield Door(instance, InProcessClient(make_app(instance)))
        return
    live = LiveServer(str(tmp_path))
    try:
        yield Door(live.instance, live.client)
    finally:
        live.stop()


def her_event(door):
    assert ical_errno(door.jdoe("storeevents", calid="jdoe", uid="jdoe-own",
                                summary="Dentist", **WHEN)) == 0


def assert_untouched(door):
    vcal = door.jdoe.stored("jdoe-own")
    assert vcal is not None, "jdoe's event was deleted"
    event = comps(vcal)[0]
    assert event.summary.value == "Dentist"
    assert "organizer" not in event.contents and "attendee" not in event.contents


def organizer_of(vcal):
    return comps(vcal)[0].organizer.value.lower()


def partstats(vcal):
    return {line.value.lower(): line.params["PARTSTAT"][0]
            for line in comps(vcal)[0].contents.get("attendee", [])}


# ---------------------------------------------------------------- the report's requests

def test_invitation_with_her_uid_is_refused_and_his_store_kept(door):
    her_event(door)
    body = door.jsmith("storeevents", **TAMPER)
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert NO_AUTHORITY in body
    assert_untouched(door)
    mine = door.jsmith.stored("jdoe-own")
    assert comps(mine)[0].summary.value == "TAMPERED"
    assert organizer_of(mine) == "mailto:jsmith@example.com"


def test_request_method_and_fetch_answer_the_refusal(door):
    her_event(door)
    body = door.jsmith("storeevents", method="2", fetch="1", **TAMPER)
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert NO_AUTHORITY in body
    assert_untouched(door)


def test_cancel_with_her_uid_leaves_her_event(door):
    her_event(door)
    door.jsmith("storeevents", **TAMPER)
    body = door.jsmith("storeevents", calid="jsmith", uid="jdoe-own", status="1")
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert NO_AUTHORITY in body
    assert_untouched(door)


def test_deleting_his_copy_leaves_her_event(door):
    her_event(door)
    door.jsmith("storeevents", **TAMPER)
    body = door.jsmith("deleteevents_by_id", calid="jsmith", uid="jdoe-own", rid="0",
                       mod="4")
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert NO_AUTHORITY in body
    assert door.jsmith.stored("jdoe-own") is None  # his own delete is done
    assert_untouched(door)


def test_deleting_his_copy_by_range_leaves_her_event(door):
    her_event(door)
    door.jsmith("storeevents", **TAMPER)
    body = door.jsmith("deleteevents_by_range", calid="jsmith",
                       dtstart="20240201T000000Z", dtend="20240401T000000Z")
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert door.jsmith.stored("jdoe-own") is None
    assert_untouched(door)


def test_dropping_her_from_the_attendees_leaves_her_event(door):
    her_event(door)
    door.jsmith("storeevents", **TAMPER)
    body = door.jsmith("storeevents", calid="jsmith", uid="jdoe-own", replace="1",
                       attendees="PARTSTAT%3DNEEDS-ACTION%5Ealice%40example.com")
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert_untouched(door)
    assert door.alice.stored("jdoe-own") is not None  # alice's invitation went out


def test_another_organizers_invitation_is_not_taken_over(door):
    """jdoe's copy of carol's meeting: jsmith can neither rewrite nor cancel it."""
    assert ical_errno(door.carol("storeevents", calid="carol", uid="carol-mtg",
                                 summary="Board", method="2", attendees=JDOE,
                                 **WHEN)) == 0
    assert organizer_of(door.jdoe.stored("carol-mtg")) == "mailto:carol@example.com"
    body = door.jsmith("storeevents", calid="jsmith", uid="carol-mtg", summary="TAMPERED",
                       method="2", attendees=JDOE, **WHEN)
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    body = door.jsmith("deleteevents_by_id", calid="jsmith", uid="carol-mtg", rid="0",
                       mod="4")
    assert ical_errno(body) == NOT_ALLOWED_TO_REQUEST_PUBLISH
    copy_ = door.jdoe.stored("carol-mtg")
    assert copy_ is not None and comps(copy_)[0].summary.value == "Board"
    assert organizer_of(copy_) == "mailto:carol@example.com"


# ---------------------------------------------------------------- the ``s`` right

def test_her_acl_denying_schedule_keeps_every_write_out(door):
    her_event(door)
    door.acl("jdoe", NOBODY_SCHEDULES)
    for request in (TAMPER, dict(TAMPER, uid="new-mtg", summary="Lunch")):
        body = door.jsmith("storeevents", **request)
        assert ical_errno(body) == ACCESS_DENIED_TO_CALENDAR
        assert NO_AUTHORITY in body
        assert door.jsmith.stored(request["uid"]) is not None
    assert door.jdoe.stored("new-mtg") is None
    assert ical_errno(door.jsmith("storeevents", calid="jsmith", uid="jdoe-own",
                                  status="1")) == ACCESS_DENIED_TO_CALENDAR
    assert ical_errno(door.jsmith("deleteevents_by_id", calid="jsmith", uid="jdoe-own",
                                  rid="0", mod="4")) == ACCESS_DENIED_TO_CALENDAR
    assert_untouched(door)


def test_revoked_schedule_right_keeps_the_copy(door):
    door.acl("jdoe", JSMITH_SCHEDULES)
    assert ical_errno(door.jsmith("storeevents", calid="jsmith", uid="mtg", method="2",
                                  summary="Sync", attendees=JDOE, **WHEN)) == 0
    assert door.jdoe.stored("mtg") is not None
    door.acl("jdoe", NOBODY_SCHEDULES)
    assert ical_errno(door.jsmith("deleteevents_by_id", calid="jsmith", uid="mtg", rid="0",
                                  mod="4")) == ACCESS_DENIED_TO_CALENDAR
    assert door.jdoe.stored("mtg") is not None


# ---------------------------------------------------------------- the legitimate path

def test_granted_invitation_arrives_and_every_cancel_removes_it(door):
    door.acl("jdoe", JSMITH_SCHEDULES)
    invite = dict(calid="jsmith", uid="mtg", method="2", summary="Sync", attendees=JDOE,
                  **WHEN)

    def invited(summary="Sync"):
        copy_ = door.jdoe.stored("mtg")
        assert copy_ is not None
        assert organizer_of(copy_) == "mailto:jsmith@example.com"
        assert comps(copy_)[0].summary.value == summary
        assert partstats(copy_)["mailto:jdoe@example.com"] == "NEEDS-ACTION"

    assert ical_errno(door.jsmith("storeevents", **invite)) == 0
    invited()
    assert ical_errno(door.jsmith("storeevents", calid="jsmith", uid="mtg", method="2",
                                  summary="Sync%202")) == 0
    invited("Sync 2")
    # status=1: cancelled
    assert ical_errno(door.jsmith("storeevents", calid="jsmith", uid="mtg", method="2",
                                  status="1")) == 0
    assert door.jdoe.stored("mtg") is None
    # deleted by the organizer
    assert ical_errno(door.jsmith("storeevents", status="0", **invite)) == 0
    invited()
    assert ical_errno(door.jsmith("deleteevents_by_id", calid="jsmith", uid="mtg",
                                  rid="0", mod="4")) == 0
    assert door.jdoe.stored("mtg") is None
    # jdoe dropped from the attendees
    assert ical_errno(door.jsmith("storeevents", **invite)) == 0
    invited()
    assert ical_errno(door.jsmith("storeevents", calid="jsmith", uid="mtg", method="2",
                                  replace="1",
                                  attendees="PARTSTAT%3DNEEDS-ACTION%5Ealice")) == 0
    assert door.jdoe.stored("mtg") is None


# ---------------------------------------------------------------- replies

def _meeting_of_jdoe(door):
    assert ical_errno(door.jdoe("storeevents", calid="jdoe", uid="jdoe-mtg", method="2",
                                summary="Plan", attendees="alice;bob", **WHEN)) == 0
    assert door.alice.stored("jdoe-mtg") is not None


def test_reply_from_a_non_attendee_changes_nothing(door):
    _meeting_of_jdoe(door)
    before = door.jdoe.stored("jdoe-mtg").serialize()
    body = door.jsmith("storeevents", calid="jsmith", uid="jdoe-mtg", method="4",
                       orgCalid="jdoe", summary="TAMPERED",
                       attendees="PARTSTAT%3DDECLINED%5Ealice;"
                                 "PARTSTAT%3DACCEPTED%5Ejsmith", **WHEN)
    assert ical_errno(body) == 0  # his own calendar
    assert door.jdoe.stored("jdoe-mtg").serialize() == before


def test_reply_changes_only_the_repliers_partstat(door):
    _meeting_of_jdoe(door)
    body = door.alice("storeevents", calid="alice", uid="jdoe-mtg", method="4",
                      summary="TAMPERED",
                      attendees="PARTSTAT%3DACCEPTED%5Ealice;PARTSTAT%3DDECLINED%5Ebob;"
                                "PARTSTAT%3DACCEPTED%5Ejsmith")
    assert ical_errno(body) == 0
    theirs = door.jdoe.stored("jdoe-mtg")
    assert comps(theirs)[0].summary.value == "Plan"
    assert partstats(theirs) == {"mailto:alice@example.com": "ACCEPTED",
                                 "mailto:bob@example.com": "NEEDS-ACTION"}


def test_reply_only_reaches_the_organizers_own_event(door):
    """jdoe's copy of carol's meeting names jsmith too; his "reply to jdoe" leaves it."""
    assert ical_errno(door.carol("storeevents", calid="carol", uid="carol-mtg", method="2",
                                 summary="Board", attendees="jdoe;jsmith", **WHEN)) == 0
    before = door.jdoe.stored("carol-mtg").serialize()
    assert ical_errno(door.jsmith("storeevents", calid="jsmith", uid="carol-mtg",
                                  method="4", orgCalid="jdoe",
                                  attendees="PARTSTAT%3DDECLINED%5Ejsmith", **WHEN)) == 0
    assert door.jdoe.stored("carol-mtg").serialize() == before


# ---------------------------------------------------------------- answer and log

@pytest.mark.parametrize("fmt", ["text/xml", "text/js"])
def test_refusal_in_every_format(door, fmt):
    her_event(door)
    body = door.jsmith("storeevents", fmt=fmt, **TAMPER)
    if fmt == "text/xml":
        assert xml_errnos(body) == [NOT_ALLOWED_TO_REQUEST_PUBLISH]
    else:
        assert run_js(body.decode())["errno"] == NOT_ALLOWED_TO_REQUEST_PUBLISH
    assert b"jdoe@example.com" in body
    assert_untouched(door)


def test_refusal_is_logged(tmp_path, caplog):
    instance = make_instance(str(tmp_path))
    door = Door(instance, InProcessClient(make_app(instance)))
    her_event(door)
    with caplog.at_level(logging.WARNING):
        door.jsmith("storeevents", **TAMPER)
    # The project logs under "radicale.wcap.", where Radicale's [logging] level applies.
    logged = [r.getMessage() for r in caplog.records if r.name.endswith(".scheduling")]
    assert any("jdoe" in m and "jdoe-own" in m and "jsmith" in m for m in logged), logged
