"""get_calprops (Table 7-27) and search_calprops (Table 7-34).

Both answer one `CalendarLayer` per calendar, its properties from `calprops_for`; the
XML renderer gives each its own ``<iCal>`` with its own errno, which is how Lightning
reads them (wcap-clients.md §3.2).

get_calprops
    Properties need the ``read_props`` operation (``p:r``). Per calendar: denied ->
    28, missing -> 29, malformed calid -> 30, and the other calendars are still
    answered. The manual's own numbers for these layers (1 and 2 in ``layer_errno``)
    are not used: Lightning takes any errno 1 for an expired session and logs in
    again, forever (wcap-clients.md §3.2, §4.1). A failed layer keeps its
    ``X-NSCP-CALPROPS-RELATIVE-CALID`` so a client can tell which calid failed.
    The overall errno is 0 when every layer worked, the layer's errno for a single
    calid, and GET_CALPROPS_FAILED (20) when some of several failed (manual "Error
    Codes"). Without an ``id`` the request is anonymous and sees what ACEs for ``@``
    grant (manual "Session Identifier": public calendars need no session).

search_calprops
    Candidates are the registry's calendars and the calendars on disk (a store
    written by plain Radicale has unregistered ones). The manual's ``calid`` is a
    boolean flag here (Lightning sends ``calid=1``, wcap-clients.md §2.5); when both
    ``name`` and ``primaryOwner`` are 0 the calid is searched regardless. searchOpts:
    0 contains, 1 begins with, 2 ends with, 3 exact (case-insensitive: calids and
    user names are matched as users type them). Calendars whose properties the user
    may not read are left out without an error; at most ``maxResults`` are returned.
"""

from __future__ import annotations

import logging
from typing import Callable

from radicale_wcap import calid as calid_mod

from ..backend import require, resolve
from ..calprops import NAME, calprops_for
from ..errors import WcapErrno, WcapError
from ..result import CalendarLayer, Prop, Result
from . import handler
from .session import viewer

logger = logging.getLogger(__name__)

# searchOpts -> test(candidate, search string), both lower-cased.
SEARCH_OPTS: dict[int, Callable[[str, str], bool]] = {
    0: lambda value, s: s in value,
    1: lambda value, s: value.startswith(s),
    2: lambda value, s: value.endswith(s),
    3: lambda value, s: value == s,
}


def calendar_layer(ctx, user: str, requested: str) -> CalendarLayer:
    """One get_calprops layer; a WcapError becomes the layer's errno."""
    try:
        calendar = resolve(ctx.backend, user, requested)
        require(calendar, "read_props")
        return CalendarLayer(requested, calprops_for(ctx.backend.instance, calendar),
                             errno=WcapErrno.OK)
    except WcapError as e:
        logger.info("WCAP %s user=%r calid=%r: errno %d %s", ctx.command.name, user,
                    requested[:200], int(e.errno), e.detail)
        return CalendarLayer(requested, [Prop("X-NSCP-CALPROPS-RELATIVE-CALID", requested)],
                             errno=e.errno)


@handler("get_calprops")
def get_calprops(ctx, params) -> Result:
    user = viewer(ctx)
    calids = params.get("calid") or ([user] if user else [])
    if not calids:
        raise WcapError(WcapErrno.CALID_NOT_SPECIFIED, "anonymous request without calid")
    layers = [calendar_layer(ctx, user, c) for c in calids]
    failed = [layer.errno for layer in layers if layer.errno != WcapErrno.OK]
    if not failed:
        errno = WcapErrno.OK
    elif len(layers) == 1:
        errno = failed[0]
    else:
        errno = WcapErrno.GET_CALPROPS_FAILED
    return Result(errno=errno, calendars=layers)


def _candidates(instance) -> list[str]:
    paths = {r.path for r in instance.registry.list()}
    paths.update(instance.store.calendars_on_disk())
    return sorted(p for p in paths if calid_mod.from_path(p))


@handler("search_calprops")
def search_calprops(ctx, params) -> Result:
    instance = ctx.backend.instance
    wanted = (params["search-string"] or "").strip().lower()
    matches = SEARCH_OPTS[params["searchOpts"]]
    by_name, by_owner = params["name"], params["primaryOwner"]
    by_calid = params["calid"] or not (by_name or by_owner)
    limit = params["maxResults"]
    layers: list[CalendarLayer] = []
    for path in _candidates(instance):
        if limit and len(layers) >= limit:
            break
        calid = calid_mod.from_path(path)
        record = instance.registry.get(path) or instance.registry.default_record(path)
        hit = (by_calid and matches(calid.lower(), wanted)) or \
              (by_owner and matches(record.owner.lower(), wanted))
        if not hit and by_name:
            meta = instance.store.calendar_props(calid) or {}
            hit = matches((meta.get(NAME) or calid).lower(), wanted)
        if not hit:
            continue
        try:
            calendar = resolve(ctx.backend, ctx.user, calid)
        except WcapError:
            continue  # deleted since it was listed
        if not calendar.access.check("p", "r").allowed:
            continue
        layers.append(CalendarLayer(calid, calprops_for(instance, calendar),
                                    errno=WcapErrno.OK))
    return Result(calendars=layers, max_results=limit or None)
