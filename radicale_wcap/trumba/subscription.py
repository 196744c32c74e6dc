"""``GET /service/<webname>.ics``: the calendar as one VCALENDAR (a subscription feed).

Every stored item is already a complete VCALENDAR serialized by vobject, so
its top-level components are cut out of the text instead of parsing each item
again: one VCALENDAR with every VEVENT and each VTIMEZONE once (by TZID), in
href order.  Items that hold no VEVENT (tasks, journals) are not part of an
event feed.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

PRODID = "-//radicale_wcap//Trumba subscription//EN"


def components(text: str) -> List[Tuple[str, str, List[str]]]:
    """(name, TZID or "", lines) of each component directly inside the VCALENDAR."""
    found = []
    depth, current, name, tzid = 0, [], "", ""
    for line in text.splitlines():
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                current, name, tzid = [], line[6:].strip().upper(), ""
        if depth >= 2:
            current.append(line)
            if depth == 2 and upper.startswith("TZID:"):
                tzid = line[5:]
        if upper.startswith("END:"):
            if depth == 2:
                found.append((name, tzid, current))
            depth -= 1
    return found


def render(items) -> str:
    """``items``: the calendar's event items, in href order."""
    zones: Dict[str, List[str]] = {}
    events: List[str] = []
    for item in items:
        for name, tzid, lines in components(item.serialize()):
            if name == "VEVENT":
                events.extend(lines)
            elif name == "VTIMEZONE" and tzid not in zones:
                zones[tzid] = lines
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:" + PRODID, "CALSCALE:GREGORIAN"]
    for lines in zones.values():
        out.extend(lines)
    out.extend(events)
    out.append("END:VCALENDAR")
    return "\r\n".join(out) + "\r\n"
