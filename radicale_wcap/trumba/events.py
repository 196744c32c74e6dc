"""A feed's checked VEVENTs grouped into storable events: one VCALENDAR per UID
(master plus its RECURRENCE-ID overrides, as CalDAV wants them in ONE resource),
with the VTIMEZONEs its TZIDs need and a fingerprint to recognise it next time.

* Duplicate UID (same UID and RECURRENCE-ID twice): the first one is imported, the
  later one is rejected with 2102.  Overrides of a rejected master are rejected
  with it.
* An event over the limits of one calendar object (``limits.py``: components,
  lines, bytes) is rejected with 2102 before vobject parses it; vobject is the
  final gate on each event's serialized text.
* The fingerprint covers the events' properties (order-, folding-, line-end- and
  quoting-independent) except DTSTAMP, and not the VTIMEZONE definitions
  (regenerated from tzdata, they would flag every event as modified after a tzdata
  update); the TZIDs themselves are covered.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Container, Iterator

import dateutil.tz
import vobject

from radicale_wcap.ical_text import fold
from radicale_wcap.limits import ItemLimits, ItemOverLimits
from radicale_wcap.timezones import vtimezone
from radicale_wcap.trumba.checks import Rejected, Zones, check_vevent
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.lexer import Component, excerpt
from radicale_wcap.trumba.report import Message

logger = logging.getLogger("radicale.wcap.trumba.feed")

PRODID = "-//radicale_wcap//Trumba import//EN"


@dataclass
class FeedEvent:
    """Everything stored under one UID: ``ical`` is a complete VCALENDAR."""

    uid: str
    line: int
    ical: str
    fingerprint: str
    messages: list[Message] = field(default_factory=list)


def _recurrence_key(comp: Component) -> tuple[str, str] | None:
    rid = comp.get("RECURRENCE-ID")
    return None if rid is None else (rid.param("TZID") or "", rid.value)


def _tzids(comp: Component) -> set[str]:
    found = {tzid for cl in comp.lines if (tzid := cl.param("TZID")) is not None}
    for child in comp.children:
        found |= _tzids(child)
    return found


def _vtimezone_lines(tzid: str, zones: Zones) -> list[str]:
    if tzid in zones.defined:
        return list(zones.defined[tzid].text_lines())
    return _generated_vtimezone(tzid)


_VTIMEZONE_CACHE: dict[str, list[str]] = {}


def _generated_vtimezone(tzid: str) -> list[str]:
    """VTIMEZONE lines for an IANA zone, from radicale_wcap.timezones where it has one."""
    if tzid not in _VTIMEZONE_CACHE:
        try:
            obj = vtimezone(tzid)
        except Exception:  # UnknownTimezone: a zone zoneinfo loads, not in its list
            obj = _own_vtimezone(tzid)
        if obj is None:
            # A TZID nobody defines, on a property the feed keeps as it is (an X- or
            # unknown one): no VTIMEZONE to add; where a date needs it, the item's own
            # check refuses that event (2102), the feed goes on.
            _VTIMEZONE_CACHE[tzid] = []
            return []
        if hasattr(obj, "serialize"):
            obj = obj.serialize()
        elif hasattr(obj, "to_ical"):
            obj = obj.to_ical()
        if isinstance(obj, bytes):
            obj = obj.decode("utf-8")
        unfolded = re.sub(r"\r?\n[ \t]", "", str(obj))
        lines = [line for line in unfolded.splitlines() if line.strip()]
        begin = lines.index("BEGIN:VTIMEZONE")
        end = len(lines) - lines[::-1].index("END:VTIMEZONE")
        _VTIMEZONE_CACHE[tzid] = lines[begin:end]
    return _VTIMEZONE_CACHE[tzid]


def _own_vtimezone(tzid: str):
    """vobject's rendering of a zone ``timezones`` does not offer but zoneinfo loads
    (``checks.iana_zone``: ``Factory``, ``posix/...``)."""
    tzinfo = dateutil.tz.gettz(tzid) if tzid else None
    if tzinfo is None:
        return None
    component = vobject.icalendar.TimezoneComponent(tzinfo)
    component.tzid.value = tzid
    return component


def _serialize(group: list[Component], zones: Zones, calendar: Component) -> str:
    prodid = calendar.get("PRODID")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0",
             f"PRODID:{prodid.value if prodid else PRODID}"]
    calscale = calendar.get("CALSCALE")
    if calscale is not None:
        lines.append(calscale.text())
    tzids: set[str] = set()
    for comp in group:
        tzids |= _tzids(comp)
    for tzid in sorted(tzids):
        lines.extend(_vtimezone_lines(tzid, zones))
    for comp in group:
        lines.extend(comp.text_lines())
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def vobject_problem(lines: Iterator[str]) -> str | None:
    """Why vobject (hence Radicale) would refuse these lines, or None.

    The final gate behind the checks above.  Events are parsed without their
    TZID parameters and each VTIMEZONE once on its own: parsing every event
    with its VTIMEZONEs costs vobject ~7 ms an event (tzinfo comparisons),
    which a 5000-event feed can not afford; the TZIDs were checked already.
    """
    text = "".join(f"{line}\r\n" for line in
                   ("BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", *lines, "END:VCALENDAR"))
    try:
        vobject.readOne(text)
    except Exception as exc:  # vobject raises many types; any means "not storable"
        return excerpt(str(exc), 120)
    return None


def _fingerprint(group: list[Component]) -> str:
    def order(comp: Component) -> tuple[int, tuple[str, str]]:
        key = _recurrence_key(comp)
        return (0, ("", "")) if key is None else (1, key)
    text = "\n\n".join(comp.canonical(skip=frozenset({"DTSTAMP"}))
                       for comp in sorted(group, key=order))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def collect_events(vevents: list[Component], zones: Zones, cancel: bool,
                   calendar: Component, known_fingerprints: Container[str],
                   limits: ItemLimits
                   ) -> tuple[list[FeedEvent], list[Message], list[Message]]:
    """(storable events, messages tied to no stored event, one rejection per VEVENT
    not imported)."""
    events: list[FeedEvent] = []
    untied: list[Message] = []
    rejected_events: list[Message] = []
    groups: dict[str, list[Component]] = {}
    first_line: dict[tuple[str, tuple[str, str] | None], int] = {}
    failed_masters: dict[str, tuple[Message, int]] = {}  # uid -> (why, master's line)
    warnings: dict[int, list[Message]] = {}  # by id(component)

    def reject(comp: Component, uid: str | None, code: Code, detail: str,
               line: int | None = None) -> Message:
        # ``line``: the property at fault (a DTSTART's 2103 names its own line, so
        # that the sender can find it); else the line the event begins on.
        message = Message(code, uid=uid, line=line or comp.line,
                          detail=f"Event not imported: {detail}")
        rejected_events.append(message)
        return message

    for comp in vevents:
        uid_line = comp.get("UID")
        uid = uid_line.value if uid_line is not None and uid_line.value.strip() else None
        try:
            check_vevent(comp, zones, cancel)
        except Rejected as rejected:
            where = f"line {rejected.line}: " if rejected.line else ""
            message = reject(comp, uid, rejected.code, where + rejected.detail, rejected.line)
            if uid is not None and comp.get("RECURRENCE-ID") is None:
                failed_masters.setdefault(uid, (message, comp.line))
            untied.extend(Message(c, uid=uid, line=ln, detail=d) for c, ln, d in comp.warnings)
            continue
        warnings[id(comp)] = [Message(c, uid=uid, line=ln, detail=d) for c, ln, d in comp.warnings]
        key = (uid, _recurrence_key(comp))
        if key in first_line:
            what = "UID" if key[1] is None else "UID and RECURRENCE-ID"
            reject(comp, uid, Code.CONTENT_LINE_INVALID,
                   f"duplicate {what}; the event on line {first_line[key]} is used")
            untied.extend(warnings.pop(id(comp)))
            continue
        first_line[key] = comp.line
        groups.setdefault(uid, []).append(comp)

    for uid, group in groups.items():
        messages = sorted((m for comp in group for m in warnings[id(comp)]),
                          key=lambda m: m.line or 0)
        has_master = any(_recurrence_key(comp) is None for comp in group)
        if uid in failed_masters and not has_master:
            cause, master_line = failed_masters[uid]
            for comp in group:
                reject(comp, uid, cause.code, f"its master event (line {master_line}) was not imported")
            untied.extend(messages)
            continue
        fingerprint = _fingerprint(group)
        ical = _serialize(group, zones, calendar)
        try:
            limits.check_text(ical)
            problem = None
        except ItemOverLimits as e:
            problem = f"{e}, limit of this server"
        if problem is None and fingerprint not in known_fingerprints:
            problem = vobject_problem(
                line for comp in group for line in comp.text_lines(("TZID",)))
        if problem:
            logger.info("feed event %r not storable: %s", uid, problem)
            for comp in group:
                reject(comp, uid, Code.CONTENT_LINE_INVALID, f"not storable ({problem})")
            untied.extend(messages)
            continue
        line = min(comp.line for comp in group)
        events.append(FeedEvent(uid, line, ical, fingerprint, messages))
    return events, untied, rejected_events
