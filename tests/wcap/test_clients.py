"""WCAP driven the way each kind of real client drives it, in-process and against a
real server: its parameter order and encoding, and its way of reading the answer.

* Lightning (docs/wcap-clients.md#requests): ``encodeURIComponent`` values, fmt-out always
  sent, text/calendar read by an iCalendar parser, text/xml by a DOM parser.
* Clients written against Calendar Server 6.x / Oracle CS 7-8 (the WCapCal Android
  client, OpenSync's wcaptool): ``login.wcap?user=..&password=..`` without fmt-out,
  answers cut out of the text/calendar body with regexes.
* php-wcap-client: fmt-out=text/xml everywhere, ``id`` first, the base URL without a
  trailing ``/``, only summary/desc escaped, SimpleXML with ``//NAME`` xpaths per
  ``<iCal>``; export by POST with ``content-out`` and no fmt-out.
* Form-encoding clients (Java ``URLEncoder``, PHP ``urlencode``): ``+`` for a space.
* Oracle Convergence-style clients: fmt-out=text/json under ``/davserver/wcap/``,
  read with a JSON parser.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import TEST_PASSWORD, InProcessClient, add_user, make_instance
from tests.wcap.conftest import WcapAnswer


def enc(value: str) -> str:
    """encodeURIComponent (Lightning)."""
    return quote(value, safe="-_.!~*'()")


class Server:
    """One transport: ``client.request`` and the ``instance`` behind it."""

    def __init__(self, client, instance):
        self.client, self.instance = client, instance

    def user(self, name: str, **kw) -> str:
        if self.instance.directory.get(name) is None:
            add_user(self.instance, name, **kw)
        return name

    def get(self, url: str):
        return self.client.request("GET", url)

    def wcap(self, url: str, fmt: str) -> WcapAnswer:
        return WcapAnswer(fmt, self.get(url))

    def login(self, name: str) -> str:
        answer = self.wcap(f"/login.wcap?fmt-out=text%2Fcalendar&user={enc(name)}"
                           f"&password={enc(TEST_PASSWORD)}", "text/calendar")
        assert answer.errno == 0, answer.text
        return answer.value("X-NSCP-WCAP-SESSION-ID")


@pytest.fixture(params=["in-process", "live"])
def server(request, tmp_path):
    if request.param == "live":
        live = request.getfixturevalue("live")
        return Server(live.client, live.instance)
    from radicale_wcap.middleware import make_app
    instance = make_instance(str(tmp_path))
    return Server(InProcessClient(make_app(instance)), instance)


# ---------------------------------------------------------------- default format

def test_no_fmt_out_answers_text_calendar(server):
    """Clients written against Calendar Server 6.x / Oracle CS 7-8 rely on their
    default, text/calendar: OpenSync's wcaptool and WCapCal send login without fmt-out
    and read the id with a regex."""
    user = server.user("df.user")
    login = server.get(f"/login.wcap?user={user}&password={TEST_PASSWORD}")
    assert login.headers["content-type"] == "text/calendar; charset=utf-8"
    text = login.text
    sid = re.search(r"X-NSCP-WCAP-SESSION-ID:(\w+)", text).group(1)
    assert re.search(r"X-NSCP-WCAP-USER-ID:(\S+)", text).group(1) == user
    assert re.search(r"X-NSCP-WCAP-CALENDAR-ID:(\S+)", text).group(1) == user
    assert re.search(r"X-NSCP-WCAP-ERRNO:(-?\d+)", text).group(1) == "0"
    # the WCapCal cut: from the session id line to the user id line
    assert text.index("X-NSCP-WCAP-SESSION-ID:") < text.index("X-NSCP-WCAP-USER-ID:")
    version = server.get("/version.wcap").text
    assert int(re.search(r"X-NSCP-WCAPVERSION:(\d+)", version).group(1)) >= 3
    gettime = server.get(f"/gettime.wcap?id={sid}").text
    assert re.search(r"X-NSCP-WCAPTIME:\d{8}T\d{6}Z", gettime)
    # ids are letters and digits (clients cut them with \w+ or up to the line end) and
    # one sent back with the line end it was cut with still names the session
    assert re.fullmatch(r"[A-Za-z0-9]+", sid)
    again = server.get(f"/gettime.wcap?id={sid}%0D%0A").text
    assert re.search(r"X-NSCP-WCAP-ERRNO:(-?\d+)", again).group(1) == "0"


# ---------------------------------------------------------------- form encoding

def test_form_encoded_query_plus_is_a_space(server):
    """A client that builds its query with a form encoder sends ``+`` for a space and
    ``%2B`` for a plus; the stored event must read "Team meeting" and "C++" everywhere."""
    user = server.user("fe.user")
    sid = server.login(user)
    summary = quote_plus("Team meeting")            # Team+meeting
    desc = quote_plus("C++ review")                 # C%2B%2B+review
    stored = server.wcap(f"/storeevents.wcap?id={sid}&calid={user}&uid=fe-1"
                         f"&dtstart=20240116T090000Z&dtend=20240116T100000Z"
                         f"&summary={summary}&desc={desc}&fetch=1&fmt-out=text%2Fcalendar",
                         "text/calendar")
    assert stored.errno == 0, stored.text
    assert stored.value("SUMMARY") == "Team meeting"
    fetched = server.wcap(f"/fetchevents_by_id.wcap?id={sid}&calid={user}&uid=fe-1"
                          "&fmt-out=text%2Fxml", "text/xml")
    assert fetched.value("SUMMARY") == "Team meeting"
    assert fetched.value("DESCRIPTION") == "C++ review"
    # Lightning's encodeURIComponent means the same: %20 is a space, %2B a plus.
    again = server.wcap(f"/storeevents.wcap?appid=mozilla-calendar&id={sid}"
                        f"&summary={enc('A + B')}&fetch=1&fmt-out=text%2Fcalendar"
                        f"&uid=fe-1&calid={enc(user)}", "text/calendar")
    assert again.value("SUMMARY") == "A + B"


# ---------------------------------------------------------------- per-layer errors

FORMATS = ("text/calendar", "text/xml", "text/js", "text/json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_denied_layer_names_its_calendar(server, fmt):
    """fetchcomponents_by_range over calid=own;other, other denied (28): the denied
    layer names its calendar, so a client asks free/busy for the right one (what
    php-wcap-client and Lightning do on 28)."""
    own, other = server.user("pl.own"), server.user("pl.other")
    sid = server.login(own)
    answer = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&dtstart=20240101T000000Z"
                         f"&dtend=20240201T000000Z&fmt-out={enc(fmt)}"
                         f"&calid={own};{other}", fmt)
    if fmt == "text/calendar":
        # regex over the text, as the CS 6-era clients read it
        found = re.findall(r"^X-NSCP-CALPROPS-RELATIVE-CALID(;[^:\r\n]*)?:(.*)$",
                           answer.text.replace("\r\n", "\n"), re.M)
        assert [calid for _, calid in found] == [own, other]
        assert found[0][0] == "" and found[1][0] == ";X-NSCP-WCAP-ERRNO=28"
    elif fmt == "text/xml":
        layers = [(i.findtext("X-NSCP-CALPROPS-RELATIVE-CALID"), i.findtext("X-NSCP-WCAP-ERRNO"))
                  for i in answer.xml.iter("iCal")]
        assert layers == [(own, "0"), (other, "28")]
        denied = [i.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for i in answer.xml.iter("iCal")
                  if i.findtext("X-NSCP-WCAP-ERRNO") == "28"]
        freebusy = server.wcap(f"/get_freebusy.wcap?id={sid}&calid={';'.join(denied)}"
                               "&dtstart=20240101T000000Z&dtend=20240201T000000Z"
                               "&fmt-out=text%2Fxml", "text/xml")
        assert freebusy.errno == 0
        assert freebusy.value("X-NSCP-CALPROPS-RELATIVE-CALID") == other
    elif fmt == "text/json":
        assert [(i["X-NSCP-CALPROPS-RELATIVE-CALID"], i["X-NSCP-WCAP-ERRNO"])
                for i in answer.json["iCalendar"]["iCal"]] == [(own, 0), (other, 28)]
    else:
        assert [(c["calid"], c["errno"]) for c in answer.js["calprops"]] == [
            (own, 0), (other, 28)]


# ---------------------------------------------------------------- event time zones

LIGHTNING_TAIL = ("&replace=1&fetch=1&relativealarm=1&compressed=1&recurring=1&emailorcalid=1"
                  "&fmt-out=text%2Fcalendar&calid=")
CALDAV_EXPAND = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:prop><C:calendar-data><C:expand start="{0}" end="{1}"/></C:calendar-data></D:prop>
 <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="{0}" end="{1}"/></C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def _store_weekly_berlin(server, user: str, sid: str, uid: str) -> WcapAnswer:
    """Thunderbird's storeevents for a new weekly 09:00 Europe/Berlin meeting made in
    January: UTC times plus tzid, in Lightning's parameter order
    (docs/wcap-clients.md#lightning-store)."""
    return server.wcap(
        f"/storeevents.wcap?appid=mozilla-calendar&id={sid}"
        "&dtstart=20240116T080000Z&dtend=20240116T090000Z&isAllDay=0"
        f"&rrules=\"{enc('FREQ=WEEKLY')}\"&rdates=&exrules=&exdates="
        f"&summary={enc('Jour fixe')}&priority=0&icsClass=PUBLIC&status=0&transparent=0"
        "&alarmStart=&alarmPopup=&alarmEmails="
        f"&tzid={enc('Europe/Berlin')}&uid={uid}&storetype=1&mod=4&method=1"
        + LIGHTNING_TAIL + enc(user), "text/calendar")


def _wall_times(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if line.split(":")[0].split(";")[0] == name]


def test_weekly_berlin_meeting_stays_at_nine_in_summer(server):
    user = server.user("tz.user")
    sid = server.login(user)
    stored = _store_weekly_berlin(server, user, sid, "jour-fixe")
    assert stored.errno == 0, stored.text
    # the answer: Zulu with the event's zone named, as the manual's examples do
    assert stored.values("DTSTART") == ["20240116T080000Z"]
    assert stored.value("X-NSCP-DTSTART-TZID") == "Europe/Berlin"
    assert stored.value("X-NSCP-DTEND-TZID") == "Europe/Berlin"

    # CalDAV clients see a Berlin event, not a UTC one
    item = server.client.request("GET", f"/{user}/calendar/jour-fixe.ics", user=user)
    assert item.status == 200, item.status
    assert "DTSTART;TZID=Europe/Berlin:20240116T090000" in item.text
    assert "DTEND;TZID=Europe/Berlin:20240116T100000" in item.text
    assert "BEGIN:VTIMEZONE" in item.text and "TZID:Europe/Berlin" in item.text

    july = "dtstart=20240715T000000Z&dtend=20240722T000000Z"
    # WCAP expansion: 09:00 CEST is 07:00Z
    expanded = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&{july}&calid={user}"
                           "&fmt-out=text%2Fcalendar", "text/calendar")
    assert _wall_times(expanded.lines, "DTSTART") == ["DTSTART:20240716T070000Z"]
    assert expanded.value("X-NSCP-DTSTART-TZID") == "Europe/Berlin"
    xml = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&{july}&calid={user}"
                      "&fmt-out=text%2Fxml", "text/xml")
    assert xml.values("START") == ["20240716T070000Z"]
    assert xml.values("X-NSCP-DTSTART-TZID") == ["Europe/Berlin"]
    js = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&{july}&calid={user}"
                     "&fmt-out=text%2Fjson", "text/json")
    [july_event] = js.json["iCalendar"]["iCal"][0]["VEVENT"]
    assert (july_event["DTSTART"], july_event["X-NSCP-DTSTART-TZID"]) == (
        "20240716T070000Z", "Europe/Berlin")
    page = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&{july}&calid={user}"
                       "&fmt-out=text%2Fjs", "text/js")
    [entry] = page.js["event"]
    assert (entry["dtstart"], entry["tzid"]) == ("20240716T070000Z", "Europe/Berlin")
    local = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&{july}&calid={user}"
                        f"&tzidout={enc('Europe/Berlin')}&fmt-out=text%2Fcalendar",
                        "text/calendar")
    assert _wall_times(local.lines, "DTSTART") == [
        "DTSTART;TZID=Europe/Berlin:20240716T090000"]

    # CalDAV expand
    report = server.client.request(
        "REPORT", f"/{user}/calendar/",
        CALDAV_EXPAND.format("20240715T000000Z", "20240722T000000Z"), user=user,
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
    assert report.status == 207, report.text
    assert "DTSTART:20240716T070000Z" in report.text

    # free/busy
    busy = server.wcap(f"/get_freebusy.wcap?id={sid}&calid={user}&{july}&busyonly=1"
                       "&fmt-out=text%2Fxml", "text/xml")
    assert [fb.text for fb in busy.xml.iter("FB")] == ["20240716T070000Z/20240716T080000Z"]


def test_todo_due_keeps_its_zone(server):
    user = server.user("tz.todo")
    sid = server.login(user)
    stored = server.wcap(f"/storetodos.wcap?appid=mozilla-calendar&id={sid}"
                         "&dtstart=20240116T080000Z&due=20240716T150000Z&isAllDay=0"
                         f"&summary=Report&tzid={enc('Europe/Berlin')}&uid=td-1&storetype=1"
                         + LIGHTNING_TAIL + user, "text/calendar")
    assert stored.errno == 0, stored.text
    assert stored.values("DUE") == ["20240716T150000Z"]
    assert stored.value("X-NSCP-DUE-TZID") == "Europe/Berlin"
    item = server.client.request("GET", f"/{user}/calendar/td-1.ics", user=user)
    assert "DUE;TZID=Europe/Berlin:20240716T170000" in item.text


def test_utc_without_tzid_and_all_day_stay_as_sent(server):
    """No tzid: Zulu values stay UTC. isAllDay=1: dates stay dates, whatever tzid says."""
    user = server.user("tz.plain")
    sid = server.login(user)
    utc = server.wcap(f"/storeevents.wcap?id={sid}&dtstart=20240116T080000Z"
                      "&dtend=20240116T090000Z&uid=plain-1&summary=x" + LIGHTNING_TAIL + user,
                      "text/calendar")
    assert utc.errno == 0 and utc.values("X-NSCP-DTSTART-TZID") == []
    allday = server.wcap(f"/storeevents.wcap?id={sid}&dtstart=20240120&dtend=20240121"
                         f"&isAllDay=1&tzid={enc('America/New_York')}&uid=plain-2&summary=y"
                         + LIGHTNING_TAIL + user, "text/calendar")
    assert allday.errno == 0
    assert _wall_times(allday.lines, "DTSTART") == ["DTSTART;VALUE=DATE:20240120"]


# ---------------------------------------------------------------- WCapCal (Android)

def test_wcapcal_login_without_fmt_out_and_xml_export_by_form_post(server):
    """WCapCal (malebiha/WCapCal, connection/ThreadId.java, ThreadAgenda.java): its base
    URL has no trailing slash and it appends "/login.wcap?user=..&password=..": no
    fmt-out, values not encoded. It cuts the id out of the text/calendar answer between
    the last "X-NSCP-WCAP-SESSION-ID:" and "X-NSCP-WCAP-USER-ID:" and splits it on ":"
    (so the id keeps its line end), then POSTs a form to export.wcap with id, calid,
    dtstart=<today as yyyymmdd> and content-out=text/xml, and reads the answer with a DOM
    parser: X-NSCP-WCAP-ERRNO, then EVENT/SUMMARY/START/END as yyyyMMdd'T'HHmmss'Z'."""
    import datetime as dt
    from urllib.parse import urlencode
    from xml.dom import minidom

    user = server.user("wc.user")
    sid = server.login(user)
    today = dt.datetime.now(dt.timezone.utc).date()
    start = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(8), dt.timezone.utc)
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    end = (start + dt.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    server.wcap(f"/storeevents.wcap?id={sid}&calid={user}&uid=wc-1&dtstart={stamp}"
                f"&dtend={end}&summary=Cours&tzid={enc('Europe/Paris')}&fmt-out=text%2Fxml",
                "text/xml")

    base = "/wcap"                                    # "http://host/wcap", no slash
    login = server.get(f"{base}/login.wcap?user={user}&password={TEST_PASSWORD}")
    assert login.status == 200
    body = login.text
    cut = body[body.rindex("X-NSCP-WCAP-SESSION-ID:"):body.rindex("X-NSCP-WCAP-USER-ID:")]
    wcapcal_id = cut.split(":")[1]
    assert wcapcal_id.strip() and "%" not in wcapcal_id

    form = urlencode({"id": wcapcal_id, "calid": user, "dtstart": today.strftime("%Y%m%d"),
                      "content-out": "text/xml"})
    answer = server.client.request(
        "POST", f"{base}/export.wcap", form,
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 200
    document = minidom.parseString(answer.body)
    assert document.getElementsByTagName("X-NSCP-WCAP-ERRNO")[0].firstChild.data == "0"
    events = document.getElementsByTagName("EVENT")
    assert [e.getElementsByTagName("SUMMARY")[0].firstChild.data for e in events] == ["Cours"]
    when = events[0].getElementsByTagName("START")[0].firstChild.data
    assert dt.datetime.strptime(when, "%Y%m%dT%H%M%SZ") == start.replace(tzinfo=None)
    assert events[0].getElementsByTagName("END")[0].firstChild.data == end


def test_base_url_typed_with_a_trailing_slash(server):
    """WCapCal and php-wcap-client append "/" + command to the base URL; typed as
    "https://host/wcap/" (what Lightning needs) that is //login.wcap: still WCAP."""
    user = server.user("sl.user")
    for path in ("//login.wcap", "/wcap//login.wcap", "//davserver/wcap//login.wcap"):
        answer = server.get(f"{path}?user={user}&password={TEST_PASSWORD}")
        assert answer.status == 200, path
        assert "X-NSCP-WCAP-SESSION-ID:" in answer.text, path


# ---------------------------------------------------------------- Oracle CS 7/8 JSON

def _json(response) -> dict:
    """What a Convergence-style client does with an answer: JSON.parse, then the first
    iCal's errno."""
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/json")
    return json.loads(response.body)


def test_oracle_json_client_session(server):
    """A client written for Oracle Communications Calendar Server 7/8: the base path
    /davserver/wcap/, fmt-out=text/json on every command, answers read with a JSON
    parser (iCalendar.iCal[...], properties by name)."""
    user, peer = server.user("oj.user"), server.user("oj.peer")
    base = "/davserver/wcap/"
    login = _json(server.get(f"{base}login.wcap?user={user}&password={TEST_PASSWORD}"
                             "&fmt-out=text/json"))
    [ical] = login["iCalendar"]["iCal"]
    assert ical["X-NSCP-WCAP-ERRNO"] == 0
    sid, calid = ical["X-NSCP-WCAP-SESSION-ID"], ical["X-NSCP-WCAP-CALENDAR-ID"]
    assert ical["X-NSCP-WCAP-USER-ID"] == user

    stored = _json(server.get(
        f"{base}storeevents.wcap?id={sid}&calid={calid}&uid=oj-1&dtstart=20240716T070000Z"
        f"&dtend=20240716T080000Z&tzid={enc('Europe/Berlin')}&summary={enc('Réunion')}"
        f"&attendees={enc(f'PARTSTAT=NEEDS-ACTION^{peer}@example.com')}"
        "&fetch=1&emailorcalid=1&fmt-out=text/json"))
    [event] = stored["iCalendar"]["iCal"][0]["VEVENT"]
    assert event["SUMMARY"] == "Réunion" and event["X-NSCP-DTSTART-TZID"] == "Europe/Berlin"
    assert [a["value"] for a in event["ATTENDEE"]] == [f"mailto:{peer}@example.com"]

    props = _json(server.get(f"{base}get_calprops.wcap?id={sid}&calid={calid};{peer}"
                             "&fmt-out=text/json"))["iCalendar"]["iCal"]
    # the default ACL lets everyone read a calendar's properties (@^p^r^g)
    assert [(p["X-NSCP-CALPROPS-RELATIVE-CALID"], p["X-NSCP-WCAP-ERRNO"]) for p in props] == [
        (calid, 0), (peer, 0)]
    assert props[0]["X-NSCP-CALPROPS-PRIMARY-OWNER"] == user
    assert isinstance(props[0]["X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY"], list)

    fetched = _json(server.get(
        f"{base}fetchcomponents_by_range.wcap?id={sid}&calid={calid};{peer}"
        "&dtstart=20240715T000000Z&dtend=20240722T000000Z&fmt-out=text/json"))
    layers = fetched["iCalendar"]["iCal"]
    assert [(layer["X-NSCP-CALPROPS-RELATIVE-CALID"], layer["X-NSCP-WCAP-ERRNO"])
            for layer in layers] == [(calid, 0), (peer, 28)]
    assert [e["UID"] for e in layers[0]["VEVENT"]] == ["oj-1"]
    assert "VEVENT" not in layers[1]

    busy = _json(server.get(f"{base}get_freebusy.wcap?id={sid}&calid={calid}"
                            "&dtstart=20240715T000000Z&dtend=20240722T000000Z"
                            "&fmt-out=text/json"))
    [fb] = busy["iCalendar"]["iCal"][0]["VFREEBUSY"]
    assert fb["FREEBUSY"] == [{"value": "20240716T070000Z/20240716T080000Z", "FBTYPE": "BUSY"}]

    gone = _json(server.get(f"{base}deleteevents_by_id.wcap?id={sid}&calid={calid}&uid=oj-1"
                            "&rid=0&mod=4&fmt-out=text/json"))
    assert gone["iCalendar"]["iCal"][0]["X-NSCP-WCAP-ERRNO"] == 0
    out = _json(server.get(f"{base}logout.wcap?id={sid}&fmt-out=text/json"))
    assert out["iCalendar"]["iCal"][0]["X-NSCP-WCAP-ERRNO"] == -1
    dead = _json(server.get(f"{base}ping.wcap?id={sid}&fmt-out=text/json"))
    assert dead["iCalendar"]["iCal"][0]["X-NSCP-WCAP-ERRNO"] == 1


# ---------------------------------------------------------------- php-wcap-client

def _php_query(args: dict) -> str:
    """php-wcap-client's do_request: ``id`` first (empty before login), only summary and
    desc escaped (its transcode(): space, &, ", ', ?, CR, LF), every other value raw."""
    table = {" ": "%20", "&": "%26", '"': "%22", "'": "%27", "?": "%3F", "\n": "%0A",
             "\r": "%0D"}
    out = []
    for key, value in args.items():
        value = str(value)
        if key in ("summary", "desc"):
            value = "".join(table.get(ch, ch) for ch in value)
        out.append(f"{key}={value}")
    return "&".join(out)


def _xpath_field(element, name: str):
    """XmlWcapResponse::get_field: the first //NAME below ``element``, or False."""
    found = list(element.iter(name))
    return found[0].text if found else False


def test_php_wcap_client_session(server):
    """mqu/php-wcap-client (trunk/WcapClient.php): the base URL without a trailing slash
    plus "/<cmd>.wcap?", id first, text/xml everywhere, SimpleXML xpaths per <iCal>."""
    from defusedxml import ElementTree
    user, room = server.user("php.user"), server.user("php.room")
    base = "/wcap"

    def call(cmd, args, method="GET"):
        url = f"{base}/{cmd}.wcap?{_php_query(args)}"
        response = server.client.request(method, url)
        assert response.status == 200, response.status
        return ElementTree.fromstring(response.body)

    login = call("login", {"id": "", "fmt-out": "text/xml", "user": user,
                           "password": TEST_PASSWORD})
    assert _xpath_field(login, "X-NSCP-WCAP-ERRNO") == "0"
    sid = _xpath_field(login, "X-NSCP-WCAP-SESSION-ID")
    assert _xpath_field(login, "X-NSCP-WCAP-USER-ID") == user

    # store_event(): local times, its default tzid, summary through transcode()
    summary = "test wcap-client : n'est-il pas ? &"
    stored = call("storeevents", {"id": sid, "dtstart": "20100810T100000",
                                  "dtend": "20100810T110000", "summary": summary,
                                  "calid": user, "tzid": "Europe/Paris",
                                  "fmt-out": "text/xml"})
    assert _xpath_field(stored, "X-NSCP-WCAP-ERRNO") == "0"

    # fetchcomponents_by_range(): attrset=1, several calids, 28 -> free/busy for those
    icals = list(call("fetchcomponents_by_range", {
        "id": sid, "calid": f"{user};{room}", "dtstart": "20100809T000000Z",
        "dtend": "20100816T000000Z", "fmt-out": "text/xml", "attrset": 1}).iter("iCal"))
    assert [(_xpath_field(i, "X-NSCP-CALPROPS-RELATIVE-CALID"),
             _xpath_field(i, "X-NSCP-WCAP-ERRNO")) for i in icals] == [(user, "0"), (room, "28")]
    [event] = list(icals[0].iter("EVENT"))
    assert _xpath_field(event, "SUMMARY") == summary
    assert _xpath_field(event, "START") == "20100810T080000Z"   # 10:00 in Paris, CEST
    denied = [_xpath_field(i, "X-NSCP-CALPROPS-RELATIVE-CALID") for i in icals
              if _xpath_field(i, "X-NSCP-WCAP-ERRNO") == "28"]
    fb = call("get_freebusy", {"id": sid, "calid": ";".join(denied),
                               "dtstart": "20100809T000000Z", "dtend": "20100816T000000Z",
                               "tzid": "Europe/Paris", "tzidout": "Europe/Paris",
                               "fmt-out": "text/xml"})
    assert _xpath_field(fb, "X-NSCP-WCAP-ERRNO") == "0"
    for period in fb.iter("FB"):
        assert re.fullmatch(r"\d{8}T\d{6}Z?/\d{8}T\d{6}Z?", period.text)  # split('/')

    # export(): a POST whose arguments are all in the query, no fmt-out, read as XML
    exported = call("export", {"id": sid, "content-out": "text/xml", "calid": user,
                               "dtstart": 0, "dtend": 0}, method="POST")
    assert [_xpath_field(e, "UID") for e in exported.iter("EVENT")] != []
    assert _xpath_field(call("logout", {"id": sid, "fmt-out": "text/xml"}),
                        "X-NSCP-WCAP-ERRNO") == "-1"


def test_lightning_exception_and_deleted_instance_of_a_berlin_series(server):
    """Lightning moves one occurrence (mod=1, rid in UTC) and deletes another: both
    stay in the series' zone, and every door sees the same instances."""
    user = server.user("tz.exc")
    sid = server.login(user)
    assert _store_weekly_berlin(server, user, sid, "exc-1").errno == 0
    moved = server.wcap(
        f"/storeevents.wcap?appid=mozilla-calendar&id={sid}&dtstart=20240716T080000Z"
        f"&dtend=20240716T090000Z&summary=Moved&tzid={enc('Europe/Berlin')}&uid=exc-1"
        "&mod=1&rid=20240716T070000Z&method=1" + LIGHTNING_TAIL + user, "text/calendar")
    assert moved.errno == 0, moved.text
    deleted = server.wcap(f"/deleteevents_by_id.wcap?appid=mozilla-calendar&id={sid}"
                          f"&uid=exc-1&mod=1&rid=20240723T070000Z&fmt-out=text%2Fxml"
                          f"&calid={user}", "text/xml")
    assert deleted.errno == 0
    item = server.client.request("GET", f"/{user}/calendar/exc-1.ics", user=user).text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20240716T090000" in item
    assert "EXDATE;TZID=Europe/Berlin:20240723T090000" in item
    window = "dtstart=20240715T000000Z&dtend=20240801T000000Z"
    fetched = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&{window}&calid={user}"
                          "&fmt-out=text%2Fcalendar", "text/calendar")
    assert _wall_times(fetched.lines, "DTSTART") == ["DTSTART:20240716T080000Z",
                                                     "DTSTART:20240730T070000Z"]
    report = server.client.request(
        "REPORT", f"/{user}/calendar/",
        CALDAV_EXPAND.format("20240715T000000Z", "20240801T000000Z"), user=user,
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
    starts = re.findall(r"^DTSTART[^:\r\n]*:(\S+)", report.text, re.M)
    assert sorted(starts) == ["20240716T080000Z", "20240730T070000Z"]
