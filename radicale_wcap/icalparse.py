"""Parsing calendar objects with each distinct VTIMEZONE parsed once per process.

vobject turns every VTIMEZONE it reads into a tzinfo and compares that with
UTC over twenty years of transitions before it registers the zone, 5 to 40 ms
each time. An item written by a client carries the VTIMEZONEs it uses, so a
10,000-event feed in three zones paid that 10,000 times, most of its import.

vobject resolves a TZID through its process-wide registry, where the first
definition of a TZID wins, whatever VTIMEZONE the item carries. So parsing
each distinct VTIMEZONE text once, and the rest of the item without it, gives
the same tree; the parsed zone is put back in, so the item serializes as
before.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import List

import vobject
from radicale import item as radicale_item

VTIMEZONE = re.compile(r"^BEGIN:VTIMEZONE\r?\n.*?^END:VTIMEZONE[ \t]*(?:\r?\n|\Z)",
                       re.MULTILINE | re.DOTALL | re.IGNORECASE)
MAX_ZONES = 256

# Per thread: serializing a parsed VTIMEZONE turns its DTSTART lines to text and
# back, so one zone object must not be serialized by two threads at once.
_local = threading.local()


def _zone(block: str):
    """The parsed, registered VTIMEZONE of ``block`` (None when it does not parse
    on its own)."""
    zones = getattr(_local, "zones", None)
    if zones is None:
        zones = _local.zones = OrderedDict()
    if block in zones:
        zones.move_to_end(block)
        return zones[block]
    try:
        parsed = radicale_item.read_components(block)
        zone = parsed[0] if len(parsed) == 1 and parsed[0].name == "VTIMEZONE" else None
        if zone is not None and not zone.isNative:
            # What a VCALENDAR's parse does to its VTIMEZONE children: register the
            # zone's tzinfo under its TZID (the first definition of a TZID wins).
            zone = zone.transformToNative()
    except Exception:
        zone = None
    zones[block] = zone
    while len(zones) > MAX_ZONES:
        zones.popitem(last=False)
    return zone


def read_components(text: str) -> List[object]:
    """``radicale.item.read_components`` with each distinct VTIMEZONE parsed once."""
    blocks = VTIMEZONE.findall(text)
    if not blocks:
        return radicale_item.read_components(text)
    zones = [_zone(block) for block in blocks]
    if any(zone is None for zone in zones):
        return radicale_item.read_components(text)
    components = radicale_item.read_components(VTIMEZONE.sub("", text))
    if len(components) != 1 or components[0].name != "VCALENDAR":
        return radicale_item.read_components(text)
    calendar = components[0]
    for zone in zones:
        # Shared within this thread, not copied: a copy cost as much as the parse.
        calendar.add(zone)
    return components


def read_one(text: str):
    """The one component of ``text`` (as ``Item.vobject_item`` reads it)."""
    components = read_components(text)
    if len(components) != 1:
        raise ValueError("expected one component, found %d" % len(components))
    return components[0]


def clone(vcal):
    """An independent copy: ``copy.deepcopy`` fails on the zone objects vobject keeps
    (they hold locks), so the copy goes through the text form."""
    return vobject.readOne(vcal.serialize())
