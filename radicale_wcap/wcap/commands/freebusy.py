"""get_freebusy (Table 7-28): busy (and free) periods of calendars, one VFREEBUSY each.

* ``calid``: a list; ``mailto:addr`` resolves to that user's calendar (the [Q4] form
  Lightning's attendee dialog sends, wcap-clients.md §4.14); an unknown address or
  calendar is errno 29 in its layer, a denial (no ``f`` and no ``r``) is 28, and the
  other calendars are still answered (overall errno: 0 if any worked, else the first
  layer's).
* Events come from the index (`CalendarStore.items_in_range`), recurring ones are
  expanded with `recurrence.expand` inside the range, capped by the storage settings
  ``max_occurrences`` and ``recurrence_budget_seconds``.
* ``TRANSP:TRANSPARENT`` and ``STATUS:CANCELLED`` occurrences are left out (RFC 5545
  3.8.2.7 / the free/busy rules of RFC 4791 7.10); ``STATUS:TENTATIVE`` is
  ``BUSY-TENTATIVE``, one of the FBTYPEs Lightning maps. Overlapping periods are
  merged; busy time wins over tentative time.
* ``busyonly`` defaults to 1 ([Q4], see the table row); with 0 the gaps are ``FREE``.
* Periods are always UTC ``start/end``: RFC 5545 3.8.2.6 requires UTC in FREEBUSY, and
  Lightning splits each ``<FB>`` at ``/`` and parses both halves as DATE-TIME
  (wcap-clients.md §3.3), so ``tzidout`` does not apply to them.
* Each layer carries the calendar's properties when the user may read them (the
  manual's example prints them before the VFREEBUSY).
"""

from __future__ import annotations

import datetime as dt
import logging

import vobject
from dateutil import tz as dateutil_tz

from radicale_wcap import recurrence

from ..backend import require, resolve
from ..calprops import calprops_for
from ..errors import WcapErrno, WcapError
from ..params import zone
from ..result import CalendarLayer, Result
from . import handler

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
Period = tuple[dt.datetime, dt.datetime]


def _utc(value, tz: dt.tzinfo) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def fbtype_of(component) -> str | None:
    """FBTYPE of one occurrence, or None when it does not take time."""
    status = str(getattr(getattr(component, "status", None), "value", "") or "").upper()
    transp = str(getattr(getattr(component, "transp", None), "value", "") or "").upper()
    if status == "CANCELLED" or transp == "TRANSPARENT":
        return None
    return "BUSY-TENTATIVE" if status == "TENTATIVE" else "BUSY"


def merge(periods: list[Period]) -> list[Period]:
    """Union of periods, sorted; touching periods join."""
    out: list[Period] = []
    for start, end in sorted(periods):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(periods: list[Period], taken: list[Period]) -> list[Period]:
    """``periods`` minus ``taken`` (both merged)."""
    out: list[Period] = []
    for start, end in periods:
        cursor = start
        for t_start, t_end in taken:
            if t_end <= cursor or t_start >= end:
                continue
            if t_start > cursor:
                out.append((cursor, t_start))
            cursor = max(cursor, t_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def busy_periods(instance, collection, start: dt.datetime, end: dt.datetime,
                 floating_tz: str) -> dict[str, list[Period]]:
    """Merged periods by FBTYPE (BUSY, BUSY-TENTATIVE) of a collection in [start, end)."""
    settings = instance.settings
    max_count = settings.get("storage", "max_occurrences") or 10000
    budget = settings.get("storage", "recurrence_budget_seconds")
    tz = zone(floating_tz)
    found: dict[str, list[Period]] = {"BUSY": [], "BUSY-TENTATIVE": []}
    items = instance.store.items_in_range(collection, int(start.timestamp()),
                                          int(end.timestamp()) + 1, "VEVENT")
    for item in items:
        expansion = recurrence.expand(item.vobject_item, start, end, max_count=max_count,
                                      budget_s=budget, default_tz=floating_tz)
        if expansion.truncated:
            logger.info("free/busy of %s: expansion of %s truncated", collection.path,
                        item.href)
        for occurrence in expansion.occurrences:
            if occurrence.component.name.upper() != "VEVENT" or occurrence.start is None:
                continue
            fbtype = fbtype_of(occurrence.component)
            if fbtype is None:
                continue
            o_start = _utc(occurrence.start, tz)
            o_end = _utc(occurrence.end, tz) if occurrence.end is not None else o_start
            o_start, o_end = max(o_start, start), min(o_end, end)
            if o_start < o_end:
                found[fbtype].append((o_start, o_end))
    busy = merge(found["BUSY"])
    return {"BUSY": busy, "BUSY-TENTATIVE": subtract(merge(found["BUSY-TENTATIVE"]), busy)}


def vfreebusy(start: dt.datetime, end: dt.datetime, periods: dict[str, list[Period]],
              busyonly: bool):
    component = vobject.newFromBehavior("vfreebusy")
    # vobject serialises only dateutil's UTC as "Z" (see the brief's note).
    component.add("dtstart").value = start.replace(tzinfo=dateutil_tz.UTC)
    component.add("dtend").value = end.replace(tzinfo=dateutil_tz.UTC)
    rows = [(s, e, kind) for kind, spans in periods.items() for s, e in spans]
    if not busyonly:
        taken = merge([(s, e) for s, e, _ in rows])
        rows += [(s, e, "FREE") for s, e in subtract([(start, end)], taken)]
    for s, e, kind in sorted(rows):
        line = component.add("freebusy")
        # vobject's FREEBUSY behaviour holds native (start, end) pairs.
        line.value = [(s.replace(tzinfo=dateutil_tz.UTC), e.replace(tzinfo=dateutil_tz.UTC))]
        line.params["FBTYPE"] = [kind]
    return component


def freebusy_layer(ctx, params, requested: str, start: dt.datetime,
                   end: dt.datetime) -> CalendarLayer:
    instance = ctx.backend.instance
    try:
        calendar = resolve(ctx.backend, ctx.user, requested)
        require(calendar, "freebusy")
    except WcapError as e:
        logger.info("WCAP get_freebusy user=%r calid=%r: errno %d %s", ctx.user,
                    requested[:200], int(e.errno), e.detail)
        return CalendarLayer(requested, errno=e.errno)
    owner = instance.directory.get(calendar.record.owner)
    floating_tz = calendar.record.setting("tzid") or (owner.tz if owner else "") or \
        ctx.default_tzid
    with instance.store.reading(calendar.path) as collection:
        if collection is None:
            return CalendarLayer(requested, errno=WcapErrno.CALENDAR_DOES_NOT_EXIST)
        periods = busy_periods(instance, collection, start, end, floating_tz)
        props = calprops_for(instance, calendar, collection=collection) \
            if calendar.access.check("p", "r").allowed else []
    return CalendarLayer(requested, props,
                         [vfreebusy(start, end, periods, params["busyonly"])],
                         errno=WcapErrno.OK)


@handler("get_freebusy")
def get_freebusy(ctx, params) -> Result:
    tz = zone(params.get("tzid") or ctx.default_tzid)
    start = _utc(params["dtstart"], tz)
    end = _utc(params["dtend"], tz)
    if end <= start:
        raise WcapError(WcapErrno.GET_FREEBUSY_FAILED, "dtend is not after dtstart")
    calids = params.get("calid") or [ctx.user]
    layers = [freebusy_layer(ctx, params, c, start, end) for c in calids]
    errnos = [layer.errno for layer in layers]
    errno = WcapErrno.OK if WcapErrno.OK in errnos else errnos[0]
    return Result(errno=errno, calendars=layers)
