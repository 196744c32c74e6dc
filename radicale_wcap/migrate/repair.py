"""The old server's components made into this server's calendar objects, one per UID.

What a WCAP fetch adds for its clients is taken off again, so that what is stored is
what the old server stored:

* times come in UTC with ``X-NSCP-DTSTART-TZID`` (``-DTEND-``, ``-DUE-``) naming the
  zone they were stored in: they go back into that zone (``DTSTART;TZID=...``), with
  the master's ``RECURRENCE-ID``, ``EXDATE`` and ``RDATE`` of a zoned series, and a
  VTIMEZONE for each zone used;
* the address decorations of ``emailorcalid`` (``X-S1CS-CALID``, ``X-S1CS-EMAIL``) and
  6.x's scheduling engine state (``X-NSCP-TOMBSTONE``, ``X-NSCP-ONGOING``,
  ``X-NSCP-ORIGINAL-DTSTART``, ``X-NSCP-GSE-COMPONENT-STATE``, ``X-NSCP-ORGANIZER-*``
  and ``X-NSCP-ATTENDEE-GSE-STATUS`` parameters) are dropped.

What 6.x-era servers send that RFC 5545 does not allow is repaired where the meaning
is clear, and each repair is named in the report: a content line broken in two
without the fold's space (the manual's own ``ORGANIZER;SENT-BY=...`` examples) is
joined; WCAP 1.0's ``SEQ`` and ``DESC`` become ``SEQUENCE`` and ``DESCRIPTION``; an
organizer or attendee given as a bare user id gets the user's mail address when it
is known (``X-NSCP-ORGANIZER-EMAIL``, the migrated users' ``mail``); an empty
ORGANIZER is dropped. Anything else is left for the store to accept or refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from radicale_wcap import timezones

from .answer import split_line

_FOLD = re.compile(r"\r?\n[ \t]")
_LINE_START = re.compile(r"[A-Za-z0-9-]+[;:]")
_UTC_STAMP = re.compile(r"(\d{8}T\d{6})Z\Z")
RENAMED = {"SEQ": "SEQUENCE", "DESC": "DESCRIPTION"}
DROPPED = {"X-NSCP-TOMBSTONE", "X-NSCP-ONGOING", "X-NSCP-ORIGINAL-DTSTART",
           "X-NSCP-GSE-COMPONENT-STATE", "X-NSCP-ORGANIZER-EMAIL", "X-NSCP-DTSTART-TZID",
           "X-NSCP-DTEND-TZID", "X-NSCP-DUE-TZID"}
DROPPED_PARAMS = {"X-S1CS-CALID", "X-S1CS-EMAIL", "X-NSCP-ORGANIZER-UID",
                  "X-NSCP-ORGANIZER-SENT-BY-UID", "X-NSCP-ATTENDEE-GSE-STATUS"}
ZONE_HINTS = {"DTSTART": "X-NSCP-DTSTART-TZID", "DTEND": "X-NSCP-DTEND-TZID",
              "DUE": "X-NSCP-DUE-TZID"}
FOLLOW_START = ("RECURRENCE-ID", "EXDATE", "RDATE")
KINDS = ("VEVENT", "VTODO", "VJOURNAL")


@dataclass
class CalendarObject:
    uid: str
    text: str                      # a VCALENDAR with the UID's components and zones
    repairs: List[str] = field(default_factory=list)
    has_master: bool = True


@dataclass
class Refusal:
    uid: str
    reason: str


@dataclass
class _Component:
    kind: str
    lines: List[str]
    children: List[List[str]] = field(default_factory=list)


def _logical_lines(text: str, repairs: List[str]) -> List[str]:
    lines: List[str] = []
    for line in _FOLD.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        if lines and not _LINE_START.match(line):
            lines[-1] += line
            if "joined a content line broken without a fold" not in repairs:
                repairs.append("joined a content line broken without a fold")
            continue
        lines.append(line)
    return lines


def _components(lines: List[str]) -> Tuple[List[_Component], Dict[str, List[str]]]:
    """Top-level items and the VTIMEZONE texts by TZID."""
    items: List[_Component] = []
    zones: Dict[str, List[str]] = {}
    stack: List[Tuple[str, List[str]]] = []
    for line in lines:
        name, _, value = split_line(line)
        upper = name.upper()
        if upper == "BEGIN":
            stack.append((value.strip().upper(), [line]))
            continue
        if not stack:
            continue
        stack[-1][1].append(line)
        if upper != "END":
            continue
        kind, block = stack.pop()
        if kind == "VCALENDAR":
            continue
        parent = stack[-1][0] if stack else None
        if parent not in (None, "VCALENDAR"):
            stack[-1][1].extend(block)
        elif kind == "VTIMEZONE":
            tzid = next((split_line(b)[2].strip() for b in block
                         if split_line(b)[0].upper() == "TZID"), "")
            if tzid:
                zones[tzid] = block
        elif kind in KINDS:
            items.append(_Component(kind, block))
    return items, zones


def _params(params: str) -> List[str]:
    out, current, quoted = [], [], False
    for char in params:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        out.append("".join(current))
    return [p for p in out if p]


def _local(value: str, tzid: str) -> Optional[str]:
    found = _UTC_STAMP.match(value.strip())
    if not found:
        return None
    instant = dt.datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(
        tzinfo=dt.timezone.utc)
    return timezones.from_utc(instant, tzid).strftime("%Y%m%dT%H%M%S")


def _rezone(name: str, params: List[str], value: str, tzid: str) -> Tuple[List[str], str]:
    parts = value.split(",")
    local = [_local(p, tzid) for p in parts]
    if any(x is None for x in local) or any(p.upper().startswith("TZID=") for p in params):
        return params, value
    return params + ["TZID=%s" % tzid], ",".join(local)


def _address(value: str, params: List[str], emails: Dict[str, str], fallback: str
             ) -> Optional[str]:
    if ":" in value:
        return value
    if not value.strip():
        return "mailto:" + fallback if fallback else None
    mail = emails.get(value.strip()) or fallback
    return "mailto:" + mail if mail else value


def _clean(component: _Component, emails: Dict[str, str], repairs: List[str],
           zones_used: set) -> Tuple[str, List[str], bool]:
    """(uid, lines, is master) of one item with the fetch's decorations taken off."""
    hints: Dict[str, str] = {}
    depth = 0
    for line in component.lines:
        name, _, value = split_line(line)
        upper = name.upper()
        depth += 1 if upper == "BEGIN" else -1 if upper == "END" else 0
        if depth == 1 and (upper in ZONE_HINTS.values() or upper == "X-NSCP-ORGANIZER-EMAIL"):
            hints[upper] = value.strip()
    start_zone = hints.get("X-NSCP-DTSTART-TZID", "")
    uid, master, out, depth = "", True, [], 0
    for line in component.lines:
        name, params_text, value = split_line(line)
        upper = name.upper()
        if upper in ("BEGIN", "END"):
            depth += 1 if upper == "BEGIN" else -1
            out.append(line)
            continue
        if upper in DROPPED:
            continue
        if upper in RENAMED:
            repairs.append("%s renamed %s" % (upper, RENAMED[upper]))
            name = upper = RENAMED[upper]
        params = [p for p in _params(params_text)
                  if p.split("=", 1)[0].upper() not in DROPPED_PARAMS]
        if depth == 1:
            if upper == "UID":
                uid = value.strip()
            elif upper == "RECURRENCE-ID":
                master = False
            zone = hints.get(ZONE_HINTS.get(upper, ""), "") or (
                start_zone if upper in FOLLOW_START else "")
            if zone and timezones.is_valid_tzid(zone):
                params, new_value = _rezone(upper, params, value, zone)
                if new_value != value:
                    zones_used.add(zone)
                value = new_value
            if upper in ("ORGANIZER", "ATTENDEE"):
                fixed = _address(value, params, emails,
                                 hints.get("X-NSCP-ORGANIZER-EMAIL", "")
                                 if upper == "ORGANIZER" else "")
                if fixed is None:
                    repairs.append("empty %s dropped" % upper)
                    continue
                if fixed != value:
                    repairs.append("%s %s given its mail address" % (upper, value.strip()))
                value = fixed
        out.append("%s%s:%s" % (name, "".join(";" + p for p in params), value))
    return uid, out, master


def calendar_objects(text: str, emails: Optional[Dict[str, str]] = None
                     ) -> Tuple[List[CalendarObject], List[Refusal]]:
    """The calendar objects of a fetch's (or a file's) components, grouped by UID."""
    emails = emails or {}
    file_repairs: List[str] = []
    items, zones = _components(_logical_lines(text, file_repairs))
    groups: Dict[str, List[Tuple[List[str], bool]]] = {}
    notes: Dict[str, List[str]] = {}
    used: Dict[str, set] = {}
    refused: List[Refusal] = []
    for component in items:
        repairs: List[str] = []
        zones_used: set = set()
        uid, lines, master = _clean(component, emails, repairs, zones_used)
        if not uid:
            refused.append(Refusal("", "a %s without UID" % component.kind))
            continue
        groups.setdefault(uid, []).append((lines, master))
        notes.setdefault(uid, []).extend(r for r in repairs if r not in notes[uid])
        used.setdefault(uid, set()).update(zones_used)
        for line in lines:
            for tzid in re.findall(r";TZID=\"?([^;:\"]+)", line):
                used[uid].add(tzid)
    objects = []
    for uid, parts in groups.items():
        body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//radicale_wcap//migrate//EN"]
        for tzid in sorted(used[uid]):
            if tzid in zones:
                body += zones[tzid]
            elif timezones.is_valid_tzid(tzid):
                body += timezones.vtimezone_text(tzid).rstrip("\r\n").split("\r\n")
        for lines, _ in parts:
            body += lines
        body.append("END:VCALENDAR")
        objects.append(CalendarObject(uid, "\r\n".join(body) + "\r\n",
                                      file_repairs + notes[uid],
                                      any(master for _, master in parts)))
    return objects, refused
