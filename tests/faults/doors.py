"""One request per door, as the fault tests send them over HTTP (no tests here).

Each write helper returns True only when the door acknowledged the write (the answer a
client would take as "stored"); `contents` reads a calendar back over CalDAV, so what
the tests compare is what any client would see.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Dict, Optional

from tests.conftest import TEST_PASSWORD

JSON = {"Content-Type": "application/json"}
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
QUERY = ("<?xml version='1.0' encoding='utf-8'?><C:calendar-query xmlns:D='DAV:' "
         "xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop><D:getetag/><C:calendar-data/>"
         "</D:prop><C:filter><C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'/>"
         "</C:comp-filter></C:filter></C:calendar-query>")
ERRNO = re.compile(r"X-NSCP-WCAP-ERRNO:(-?\d+)")


def vevent(uid: str, summary: str, day: int = 10) -> str:
    return ("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\n"
            "DTSTART:202506%02dT100000Z\r\nDTEND:202506%02dT110000Z\r\nSUMMARY:%s\r\n"
            "END:VEVENT\r\n" % (uid, day, day, summary))


def vcalendar(*events: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//radicale_wcap tests//faults//EN\r\n"
            + "".join(events) + "END:VCALENDAR\r\n")


def caldav_put(client, user: str, uid: str, summary: str, padding: int = 0) -> int:
    text = vcalendar(vevent(uid, summary + ("x" * padding if padding else "")))
    return client.request("PUT", "/%s/calendar/%s.ics" % (user, uid), text,
                          {"Content-Type": "text/calendar"}, user=user).status


def wcap_login(client, user: str, password: str = TEST_PASSWORD):
    """(errno, session id or None)."""
    r = client.request("GET", "/wcap/login.wcap?user=%s&password=%s&fmt-out=text/calendar"
                       % (user, urllib.parse.quote(password)))
    sid = re.search(r"X-NSCP-WCAP-SESSION-ID:(\w+)", r.text)
    return errno(r), sid.group(1) if sid else None


def errno(response) -> Optional[int]:
    found = ERRNO.search(response.text)
    return int(found.group(1)) if found else None


def wcap_store(client, sid: str, calid: str, uid: str, summary: str):
    return client.request(
        "GET", "/wcap/storeevents.wcap?id=%s&calid=%s&uid=%s&dtstart=20250612T090000Z"
        "&dtend=20250612T100000Z&summary=%s&fmt-out=text/calendar"
        % (sid, calid, uid, urllib.parse.quote(summary)))


def wcap_fetch(client, sid: str, calid: str):
    return client.request(
        "GET", "/wcap/fetchcomponents_by_range.wcap?id=%s&calid=%s&dtstart=20250101T000000Z"
        "&dtend=20251231T000000Z&fmt-out=text/calendar" % (sid, calid))


def feed_put(client, user: str, webname: str, events: Dict[str, str], delta: bool = True):
    body = vcalendar(*(vevent(uid, summary) for uid, summary in events.items()))
    return client.request("PUT", "/service/%s.ics%s" % (webname, "?delta=true" if delta else ""),
                          body.encode("utf-8"), user=user)


def json_post(client, key: str, title: str, calendar: Optional[str] = None):
    data = {"title": title, "starting_date": "2025-06-14", "starting_time": "09:00",
            "ending_time": "10:00", "timezone": "UTC"}
    if calendar:
        data["calendar"] = calendar
    return client.request("POST", "/restapi/v1/events", json.dumps(data),
                          dict(JSON, **{"x-api-key": key}))


def json_put(client, key: str, cal_item_id: int, title: str):
    return client.request("PUT", "/restapi/v1/events/%d" % cal_item_id,
                          json.dumps({"title": title}), dict(JSON, **{"x-api-key": key}))


def report(client, user: str):
    return client.request("REPORT", "/%s/calendar/" % user, QUERY,
                          {"Depth": "1", "Content-Type": "application/xml"}, user=user)


def contents(client, user: str) -> Dict[str, str]:
    """{UID: SUMMARY} of the user's calendar, as a CalDAV client reads it."""
    r = report(client, user)
    assert r.status == 207, (r.status, r.text[:500])
    found = {}
    for data in ET.fromstring(r.body).iter("{%s}calendar-data" % CALDAV_NS):
        text = data.text or ""
        uid = re.search(r"^UID:(.*?)\r?$", text, re.M).group(1)
        summary = re.search(r"^SUMMARY:(.*?)\r?$", text, re.M)
        found[uid] = summary.group(1) if summary else ""
    return found
