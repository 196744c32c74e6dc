import datetime as dt
import re

import icalendar
import pytest
import vobject
from dateutil import tz

from radicale_wcap.wcap.render import render
from radicale_wcap.wcap.result import CalendarLayer, Prop, Result

from .conftest import ical_lines, manual, parse_json, parse_xml, run_js

HOSTILE = 'a</script><script>alert(1)</script> ]]> <![CDATA[ "q" \'s\' & \\ \n\r\x01\x7f; , : ^ \u2028 é'


def event(summary=HOSTILE, uid="u1", start=None, end=None, cn='Jane "J" Doe'):
    ev = vobject.newFromBehavior("vevent")
    ev.add("uid").value = uid
    ev.add("summary").value = summary
    ev.add("dtstart").value = start or dt.datetime(2002, 1, 1, 10, tzinfo=tz.UTC)
    ev.add("dtend").value = end or dt.datetime(2002, 1, 1, 11, tzinfo=tz.UTC)
    att = ev.add("attendee")
    att.value = "mailto:jane@example.com"
    att.params["CN"] = [cn]
    att.params["PARTSTAT"] = ["ACCEPTED"]
    alarm = ev.add("valarm")
    alarm.add("action").value = "EMAIL"
    alarm.add("trigger").value = -dt.timedelta(minutes=15)
    return ev


def todo(uid="t1"):
    td = vobject.newFromBehavior("vtodo")
    td.add("uid").value = uid
    td.add("summary").value = "todo"
    td.add("due").value = dt.date(2002, 1, 5)
    return td


def freebusy():
    fb = vobject.newFromBehavior("vfreebusy")
    fb.add("dtstart").value = dt.datetime(2002, 5, 1, tzinfo=tz.UTC)
    fb.add("dtend").value = dt.datetime(2002, 7, 1, tzinfo=tz.UTC)
    line = fb.add("freebusy")
    line.value = [(dt.datetime(2002, 5, 18, 17, tzinfo=tz.UTC), dt.datetime(2002, 5, 18, 19, tzinfo=tz.UTC))]
    line.params["FBTYPE"] = ["BUSY"]
    return fb


def fetch_result():
    props = [Prop("X-NSCP-CALPROPS-RELATIVE-CALID", "jdoe"),
             Prop("X-NSCP-CALPROPS-NAME", HOSTILE),
             Prop("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY", "@@o^c^WDEIC^g"),
             Prop("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY", "@^a^frs^g")]
    return Result(calendars=[
        CalendarLayer("jdoe", props, [event(), todo()], errno=0),
        CalendarLayer("susan", [Prop("X-NSCP-CALPROPS-RELATIVE-CALID", "susan")], [], errno=28)],
        layer_arrays={"layer_errno": [0, 28]}, max_results=75)


def test_ical_is_one_valid_vcalendar_with_hostile_text():
    _, body = render(fetch_result(), "text/calendar")
    lines = ical_lines(body)
    assert lines[1:4] == ["PRODID:-//radicale_wcap//WCAP 3.0//EN", "METHOD:PUBLISH", "VERSION:2.0"]
    assert lines[-2] == "X-NSCP-WCAP-ERRNO:0"
    cal = icalendar.Calendar.from_ical(body)
    ev = cal.walk("VEVENT")[0]
    # CR becomes a line break, control characters are dropped, the rest is exact
    assert str(ev["SUMMARY"]) == HOSTILE.replace("\r", "\n").replace("\x01", "").replace("\x7f", "")
    # a DQUOTE in a parameter value is RFC 6868-encoded, which icalendar decodes
    assert ev["ATTENDEE"].params["CN"] == 'Jane "J" Doe'
    assert cal["X-NSCP-CALPROPS-NAME"]  # the calprop survived folding and escaping
    parsed = vobject.readOne(body.decode("utf-8"))
    assert parsed.vevent.uid.value == "u1" and parsed.vtodo.uid.value == "t1"
    # calprops of the second calendar follow the first calendar's components; its calid
    # line says the layer failed (the one X-NSCP-WCAP-ERRNO is the command's)
    susan = "X-NSCP-CALPROPS-RELATIVE-CALID;X-NSCP-WCAP-ERRNO=28:susan"
    assert lines.index(susan) > lines.index("END:VTODO")
    assert "X-NSCP-CALPROPS-RELATIVE-CALID:jdoe" in lines


@pytest.mark.parametrize("fmt", ["text/calendar", "text/xml"])
def test_layer_without_props_still_names_its_calendar(fmt):
    """A failed layer carries no calprops of its own (fetch's 28/29); the renderers
    name its calendar anyway."""
    result = Result(errno=0, calendars=[CalendarLayer("a", [], [], errno=0),
                                        CalendarLayer("mailto:b@example.com", [], [], errno=29)])
    _, body = render(result, fmt)
    if fmt == "text/xml":
        icals = parse_xml(body).findall("iCal")
        assert [i.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for i in icals] == [
            "a", "mailto:b@example.com"]
    else:
        lines = ical_lines(body)
        assert lines[4:6] == ["X-NSCP-CALPROPS-RELATIVE-CALID:a",
                              "X-NSCP-CALPROPS-RELATIVE-CALID;X-NSCP-WCAP-ERRNO=29:"
                              "mailto:b@example.com"]


def test_ical_does_not_add_uid_or_dtstamp():
    status = vobject.newFromBehavior("vevent")
    status.add("request-status").value = "2.0;Success. Delete successful."
    status.add("uid").value = "uid-EVENT1"
    lines = ical_lines(render(Result(components=[status]), "text/calendar")[1])
    assert not any(line.startswith("DTSTAMP") for line in lines)
    assert "UID:uid-EVENT1" in lines


def test_ical_folding_keeps_utf8_characters_whole():
    result = Result(props=[Prop("X-NSCP-CALPROPS-DESCRIPTION", "é" * 200)])
    _, body = render(result, "text/calendar")
    ical_lines(body)  # every physical line <= 75 octets
    body.decode("utf-8")  # never split inside a character
    assert icalendar.Calendar.from_ical(body)["X-NSCP-CALPROPS-DESCRIPTION"] == "é" * 200


def test_xml_parses_and_escapes_everything():
    _, body = render(fetch_result(), "text/xml")
    root = parse_xml(body)
    assert root.tag == "iCalendar"
    icals = root.findall("iCal")
    assert [i.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for i in icals] == ["jdoe", "susan"]
    assert [i.findtext("X-NSCP-WCAP-ERRNO") for i in icals] == ["0", "28"]
    ev = icals[0].find("EVENT")
    assert "</script>" in ev.findtext("SUMMARY") and "]]>" in ev.findtext("SUMMARY")
    assert ev.find("START").text == "20020101T100000Z"
    assert ev.find("ATTENDEE").get("CN") == 'Jane "J" Doe'
    assert ev.find("ALARM").findtext("TRIGGER") == "-PT15M"
    assert icals[0].find("TODO").findtext("DUE") == "20020105"
    acl = [e.text for e in icals[0].findall("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY")]
    assert acl == ["@@o^c^WDEIC^g", "@^a^frs^g"]


def test_xml_freebusy_layout_lightning_reads():
    result = Result(calendars=[CalendarLayer("jdoe", [], [freebusy()])])
    root = parse_xml(render(result, "text/xml")[1])
    fb = root.find("iCal/FREEBUSY")
    assert fb.findtext("START") == "20020501T000000Z" and fb.findtext("END") == "20020701T000000Z"
    assert [(e.get("FBTYPE"), e.text) for e in fb.findall("FB")] == \
        [("BUSY", "20020518T170000Z/20020518T190000Z")]


def test_json_is_the_xml_tree_with_icalendar_names():
    """text/json (Oracle CS 7/8): one iCal object per calendar with its own numeric
    errno and calid, components always lists, repeating properties always lists,
    ATTENDEE/ORGANIZER always objects, parameters beside "value", text unescaped."""
    content_type, body = render(fetch_result(), "text/json")
    assert content_type == "text/json; charset=utf-8"
    icals = parse_json(body)["iCalendar"]["iCal"]
    assert [(i["X-NSCP-CALPROPS-RELATIVE-CALID"], i["X-NSCP-WCAP-ERRNO"]) for i in icals] == [
        ("jdoe", 0), ("susan", 28)]
    jdoe = icals[0]
    assert (jdoe["version"], jdoe["method"]) == ("2.0", "PUBLISH")
    assert jdoe["X-NSCP-CALPROPS-NAME"] == HOSTILE  # JSON carries every character
    assert jdoe["X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY"] == ["@@o^c^WDEIC^g", "@^a^frs^g"]
    [event] = jdoe["VEVENT"]
    assert event["UID"] == "u1" and event["DTSTART"] == "20020101T100000Z"
    assert event["ATTENDEE"] == [{"value": "mailto:jane@example.com", "CN": 'Jane "J" Doe',
                                  "PARTSTAT": "ACCEPTED"}]
    assert event["VALARM"] == [{"ACTION": "EMAIL", "TRIGGER": "-PT15M"}]
    assert jdoe["VTODO"][0]["DUE"] == {"value": "20020105", "VALUE": "DATE"}
    assert "VEVENT" not in icals[1]


def test_json_freebusy_periods_and_one_ical_without_calendars():
    body = render(Result(calendars=[CalendarLayer("jdoe", [], [freebusy()])]), "text/json")[1]
    [fb] = parse_json(body)["iCalendar"]["iCal"][0]["VFREEBUSY"]
    assert (fb["DTSTART"], fb["DTEND"]) == ("20020501T000000Z", "20020701T000000Z")
    assert fb["FREEBUSY"] == [{"value": "20020518T170000Z/20020518T190000Z", "FBTYPE": "BUSY"}]
    login = Result(props=[Prop("X-NSCP-WCAP-SESSION-ID", "abc"),
                          Prop("X-NSCP-WCAP-PREF-icsCalendar", "jdoe")])
    [ical] = parse_json(render(login, "text/json")[1])["iCalendar"]["iCal"]
    assert ical["X-NSCP-WCAP-SESSION-ID"] == "abc" and ical["X-NSCP-WCAP-ERRNO"] == 0
    assert ical["X-NSCP-WCAP-PREF-icsCalendar"] == "jdoe"  # names keep their case


def test_prerendered_json_is_what_render_writes():
    """The output cache keeps components laid out per format; a kept text/json entry
    must be exactly what the renderer writes."""
    from radicale_wcap.wcap.render import prerender
    direct = render(Result(components=[event()]), "text/json")[1]
    kept = render(Result(components=[prerender(event(), "text/json", False)]), "text/json")[1]
    assert kept == direct and parse_json(kept)["iCalendar"]["iCal"][0]["VEVENT"][0]["UID"] == "u1"


def test_xml_verify_layout_matches_manual():
    """The manual's verifyevents_by_ids XML example, element for element."""
    a = vobject.newFromBehavior("vevent")
    a.add("uid").value = "3bd9e717000045030000000100002113"
    a.add("recurrence-id").value = dt.datetime(2002, 10, 27, 23, tzinfo=tz.UTC)
    b = vobject.newFromBehavior("vevent")
    b.add("uid").value = "3bd9cd4700002206000000010000202d"
    ours = parse_xml(render(Result(components=[a, b], method=None), "text/xml")[1])
    theirs = parse_xml(manual("verifyevents_by_ids.xml.txt").encode())
    shape = lambda root: [(e.tag, (e.text or "").strip()) for e in root.iter()
                          if e.tag != "X-NSCP-WCAP-ERRNO"]
    assert shape(ours) == shape(theirs)
    # the manual's iCal attributes; ours carry the iCalendar version (deviation: not 5.1.1)
    assert set(theirs.find("iCal").attrib) <= set(ours.find("iCal").attrib)


def test_js_parses_runs_and_keeps_values():
    _, body = render(fetch_result(), "text/js")
    page = body.decode("utf-8")
    values = run_js(page)
    assert values["errno"] == 0 and values["maxResults"] == 75
    assert values["layer_errno"] == [0, 28]
    assert values["size"] == 1 and values["todosize"] == 1
    ev = values["event"][0]
    assert ev["summary"] == HOSTILE  # exact: JS escapes, it never drops characters
    assert ev["uid"] == "u1" and ev["calid"] == "jdoe" and ev["isAllDay"] == 0
    assert ev["attendees"] == ["CN=Jane \"J\" Doe^PARTSTAT=ACCEPTED^mailto:jane@example.com"]
    assert ev["alarmStart"] == "-PT15M"
    assert values["todoD"][0]["uid"] == "t1" and values["todoD"][0]["isAllDay"] == 1
    assert values["todo"] == [] and values["eventD"] == []
    assert values["calprops"][1] == {"calid": "susan", "errno": 28,
                                     "X-NSCP-CALPROPS-RELATIVE-CALID": "susan"}
    assert values["calprops"][0]["X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY"] == \
        ["@@o^c^WDEIC^g", "@^a^frs^g"]


def test_js_brief_keeps_table_7_8_fields_only():
    result = fetch_result()
    result.brief = True
    ev = run_js(render(result, "text/js")[1].decode())["event"][0]
    assert set(ev) <= {"calid", "created", "desc", "dtstart", "dtend", "isAllDay", "lastMod",
                       "linkCalid", "location", "rid", "summary", "tzid", "tzidout", "uid"}
    assert "attendees" not in ev and ev["uid"] == "u1"


def test_js_all_day_and_long_events_go_to_eventD():
    allday = event(uid="d", start=dt.date(2002, 1, 1), end=dt.date(2002, 1, 2))
    long = event(uid="l", end=dt.datetime(2002, 1, 3, tzinfo=tz.UTC))
    values = run_js(render(Result(calendars=[CalendarLayer("jdoe", [], [allday, long, event()])]),
                           "text/js")[1].decode())
    assert [e["uid"] for e in values["eventD"]] == ["d", "l"]
    assert values["eventD"][0]["isAllDay"] == 1
    assert [e["uid"] for e in values["event"]] == ["u1"]


def test_js_freebusy_and_timezones():
    values = run_js(render(Result(calendars=[CalendarLayer("jdoe", [], [freebusy()])]), "text/js")[1].decode())
    assert values["freebusy"] == [{"calid": "jdoe", "fbtype": "BUSY",
                                   "start": "20020518T170000Z", "end": "20020518T190000Z"}]


@pytest.mark.parametrize("fmt", ["text/calendar", "text/xml", "text/js", "text/json"])
def test_hostile_prop_names_and_values_never_break_the_format(fmt):
    result = Result(errno=29, props=[Prop("X-NSCP-WCAP-PREF-cn", HOSTILE),
                                     Prop("X-NSCP-WCAP-PREF-icsSet", "a\\;b$c")])
    _, body = render(result, fmt)
    if fmt == "text/calendar":
        assert icalendar.Calendar.from_ical(body)["X-NSCP-WCAP-ERRNO"] == "29"
    elif fmt == "text/xml":
        assert parse_xml(body).findtext("iCal/X-NSCP-WCAP-PREF-cn").startswith("a</script>")
    elif fmt == "text/json":
        ical = parse_json(body)["iCalendar"]["iCal"][0]
        assert ical["X-NSCP-WCAP-ERRNO"] == 29
        assert ical["X-NSCP-WCAP-PREF-cn"].startswith("a</script>")
        assert ical["X-NSCP-WCAP-PREF-icsSet"] == "a\\;b$c"
    else:
        values = run_js(body.decode())
        assert values["errno"] == 29 and values["props"]["X-NSCP-WCAP-PREF-cn"].startswith("a</script>")


def test_fetch_layout_matches_manual_example():
    """Calprops, then components, then the errno, as in the manual's
    fetchcomponents_by_range example 1 (compared at the VCALENDAR level)."""
    text = manual("fetchcomponents_by_range.ical.txt")
    top, depth = [], 0
    for line in text.splitlines():
        if line.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                top.append(line)
        elif line.startswith("END:"):
            depth -= 1
        elif depth == 1 and re.match(r"[A-Z][A-Z0-9-]*[:;]", line):
            top.append(line)
    props = [Prop(*l.split(":", 1)) for l in top if l.startswith("X-NSCP-CALPROPS")]
    result = Result(calendars=[CalendarLayer("jdoe", props, [event(summary="eventA"), todo()])])
    ours = [l for l in ical_lines(render(result, "text/calendar")[1])[1:-1]]
    ours_top, depth = [], 0
    for line in ours:
        if line.startswith("BEGIN:"):
            depth += 1
            if depth == 1:
                ours_top.append(line)
        elif line.startswith("END:"):
            depth -= 1
        elif depth == 0:
            ours_top.append(line)
    strip = lambda lines: [l for l in lines if not l.startswith(("PRODID", "METHOD", "VERSION"))]
    assert strip(ours_top) == strip(top)
