"""get_all_timezones (Table 7-26): a VTIMEZONE for every IANA zone the server knows,
and, for text/js, the manual's ``timezoneList`` of Calendar Express ``TZ`` entries.

Lightning takes every ``VTIMEZONE`` with a ``TZID`` from this answer as the set of
"server timezones" it may name in ``tzid=`` and look up for ``X-NSCP-DTSTART-TZID``
(docs/wcap-clients.md#timezones-answer), so the list is `timezones.all_tzids()` and each
zone is real STANDARD/DAYLIGHT data from `radicale_wcap.timezones`.

``dtstart``/``dtend`` select the manual's "crossover dates", the instants a zone
enters and leaves daylight time (`timezones.crossovers`), which the answer carries in
``Result.timezone_list``: text/js prints them as ``timezoneList[i]=new TZ(id, std name,
dst name, std offset, dst offset, new Array(dates))`` (manual Example 2); text/calendar
and text/xml, whose manual example has no crossover data, print the VTIMEZONEs alone,
the same for any range. 0 or absent is the first (1987) or last (2087) known year, and
a range is clamped to those years.

The range is taken as the instants [dtstart, dtend), not as whole years: the manual's
only example, "limited to the years from mid-1998 to 2006", starts with the October
1998 end of daylight time and not with its April start, which only the instants give
(its "years within the range" then reads as the range's own span). The table asks for
Z date-times; a floating one is taken, as by every command, in ``tzid`` or the server's
default zone (`params.parse_params`), a date-only one as its midnight UTC. dtend before
dtstart, or a malformed value, is errno 24 GET_ALL_TIMEZONES_FAILED.

``tzid`` (not in the manual's table; the later servers accept it) asks for one zone;
an unknown one is errno 24.

The manual's example prefixes the zones with a calendar's X-NSCP-CALPROPS-* lines;
they describe no calendar the request named and are left out.
"""

from __future__ import annotations

import datetime as dt
import functools

import vobject

from radicale_wcap import timezones

from ..errors import WcapErrno, WcapError
from ..render import prerender
from ..result import Result
from . import handler


@functools.lru_cache(maxsize=1)
def _all_zones() -> tuple:
    # Parsing ~600 zones takes seconds: once per process. The renderers only read
    # components, so sharing them between answers is safe. Without vobject's native
    # values (its tzinfo for each zone was 7 of the 12 s) every renderer lays out the
    # same text.
    calendar = vobject.readOne(timezones.vtimezones_calendar(), transform=False)
    return tuple(calendar.contents.get("vtimezone", []))


@functools.lru_cache(maxsize=4)
def _laid_out(fmt_out: str) -> tuple:
    # Laying the zones out again took 4 s (text/xml) and 5 s (text/calendar) of CPU on
    # every request, which any session could repeat; the answer never changes. One entry
    # per format that prints VTIMEZONEs.
    return tuple(prerender(zone, fmt_out, brief=False) for zone in _all_zones())


def _instant(value) -> dt.datetime | None:
    """A parsed dtstart/dtend (None for 0 or absent; aware datetime; date) as an
    aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


@handler("get_all_timezones")
def get_all_timezones(ctx, params) -> Result:
    start, end = _instant(params.get("dtstart")), _instant(params.get("dtend"))
    if start is not None and end is not None and end < start:
        raise WcapError(WcapErrno.GET_ALL_TIMEZONES_FAILED, "dtend before dtstart")
    tzid = params.get("tzid")
    if tzid:
        tzid = timezones.normalize_tzid(tzid)
        return Result(components=[timezones.vtimezone(tzid)],
                      timezone_list=[timezones.crossovers(tzid, start, end)])
    if ctx.fmt_out == "text/js":
        # timezoneList is the text/js form of the zones (its renderer skips VTIMEZONEs),
        # and only text/js prints it: each format gets the one it shows.
        return Result(timezone_list=list(timezones.all_crossovers(start, end)))
    return Result(components=list(_laid_out(ctx.fmt_out)))
