"""list, list_subscribed, subscribe_calendars, unsubscribe_calendars (WCAP 3.x, [Q1]/[Q4]).

The subscribed list is the user's ``icsSubscribed`` preference in the form get_userprefs
shows and Lightning parses (docs/wcap-clients.md#userprefs-answer): ``calid$name`` parts
joined by ``,``; Lightning ignores a part without ``$``, so every part we write has one.
Keeping it in the preference means set_userprefs, get_userprefs and these commands can
never disagree.

The owned list ("list") is every calendar whose primary owner is the user or whose
owners include the user. Both answer each calendar's properties, like get_calprops; a
subscribed calendar that is gone or whose properties the user may not read gets its own
layer errno (29 or 28) and no properties, and the rest of the answer is still 0.

``userid`` names another user's lists: administrators only, else errno 76
ACCESS_DENIED, whose text says exactly this ("A non-administrator tried to read or set
another user's owned or subscribed calendar list").
"""

from __future__ import annotations

import logging

from radicale_wcap import calid as calid_mod
from radicale_wcap.sharing import subscriptions

from ..backend import resolve
from ..calprops import calprops_for
from ..errors import WcapErrno, WcapError
from ..result import CalendarLayer, Result
from . import handler

logger = logging.getLogger("radicale.wcap.wcap.commands.lists")

PREF = subscriptions.PREF


def subscribed(instance, user: str) -> list[str]:
    """The calids of ``user``'s subscribed list, in order, without duplicates."""
    return subscriptions.subscribed(instance.directory, user)


def display_name(instance, calid: str) -> str:
    """The calendar's name as the list's ``calid$name`` part carries it."""
    props = None
    try:
        props = instance.store.calendar_props(calid)
    except calid_mod.InvalidCalid:
        pass
    return (props or {}).get("D:displayname", "")


def subscribe(instance, user: str, calids: list[str]) -> None:
    subscriptions.subscribe(instance.directory, user, calids,
                            lambda calid: display_name(instance, calid))


def unsubscribe(instance, user: str, calids: list[str]) -> None:
    subscriptions.unsubscribe(instance.directory, user, calids,
                              lambda calid: display_name(instance, calid))


def owned(instance, user: str) -> list[str]:
    return [r.calid for r in instance.registry.list()
            if r.owner == user or user in r.owners]


def target_user(ctx, params) -> str:
    instance = ctx.backend.instance
    wanted = (params.get("userid") or "").strip() or ctx.user
    if wanted != ctx.user:
        me = instance.directory.get(ctx.user)
        if me is None or not me.admin:
            raise WcapError(WcapErrno.ACCESS_DENIED, "%s asked for %s's list"
                            % (ctx.user, wanted[:64]))
        if instance.directory.get(wanted) is None:
            raise WcapError(ctx.command.failed, "no user %s" % wanted[:64])
    return wanted


def layers(ctx, calids: list[str]) -> list[CalendarLayer]:
    instance = ctx.backend.instance
    out = []
    for calid in calids:
        try:
            calendar = resolve(ctx.backend, ctx.user, calid)
            if not calendar.access.decide("read_props").allowed:
                raise WcapError(WcapErrno.ACCESS_DENIED_TO_CALENDAR, calid)
            out.append(CalendarLayer(calid, calprops_for(instance, calendar), errno=0))
        except WcapError as e:
            out.append(CalendarLayer(calid, errno=int(e.errno)))
    return out


@handler("list")
def list_(ctx, params):
    user = target_user(ctx, params)
    return Result(calendars=layers(ctx, owned(ctx.backend.instance, user)))


@handler("list_subscribed")
def list_subscribed(ctx, params):
    user = target_user(ctx, params)
    return Result(calendars=layers(ctx, subscribed(ctx.backend.instance, user)))


def _checked(ctx, calids: list[str]) -> list[str]:
    """Canonical calids (``mailto:`` resolved); 29/30 for one that does not exist."""
    return [resolve(ctx.backend, ctx.user, c).calid for c in calids if c.strip()]


@handler("subscribe_calendars")
def subscribe_calendars(ctx, params):
    user = target_user(ctx, params)
    subscribe(ctx.backend.instance, user, _checked(ctx, params["calid"]))
    logger.info("WCAP subscribe_calendars user=%s for=%s", ctx.user, user)
    return Result()


@handler("unsubscribe_calendars")
def unsubscribe_calendars(ctx, params):
    user = target_user(ctx, params)
    # A calendar that was deleted since must still be removable from the list.
    unsubscribe(ctx.backend.instance, user, [c.strip() for c in params["calid"]])
    logger.info("WCAP unsubscribe_calendars user=%s for=%s", ctx.user, user)
    return Result()
