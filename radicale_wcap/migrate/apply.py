"""A plan written to this server: users through the directory, calendars through the
store, a calendar's items as one store batch.

A calendar's items are all written or none (`CalendarStore.batch`: journal, rollback on
any exception, a ``kill -9`` rolled back by the next process that locks the calendar).
The calendar itself, its ACL and owners are written first; a run stopped between the
two leaves an empty calendar with the right rights, which the next run fills, since
it plans against what is here (nothing duplicated: items are keyed by UID).
"""

from __future__ import annotations

import logging

from radicale_wcap.store import SYSTEM, WRITE, CalendarExists

from .plan import CalendarPlan, UserPlan

logger = logging.getLogger("radicale.wcap.migrate")

LABEL = "migrate"


def apply_user(instance, plan: UserPlan) -> None:
    directory = instance.directory
    if plan.action == "refused":
        return
    if plan.action == "created":
        # No password: it can not be read from the old server. Sites keep
        # authenticating against their directory ([auth] password_backend = ldap).
        directory.add(plan.uid, None, email=plan.attributes["email"],
                      cn=plan.attributes["cn"], tz=plan.attributes["tz"])
    elif plan.attributes:
        directory.update(plan.uid, **plan.attributes)
    if plan.prefs:
        directory.set_prefs(plan.uid, plan.prefs)
    logger.info("migrate: user %s %s", plan.uid, plan.action)


def apply_calendar(instance, plan: CalendarPlan) -> None:
    if plan.action in ("refused", "unchanged"):
        return
    store, registry = instance.store, instance.registry
    if plan.create:
        try:
            store.create_calendar(plan.calid, owner=plan.owner, name=plan.props.get("name"),
                                  tz=plan.props.get("tz") or None,
                                  description=plan.props.get("description") or None,
                                  acl=plan.acl)
        except CalendarExists:
            pass  # made by a run that stopped before its items; the rest is set below
    elif plan.props:
        store.set_calendar_props(plan.calid, name=plan.props.get("name"),
                                 description=plan.props.get("description"),
                                 tz=plan.props.get("tz") or None)
    if plan.acl is not None and not plan.create:
        registry.set_acl(plan.path, plan.acl)
    if plan.owner and not plan.create:
        registry.set_primary_owner(plan.path, plan.owner)
    if plan.owners is not None:
        registry.set_owners(plan.path, plan.owners)
    if plan.settings:
        registry.update_settings(plan.path, **plan.settings)
    if plan.puts or plan.deletes:
        with store.batch([plan.path], SYSTEM, WRITE, label=LABEL) as batch:
            handle = batch.calendar(plan.path)
            for _, item in plan.puts:
                handle.put(item)
            for uid in plan.deletes:
                handle.delete(uid)
    logger.info("migrate: calendar %s %s: %d created, %d updated, %d deleted, %d unchanged",
                plan.calid, plan.action, plan.count("created"), plan.count("updated"),
                len(plan.deletes), plan.unchanged)
