"""createcalendar (Table 7-12), deletecalendar (Table 7-13), set_calprops (Table 7-35).

set_calprops is an update: only the parameters sent change. Every value of every
calendar named (``calid``, or one ``cal`` per calendar with ``multiple``) is checked
first — ACL (the first bad ACE is named in the log), owners (must be users), web name
(pattern and uniqueness), primary owner (administrators only) — and only then is
anything written, so a refused request changes nothing. createcalendar with
``set_calprops=1`` takes the same parameters and the same checks.

Names of parameters the 2002 manual lacks come from the later Sun docs: ``doublebooking``
(2005Q4 set_calprops), ``allowdoublebook`` and ``subscribe`` (6.3 createcalendar).
``webname`` and ``primaryOwner`` are ours (the Trumba door's name of a calendar, and the
administrator's hand-over of a calendar). ``read``/``write`` (deprecated in favour of
``acl``), ``lang``, ``charset`` and ``master`` are accepted and not stored: the ACE model
has no equivalent of the first two and the calendar's language and contact come from its
owner.

Oracle Calendar Server 7/8 ("Design Changes": the server constructs the calid) takes
createcalendar with a required ``name`` and no ``calid``, ``desc`` for the description and
``fbinclude``; Sun-era clients send ``calid``. Both are accepted: without ``calid`` the
calid is made from ``name`` (`oracle_calid`), the properties sent are set as with
``set_calprops=1``, and the answer's ``X-NSCP-CALPROPS-RELATIVE-CALID`` tells the client
the new id. A ``calid`` sent is still honoured (Oracle would ignore it; Sun clients need
it). ``fbinclude`` is accepted and not stored (free/busy always includes the calendar).
Oracle's separate ACL syntax for ``acl`` is not taken: it would make Sun's ACE strings
(``jdoe^c^wdeic^g``), which Sun-era clients send, mean something else.

Access: set_calprops needs ``write_props`` (the primary owner always has it);
createcalendar makes calendars under the requester's own id (``calid=tv`` gives
``jdoe:tv``, as the manual says) and administrators may name any user's
(``calid=bob:tv``); deletecalendar is for the primary owner or an administrator. The
manual gives no errno for these denials, so they answer 28.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap.acl.ace import InvalidACL
from radicale_wcap.registry import WEBNAME
from radicale_wcap.store import CalendarExists, CalendarNotFound

from ..backend import require, resolve
from ..calprops import calprops_for
from ..errors import WcapErrno, WcapError
from ..params import BadParam, parse_params, raw_request
from ..result import CalendarLayer, Result
from . import handler
from .lists import subscribe
from .table import COMMANDS

logger = logging.getLogger("radicale.wcap.wcap.commands.calendars")


def is_admin(instance, user: str) -> bool:
    found = instance.directory.get(user) if user else None
    return bool(found is not None and found.admin)


@dataclass
class Change:
    """What one set_calprops (or createcalendar set_calprops=1) will write, validated."""

    path: str
    props: dict[str, Any] = field(default_factory=dict)      # name, description, tz
    acl: Optional[str] = None
    owners: Optional[list[str]] = None
    primary_owner: Optional[str] = None
    webname: Optional[str] = None
    settings: dict[str, Any] = field(default_factory=dict)   # registry settings

    def apply(self, instance, calid: str, user: str, *, props: bool = True) -> None:
        registry = instance.registry
        if props and self.props:
            instance.store.set_calendar_props(calid, user=user, **self.props)
        if self.acl is not None:
            registry.set_acl(self.path, self.acl)
        if self.owners is not None:
            registry.set_owners(self.path, self.owners)
        if self.primary_owner is not None:
            registry.set_primary_owner(self.path, self.primary_owner)
        if self.webname is not None:
            registry.set_webname(self.path, self.webname or None)
        if self.settings:
            registry.update_settings(self.path, **self.settings)


def plan(ctx, params, path: str, errno: WcapErrno) -> Change:
    """Check every property sent; raise ``errno`` naming the first bad one."""
    instance = ctx.backend.instance
    change = Change(path)
    for name, key in (("name", "name"), ("description", "description"), ("tzid", "tz")):
        if params.sent(name) and params[name] is not None:
            change.props[key] = params[name]
    if params.sent("tzid") and params["tzid"]:
        change.settings["tzid"] = params["tzid"]
    if params.sent("categories"):
        change.settings["categories"] = [c for c in params["categories"] or () if c]
    for name in ("doublebooking", "allowdoublebook"):
        if params.sent(name) and params[name] is not None:
            change.settings["allow_double_booking"] = bool(params[name])
    if params.sent("acl"):
        text = ";".join(params["acl"] or ())
        try:
            change.acl = instance.registry.validate_acl(text)
        except InvalidACL as e:
            raise WcapError(errno, "invalid ACL: %s" % e) from e
    if params.sent("owners"):
        owners = [o for o in params["owners"] or () if o]
        for owner in owners:
            if not calid_mod.is_valid_name(owner) or instance.directory.get(owner) is None:
                raise WcapError(errno, "owner %r is not a user" % owner[:64])
        change.owners = owners
    if params.sent("primaryOwner") and params["primaryOwner"]:
        owner = params["primaryOwner"]
        if not is_admin(instance, ctx.user):
            raise WcapError(WcapErrno.ACCESS_DENIED_TO_CALENDAR,
                            "only administrators change a primary owner")
        if not calid_mod.is_valid_name(owner) or instance.directory.get(owner) is None:
            raise WcapError(errno, "primary owner %r is not a user" % owner[:64])
        change.primary_owner = owner
    if params.sent("webname"):
        webname = (params["webname"] or "").strip()
        if webname:
            if not WEBNAME.match(webname):
                raise WcapError(errno, "invalid web name")
            other = instance.registry.get_by_webname(webname)
            if other is not None and other.path != path:
                raise WcapError(errno, "web name used by %s" % other.calid)
        change.webname = webname
    return change


# ---------------------------------------------------------------- createcalendar

def oracle_calid(instance, user: str, name: str) -> str:
    """``user:<name as a calid>`` for Oracle's createcalendar (no calid sent): the name's
    letters and digits, ``-`` for the rest, made unique with ``-2``, ``-3``..."""
    base = re.sub(r"[^A-Za-z0-9._@+-]+", "-", name).strip("-._@+")[:48] or "calendar"
    if base.lower() == calid_mod.DEFAULT_CALENDAR_NAME:
        base += "-1"
    candidate, n = base, 1
    while instance.registry.get(calid_mod.to_path("%s:%s" % (user, candidate))) is not None:
        n += 1
        candidate = "%s-%d" % (base, n)
    return "%s:%s" % (user, candidate)


@handler("createcalendar")
def createcalendar(ctx, params):
    instance = ctx.backend.instance
    user = ctx.user
    text = (params.get("calid") or "").strip()
    oracle = not text
    if oracle:
        if not (params.get("name") or "").strip():
            raise WcapError(WcapErrno.CALID_NOT_SPECIFIED, "neither calid nor name")
        text = oracle_calid(instance, user, params["name"].strip())
    # "The format for the new calendar's calid is userid:calid"; a full id is taken as
    # given, which is how an administrator names another user's calendar.
    calid = text if ":" in text else "%s:%s" % (user, text)
    try:
        path = calid_mod.to_path(calid)
        owner = calid_mod.owner_of(calid)
    except calid_mod.InvalidCalid as e:
        raise WcapError(WcapErrno.ILLEGAL_CALID_NAME, str(e)) from e
    if owner != user and not is_admin(instance, user):
        raise WcapError(WcapErrno.ACCESS_DENIED_TO_CALENDAR,
                        "%s may not create calendars for %s" % (user, owner))
    if instance.directory.get(owner) is None:
        raise WcapError(WcapErrno.ILLEGAL_CALID_NAME, "no user %s" % owner)
    change = plan(ctx, params, path, WcapErrno.CREATECALENDAR_FAILED) \
        if params["set_calprops"] or oracle else Change(path)
    if instance.registry.get(path) is not None:
        raise WcapError(WcapErrno.CREATECALENDAR_ALREADY_EXISTS_FAILED, calid)
    try:
        instance.store.create_calendar(
            calid, owner=owner, name=change.props.get("name"), tz=change.props.get("tz"),
            description=change.props.get("description"), acl=change.acl, user=user)
    except CalendarExists as e:
        raise WcapError(WcapErrno.CREATECALENDAR_ALREADY_EXISTS_FAILED, calid) from e
    # Set again: store.create_calendar hands the ACL to registry.register(), which is a
    # no-op when the storage plugin has already registered the new collection.
    change.apply(instance, calid, user, props=False)
    if params["subscribe"]:
        subscribe(instance, user, [calid])
    logger.info("WCAP createcalendar user=%s calid=%s", user, calid)
    calendar = resolve(ctx.backend, user, calid)
    return Result(calendars=[CalendarLayer(calid, calprops_for(instance, calendar), errno=0)])


# ---------------------------------------------------------------- deletecalendar

@handler("deletecalendar")
def deletecalendar(ctx, params):
    instance = ctx.backend.instance
    try:
        calendar = resolve(ctx.backend, ctx.user, params["calid"])
    except WcapError as e:
        if e.errno != WcapErrno.CALENDAR_DOES_NOT_EXIST:
            raise
        # Table 7-13: "delete_layer_errno[x] value is set to 1 ... errno ... (29)".
        logger.info("WCAP deletecalendar user=%s: no calendar", ctx.user)
        return Result(errno=WcapErrno.CALENDAR_DOES_NOT_EXIST,
                      layer_arrays={"delete_layer_errno": [1]})
    if calendar.record.owner != ctx.user and not is_admin(instance, ctx.user):
        raise WcapError(WcapErrno.ACCESS_DENIED_TO_CALENDAR,
                        "%s is not the primary owner of %s" % (ctx.user, calendar.calid))
    try:
        instance.store.delete_calendar(calendar.calid, user=ctx.user)
    except CalendarNotFound:
        return Result(errno=WcapErrno.CALENDAR_DOES_NOT_EXIST,
                      layer_arrays={"delete_layer_errno": [1]})
    logger.info("WCAP deletecalendar user=%s calid=%s", ctx.user, calendar.calid)
    return Result(layer_arrays={"delete_layer_errno": [0]})


# ---------------------------------------------------------------- set_calprops

def _cal_params(ctx, encoded: str):
    """One ``cal`` value: "the complete property parameter list" of one calendar."""
    try:
        return parse_params(COMMANDS["set_calprops"].params, raw_request(encoded),
                            ctx.default_tzid)
    except BadParam as e:
        if e.name == "calid" and e.missing:
            raise WcapError(WcapErrno.CALID_NOT_SPECIFIED, "cal without calid") from e
        raise WcapError(WcapErrno.SETCALPROPS_FAILED, "bad %s in cal" % e.name) from e


@handler("set_calprops")
def set_calprops(ctx, params):
    instance = ctx.backend.instance
    requests = [params]
    if params.sent("cal") and params["cal"]:
        # Multiple Calendars Example: one encoded parameter list per calendar.
        cals = params["cal"] if isinstance(params["cal"], list) else [params["cal"]]
        requests = [_cal_params(ctx, text) for text in cals]
    planned = []
    for request in requests:
        if not request["calid"]:
            raise WcapError(WcapErrno.CALID_NOT_SPECIFIED, "set_calprops without calid")
        calendar = resolve(ctx.backend, ctx.user, request["calid"])
        require(calendar, "write_props")
        planned.append((calendar, plan(ctx, request, calendar.path,
                                       WcapErrno.SETCALPROPS_FAILED)))
    for calendar, change in planned:
        try:
            change.apply(instance, calendar.calid, ctx.user)
        except CalendarNotFound as e:
            raise WcapError(WcapErrno.CALENDAR_DOES_NOT_EXIST, calendar.calid) from e
        logger.info("WCAP set_calprops user=%s calid=%s", ctx.user, calendar.calid)
    return Result()
