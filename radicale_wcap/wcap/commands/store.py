"""storeevents (Table 7-37) and storetodos (Table 7-39).

One request stores one calendar object: the parameters are applied to the stored object
(`compose.compose_component`), validated (`store.prepare_item`, before any lock), then
written in one ``store.writing`` block that re-checks ``storetype`` and double booking
against the index. Scheduling (`scheduling.after_store`) runs afterwards, in blocks of
its own; an attendee's calendar it may not write (no ``s``, or a UID there that is not
this organizer's event) leaves the store done and makes the answer that refusal's errno
(28 or 45), with the status component below whatever ``fetch`` asked, naming each such
attendee in a ``REQUEST-STATUS:3.8;No authority;mailto:...`` line.

The answer follows Lightning, not the manual (docs/wcap-clients.md#store-answer): with
``fetch=1`` a VCALENDAR holding the stored component in full (master plus exceptions),
errno 0; without it a status component with the UID and
``REQUEST-STATUS:2.0;Success.  Store successful.`` (the 6.x answer): the manual's bare
``<!-- store_errno="0" -->`` makes Lightning see no items and fail.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import vobject

from radicale_wcap import recurrence
from radicale_wcap.store import WRITE, Changed, ItemRefused, prepare_item
from radicale_wcap.wcap import scheduling
from radicale_wcap.wcap.backend import reading, require, resolve, writing
from radicale_wcap.wcap.commands import handler
from radicale_wcap.wcap.commands.links import linked_from
from radicale_wcap.wcap.components import output_components
from radicale_wcap.wcap.compose import compose_component
from radicale_wcap.wcap.errors import WcapErrno, WcapError
from radicale_wcap.wcap.result import Result

logger = logging.getLogger("radicale.wcap.wcap.commands.store")

CREATE, MODIFY = 1, 2
KINDS = {"storeevents": ("event", "VEVENT"), "storetodos": ("todo", "VTODO")}
# Double-booking check: instances of the new event looked at (bounded work per store).
DOUBLE_BOOKING_INSTANCES = 200
RETRIES = 3


@handler("storeevents")
def storeevents(ctx, params):
    return store(ctx, params, "event")


@handler("storetodos")
def storetodos(ctx, params):
    return store(ctx, params, "todo")


def store(ctx, params, kind: str) -> Result:
    instance = ctx.backend.instance
    calendar = resolve(ctx.backend, ctx.user, params["calid"])
    require(calendar, "write")
    if not params.get("uid"):
        params["uid"] = str(uuid.uuid4())
    uid = params["uid"]
    component = "VEVENT" if kind == "event" else "VTODO"
    for _attempt in range(RETRIES):
        with reading(instance, calendar, WRITE) as handle:
            seen = handle.etag(uid)
            existing = handle.by_uid(uid) if seen is not None else None
        previous = existing.vobject_item if existing is not None else None
        if previous is not None and linked_from(previous):
            # A link made by addlink is read-only in the calendar it was linked into.
            raise WcapError(WcapErrno.CANNOT_MODIFY_LINKED_EVENTS if kind == "event"
                            else WcapErrno.CANNOT_MODIFY_LINKED_TODOS,
                            "%s is linked from %s" % (uid, linked_from(previous)))
        _check_storetype(params, previous, component)
        vcal = compose_component(ctx, params, previous, kind)
        try:
            item = prepare_item(instance.configuration, calendar.path, vcal)
        except ItemRefused as e:
            raise WcapError(ctx.command.failed, "refused: %s" % e) from e
        try:
            with writing(instance, calendar, WRITE, "WCAP " + ctx.command.name) as handle:
                if kind == "event" and not calendar.record.setting("allow_double_booking"):
                    _check_double_booking(handle, vcal, uid)
                written = handle.put(item, if_etag=seen)
        except Changed:
            continue  # changed since we read it: compose again on the new version
        stored = written.result
        break
    else:
        raise WcapError(ctx.command.failed, "item kept changing while being stored")
    logger.info("WCAP %s user=%s calid=%s: stored", ctx.command.name, ctx.user, calendar.calid)
    outcome = scheduling.after_store(ctx, calendar, vcal, previous, params.get("method") or 1,
                                     scheduling.wants_mail(params))
    if outcome.refused:
        # Stored here, but an attendee's calendar was not written: the errno says why,
        # the status component's REQUEST-STATUS lines say whose.
        return Result(errno=outcome.errno,
                      components=[_status(uid, kind, outcome.request_statuses())])
    return Result(errno=outcome.errno,
                  components=_answer(ctx, params, calendar, stored, uid, kind))


def _check_storetype(params, previous, component) -> None:
    exists = previous is not None and any(
        c.name == component for c in previous.getChildren())
    storetype = params.get("storetype")
    if storetype == CREATE and previous is not None:
        raise WcapError(WcapErrno.CREATE_EXISTS, "uid exists")
    if storetype == MODIFY and not exists:
        raise WcapError(WcapErrno.MODIFY_NO_EVENT, "uid not found")
    if previous is not None and not exists:
        # The UID belongs to the other kind (a todo stored by storeevents): refuse
        # rather than mix VEVENT and VTODO under one UID.
        raise WcapError(WcapErrno.CREATE_EXISTS, "uid is a component of another kind")


def _check_double_booking(handle, vcal, uid) -> None:
    busy = [c for c in vcal.getChildren() if c.name == "VEVENT"
            and str(getattr(c, "transp", None) and c.transp.value or "OPAQUE").upper()
            != "TRANSPARENT"
            and str(getattr(c, "status", None) and c.status.value or "").upper() != "CANCELLED"]
    if not busy:
        return
    expansion = recurrence.expand(busy, None, None, max_count=DOUBLE_BOOKING_INSTANCES,
                                  budget_s=0.5)
    for occurrence in expansion.occurrences:
        if occurrence.start is None:
            continue
        start, end = recurrence.epoch(occurrence.start), recurrence.epoch(occurrence.end)
        if end <= start:
            continue
        for other in handle.in_range(start, end, "VEVENT"):
            if other.uid != uid and _blocks(other.vobject_item, start, end):
                raise WcapError(WcapErrno.STORE_FAILED_DOUBLE_BOOKED,
                                "overlaps %s" % other.uid)


def _blocks(vcal, start, end) -> bool:
    comps = [c for c in vcal.getChildren() if c.name == "VEVENT"
             and str(c.transp.value if "transp" in c.contents else "OPAQUE").upper()
             != "TRANSPARENT"
             and str(c.status.value if "status" in c.contents else "").upper() != "CANCELLED"]
    if not comps:
        return False
    found = recurrence.expand(comps, dt.datetime.fromtimestamp(start, dt.timezone.utc),
                              dt.datetime.fromtimestamp(end, dt.timezone.utc),
                              max_count=10, budget_s=0.2)
    return bool(found.occurrences)



def _answer(ctx, params, calendar, stored, uid, kind) -> list:
    if params.get("fetch"):
        try:
            return output_components(ctx, params, calendar, [stored])
        except ImportError:
            return [c for c in stored.vobject_item.getChildren()
                    if c.name in ("VEVENT", "VTODO")]
    return [_status(uid, kind)]


def _status(uid, kind, refusals=()) -> object:
    status = vobject.newFromBehavior("vevent" if kind == "event" else "vtodo")
    status.add("uid").value = uid
    # Plain lines: vobject's REQUEST-STATUS behaviour would escape the ";".
    status.contents["request-status"] = [
        vobject.base.ContentLine("REQUEST-STATUS", [], text)
        for text in ("2.0;Success.  Store successful.",) + tuple(refusals)]
    return status
