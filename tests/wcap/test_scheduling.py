"""Group scheduling between local users and iMIP to others (real aiosmtpd on loopback)."""

from __future__ import annotations

import email
import socket

import pytest
import vobject
from aiosmtpd.controller import Controller

from radicale_wcap.middleware import make_app
from radicale_wcap.wcap import scheduling
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.conftest import ical_errno
from tests.wcap.test_store import Wcap, comps


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, sink
    controller.stop()


def _env(tmp_path, port):
    instance = make_instance(str(tmp_path), {"mail": {"smtp_host": "127.0.0.1",
                                                      "smtp_port": str(port)}})
    for name in ("org", "atta", "attb"):
        add_user(instance, name)
    client = InProcessClient(make_app(instance))
    return {n: Wcap(client, instance, n) for n in ("org", "atta", "attb")}


def partstat(vcal, email_):
    for line in comps(vcal)[0].contents.get("attendee", []):
        if line.value.lower() == "mailto:" + email_:
            return line.params["PARTSTAT"][0]


def test_invite_reply_cancel_and_imip(tmp_path, smtp):
    controller, sink = smtp
    w = _env(tmp_path, controller.port)
    body = w["org"]("storeevents", calid="org", uid="m1", dtstart="20240201T200000Z",
                    dtend="20240201T210000Z", summary="Meet", method="2",
                    attendees="PARTSTAT=ACCEPTED^RSVP=TRUE^org;"
                              "PARTSTAT=NEEDS-ACTION^RSVP=TRUE^atta;"
                              "RSVP=TRUE^mailto%3Aattb%40example.com;"
                              "PARTSTAT=NEEDS-ACTION^mailto%3Aext%40elsewhere.org")
    assert ical_errno(body) == 0
    for name in ("atta", "attb"):
        copy_ = w[name].stored("m1")
        assert copy_ is not None and partstat(copy_, name + "@example.com") == "NEEDS-ACTION"
    # the invitation shows up as REQUEST-NEEDS-ACTION for the attendee
    inv = w["atta"]("fetchcomponents_by_range", calid="atta", dtstart="20240101T000000Z",
                    dtend="20240301T000000Z", compstate="REQUEST-NEEDS-ACTION", recurring="1")
    assert b"UID:m1" in inv
    # iMIP to the outside attendee only
    assert len(sink.messages) == 1
    rcpt, raw = sink.messages[0]
    assert rcpt == ["ext@elsewhere.org"]
    msg = email.message_from_bytes(raw)
    part = [p for p in msg.walk() if p.get_content_type() == "text/calendar"][0]
    assert part.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in part.get_payload(decode=True).decode()
    # reply: atta accepts; the organizer's copy learns it
    assert ical_errno(w["atta"]("storeevents", calid="atta", uid="m1", method="4",
                                attendees="PARTSTAT=ACCEPTED^mailto%3Aatta%40example.com")) == 0
    assert partstat(w["atta"].stored("m1"), "atta@example.com") == "ACCEPTED"
    assert partstat(w["org"].stored("m1"), "atta@example.com") == "ACCEPTED"
    # a re-invite (new time) keeps atta's answer; smtp=0 sends no mail
    w["org"]("storeevents", calid="org", uid="m1", summary="Meet 2", method="2",
             smtp="0", smtpNotify="0", notify="0")
    assert len(sink.messages) == 1
    assert comps(w["attb"].stored("m1"))[0].summary.value == "Meet 2"
    assert partstat(w["atta"].stored("m1"), "atta@example.com") == "ACCEPTED"
    # cancel: the organizer deletes; attendee copies go, the outsider gets CANCEL
    assert ical_errno(w["org"]("deleteevents_by_id", calid="org", uid="m1", rid="0",
                               mod="4")) == 0
    assert w["atta"].stored("m1") is None and w["attb"].stored("m1") is None
    assert len(sink.messages) == 2 and b"METHOD:CANCEL" in sink.messages[1][1]


def test_status_cancelled_removes_copies(tmp_path, smtp):
    controller, _sink = smtp
    w = _env(tmp_path, controller.port)
    w["org"]("storeevents", calid="org", uid="c1", dtstart="20240201T200000Z", summary="x",
             method="2", attendees="atta", smtp="0")
    assert w["atta"].stored("c1") is not None
    w["org"]("storeevents", calid="org", uid="c1", status="1", method="2", smtp="0")
    assert w["atta"].stored("c1") is None


def test_mail_failure_is_errno_33_and_event_stays(tmp_path):
    w = _env(tmp_path, _free_port())  # nothing listens there
    body = w["org"]("storeevents", calid="org", uid="x1", dtstart="20240201T200000Z",
                    summary="x", method="2", attendees="mailto%3Aext%40elsewhere.org")
    assert ical_errno(body) == 33
    assert w["org"].stored("x1") is not None


def _vcal(*components):
    return vobject.readOne("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
                           + "".join(components) + "END:VCALENDAR\r\n")


def _event(organizer=None, rid=None):
    return ("BEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20240101T000000Z\r\n"
            "DTSTART:20240201T200000Z\r\n"
            + ("RECURRENCE-ID:%s\r\n" % rid if rid else "")
            + ("ORGANIZER:%s\r\n" % organizer if organizer else "") + "END:VEVENT\r\n")


def test_organised_by_reads_every_spelling_and_every_component(tmp_path):
    """A copy is the organizer's whichever way its ORGANIZER names them (Lightning sends
    orgCalid or orgEmail); an item without one, or with an exception naming someone
    else, is not: scheduling may neither replace nor remove it."""
    instance = make_instance(str(tmp_path))
    for name in ("org", "atta"):
        add_user(instance, name)
    directory = instance.directory
    org = scheduling.address_of(directory, "org")
    for spelling in ("mailto:org@example.com", "MAILTO:Org@Example.com", "org"):
        assert scheduling.organised_by(directory, _vcal(_event(spelling)), org)
    assert not scheduling.organised_by(directory, _vcal(_event()), org)
    assert not scheduling.organised_by(directory, _vcal(_event("mailto:atta@example.com")),
                                       org)
    assert not scheduling.organised_by(
        directory, _vcal(_event("mailto:org@example.com"),
                         _event("mailto:atta@example.com", rid="20240208T200000Z")), org)
    assert not scheduling.organised_by(
        directory, _vcal(_event(None), _event("mailto:org@example.com",
                                              rid="20240208T200000Z")), org)


def test_reinvite_over_an_attendee_edit_keeps_the_copy_the_organizers(tmp_path, smtp):
    """The attendee's own UPDATE (method 256, orgEmail as Lightning sends it for an
    invitation) leaves the copy the organizer's: the next invitation still reaches it."""
    controller, _sink = smtp
    w = _env(tmp_path, controller.port)
    w["org"]("storeevents", calid="org", uid="u1", dtstart="20240201T200000Z",
             summary="x", method="2", attendees="atta", smtp="0")
    assert ical_errno(w["atta"]("storeevents", calid="atta", uid="u1", method="256",
                                orgEmail="org%40example.com", alarmStart="-PT5M",
                                smtp="0", smtpNotify="0", notify="0")) == 0
    assert ical_errno(w["org"]("storeevents", calid="org", uid="u1", summary="y",
                               method="2", smtp="0")) == 0
    assert comps(w["atta"].stored("u1"))[0].summary.value == "y"
