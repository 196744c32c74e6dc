"""addlink (Table 7-9, deprecated since WCAP 3.0): links to another calendar's events.

A link is stored as a copy of the source item in the destination calendar,
marked with ``X-RADICALE-WCAP-LINKED-FROM:<source calid>`` on each component,
so that CalDAV clients and every WCAP fetch see it like any other event, and
store* refuse to change it (errno 31 for events, 32 for todos, as the manual's
error table says). Simplification, documented in the README: the copy is a
snapshot; later changes in the source calendar are not carried over, and the
whole item is linked whatever ``rid`` names.

Parameter names: Table 7-9 describes ``destCal`` as the calendar holding the
events and ``srcCal`` as the one receiving links, but the description and the
example (``destCal=jdoe&srcCal=pub`` adds links *to jdoe* pointing at events in
*pub*) say the opposite; the example wins, as a client written against it does.
"""

from __future__ import annotations

import logging

import vobject

from radicale_wcap.store import WRITE, ItemRefused, prepare_item

from .. import components as comps
from ..backend import reading, require, resolve, writing
from ..errors import WcapErrno, WcapError
from ..result import Result
from . import handler

logger = logging.getLogger("radicale.wcap.wcap.commands.links")

LINKED_FROM = "X-RADICALE-WCAP-LINKED-FROM"


def linked_from(vcalendar) -> str:
    """The source calid if this stored item is a link, else ""."""
    for component in vcalendar.getChildren():
        if component.name in ("VEVENT", "VTODO", "VJOURNAL"):
            line = component.contents.get(LINKED_FROM.lower())
            if line:
                return line[0].value
    return ""


@handler("addlink")
def addlink(ctx, params) -> Result:
    instance = ctx.backend.instance
    uids = params["uid"] or []
    rids = params["rid"] or []
    if not uids or len(uids) != len(rids):
        raise WcapError(WcapErrno.ADDLINK_FAILED, "uid and rid lists differ in length")
    try:
        target = resolve(ctx.backend, ctx.user, params["destCal"])
        source = resolve(ctx.backend, ctx.user, params["srcCal"])
        require(target, "write")
        require(source, "read")
    except WcapError as e:
        raise WcapError(WcapErrno.ADDLINK_FAILED, e.detail) from e
    if target.path == source.path:
        raise WcapError(WcapErrno.ADDLINK_FAILED, "a calendar can not link to itself")
    copies = []
    # A link copies what the user may read of the source (privacy.py): never a private
    # event's full text into a calendar the user owns.
    with reading(instance, source, denied=WcapErrno.ADDLINK_FAILED,
                 missing=WcapErrno.ADDLINK_FAILED) as handle:
        for uid in dict.fromkeys(uids):
            item = handle.by_uid(uid)
            seen = comps.shown([item], handle.view) if item is not None else []
            if not seen:
                raise WcapError(WcapErrno.ADDLINK_FAILED, "no item %s in the source" % uid)
            copies.append(seen[0].serialize())
    prepared = []
    for text in copies:
        vcal = vobject.readOne(text)
        for component in vcal.getChildren():
            if component.name in ("VEVENT", "VTODO", "VJOURNAL"):
                component.contents.pop(LINKED_FROM.lower(), None)
                component.add(LINKED_FROM).value = source.calid
        try:
            prepared.append(prepare_item(instance.configuration, target.path, vcal))
        except ItemRefused as e:
            raise WcapError(WcapErrno.ADDLINK_FAILED, str(e)) from e
    with writing(instance, target, WRITE, "WCAP addlink", denied=WcapErrno.ADDLINK_FAILED,
                 missing=WcapErrno.ADDLINK_FAILED) as handle:
        for item in prepared:
            existing = handle.by_uid(item.uid)
            if existing is not None and not linked_from(existing.vobject_item):
                raise WcapError(WcapErrno.ADDLINK_FAILED,
                                "uid %s exists in the destination" % item.uid)
        for item in prepared:
            handle.put(item)
    logger.info("WCAP addlink user=%s: %d item(s) of %s linked into %s", ctx.user,
                len(prepared), source.calid, target.calid)
    return Result()
