"""deleteevents_by_id, deletetodos_by_id (Tables 7-15, 7-17) and the *_by_range deletes
(Tables 7-14, 7-16, 7-18).

By id: ``uid``/``rid``/``mod`` lists; Lightning sends **one** ``mod`` for a whole uid/rid
list (docs/wcap-clients.md#lightning-delete), so a single mod applies to every entry.
``rid=0`` is the whole series. ``mod`` per "Deleting or Modifying Recurring Components": 1
THISINSTANCE (an EXDATE), 2 THISANDFUTURE (the rules end before ``rid``), 3 THISANDPRIOR
(EXDATEs up to ``rid``), 4 THISANDALL. Something already gone is 59 COMPONENT_NOT_FOUND,
which Lightning hides (docs/wcap-clients.md#not-found). Per entry the answer carries
``delete_layer_errno`` and ``delete_event_count``/``delete_todo_count`` (occurrences
removed); the iCalendar/XML
answer a status component per deleted UID, as the manual's example.

All entries of one request are validated first and written as one batch of the store
(all or nothing). An organizer's deletion then cancels the attendees' copies of their event
(`scheduling`); a copy it may not remove is the answer's errno (28 or 45), the entry's
own ``delete_layer_errno`` staying 0, and its status names the attendee.
"""

from __future__ import annotations

import datetime as dt
import logging

import vobject

from radicale_wcap import recurrence
from radicale_wcap import timezones
from radicale_wcap.icalparse import clone
from radicale_wcap.store import DELETE, Changed, ItemRefused, prepare_item
from radicale_wcap.wcap import scheduling
from radicale_wcap.wcap.backend import reading, require, resolve, writing
from radicale_wcap.wcap.commands import handler
from radicale_wcap.wcap.compose import (THISANDALL, THISANDFUTURE, THISANDPRIOR,
                                        THISINSTANCE, in_frame, native, same_instant,
                                        set_time_list)
from radicale_wcap.wcap.errors import WcapErrno, WcapError
from radicale_wcap.wcap.result import CalendarLayer, Result

logger = logging.getLogger("radicale.wcap.wcap.commands.delete")

MAX_INSTANCES = 10000
BUDGET_S = 1.0
RULE_LINES = ("rrule", "rdate", "exrule", "exdate")
COUNTS = {"VEVENT": "delete_event_count", "VTODO": "delete_todo_count"}


class NotFound(Exception):
    """The uid, or the instance ``rid`` names, is not there (errno 59)."""


# ---------------------------------------------------------------- instance removal

def _expand(comps, start=None, end=None, limit=MAX_INSTANCES):
    return recurrence.expand(comps, start, end, max_count=limit, budget_s=BUDGET_S).occurrences


def _count(comps) -> int:
    return len(_expand(comps)) or 1


def remove_instances(vcal, component: str, rid, mod: int):
    """``(new VCALENDAR or None for "delete the whole item", occurrences removed)``."""
    comps = [c for c in vcal.getChildren() if c.name == component]
    if not comps:
        raise NotFound()
    if rid is None or mod == THISANDALL:
        return None, _count(comps)
    master = next((c for c in comps if "recurrence-id" not in c.contents), None)
    recurring = master is not None and any(k in master.contents for k in RULE_LINES)
    if not recurring:
        if master is not None and same_instant(native(master, "dtstart"), rid) \
                and len(comps) == 1:
            return None, 1
        raise NotFound()
    new = clone(vcal)
    comps = [c for c in new.getChildren() if c.name == component]
    master = next(c for c in comps if "recurrence-id" not in c.contents)
    start = native(master, "dtstart")
    rid = in_frame(rid, start)
    before = _expand(comps)
    if not any(same_instant(in_frame(o.recurrence_id, start), rid) for o in before):
        raise NotFound()
    if mod == THISINSTANCE:
        doomed = [rid]
    elif mod == THISANDFUTURE:
        doomed = [in_frame(o.recurrence_id, start) for o in before
                  if _not_before(in_frame(o.recurrence_id, start), rid)]
        _end_rules_before(master, rid)
    elif mod == THISANDPRIOR:
        doomed = [in_frame(o.recurrence_id, start) for o in before
                  if not _not_before(in_frame(o.recurrence_id, start), rid)] + [rid]
    else:  # pragma: no cover - the table allows 1..4 only
        raise NotFound()
    for comp in comps:
        if "recurrence-id" in comp.contents and any(
                same_instant(native(comp, "recurrence-id"), d) for d in doomed):
            new.remove(comp)
    if mod != THISANDFUTURE:
        exdates = [v for line in master.contents.get("exdate", []) for v in _values(line)]
        set_time_list(master, "exdate", exdates + doomed, set())
    left = [c for c in new.getChildren() if c.name == component]
    remaining = _expand(left, limit=1)
    if not remaining:
        return None, len(before)
    return new, len(doomed)


def _values(line):
    values = line.value if isinstance(line.value, list) else [line.value]
    tzid = (line.params.get("TZID") or [None])[0]
    out = []
    for v in values:
        if isinstance(v, dt.datetime) and v.tzinfo is None and tzid:
            v = v.replace(tzinfo=timezones.get_zone(tzid))
        out.append(v)
    return out


def _not_before(value, rid) -> bool:
    if isinstance(value, dt.datetime) and isinstance(rid, dt.datetime):
        return value >= rid
    return (value.date() if isinstance(value, dt.datetime) else value) >= \
        (rid.date() if isinstance(rid, dt.datetime) else rid)


def _end_rules_before(master, rid) -> None:
    """THISANDFUTURE: every rule gets UNTIL just before ``rid``; later RDATEs go."""
    if isinstance(rid, dt.datetime):
        until = (rid - dt.timedelta(seconds=1)).astimezone(dt.timezone.utc) \
            .strftime("%Y%m%dT%H%M%SZ")
    else:
        until = (rid - dt.timedelta(days=1)).strftime("%Y%m%d")
    for line in master.contents.get("rrule", []):
        parts = [p for p in str(line.value).split(";")
                 if p and not p.upper().startswith(("COUNT=", "UNTIL="))]
        line.value = ";".join(parts + ["UNTIL=" + until])
    rdates = [v for line in master.contents.get("rdate", []) for v in _values(line)
              if not _not_before(v, rid)]
    if "rdate" in master.contents:
        set_time_list(master, "rdate", rdates, set())


# ---------------------------------------------------------------- by id

@handler("deleteevents_by_id")
def deleteevents_by_id(ctx, params):
    return delete_by_id(ctx, params, "VEVENT")


@handler("deletetodos_by_id")
def deletetodos_by_id(ctx, params):
    return delete_by_id(ctx, params, "VTODO")


def delete_by_id(ctx, params, component: str) -> Result:
    instance = ctx.backend.instance
    calendar = resolve(ctx.backend, ctx.user, params["calid"])
    require(calendar, "delete", ctx.command.failed)
    uids = params["uid"] or []
    rids = list(params["rid"] or [])
    # mod=0 appears in the manual's deleteevents_by_id example with rid=0
    # (whole items); it is read as THISANDALL.
    mods = [m or THISANDALL for m in (params["mod"] or [THISANDALL])]
    rids += [None] * (len(uids) - len(rids))
    mods += [mods[-1]] * (len(uids) - len(mods))
    errnos, counts, plans = [], [], []
    with reading(instance, calendar, DELETE, denied=ctx.command.failed) as handle:
        stored = {}
        for uid in dict.fromkeys(uids):
            etag = handle.etag(uid)
            item = handle.by_uid(uid) if etag is not None else None
            stored[uid] = (etag, item.vobject_item if item else None)
    current = {uid: vcal for uid, (_etag, vcal) in stored.items()}
    for uid, rid, mod in zip(uids, rids, mods):
        vcal = current.get(uid)
        try:
            if vcal is None:
                raise NotFound()
            new, count = remove_instances(vcal, component, rid, mod)
            item = prepare_item(instance.configuration, calendar.path, new) if new else None
        except NotFound:
            errnos.append(int(WcapErrno.COMPONENT_NOT_FOUND))
            counts.append(0)
            continue
        except ItemRefused as e:
            logger.info("WCAP %s: %s refused: %s", ctx.command.name, uid, e)
            errnos.append(int(ctx.command.failed))
            counts.append(0)
            continue
        current[uid] = new
        plans.append((uid, vcal, new, item))
        errnos.append(0)
        counts.append(count)
    done = []
    with writing(instance, calendar, DELETE, "WCAP " + ctx.command.name,
                 denied=ctx.command.failed) as handle:
        final = {}
        for uid, old, new, item in plans:
            final[uid] = (old if uid not in final else final[uid][0], new, item)
        for uid, (old, new, item) in final.items():
            try:
                if item is None:
                    handle.delete(uid, if_etag=stored[uid][0])
                else:
                    handle.put(item, if_etag=stored[uid][0])
            except Changed:
                _fail(uids, errnos, counts, uid, ctx.command.failed)
                continue
            done.append((uid, old, new))
    scheduled, refusals = [], {}
    for uid, old, new in done:
        if new is None:
            outcome = scheduling.after_delete(ctx, old, scheduling.wants_mail(params))
        else:
            outcome = scheduling.after_store(ctx, calendar, new, old, scheduling.REQUEST,
                                             scheduling.wants_mail(params))
        scheduled.append(outcome.errno)
        refusals[uid] = outcome.request_statuses()
    logger.info("WCAP %s user=%s calid=%s: %d deleted, errnos %s", ctx.command.name,
                ctx.user, calendar.calid, len(done), errnos)
    failures = [e for e in errnos if e]
    # The entries themselves were deleted (their layer errno stays 0); an attendee copy
    # left in place, or a failed mail, is the command's errno, a refusal first.
    refused = [e for e in scheduled if e and e != WcapErrno.CANNOT_SENT_EMAIL]
    errno = failures[0] if failures else (refused + [e for e in scheduled if e] + [0])[0]
    return Result(errno=errno, components=_statuses(component, uids, errnos, refusals),
                  layer_arrays={"delete_layer_errno": errnos, COUNTS[component]: counts})


def _fail(uids, errnos, counts, uid, errno) -> None:
    for i, u in enumerate(uids):
        if u == uid:
            errnos[i], counts[i] = int(errno), 0


def _statuses(component, uids, errnos, refusals) -> list:
    """One status per deleted UID; an attendee whose copy was left in place is named
    in a further REQUEST-STATUS line (`scheduling.Outcome.request_statuses`)."""
    out = []
    for uid, errno in zip(uids, errnos):
        if errno:
            continue
        status = vobject.newFromBehavior(component.lower())
        status.add("uid").value = uid
        # Plain lines: vobject's REQUEST-STATUS behaviour would escape the ";".
        status.contents["request-status"] = [
            vobject.base.ContentLine("REQUEST-STATUS", [], text)
            for text in ["2.0;Success. Delete successful."] + refusals.get(uid, [])]
        out.append(status)
    return out


# ---------------------------------------------------------------- by range

@handler("deleteevents_by_range")
def deleteevents_by_range(ctx, params):
    return delete_by_range(ctx, params, ("VEVENT",))


@handler("deletetodos_by_range")
def deletetodos_by_range(ctx, params):
    return delete_by_range(ctx, params, ("VTODO",))


@handler("deletecomponents_by_range")
def deletecomponents_by_range(ctx, params):
    return delete_by_range(ctx, params, ("VEVENT", "VTODO"))


def _ts(value, default):
    return default if value is None else recurrence.epoch(value)


def delete_by_range(ctx, params, components) -> Result:
    """Items that fall completely within [dtstart, dtend] (0 or absent: unbounded)."""
    lo = _ts(params.get("dtstart"), recurrence.NEG_INFINITY_TS)
    hi = _ts(params.get("dtend"), recurrence.INFINITY_TS)
    requested = params.get("calid") or [ctx.user]
    errnos, counts, layers, scheduled = [], [], [], []
    for text in requested:
        try:
            calendar = resolve(ctx.backend, ctx.user, text)
            require(calendar, "delete")
            deleted = _delete_range(ctx, calendar, components, lo, hi)
        except WcapError as e:
            logger.info("WCAP %s user=%s calid=%s: errno %d %s", ctx.command.name, ctx.user,
                        text, int(e.errno), e.detail)
            errnos.append(int(e.errno))
            counts.append(0)
            layers.append(CalendarLayer(text, errno=int(e.errno)))
            continue
        for old in deleted:
            scheduled.append(scheduling.after_delete(ctx, old, False).errno)
        errnos.append(0)
        counts.append(len(deleted))
        layers.append(CalendarLayer(text, errno=0))
    # An attendee copy left in place (a scheduling refusal) is the command's errno when
    # every calendar's own delete went through.
    errno = ctx.command.failed if any(errnos) else next((e for e in scheduled if e), 0)
    name = "delete_event_count" if components == ("VEVENT",) else (
        "delete_todo_count" if components == ("VTODO",) else "delete_component_count")
    return Result(errno=errno, calendars=layers,
                  layer_arrays={"delete_layer_errno": errnos, name: counts})


def _delete_range(ctx, calendar, components, lo, hi) -> list:
    instance = ctx.backend.instance
    deleted = []
    with writing(instance, calendar, DELETE, "WCAP " + ctx.command.name) as handle:
        for component in components:
            for uid, item in handle.within(lo, hi, component):
                if handle.delete(uid):
                    deleted.append(item.vobject_item)
    return deleted
