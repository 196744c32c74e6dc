"""What a source hands the migration: users, calendars with their properties, items.

Every source (an old WCAP server, export files, a CalDAV server) fills the same
records, so planning and writing do not know where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class UserEntry:
    uid: str
    mail: str = ""
    cn: str = ""
    tz: str = ""
    # Preferences as get_userprefs spells them (icsSubscribed is the subscriptions).
    prefs: Dict[str, str] = field(default_factory=dict)


@dataclass
class CalendarEntry:
    calid: str
    name: str = ""
    description: str = ""
    tzid: str = ""
    owner: str = ""
    owners: Optional[List[str]] = None   # None: the source does not say
    # ACE strings in the order stored (first match wins); None: keep this server's.
    aces: Optional[List[str]] = None
    double_booking: Optional[bool] = None
    categories: List[str] = field(default_factory=list)
    # False: the source does not know the properties (export files); keep this server's.
    props_known: bool = True


@dataclass
class SourceCalendar:
    """One calendar as read: its properties and its components' iCalendar text.

    ``complete``: the text holds every item (a full read), so an item this server has
    and the text lacks is not the source's; with ``--since`` only what changed came,
    and ``deleted`` names what the source deleted since then.
    """

    entry: CalendarEntry
    text: str = ""
    complete: bool = True
    deleted: List[str] = field(default_factory=list)
    error: Optional[str] = None
    read_seconds: float = 0.0


def split_values(values: List[str]) -> List[str]:
    """Values that 6.x lists "semicolon-separated" in one line and this server one a
    line, flattened."""
    out: List[str] = []
    for value in values:
        for part in value.replace(",", ";").split(";"):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def calendar_entry(group: Dict[str, List[str]]) -> Optional[CalendarEntry]:
    """A calendar's record from its ``X-NSCP-CALPROPS-*`` properties (None: no calid)."""
    def one(name: str) -> str:
        values = group.get(name) or [""]
        return values[0].strip()
    calid = one("X-NSCP-CALPROPS-RELATIVE-CALID")
    if not calid:
        return None
    aces: List[str] = []
    for value in group.get("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY", []):
        aces += [part.strip() for part in value.split(";") if part.strip()]
    double = group.get("X-S1CS-CALPROPS-ALLOW-DOUBLEBOOKING")
    return CalendarEntry(
        calid=calid, name=one("X-NSCP-CALPROPS-NAME"),
        description=one("X-NSCP-CALPROPS-DESCRIPTION"), tzid=one("X-NSCP-CALPROPS-TZID"),
        owner=one("X-NSCP-CALPROPS-PRIMARY-OWNER"),
        owners=split_values(group.get("X-NSCP-CALPROPS-OWNERS", [])),
        aces=aces if "X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY" in group else None,
        double_booking=(double[0].strip() == "1") if double else None,
        categories=split_values(group.get("X-NSCP-CALPROPS-CATEGORIES", [])))
