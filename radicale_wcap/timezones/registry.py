"""vobject's TZID registry filled from our VTIMEZONEs, never from pytz.

vobject resolves every TZID through one process-wide map in which the first
definition wins. A TZID met without its VTIMEZONE (a bare ``DTSTART;TZID=...``,
a broken VTIMEZONE) falls back to ``pytz.timezone``, and that pytz zone then
stands for the TZID for the rest of the process, also for items that carry
their own VTIMEZONE. pytz zones keep the offset of the instance they were
localized for, so dateutil's rrule, which Radicale's expand and free/busy use,
put every summer instance of a January Europe/Berlin series an hour off: which
test (or request) happened to come first decided the answer.

So the fallback registers the tzinfo of the zone database's VTIMEZONE
(``vtimezones.vtimezone``), the same rules we write into items; only a TZID we
have no zone for still goes to vobject's own lookup.
"""

from __future__ import annotations

import threading

from vobject import icalendar as vobject_icalendar

from radicale_wcap.timezones.lookup import is_valid_tzid
from radicale_wcap.timezones.vtimezones import vtimezone

_lock = threading.Lock()
_vobject_get_tzid = vobject_icalendar.getTzid


def _is_pytz(tzinfo) -> bool:
    return hasattr(tzinfo, "localize")


def _our_zone(tzid: str):
    """The tzinfo of our VTIMEZONE for *tzid*, registered (None: not a zone we know)."""
    if not is_valid_tzid(tzid):
        return None
    with _lock:
        registered = _vobject_get_tzid(tzid, False)
        if registered is None or _is_pytz(registered):
            # Parsing it inside a VCALENDAR registers it (get_tzid below says the TZID
            # is free while only pytz holds it).
            zone = vtimezone(tzid)
            registered = _vobject_get_tzid(tzid, False)
            if registered is None or _is_pytz(registered):
                registered = zone.gettzinfo()
                vobject_icalendar.registerTzid(tzid, registered)
        return registered


def get_tzid(tzid, smart=True):
    """vobject's ``getTzid``, where a pytz zone counts as no definition: a VTIMEZONE
    read later replaces it, and a lookup takes our VTIMEZONE instead."""
    registered = _vobject_get_tzid(tzid, False)
    if registered is not None and not _is_pytz(registered):
        return registered
    if not (smart and tzid):
        return None
    ours = _our_zone(str(tzid))
    if ours is not None:
        return ours
    return _vobject_get_tzid(tzid, smart)


def install() -> None:
    """Route vobject's TZID lookups through ``get_tzid`` (idempotent)."""
    vobject_icalendar.getTzid = get_tzid
