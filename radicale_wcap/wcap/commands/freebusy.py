"""get_freebusy (Table 7-28; [Q4] Table 7-19): busy (and free) periods of calendars, one
VFREEBUSY each.

* ``calid``: a list; ``mailto:addr`` resolves to that user's calendar (the [Q4] form
  Lightning's attendee dialog sends, docs/wcap-clients.md#freebusy-by-address); an unknown
  address or calendar is errno 29 in its layer, a denial (no ``f`` and no ``r``) is 28, and
  the other calendars are still answered (overall errno: 0 if any worked, else the first
  layer's).
* ``mail`` ([Q4]): each address is answered exactly as ``calid=mailto:addr`` (the
  user's default calendar, layer named ``mailto:addr``), so there is one resolution
  path and one set of errnos. [Q4] speaks of "all of the user's eligible calendars"
  (the FB-INCLUDE list of Calendar Server's LDAP), which has no counterpart here.
  ``calid`` and ``mail`` together answer both lists, calids first; the own calendar
  is the default only when neither is sent.
* The window, in the [63] order "if conflicting parameters are passed in, the duration
  parameter overrides the other two types":

  1. ``duration`` N (whole days, [Q4]'s "Integer", not an ISO 8601 duration):
     ``[dtstart, dtstart + N days)``, from now when there is no ``dtstart``; ``dtend``
     and ``freebusybegin``/``freebusyend`` are ignored.
  2. ``dtstart`` + ``dtend`` (the manual's only way, and what Lightning sends).
     Explicit times win over the relative offsets because they are what the client
     actually looked at.
  3. ``freebusybegin``/``freebusyend``: ``[now - begin days, now + end days)``.
     [Q4] describes them as offsets to the ics.conf settings of the same names, whose
     shipped value is 30; this server has no such settings, so the parameter *is* the
     offset and the one not sent takes that shipped 30.

  A lone ``dtstart`` (no ``dtend``, no ``duration``) does not make a window: with
  freebusybegin/freebusyend it is ignored, without them the request fails. With no
  way given at all the answer is errno 39, as it was while dtstart/dtend were
  required parameters. "Now" is ``ctx.now()`` (the dispatcher's clock), to the second.
* The window is capped at `MAX_WINDOW_DAYS` (errno 39 beyond it, for all three ways):
  every recurring event is expanded inside it, so an open-ended ``duration`` or a
  ten-year dtstart/dtend would let one GET expand years of occurrences per calendar.
  A year plus a day covers any scheduling view. The storage setting ``max_occurrences`` and the recurrence time
  budget still bound each item inside the window.
* Events come from the index (a store handle's `in_range`), recurring ones are
  expanded with `recurrence.expand` inside the range, capped by the storage settings
  ``max_occurrences`` and ``recurrence_budget_seconds``.
* ``TRANSP:TRANSPARENT`` and ``STATUS:CANCELLED`` occurrences are left out (RFC 5545
  3.8.2.7 / the free/busy rules of RFC 4791 7.10); ``STATUS:TENTATIVE`` is
  ``BUSY-TENTATIVE``, one of the FBTYPEs Lightning maps. Overlapping periods are
  merged; busy time wins over tentative time.
* ``busyonly`` defaults to 1 ([Q4], see the table row); with 0 the gaps are ``FREE``.
* ``tzidout`` applies to the VFREEBUSY's DTSTART/DTEND only: local time with
  ``TZID=<zone>``, as the fetch commands write times (`components.format_value`),
  plus ``X-NSCP-DTSTART-TZID``/``X-NSCP-DTEND-TZID`` naming the zone, because the
  text/xml layout (``<START>``/``<END>``) carries no parameters and would otherwise
  print a bare local time. A UTC name (``UTC``, ``GMT``, ``Z``, ``Zulu``) keeps ``Z``
  times. The periods are always UTC ``start/end``: RFC 5545 3.8.2.6 requires UTC in
  FREEBUSY, and Lightning splits each ``<FB>`` at ``/`` and parses both halves as
  DATE-TIME (docs/wcap-clients.md#freebusy-answer). A zone `timezones` does not list
  (``Factory``) is refused by the parameter parser: errno 39, before any work.
* Each layer carries the calendar's properties when the user may read them (the
  manual's example prints them before the VFREEBUSY).
"""

from __future__ import annotations

import datetime as dt
import logging

import vobject
from dateutil import tz as dateutil_tz

from radicale_wcap import recurrence

from radicale_wcap.store import FREEBUSY

from ..backend import reading, require, resolve
from ..calprops import calprops_for
from ..components import format_value
from ..errors import WcapErrno, WcapError
from ..params import zone
from ..result import CalendarLayer, Result
from . import handler

logger = logging.getLogger("radicale.wcap.wcap.commands.freebusy")

UTC = dt.timezone.utc
Period = tuple[dt.datetime, dt.datetime]

#: Longest free/busy window, in days, whichever way it is given.
MAX_WINDOW_DAYS = 366
#: ics.conf's shipped service.wcap.freebusybegin / freebusyend ([Q4] Table 7-19).
DEFAULT_OFFSET_DAYS = 30


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


def busy_periods(instance, handle, start: dt.datetime, end: dt.datetime,
                 floating_tz: str) -> dict[str, list[Period]]:
    """Merged periods by FBTYPE (BUSY, BUSY-TENTATIVE) of a calendar (a store handle)
    in [start, end)."""
    settings = instance.settings
    max_count = settings.get("storage", "max_occurrences") or 10000
    budget = settings.get("storage", "recurrence_budget_seconds")
    tz = zone(floating_tz)
    found: dict[str, list[Period]] = {"BUSY": [], "BUSY-TENTATIVE": []}
    items = handle.in_range(int(start.timestamp()), int(end.timestamp()) + 1, "VEVENT")
    for item in items:
        expansion = recurrence.expand(item.vobject_item, start, end, max_count=max_count,
                                      budget_s=budget, default_tz=floating_tz)
        if expansion.truncated:
            logger.info("free/busy of %s: expansion of %s truncated", handle.calid,
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


def _window_time(component, name: str, value: dt.datetime, tzidout: str | None) -> None:
    line = component.add(name)
    if tzidout is None:
        # vobject serialises only dateutil's UTC as "Z".
        line.value = value.replace(tzinfo=dateutil_tz.UTC)
        return
    text, params = format_value(value, tzidout)
    line.value, line.params = text, params
    line.isNative, line.encoded = False, True
    component.add(f"x-nscp-{name}-tzid").value = tzidout


def vfreebusy(start: dt.datetime, end: dt.datetime, periods: dict[str, list[Period]],
              busyonly: bool, tzidout: str | None = None):
    """``tzidout``: a zone for DTSTART/DTEND (None: UTC); periods are UTC regardless."""
    component = vobject.newFromBehavior("vfreebusy")
    _window_time(component, "dtstart", start, tzidout)
    _window_time(component, "dtend", end, tzidout)
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
                   end: dt.datetime, tzidout: str | None = None) -> CalendarLayer:
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
    try:
        with reading(instance, calendar, FREEBUSY) as handle:
            periods = busy_periods(instance, handle, start, end, floating_tz)
            props = calprops_for(instance, calendar, handle=handle) \
                if calendar.access.check("p", "r").allowed else []
    except WcapError as e:
        return CalendarLayer(requested, errno=e.errno)
    return CalendarLayer(requested, props,
                         [vfreebusy(start, end, periods, params["busyonly"], tzidout)],
                         errno=WcapErrno.OK)


def _failed(detail: str) -> WcapError:
    return WcapError(WcapErrno.GET_FREEBUSY_FAILED, detail)


def window(ctx, params) -> Period:
    """``[start, end)`` in UTC from duration / dtstart+dtend / freebusybegin+end."""
    tz = zone(params.get("tzid") or ctx.default_tzid)
    dtstart, dtend = params.get("dtstart"), params.get("dtend")
    duration = params.get("duration")
    begin, finish = params.get("freebusybegin"), params.get("freebusyend")
    now = ctx.now().astimezone(UTC).replace(microsecond=0)
    if duration is not None:
        if duration > MAX_WINDOW_DAYS:
            raise _failed("duration over %d days" % MAX_WINDOW_DAYS)
        start = _utc(dtstart, tz) if dtstart is not None else now
        try:
            return start, start + dt.timedelta(days=duration)
        except OverflowError:
            raise _failed("window past year 9999") from None
    if dtstart is not None and dtend is not None:
        start, end = _utc(dtstart, tz), _utc(dtend, tz)
        if end <= start:
            raise _failed("dtend is not after dtstart")
        if end - start > dt.timedelta(days=MAX_WINDOW_DAYS):
            raise _failed("window over %d days" % MAX_WINDOW_DAYS)
        return start, end
    if begin is not None or finish is not None:
        begin = DEFAULT_OFFSET_DAYS if begin is None else begin
        finish = DEFAULT_OFFSET_DAYS if finish is None else finish
        if begin + finish > MAX_WINDOW_DAYS:
            raise _failed("freebusybegin + freebusyend over %d days" % MAX_WINDOW_DAYS)
        if begin + finish == 0:
            raise _failed("empty window")
        return now - dt.timedelta(days=begin), now + dt.timedelta(days=finish)
    raise _failed("no window: dtstart and dtend, duration or freebusybegin/freebusyend")


def output_zone(params) -> str | None:
    """The ``tzidout`` zone for DTSTART/DTEND, or None for UTC (the parameter parser
    has already turned UTC's aliases into ``UTC`` and refused unlisted zones)."""
    tzidout = params.get("tzidout")
    return None if not tzidout or tzidout == "UTC" else tzidout


@handler("get_freebusy")
def get_freebusy(ctx, params) -> Result:
    start, end = window(ctx, params)
    tzidout = output_zone(params)
    addresses = [a.strip() for a in params.get("mail") or [] if a.strip()]
    calids = list(params.get("calid") or []) + [
        a if a.lower().startswith("mailto:") else "mailto:" + a for a in addresses]
    calids = calids or [ctx.user]
    layers = [freebusy_layer(ctx, params, c, start, end, tzidout) for c in calids]
    errnos = [layer.errno for layer in layers]
    errno = WcapErrno.OK if WcapErrno.OK in errnos else errnos[0]
    return Result(errno=errno, calendars=layers)
