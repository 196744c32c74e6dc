"""IANA time zones: TZID validation (``lookup.py``), VTIMEZONE data (``vtimezones.py``)
and get_all_timezones' daylight crossovers (``daylight.py``), the last two from the
TZif files zoneinfo uses (``tzif.py``).

Used by WCAP ``get_all_timezones`` and for every TZID the server writes, so that
clients without their own zone database (and CalDAV clients reading our items) get
real STANDARD/DAYLIGHT rules.  This face is what the rest of the package imports.
Importing it routes vobject's TZID lookups to these zones instead of pytz
(``registry.py``): whatever was parsed first, a TZID means the same rules.
"""

from radicale_wcap.timezones.lookup import (UTC, UnknownTimezone, all_tzids, from_utc,
                                            get_zone, is_valid_tzid, normalize_tzid,
                                            to_utc)
from radicale_wcap.timezones.vtimezones import vtimezone, vtimezone_text, vtimezones_calendar
from radicale_wcap.timezones.daylight import (KNOWN_END, KNOWN_START, Crossovers,
                                              all_crossovers, crossovers)
from radicale_wcap.timezones import registry

registry.install()

__all__ = ["UTC", "UnknownTimezone", "all_tzids", "from_utc", "get_zone", "is_valid_tzid",
           "normalize_tzid", "to_utc", "vtimezone", "vtimezone_text", "vtimezones_calendar",
           "KNOWN_END", "KNOWN_START", "Crossovers", "all_crossovers", "crossovers"]
