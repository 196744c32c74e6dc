"""Helpers shared by the door, apply and live tests (no tests here)."""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET

FEEDS = pathlib.Path(__file__).resolve().parent.parent / "data" / "feeds"
PATH = "/jdoe/calendar/"


def setup_calendar(instance, user="jdoe", webname="Campus", tz="UTC"):
    from tests.conftest import add_user
    if instance.directory.get(user) is None:
        add_user(instance, user, tz=tz)
    path = "/%s/calendar/" % user
    instance.registry.set_webname(path, webname)
    return instance.registry.get(path)


def event(uid, summary="Talk", start="20250110T100000Z", *extra):
    return ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20250101T000000Z",
            "DTSTART:" + start, "SUMMARY:" + summary, *extra, "END:VEVENT"]


def feed(*events, method=None):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    if method:
        lines.append("METHOD:" + method)
    for e in events:
        lines.extend(e)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def messages(response):
    """[(code, uid, line)] of the XML answer."""
    root = ET.fromstring(response.body)
    assert root.tag == "Response"
    return [(int(m.get("Code")), m.get("UID"), m.get("Line")) for m in root]


def codes(response):
    return [code for code, _, _ in messages(response)]


def stored(instance, path=PATH):
    """{uid: etag} of the calendar, from the (fresh) index."""
    from radicale_wcap.store import READ, SYSTEM
    with instance.store.reading(path, SYSTEM, READ) as calendar:
        return {uid: entry.etag for uid, entry in calendar.entries().items()}


def stored_texts(instance, path=PATH):
    from radicale_wcap.store import READ, SYSTEM
    with instance.store.reading(path, SYSTEM, READ) as calendar:
        return {item.uid: item.serialize() for item in calendar.items()}
