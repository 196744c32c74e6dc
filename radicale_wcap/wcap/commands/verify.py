"""verifyevents_by_ids (Table 7-41) and verifytodos_by_ids (Table 7-42).

The answer lists the uid/rid pairs that do *not* exist, as the manual's examples do: a
component with the UID, plus RECURRENCE-ID when the rid was not 0. A pair exists when
the calendar holds a component of that kind with the UID and, for a rid, an instance
with that RECURRENCE-ID (an override, or a rule instance that is not excluded).
``uid`` and ``rid`` are parallel lists; different lengths -> 46 INSUFFICIENT_PARAMETERS
(manual error list).
"""

from __future__ import annotations

import vobject

from .. import components as comps
from ..backend import require, resolve
from ..errors import WcapErrno, WcapError
from ..result import Result
from . import handler
from .fetch import default_calid


def verify(ctx, params, kind: str) -> Result:
    uids, rids = params["uid"], params["rid"]
    if len(uids) != len(rids) or not uids:
        raise WcapError(WcapErrno.INSUFFICIENT_PARAMETERS, "%d uids, %d rids" % (
            len(uids), len(rids)))
    calendar = resolve(ctx.backend, ctx.user, params.get("calid") or default_calid(ctx))
    require(calendar, "read")
    items = comps.read_uids(ctx.backend.instance, calendar, uids)
    missing = []
    for uid, rid in zip(uids, rids):
        item = items.get(uid)
        if item is not None and comps.instance_exists(item, kind, rid):
            continue
        comp = vobject.newFromBehavior(kind.lower())
        comp.add("uid").value = uid
        if rid is not None:
            line = comp.add("recurrence-id")
            line.value, _ = comps.format_value(rid, None)
            line.isNative, line.encoded = False, True
        missing.append(comp)
    return Result(components=missing)


@handler("verifyevents_by_ids")
def verifyevents_by_ids(ctx, params) -> Result:
    return verify(ctx, params, "VEVENT")


@handler("verifytodos_by_ids")
def verifytodos_by_ids(ctx, params) -> Result:
    return verify(ctx, params, "VTODO")
