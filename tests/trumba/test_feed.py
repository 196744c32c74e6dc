import vobject
import pytest

from radicale_wcap.trumba import events as events_mod
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.feed import FeedError, parse_feed

TZ = "America/Los_Angeles"


def parse(body, *, max_events=100, tz=TZ, **kw):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return parse_feed(body, calendar_tzid=tz, max_events=max_events, **kw)


def calendar(*events, head="METHOD:PUBLISH\n"):
    return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n" + head + "".join(events) + "END:VCALENDAR\n"


def event(uid="e1@example.org", extra="", start="DTSTART:20240215T180000\n", summary="Talk"):
    return (f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20240101T000000Z\n{start}SUMMARY:{summary}\n"
            f"{extra}END:VEVENT\n")


def by_uid(feed):
    return {e.uid: e for e in feed.events}


def codes(messages):
    return [(int(m.code), m.line) for m in messages]


# --- the fixtures -----------------------------------------------------------

def test_trumba_fixture(feed_bytes):
    feed = parse(feed_bytes("trumba.ics"))
    assert feed.method == "PUBLISH"
    assert feed.all_messages() == []
    assert feed.properties["X-WR-CALNAME"] == "Campus Events"
    events = by_uid(feed)
    assert list(events) == ["evt-1001@events.example.edu", "evt-1002@events.example.edu",
                            "evt-1003@events.example.edu", "evt-1004@events.example.edu"]
    assert [e.line for e in feed.events] == [6, 19, 26, 43]
    lecture = vobject.readOne(events["evt-1001@events.example.edu"].ical)
    assert lecture.vevent.summary.value == "Lecture: Übersetzung & Kultur – Café Ñandú"
    assert lecture.vevent.description.value.endswith("Zürich, Kraków, 東京.")
    assert "octets," in lecture.vevent.description.value  # unfolded without a space


def test_vendor_properties_kept_verbatim(feed_bytes):
    ical = by_uid(parse(feed_bytes("trumba.ics")))["evt-1001@events.example.edu"].ical
    unfolded = ical.replace("\r\n ", "")
    assert 'X-TRUMBA-CUSTOMFIELD;NAME="Event Type";ID=21;TYPE=SingleLine:Lecture/Seminar\r\n' in unfolded
    # The bare comma is escaped so that vobject/Radicale keep the whole value.
    assert 'X-TRUMBA-CUSTOMFIELD;NAME="Audience";ID=22;TYPE=MultiLine:Students\\, Faculty\r\n' in unfolded
    assert "X-TRUMBA-LINK;TYPE=EVENT:https://events.example.edu/e/1001?x=1&y=2\r\n" in unfolded
    assert "METHOD" not in ical  # RFC 4791 4.1: no METHOD in a stored resource


def test_floating_start_takes_calendar_zone(feed_bytes):
    events = by_uid(parse(feed_bytes("trumba.ics")))
    item = vobject.readOne(events["evt-1001@events.example.edu"].ical)
    ical = events["evt-1001@events.example.edu"].ical
    assert f"DTSTART;TZID={TZ}:20240215T180000\r\n" in ical
    assert f"DTEND;TZID={TZ}:20240215T193000\r\n" in ical
    assert item.vevent.dtstart.value.utcoffset().total_seconds() == -8 * 3600
    assert item.vtimezone.tzid.value == TZ


def test_explicit_tzid_overrides_calendar_zone(feed_bytes):
    item = vobject.readOne(by_uid(parse(feed_bytes("trumba.ics")))["evt-1003@events.example.edu"].ical)
    assert all(v.dtstart.value.utcoffset().total_seconds() == -5 * 3600 for v in item.vevent_list)
    assert [v.tzid.value for v in item.vtimezone_list] == ["America/New_York"]


def test_all_day_stays_floating_date(feed_bytes):
    ical = by_uid(parse(feed_bytes("trumba.ics")))["evt-1002@events.example.edu"].ical
    assert "DTSTART;VALUE=DATE:20240301\r\n" in ical
    assert "VTIMEZONE" not in ical
    assert str(type(vobject.readOne(ical).vevent.dtstart.value).__name__) == "date"


def test_recurrence_overrides_grouped_into_one_item(feed_bytes):
    feed = parse(feed_bytes("trumba.ics"))
    item = by_uid(feed)["evt-1003@events.example.edu"]
    parsed = vobject.readOne(item.ical)
    assert len(parsed.vevent_list) == 2
    assert {v.uid.value for v in parsed.vevent_list} == {item.uid}
    assert parsed.vevent_list[1].recurrence_id.value.hour == 9
    assert item.ical.count("BEGIN:VTIMEZONE") == 1
    assert item.ical.endswith("END:VCALENDAR\r\n")


def test_override_before_master_is_still_grouped():
    override = event(extra="RECURRENCE-ID:20240222T180000\n", start="DTSTART:20240222T190000\n")
    master = event(extra="RRULE:FREQ=WEEKLY;COUNT=3\n")
    feed = parse(calendar(override, master))
    assert len(feed.events) == 1 and feed.events[0].line == 5
    parsed = vobject.readOne(feed.events[0].ical)
    assert len(parsed.vevent_list) == 2
    assert f"RECURRENCE-ID;TZID={TZ}:20240222T180000" in feed.events[0].ical


def test_outlook_fixture(feed_bytes):
    feed = parse(feed_bytes("outlook.ics"))  # UTF-8 BOM, CRLF, VTIMEZONE, X-MS-OLK-*
    assert feed.all_messages() == []
    assert feed.properties["X-WR-CALNAME"] == "Team Calendar"
    assert len(feed.events) == 3
    meeting = feed.events[0]
    assert meeting.uid.startswith("040000008200E00074C5B7101A82E008") and meeting.uid.endswith("F8")
    parsed = vobject.readOne(meeting.ical)
    assert parsed.vtimezone.tzid.value == "W. Europe Standard Time"
    assert [v.summary.value for v in parsed.vevent_list] == [
        "Wöchentliches Team-Meeting", "Wöchentliches Team-Meeting (verschoben)"]
    assert parsed.vevent.dtstart.value.utcoffset().total_seconds() == 3600
    assert parsed.vevent.valarm.trigger.value.total_seconds() == -900
    assert "X-MS-OLK-CONFTYPE:0" in meeting.ical
    assert 'ATTENDEE;CN="Bob Smith"' in meeting.ical
    utc = vobject.readOne(feed.events[1].ical)
    assert "VTIMEZONE" not in feed.events[1].ical  # UTC times are not floating
    assert utc.vevent.dtstart.value.utcoffset().total_seconds() == 0


# --- warnings with their line numbers ----------------------------------------

def test_broken_fixture_warnings_and_rejections(feed_bytes):
    feed = parse(feed_bytes("broken.ics"))
    assert codes(feed.messages) == [(2104, 9)]
    events = by_uid(feed)
    assert list(events) == ["broken-1@example.org", "broken-2@example.org", "broken-5@example.org"]
    assert codes(events["broken-1@example.org"].messages) == [(2103, 16), (2101, 18), (2102, 19)]
    assert all(m.uid == "broken-1@example.org" for m in events["broken-1@example.org"].messages)
    assert codes(events["broken-2@example.org"].messages) == [(2105, 24), (2105, 28)]
    # the 2103 names the bad DTSTART's line (38), not the event's BEGIN (36)
    assert codes(feed.rejected) == [(2102, 32), (2103, 38)]
    assert [m.uid for m in feed.rejected] == [None, "broken-4@example.org"]
    assert all(m.detail.startswith("Event not imported") for m in feed.rejected)
    assert "line 38" in feed.rejected[1].detail
    survivor = vobject.readOne(events["broken-1@example.org"].ical).vevent
    assert survivor.summary.value == "Survives a bad DTEND"
    assert not hasattr(survivor, "dtend")
    assert survivor.contents["favourite-colour"][0].value == "blue"  # 2101: kept
    assert "VALARM" not in events["broken-2@example.org"].ical
    lines = [m.line for m in feed.all_messages()]
    assert lines == sorted(lines)


@pytest.mark.parametrize("bad, code, line", [
    ("DTEND:20240230T100000\n", 2103, 10),
    ("DTEND:20240215T250000\n", 2103, 10),
    ("EXDATE:20240215T1800\n", 2103, 10),
    ("DTEND;VALUE=DATE:20240216T100000\n", 2103, 10),
    ("DTEND:20240215T170000\n", 2103, 10),          # before DTSTART
    ("DTEND;VALUE=DATE:20240216\n", 2103, 10),      # DATE against a DATE-TIME start
    ("CREATED:yesterday\n", 2103, 10),
    ("RRULE:FREQ=WEEKLY;UNTIL=2024-03-01\n", 2103, 10),
    ("RRULE:FREQ=FORTNIGHTLY\n", 2102, 10),
    ("DURATION:1H\n", 2105, 10),
    ("DURATION:P\n", 2105, 10),
    ("DURATION:-PT1H\n", 2105, 10),
    ("BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:15 minutes\nEND:VALARM\n", 2105, 12),
    ("BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER;VALUE=DATE-TIME:20240215T1700\nEND:VALARM\n",
     2103, 12),
    ("BEGIN:VALARM\nACTION:DISPLAY\nEND:VALARM\n", 2102, 10),
    ("CONTACT;CN=a\"b:x\n", 2102, 10),
    ("X-BAD\x01:control\n", 2102, 10),
    ("NEW-FANCY-PROP:1\n", 2101, 10),
])
def test_each_warning_code_with_its_line(bad, code, line):
    feed = parse(calendar(event(extra=bad)))
    assert len(feed.events) == 1 and not feed.rejected
    assert [(int(m.code), m.line) for m in feed.events[0].messages] == [(code, line)]
    vobject.readOne(feed.events[0].ical)


@pytest.mark.parametrize("offset", ["+2500", "+0160", "-0000", "0100", "+01"])
def test_bad_utc_offset_drops_vtimezone(offset):
    vtimezone = ("BEGIN:VTIMEZONE\nTZID:Custom Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
                 f"TZOFFSETFROM:+0100\nTZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE\n")
    feed = parse(calendar(event(start="DTSTART;TZID=Custom Zone:20240215T180000\n"),
                          head="METHOD:PUBLISH\n" + vtimezone))
    assert codes(feed.messages) == [(2104, 10)]
    # the event survives; its unknown zone becomes the calendar's (2103)
    assert codes(feed.events[0].messages) == [(2103, 16)]
    assert f"DTSTART;TZID={TZ}:20240215T180000" in feed.events[0].ical


def test_good_utc_offsets_accepted():
    vtimezone = ("BEGIN:VTIMEZONE\nTZID:Custom Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
                 "TZOFFSETFROM:+053000\nTZOFFSETTO:-0930\nEND:STANDARD\nEND:VTIMEZONE\n")
    feed = parse(calendar(event(start="DTSTART;TZID=Custom Zone:20240215T180000\n"), head=vtimezone))
    assert feed.all_messages() == []
    assert "TZID:Custom Zone" in feed.events[0].ical


def test_rejected_events_leave_the_rest():
    feed = parse(calendar(
        event(uid="ok-1"),
        "BEGIN:VEVENT\nDTSTART:20240215T180000\nSUMMARY:no uid\nEND:VEVENT\n",
        event(uid="no-start", start=""),
        event(uid="bad-start", start="DTSTART:2024-02-15\n"),
        "BEGIN:VEVENT\nUID:no-summary\nDTSTART:20240215T180000\nEND:VEVENT\n",
        event(uid="ok-2"),
    ))
    assert [e.uid for e in feed.events] == ["ok-1", "ok-2"]
    assert [(m.uid, int(m.code)) for m in feed.rejected] == [
        (None, 2102), ("no-start", 2103), ("bad-start", 2103), ("no-summary", 2102)]
    # no UID / no DTSTART / no SUMMARY: the event's BEGIN line; a bad DTSTART: its own line
    assert [m.line for m in feed.rejected] == [11, 15, 23, 26]


def test_override_of_rejected_master_is_rejected_too():
    feed = parse(calendar(event(start="DTSTART:bad\n", extra="RRULE:FREQ=DAILY\n"),
                          event(extra="RECURRENCE-ID:20240216T180000\n")))
    assert feed.events == []
    assert len(feed.rejected) == 2 and "master event (line 5)" in feed.rejected[1].detail


def test_duplicate_uid_first_wins():
    feed = parse(calendar(event(summary="first"), event(summary="second")))
    assert len(feed.events) == 1 and "SUMMARY:first" in feed.events[0].ical
    assert codes(feed.rejected) == [(2102, 11)]
    assert "duplicate UID" in feed.rejected[0].detail and "line 5" in feed.rejected[0].detail


def test_unknown_tzid_falls_back_to_calendar_zone():
    feed = parse(calendar(event(start="DTSTART;TZID=Mars/Olympus_Mons:20240215T180000\n")))
    assert codes(feed.events[0].messages) == [(2103, 8)]
    assert "DTSTART;TZID=America/Los_Angeles:20240215T180000" in feed.events[0].ical


def test_missing_end_vevent_closes_it_with_a_warning():
    body = calendar("BEGIN:VEVENT\nUID:a\nDTSTART:20240215T180000\nSUMMARY:A\n", event(uid="b"))
    feed = parse(body)
    assert [e.uid for e in feed.events] == ["a", "b"]
    assert codes(feed.events[0].messages) == [(2102, 9)]


def test_lines_outside_the_calendar_are_warnings():
    feed = parse("garbage before\n" + calendar(event()) + "trailing junk\n\n\n")
    assert codes(feed.messages) == [(2102, 1), (2102, 13)]
    assert len(feed.events) == 1


# --- the whole-feed errors (3101) --------------------------------------------

@pytest.mark.parametrize("body", [
    b"",
    b"\r\n\r\n",
    b"\x00\xff\xfe garbage \x89PNG",
    b"<html><body>Not found</body></html>",
    calendar(event()).encode() + calendar(event(uid="x")).encode(),
    calendar(event()).replace("END:VCALENDAR\n", "").encode(),  # truncated
    b"BEGIN:VEVENT\nUID:x\nEND:VEVENT\n",
])
def test_not_a_single_vcalendar(body):
    with pytest.raises(FeedError) as info:
        parse(body)
    assert info.value.code == Code.SINGLE_VCALENDAR
    assert info.value.message.level.value == "Error"


def test_second_vcalendar_line_is_reported():
    with pytest.raises(FeedError) as info:
        parse(calendar(event()) + calendar(event(uid="x")))
    assert info.value.line == 12


def test_max_events():
    body = calendar(*(event(uid=f"e{i}") for i in range(5)))
    assert len(parse(body, max_events=5).events) == 5
    with pytest.raises(FeedError) as info:
        parse(body, max_events=4)
    assert "more than 4 events" in info.value.detail and info.value.line == 29


def test_max_bytes():
    body = calendar(event()).encode()
    with pytest.raises(FeedError, match="larger than"):
        parse(body, max_bytes=len(body) - 1)
    assert parse(body, max_bytes=len(body)).events


def test_bad_calendar_tzid_is_a_programming_error():
    with pytest.raises(ValueError):
        parse(calendar(event()), tz="Not/AZone")


# --- METHOD:CANCEL -------------------------------------------------------------

def test_cancel_needs_only_uid():
    body = calendar("BEGIN:VEVENT\nUID:gone-1@example.org\nEND:VEVENT\n",
                    "BEGIN:VEVENT\nUID:gone-2@example.org\nDTSTAMP:20240101T000000Z\nEND:VEVENT\n",
                    head="METHOD:CANCEL\n")
    feed = parse(body)
    assert feed.method == "CANCEL"
    assert [e.uid for e in feed.events] == ["gone-1@example.org", "gone-2@example.org"]
    assert feed.all_messages() == []
    vobject.readOne(feed.events[0].ical)


# --- encodings, line ends, folding, fingerprints --------------------------------

def test_crlf_lf_and_folding_give_identical_fingerprints():
    lf = calendar(event(extra="DESCRIPTION:" + "long text é " * 20 + "\n"))
    crlf = lf.replace("\n", "\r\n")
    folded = crlf.replace("long text é long", "long text \r\n é long")
    bare_cr = lf.replace("\n", "\r")
    prints = {parse(b).events[0].fingerprint for b in (lf, crlf, folded, bare_cr)}
    assert len(prints) == 1
    assert parse("\ufeff" + lf).events[0].fingerprint in prints


def test_fold_inside_a_utf8_sequence():
    body = calendar(event(summary="Caf\xe9 ok")).encode("utf-8")
    split = body.replace(b"Caf\xc3\xa9", b"Caf\xc3\r\n \xa9")
    assert parse(split).events[0].fingerprint == parse(body).events[0].fingerprint
    assert not parse(split).all_messages()


def test_fingerprint_stability(feed_bytes):
    body = feed_bytes("trumba.ics")
    first = [e.fingerprint for e in parse(body).events]
    assert [e.fingerprint for e in parse(body).events] == first
    restamped = body.replace(b"DTSTAMP:20240105T120000Z", b"DTSTAMP:20240601T090000Z")
    assert [e.fingerprint for e in parse(restamped).events] == first
    changed = body.replace(b"SUMMARY:Spring Break Begins", b"SUMMARY:Spring Break")
    after = [e.fingerprint for e in parse(changed).events]
    assert after[1] != first[1] and after[0] == first[0] and after[2:] == first[2:]
    override = body.replace(b"SUMMARY:Weekly Seminar (moved)", b"SUMMARY:Weekly Seminar (room 2)")
    assert [e.fingerprint for e in parse(override).events][2] != first[2]
    assert len(set(first)) == len(first)


def test_fingerprint_ignores_property_order_and_param_quoting():
    a = parse(calendar(event(extra="LOCATION;LANGUAGE=en:Hall\nX-A;X-P=1:v\n")))
    b = parse(calendar(event(extra="X-A;X-P=\"1\":v\nLOCATION;LANGUAGE=en:Hall\n")))
    assert a.events[0].fingerprint == b.events[0].fingerprint


def test_fingerprint_follows_calendar_zone_for_floating_times():
    body = calendar(event())
    assert (parse(body).events[0].fingerprint
            != parse(body, tz="Europe/Berlin").events[0].fingerprint)


def test_latin1_line_is_decoded_with_a_warning():
    body = calendar(event(summary="Caf\xe9 Zoë")).encode("cp1252")
    feed = parse(body)
    assert codes(feed.events[0].messages) == [(2102, 9)]
    assert vobject.readOne(feed.events[0].ical).vevent.summary.value == "Café Zoë"


def test_non_ascii_summary_round_trips():
    feed = parse(calendar(event(summary="Ελληνικά – 日本語 – emoji \U0001f389")))
    assert not feed.all_messages()
    item = vobject.readOne(feed.events[0].ical)
    assert item.vevent.summary.value == "Ελληνικά – 日本語 – emoji \U0001f389"
    assert all(len(line.encode()) <= 75 for line in feed.events[0].ical.split("\r\n"))


@pytest.mark.parametrize("uid", ["../../etc/passwd", "a/b\\c", "..", "x%2F..%2Fy", "ünïcødé@host"])
def test_uids_with_path_characters_are_kept(uid):
    feed = parse(calendar(event(uid=uid), event(uid=uid, extra="RECURRENCE-ID:20240216T180000\n",
                                                   start="DTSTART:20240216T190000\n")))
    assert [e.uid for e in feed.events] == [uid]
    assert {v.uid.value for v in vobject.readOne(feed.events[0].ical).vevent_list} == {uid}


def test_other_components_are_reported_and_skipped():
    todo = "BEGIN:VTODO\nUID:t1\nSUMMARY:task\nEND:VTODO\n"
    feed = parse(calendar(todo, event()))
    assert codes(feed.messages) == [(2101, 5)]
    assert [e.uid for e in feed.events] == ["e1@example.org"]


def test_floating_rdate_exdate_take_calendar_zone():
    feed = parse(calendar(event(extra="RRULE:FREQ=DAILY;COUNT=5\nEXDATE:20240216T180000,"
                                      "20240217T180000\nRDATE:20240301T180000\n")))
    ical = feed.events[0].ical
    assert f"EXDATE;TZID={TZ}:20240216T180000,20240217T180000\r\n" in ical
    assert f"RDATE;TZID={TZ}:20240301T180000\r\n" in ical
    assert len(list(vobject.readOne(ical).vevent.getrruleset())) == 4


def test_utf16_body_with_bom():
    body = calendar(event(summary="Grüße")).replace("\n", "\r\n").encode("utf-16")
    feed = parse(body)
    assert not feed.all_messages()
    assert vobject.readOne(feed.events[0].ical).vevent.summary.value == "Grüße"


def test_blank_lines_are_ignored_and_keep_numbering():
    feed = parse(calendar(event(), "\n", event(uid="e2", extra="BAD LINE\n")))
    assert codes(feed.events[1].messages) == [(2102, 17)]


def test_known_fingerprints_skip_only_the_vobject_parse(feed_bytes, monkeypatch):
    """A re-upload's events imported before (their fingerprints are in the origins
    table) are not parsed by vobject again; everything else about the result is the
    same as for a first upload."""
    body = feed_bytes("trumba.ics")
    first = parse(body)
    assert first.events
    parsed = []
    real = events_mod.vobject_problem

    def counting(lines):
        parsed.append(1)
        return real(lines)
    monkeypatch.setattr(events_mod, "vobject_problem", counting)
    again = parse(body, known_fingerprints={e.fingerprint for e in first.events})
    with_known = len(parsed)
    parse(body)
    without = len(parsed) - with_known
    assert with_known == 0 and without == len(first.events)
    assert [(e.uid, e.ical, e.fingerprint) for e in again.events] == \
        [(e.uid, e.ical, e.fingerprint) for e in first.events]
    assert codes(again.messages) == codes(first.messages)
    assert codes(again.rejected) == codes(first.rejected)
