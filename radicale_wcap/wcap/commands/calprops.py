"""get_calprops (Table 7-27) and search_calprops (Table 7-34).

Both answer one `CalendarLayer` per calendar, its properties from `calprops_for`; the
XML renderer gives each its own ``<iCal>`` with its own errno, which is how Lightning
reads them (docs/wcap-clients.md#errno-handling).

get_calprops
    Properties need the ``read_props`` operation (``p:r``). Per calendar: denied ->
    28, missing -> 29, malformed calid -> 30, and the other calendars are still
    answered. The manual's own numbers for these layers (1 and 2 in ``layer_errno``)
    are not used: Lightning takes any errno 1 for an expired session and logs in
    again, forever (docs/wcap-clients.md#always-http-200). A failed layer keeps its
    ``X-NSCP-CALPROPS-RELATIVE-CALID`` so a client can tell which calid failed.
    ``invitecount=1`` ([63]) adds ``X-S1CS-CALPROPS-INVITATION-COUNT`` to each layer
    whose components the user may read (`invitation_count`).
    The overall errno is 0 when every layer worked, the layer's errno for a single
    calid, and GET_CALPROPS_FAILED (20) when some of several failed (manual "Error
    Codes"). Without an ``id`` the request is anonymous and sees what ACEs for ``@``
    grant (manual "Session Identifier": public calendars need no session).

search_calprops
    Candidates are the registry's calendars and the calendars on disk (a store
    written by plain Radicale has unregistered ones). The manual's ``calid`` is a
    boolean flag here (Lightning sends ``calid=1``, docs/wcap-clients.md#lightning-search);
    when both ``name`` and ``primaryOwner`` are 0 the calid is searched regardless.
    searchOpts: 0 contains, 1 begins with, 2 ends with, 3 exact (case-insensitive: calids
    and user names are matched as users type them). Calendars whose properties the user
    may not read are left out without an error; at most ``maxResults`` are returned.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Optional

import vobject

from radicale_wcap import calid as calid_mod

from ..backend import Calendar, reading, require, resolve
from ..calprops import NAME, calprops_for
from ..components import KINDS, matches_compstate, series_of
from ..errors import WcapErrno, WcapError
from ..result import CalendarLayer, Prop, Result
from . import handler
from .session import viewer

logger = logging.getLogger("radicale.wcap.wcap.commands.calprops")

# searchOpts -> test(candidate, search string), both lower-cased.
SEARCH_OPTS: dict[int, Callable[[str, str], bool]] = {
    0: lambda value, s: s in value,
    1: lambda value, s: value.startswith(s),
    2: lambda value, s: value.endswith(s),
    3: lambda value, s: value == s,
}


INVITATION_COUNT = "X-S1CS-CALPROPS-INVITATION-COUNT"
PENDING = ["REQUEST-NEEDS-ACTION"]
_FOLD = re.compile(r"\r?\n[ \t]")


# (ETag, owner address) -> pending invitations in that item (0 or 1). An ETag is a hash
# of the item's text, so an entry never goes stale; the time test is the index query's.
# Emptied when full: a calendar polled often is then parsed once, not on every poll.
_MEMO: dict = {}
MEMO_SIZE = 50_000


def _may_be_pending(text: str, address: str) -> bool:
    """Textual prefilter: some ATTENDEE line names ``address`` (upper-cased) with
    RSVP=TRUE and no PARTSTAT but NEEDS-ACTION. Never false where the parsed test is
    true (it reads unfolded, unquoted, upper-cased lines); it may be true where that is
    false (an address in another parameter, a VALARM's ATTENDEE), which the parse sorts
    out."""
    if "\n " in text or "\n\t" in text:
        text = _FOLD.sub("", text)
    unfolded = text.upper().replace('"', "")
    if address not in unfolded:
        return False
    for line in unfolded.splitlines():
        if ("ATTENDEE" in line and address in line and "RSVP=TRUE" in line
                and ("PARTSTAT=" not in line or "PARTSTAT=NEEDS-ACTION" in line)):
            return True
    return False


def invitation_count(instance, calendar: Calendar, now_ts: int) -> int:
    """``X-S1CS-CALPROPS-INVITATION-COUNT``: invitations in ``calendar`` that its primary
    owner has not answered and that are not over yet.

    [63] names the property without defining it; Calendar Server counts what its UI
    shows as pending invitations, so it is counted here as exactly the components
    that ``compstate=REQUEST-NEEDS-ACTION`` selects for the primary owner
    (`components.matches_compstate`, Table 7-7): the owner's ATTENDEE line, found by
    the owner's directory address (case-insensitive, ``mailto:`` stripped), has
    PARTSTAT=NEEDS-ACTION (RFC 5545's default when PARTSTAT is absent) and RSVP=TRUE.
    The count is the owner's whoever asks (the calendar's invitations, as its
    properties are), and 0 when the owner has no address.

    "Not over yet": the item ends at or after ``now_ts``. A recurring series is one
    stored item whose end is its last instance's (the end of time for an endless
    rule), so it counts once while any instance is to come; like a fetch with
    ``compstate``, it is judged on its master (an override's own PARTSTAT does not
    change the count). A VTODO's end is its DUE (or Radicale's reading of its dates;
    an undated todo never ends).

    Calendars hold 10,000+ items and Lightning polls get_calprops, so nothing is parsed
    up front: one index query returns the texts of the items not over yet that have an
    ATTENDEE line; a textual test (`_may_be_pending`) keeps those that can be pending;
    only these are parsed, and `matches_compstate` decides. Each item's answer is
    remembered by ETag (`_MEMO`), so the next poll parses only what changed.
    """
    record = calendar.record
    owner = instance.directory.get(record.owner) if record.owner else None
    email = (owner.email or "").strip() if owner is not None else ""
    if email.lower().startswith("mailto:"):
        email = email[7:]
    if not email:
        return 0
    with reading(instance, calendar) as handle:
        rows = handle.ending_after(now_ts, "%ATTENDEE%")
    email = email.lower()
    count = 0
    for etag, text in rows:
        key = (etag, email)
        pending = _MEMO.get(key)
        if pending is None:
            pending = _pending_in(text, email, calendar.calid)
            if len(_MEMO) >= MEMO_SIZE:
                _MEMO.clear()
            _MEMO[key] = pending
        count += pending
    return count


def _pending_in(text: str, email: str, calid: str) -> int:
    """Pending invitations of ``email`` in one stored item (one UID: 0 or 1)."""
    if not _may_be_pending(text, email.upper()):
        return 0
    try:
        vcalendar = vobject.readOne(text)
    except Exception as e:  # a broken item is not an invitation
        logger.warning("cannot parse an item of %s: %s", calid, e)
        return 0
    count = 0
    for group in series_of([vcalendar], KINDS["all"]):
        master = group[0] if "recurrence-id" not in group[0].contents else None
        if matches_compstate(master or group[0], PENDING, email):
            count += 1
    return count


def _invitation_prop(ctx, calendar: Calendar) -> Optional[Prop]:
    """The count for a user who may read the calendar's components; None otherwise,
    and None (logged) when counting fails: the layer itself must not fail."""
    if not calendar.access.permits("read"):
        return None
    try:
        now_ts = int(ctx.now().timestamp())
        return Prop(INVITATION_COUNT,
                    str(invitation_count(ctx.backend.instance, calendar, now_ts)))
    except Exception:
        logger.exception("invitation count of %s failed; left out", calendar.calid)
        return None


def calendar_layer(ctx, user: str, requested: str,
                   invitecount: bool = False) -> CalendarLayer:
    """One get_calprops layer; a WcapError becomes the layer's errno."""
    try:
        calendar = resolve(ctx.backend, user, requested)
        require(calendar, "read_props")
        props = calprops_for(ctx.backend.instance, calendar)
        if invitecount:
            prop = _invitation_prop(ctx, calendar)
            if prop is not None:
                props.append(prop)
        return CalendarLayer(requested, props, errno=WcapErrno.OK)
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
    invitecount = bool(params.get("invitecount"))
    layers = [calendar_layer(ctx, user, c, invitecount) for c in calids]
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
