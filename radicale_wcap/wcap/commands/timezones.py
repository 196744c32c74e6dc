"""get_all_timezones (Table 7-26): a VTIMEZONE for every IANA zone the server knows.

Lightning takes every ``VTIMEZONE`` with a ``TZID`` from this answer as the set of
"server timezones" it may name in ``tzid=`` and look up for ``X-NSCP-DTSTART-TZID``
(wcap-clients.md §3.3), so the list is `timezones.all_tzids()` and each zone is
real STANDARD/DAYLIGHT data from `radicale_wcap.timezones`.

``dtstart``/``dtend`` select the manual's "crossover dates" of the Calendar Express
``TZ`` arrays, which nothing here produces: the VTIMEZONEs always cover the same
window, so both are accepted and ignored. ``tzid`` (not in the manual's table; the
later servers accept it) asks for one zone; an unknown one is errno 24.

The manual's example prefixes the zones with a calendar's X-NSCP-CALPROPS-* lines;
they describe no calendar the request named and are left out.
"""

from __future__ import annotations

import functools

import vobject

from radicale_wcap import timezones

from ..result import Result
from . import handler


@functools.lru_cache(maxsize=1)
def _all_zones() -> tuple:
    # Parsing ~600 zones takes seconds: once per process. The renderers only read
    # components, so sharing them between answers is safe.
    calendar = vobject.readOne(timezones.vtimezones_calendar())
    return tuple(calendar.contents.get("vtimezone", []))


@handler("get_all_timezones")
def get_all_timezones(ctx, params) -> Result:
    tzid = params.get("tzid")
    if tzid:
        return Result(components=[timezones.vtimezone(timezones.normalize_tzid(tzid))])
    return Result(components=list(_all_zones()))
