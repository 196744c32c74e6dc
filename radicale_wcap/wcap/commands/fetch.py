"""The fetch commands: fetchcomponents_by_range (Table 7-23), fetchevents_by_id (7-24),
fetchtodos_by_id (7-25), fetchcomponents_by_lastmod (7-22), fetchcomponents_by_alarmrange
(7-20), fetchcomponents_by_attendee_error (7-21) and fetch_deletedcomponents ([63]).

Every one answers one `CalendarLayer` per requested calid: the calendar's properties,
then its components (shaped by `components.output_components`), and a layer errno
(``layer_errno`` in text/js). A calendar that is missing (29), illegal (30) or not
readable (28) fails its own layer only: "If a calendar cannot be accessed or is missing,
the error number is appended" (manual, each fetch's "Error Codes"). Reading components
needs the ``read`` operation; a user with only free/busy access gets 28 for the layer,
which is what makes Lightning fall back to get_freebusy
(docs/wcap-clients.md#errno-handling).

Every selection is an index query (range, UID, last-modified, alarm trigger); no
command lists a calendar's files to answer.

fetchcomponents_by_attendee_error: this server sends no iTIP over mail and records no
delivery failures, so no component ever has an attendee error; the answer is the
valid, empty layer per calendar (with its properties), after the same access checks.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

import vobject

from .. import components as comps
from ..backend import Calendar, reading, require, resolve
from ..calprops import calprops_for
from ..errors import WcapErrno, WcapError
from ..result import CalendarLayer, Result
from . import handler

logger = logging.getLogger("radicale.wcap.wcap.commands.fetch")

UTC = dt.timezone.utc
# The index keeps mtimes as int64 nanoseconds (up to 2262): a later bound is no bound,
# an earlier one than 1970 none either (dtend=99991231T235959Z overflowed SQLite's INTEGER).
_MTIME_LAST = (2 ** 63 - 1) // 10 ** 9
_ALARM_FIRST = comps.timestamp(dt.datetime(1, 1, 1, tzinfo=UTC) + comps.ALARM_REACH)
_ALARM_LAST = comps.timestamp(dt.datetime(9999, 12, 31, tzinfo=UTC) - comps.ALARM_REACH)


def default_calid(ctx) -> str:
    user = ctx.backend.instance.directory.get(str(ctx.user)) if ctx.user else None
    return user.default_calid if user is not None else str(ctx.user or "")


def calendar_props(instance, calendar: Calendar) -> list:
    try:
        return calprops_for(instance, calendar)
    except Exception:
        # Properties decorate the answer; a failure there must not hide the components.
        logger.exception("calprops of %s failed", calendar.calid)
        return []


def layered(ctx, params, fetch: Callable[[Calendar], list], *,
            operation: str = "read") -> Result:
    """One layer per requested calid; ``fetch(calendar)`` gives its components."""
    instance = ctx.backend.instance
    requested = params.get("calid") or [default_calid(ctx)]
    if isinstance(requested, str):
        requested = [requested]
    layers, errnos = [], []
    for text in requested:
        try:
            calendar = resolve(ctx.backend, ctx.user, text)
            require(calendar, operation)
            found = fetch(calendar)
            layer = CalendarLayer(text, calendar_props(instance, calendar), found, errno=0)
        except WcapError as e:
            logger.info("WCAP %s user=%s calid=%s: layer errno %d %s", ctx.command.name,
                        ctx.userid, text[:100], int(e.errno), e.detail)
            layer = CalendarLayer(text, [], [], errno=int(e.errno))
        layers.append(layer)
        errnos.append(layer.errno)
    max_results = params.get("maxResults") or 0
    if max_results:
        for layer in layers:
            layer.components = cap(layer.components, max_results)
    overall = 0 if any(e == 0 for e in errnos) else errnos[0]
    return Result(errno=overall, calendars=layers, max_results=max_results or None,
                  layer_arrays={"layer_errno": errnos})


def cap(found: list, n: int) -> list:
    """"up to the first n events and first n todos" (manual, maxResults Value)."""
    seen = {"VEVENT": 0, "VTODO": 0}
    kept = []
    for comp in found:
        kind = comp.name.upper()
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= n:
            kept.append(comp)
    return kept


def _bounds(params):
    return params.get("dtstart"), params.get("dtend")


# ---------------------------------------------------------------- by range

@handler("fetchcomponents_by_range")
def fetchcomponents_by_range(ctx, params) -> Result:
    instance = ctx.backend.instance
    start, end = _bounds(params)
    shape = comps.Shape.of(ctx, params, rendered=True)
    component = comps.component_name(params.get("component-type"))

    def fetch(calendar):
        items = comps.read_calendar(instance, calendar, start=start, end=end,
                                    component=component, from_index=True)
        return comps.output_components(ctx, params, calendar, items, range_start=start,
                                       range_end=end, shape=shape)
    return layered(ctx, params, fetch)


# ---------------------------------------------------------------- by last modification

@handler("fetchcomponents_by_lastmod")
def fetchcomponents_by_lastmod(ctx, params) -> Result:
    instance = ctx.backend.instance
    start, end = _bounds(params)
    since, until = _mtime_bounds(comps.timestamp(start), comps.timestamp(end))
    shape = comps.Shape.of(ctx, params, rendered=True)
    component = comps.component_name(params.get("component-type"))

    def select(handle):
        return handle.changed_since(since if since is not None else 0, until, component,
                                    texts=True)

    def fetch(calendar):
        items = comps.read_selected(instance, calendar, select)
        return comps.output_components(ctx, params, calendar, items, shape=shape)
    return layered(ctx, params, fetch)


def _mtime_bounds(since, until):
    """lastmod's bounds within the index's mtimes: None for no bound."""
    if since is not None:
        since = min(max(since, 0), _MTIME_LAST)
    if until is not None:
        until = None if until >= _MTIME_LAST else max(until, -1)
    return since, until


# ---------------------------------------------------------------- by alarm range

@handler("fetchcomponents_by_alarmrange")
def fetchcomponents_by_alarmrange(ctx, params) -> Result:
    instance = ctx.backend.instance
    start, end = _bounds(params)
    lo = comps.timestamp(start)
    hi = comps.timestamp(end)
    # A bound within the alarm reach of datetime's ends is no bound: as a number it took
    # alarm_components a week past year 9999 (OverflowError, errno for dtend=99991231...).
    lo = comps.TS_MIN if lo is None or lo <= _ALARM_FIRST else lo
    hi = comps.TS_MAX if hi is None or hi >= _ALARM_LAST else hi
    shape = comps.Shape.of(ctx, params)

    def select(handle):
        return handle.alarms_between(lo, hi)

    def fetch(calendar):
        items = comps.read_selected(instance, calendar, select)
        return comps.alarm_components(ctx, params, calendar, items, lo, hi, shape)
    return layered(ctx, params, fetch)


# ---------------------------------------------------------------- attendee errors

@handler("fetchcomponents_by_attendee_error")
def fetchcomponents_by_attendee_error(ctx, params) -> Result:
    return layered(ctx, params, lambda calendar: [])


# ---------------------------------------------------------------- deleted components

KIND_OF_TYPE = {"event": ("VEVENT",), "todo": ("VTODO",), "all": ("VEVENT", "VTODO")}


@handler("fetch_deletedcomponents")
def fetch_deletedcomponents(ctx, params) -> Result:
    """Tombstones whose deletion time is in [dtstart, dtend] (Lightning sends its last
    sync stamp and the server time now, docs/wcap-clients.md#lightning-fetch)."""
    instance = ctx.backend.instance
    start, end = _bounds(params)
    since, until = comps.timestamp(start), comps.timestamp(end)
    kinds = KIND_OF_TYPE.get(params.get("component-type") or "all", KIND_OF_TYPE["all"])
    component = kinds[0] if len(kinds) == 1 else None

    def fetch(calendar):
        with reading(instance, calendar) as handle:
            stones = handle.deleted_since(since if since is not None else 0, until,
                                          component)
        return [tombstone_component(s) for s in stones if (s.component or "VEVENT") in kinds]
    return layered(ctx, params, fetch)


def tombstone_component(stone):
    """A deleted component as the answer carries it: its UID and when it went away;
    ``X-NSCP-TOMBSTONE:1`` is the flag the manual's fetch examples carry as 0."""
    comp = vobject.newFromBehavior((stone.component or "VEVENT").lower())
    comp.add("uid").value = stone.uid
    when = dt.datetime.fromtimestamp(stone.deleted_at, UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in ("dtstamp", "last-modified"):
        line = comp.add(name)
        line.value, line.isNative, line.encoded = when, False, True
    comp.add("x-nscp-tombstone").value = "1"
    return comp


# ---------------------------------------------------------------- by id

def by_id(ctx, params, kind: str) -> Result:
    """fetchevents_by_id / fetchtodos_by_id: one calendar, uid list with rid list.

    ``rid`` 0 (None) means the whole component; otherwise ``mod`` picks the instances:
    1 this one, 2 this and future, 3 this and prior, 4 all ("Recurrence Handling").
    Lightning sends one ``mod`` for a whole list (docs/wcap-clients.md#lightning-delete).
    Nothing found -> 59 COMPONENT_NOT_FOUND, the answer on which Lightning retries
    fetchevents_by_id as fetchtodos_by_id (docs/wcap-clients.md#not-found), also when the
    UID is a component of the other kind.
    """
    instance = ctx.backend.instance
    uids = params["uid"]
    rids = params.get("rid") or []
    mod = params.get("mod") or 1
    shape = comps.Shape.of(ctx, params, default_kinds=(kind,))
    shape.kinds = (kind,)
    calendar = resolve(ctx.backend, ctx.user, params.get("calid") or default_calid(ctx))
    require(calendar, "read")
    items = comps.read_uids(instance, calendar, uids)
    found = []
    for i, uid in enumerate(uids):
        item = items.get(uid)
        if item is None:
            continue
        rid = rids[i] if i < len(rids) else (rids[0] if len(rids) == 1 and len(uids) == 1
                                            else None)
        found += comps.select_instances(ctx, params, calendar, item, rid, mod, shape)
    if not found:
        raise WcapError(WcapErrno.COMPONENT_NOT_FOUND, "no %s with uid %s" % (
            kind, ";".join(uids)[:200]))
    return Result(calendars=[CalendarLayer(calendar.requested,
                                           calendar_props(instance, calendar), found,
                                           errno=0)],
                  layer_arrays={"layer_errno": [0]})


@handler("fetchevents_by_id")
def fetchevents_by_id(ctx, params) -> Result:
    return by_id(ctx, params, "VEVENT")


@handler("fetchtodos_by_id")
def fetchtodos_by_id(ctx, params) -> Result:
    return by_id(ctx, params, "VTODO")
