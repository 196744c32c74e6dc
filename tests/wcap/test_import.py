"""import / upload_file / write_file: multipart, text/xml, range filter, refusals, live."""

from __future__ import annotations

import os

import caldav
import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from radicale_wcap.wcap.commands.importing import xml_to_ical
from tests.conftest import TEST_PASSWORD, InProcessClient, add_user
from tests.wcap.conftest import FORMATS, WcapAnswer, wcap, wcap_path

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
       "BEGIN:VEVENT\r\nDTSTART:20020105T100000Z\r\nDTEND:20020105T110000Z\r\n"
       "DTSTAMP:20010104T120020Z\r\nSUMMARY:Weekly QA Meeting\r\nUID:random-uid001\r\n"
       "END:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20030106T100000Z\r\nDTEND:20030106T110000Z\r\n"
       "DTSTAMP:20010104T120020Z\r\nSUMMARY:Weekly QA\\, 2\r\nUID:random-uid002\r\n"
       "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<iCalendar><iCal version="2.0" prodid="x" method="PUBLISH">
<EVENT><UID>xml-1</UID><START>20020105T100000Z</START><END>20020105T110000Z</END>
<SUMMARY>a; b, c</SUMMARY><ATTENDEE PARTSTAT="ACCEPTED" CN="Bo, B">mailto:b@example.com</ATTENDEE>
<ALARM><ACTION>DISPLAY</ACTION><TRIGGER>-PT15M</TRIGGER><DESCRIPTION>x</DESCRIPTION></ALARM>
</EVENT><X-NSCP-WCAP-ERRNO>0</X-NSCP-WCAP-ERRNO></iCal></iCalendar>"""
BOUNDARY = "---------------------------33111928916708"


def multipart(data: bytes, boundary: str = BOUNDARY) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"Upload\"; "
            f"filename=\"C:\\\\TEMP\\\\ical1.ics\"\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()


def post(client, command, body, fmt="text/xml", content_type=None, **params):
    path = wcap_path(command, fmt_out=fmt, **params)
    r = client.request("POST", path, body, headers={
        "Content-Type": content_type or f"multipart/form-data; boundary={BOUNDARY}"})
    return WcapAnswer(fmt, r)


@pytest.fixture
def wc(instance):
    add_user(instance, "jdoe")
    add_user(instance, "bob")
    return InProcessClient(make_app(instance))


def uids(instance, calid="jdoe"):
    from radicale_wcap import calid as calid_mod
    with instance.store.reading(calid_mod.to_path(calid), SYSTEM, READ) as calendar:
        return sorted(i.uid for i in calendar.items())


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_manual_example(instance, wc, fmt):
    s = instance.sessions.create("jdoe")
    a = post(wc, "import", multipart(ICS), fmt, id=s, calid="jdoe", dtstart=0, dtend=0,
             **{"content-in": "text/calendar"})
    assert a.errno == 0, a.text
    assert uids(instance) == ["random-uid001", "random-uid002"]


def test_import_range_filter_and_xml(instance, wc):
    s = instance.sessions.create("jdoe")
    a = post(wc, "import", multipart(ICS), id=s, calid="jdoe", dtstart="20030101T000000Z",
             dtend="20040101T000000Z", **{"content-in": "text/calendar"})
    assert a.errno == 0 and uids(instance) == ["random-uid002"]
    a = post(wc, "import", XML, content_type="text/xml", id=s, calid="jdoe",
             **{"content-in": "text/xml"})
    assert a.errno == 0, a.text
    assert "xml-1" in uids(instance)
    import vobject
    event = vobject.readOne(xml_to_ical(XML)).vevent
    assert event.summary.value == "a; b, c"
    assert event.attendee.params["CN"] == ["Bo, B"]
    assert event.valarm.trigger.value.total_seconds() == -900


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_refusals_write_nothing(instance, wc, fmt):
    s = instance.sessions.create("jdoe")
    ci = {"content-in": "text/calendar"}
    broken = ICS.replace(b"UID:random-uid002\r\n", b"UID:random-uid002\r\nRRULE:FREQ=BOGUS\r\n")
    cases = [
        (post(wc, "import", broken and multipart(broken), fmt, id=s, calid="jdoe", **ci), 35),
        (post(wc, "import", multipart(b"no calendar here"), fmt, id=s, calid="jdoe", **ci), 35),
        (post(wc, "import", b"--x\r\ngarbage", fmt, id=s, calid="jdoe", **ci), 77),
        (post(wc, "import", ICS, fmt, content_type="application/pdf", id=s, calid="jdoe",
              **ci), 77),
        (post(wc, "import", multipart(ICS), fmt, id=s, calid="bob", **ci), 28),
        (post(wc, "import", multipart(ICS), fmt, id=s, calid="ghost", **ci), 29),
        (post(wc, "import", multipart(ICS), fmt, id=s, calid="a/b", **ci), 30),
        (post(wc, "import", multipart(ICS), fmt, id=s, calid="jdoe",
              **{"content-in": "text/pdf"}), 77),
        (post(wc, "import", multipart(b"<iCalendar><EVENT>"), fmt, id=s, calid="jdoe",
              **{"content-in": "text/xml"}), 35),
    ]
    for answer, errno in cases:
        assert answer.errno == errno, answer.text
    assert uids(instance) == []
    r = wc.request("GET", wcap_path("import", id=s, calid="jdoe", **ci))
    assert WcapAnswer("text/calendar", r).errno == 77  # POST only; no fmt-out: the default


def test_import_over_limit_is_refused(tmp_path):
    from tests.conftest import make_instance
    instance = make_instance(str(tmp_path), {"wcap": {"max_import_size": "2000"}})
    add_user(instance, "jdoe")
    wc = InProcessClient(make_app(instance))
    s = instance.sessions.create("jdoe")
    big = multipart(ICS.replace(b"SUMMARY:Weekly QA Meeting", b"SUMMARY:" + b"x" * 3000))
    r = wc.request("POST", wcap_path("import", fmt_out="text/xml", id=s, calid="jdoe",
                                     **{"content-in": "text/calendar"}), big,
                   headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    # The door answers 413 before the body is read (see the report); nothing is written.
    assert r.status in (200, 413)
    if r.status == 200:
        assert WcapAnswer("text/xml", r).errno == 35
    assert uids(instance) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_upload_then_write_file(instance, wc, fmt):
    s = instance.sessions.create("jdoe")
    a = post(wc, "upload_file", multipart(ICS), fmt, id=s)
    assert a.errno == 0, a.text
    if fmt == "text/js":
        name = a.js["props"]["X-NSCP-WCAP-UNIQUEFILENAME"]
    else:
        name = a.value("X-NSCP-WCAP-UNIQUEFILENAME")
    spool = os.path.join(instance.services.folder, "spool", "jdoe")
    assert os.listdir(spool) == [name]
    ci = {"content-in": "text/calendar"}
    assert wcap(wc, "write_file", fmt, id=s, calid="jdoe", uniquefilename="../../x",
                **ci).errno == 77
    assert wcap(wc, "write_file", fmt, id=instance.sessions.create("bob"), calid="bob",
                uniquefilename=name, **ci).errno == 77  # another user's spool
    assert wcap(wc, "write_file", fmt, id=s, calid="jdoe", uniquefilename=name,
                **ci).errno == 0
    assert uids(instance) == ["random-uid001", "random-uid002"]
    assert os.listdir(spool) == []


def test_spool_expires(instance, wc):
    from radicale_wcap.wcap.spool import spool_of
    spool = spool_of(instance)
    name = spool.put("jdoe", b"x")
    path = os.path.join(spool.root, "jdoe", name)
    os.utime(path, (1, 1))
    spool.sweep("jdoe")
    assert not os.path.exists(path)


def test_live_import_round_trip_over_caldav(live):
    add_user(live.instance, "imp")
    s = live.instance.sessions.create("imp")
    r = live.client.request("POST", wcap_path("import", fmt_out="text/calendar", id=s,
                                              calid="imp", **{"content-in": "text/calendar"}),
                            multipart(ICS),
                            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert WcapAnswer("text/calendar", r).errno == 0
    dav = caldav.DAVClient(url=live.url + "/", username="imp", password=TEST_PASSWORD)
    cal = [c for c in dav.principal().calendars() if c.url.path.rstrip("/").endswith("calendar")][0]
    summaries = sorted(str(e.icalendar_component["SUMMARY"]) for e in cal.events())
    assert summaries == ["Weekly QA Meeting", "Weekly QA, 2"]


@pytest.mark.parametrize("content", ["text/calendar", "text/xml"])
def test_import_export_round_trip(instance, wc, content):
    import vobject
    s = instance.sessions.create("jdoe")
    assert post(wc, "import", multipart(ICS), id=s, calid="jdoe",
                **{"content-in": "text/calendar"}).errno == 0
    # export's answer follows fmt-out (its module docstring), so both are sent.
    r = wc.request("GET", wcap_path("export", id=s, calid="jdoe", fmt_out=content,
                                    **{"content-out": content}))
    assert r.status == 200
    text = xml_to_ical(r.body) if content == "text/xml" else r.text
    events = {e.uid.value: e for e in vobject.readOne(text).vevent_list}
    assert sorted(events) == ["random-uid001", "random-uid002"]
    assert events["random-uid002"].summary.value == "Weekly QA, 2"
    # and back in: importing the export changes nothing
    add_user(instance, "bob2")
    s2 = instance.sessions.create("bob2")
    assert post(wc, "import", r.body, content_type=content, id=s2, calid="bob2",
                **{"content-in": content}).errno == 0
    assert uids(instance, "bob2") == ["random-uid001", "random-uid002"]
