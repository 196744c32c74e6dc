"""``calendar create|list|show|set|delete|acl``: a calendar's collection, its registry
record (owners, web name, parent, settings) and its ACL."""

from __future__ import annotations

import json

from radicale_wcap import calid as calid_mod
from radicale_wcap import timezones
from radicale_wcap.cli.common import CliError, instance as open_instance
from radicale_wcap.store import PROP_DESCRIPTION, PROP_NAME
from radicale_wcap.wcap.commands import lists

# Registry settings that ``calendar set`` takes as --allow-double-booking yes|no etc.
SETTINGS = ("allow_double_booking", "feed_deletes_own_only", "feed_allow_mass_delete")


def _calendar_dict(instance, calid: str) -> dict:
    record = instance.registry.get_by_calid(calid)
    props = instance.store.calendar_props(calid)
    if props is None:
        raise CliError("no such calendar %r" % calid)
    if record is None:
        record = instance.registry.register(calid_mod.to_path(calid))
    return {"calid": calid, "path": record.path, "caldav_url": record.path,
            "name": props.get(PROP_NAME, ""), "description": props.get(PROP_DESCRIPTION, ""),
            "tz": record.setting("tzid"), "primary_owner": record.owner,
            "owners": record.owners, "acl": record.acl, "number": record.number,
            "webname": record.webname,
            "parent": calid_mod.from_path(record.parent) if record.parent else None,
            "settings": record.settings}


def _check_tz(tz) -> None:
    if tz and not timezones.is_valid_tzid(tz):
        raise CliError("unknown time zone %r" % tz)


def cmd_calendar_create(args) -> None:
    instance = open_instance(args)
    owner = args.owner or calid_mod.owner_of(args.calid)
    if owner != calid_mod.owner_of(args.calid) and instance.directory.get(owner) is None:
        raise CliError("no such user %r" % owner)
    _check_tz(args.tz)
    instance.store.create_calendar(args.calid, owner=owner, name=args.name,
                                   tz=args.tz, description=args.description)
    print("calendar %s created at %s" % (args.calid, calid_mod.to_path(args.calid)))


def cmd_calendar_list(args) -> None:
    instance = open_instance(args)
    for path in instance.store.calendars_on_disk():
        calid = calid_mod.from_path(path)
        record = instance.registry.get(path) or instance.registry.default_record(path)
        if args.owner and record.owner != args.owner:
            continue
        print("%s\t%s\t%s" % (calid, path, record.owner))


def cmd_calendar_show(args) -> None:
    instance = open_instance(args)
    calid_mod.split(args.calid)  # an illegal calid is refused before anything is read
    print(json.dumps(_calendar_dict(instance, args.calid), indent=2))


def cmd_calendar_set(args) -> None:
    instance = open_instance(args)
    path = calid_mod.to_path(args.calid)
    if instance.store.calendar_props(args.calid) is None:
        raise CliError("no such calendar %r" % args.calid)
    _check_tz(args.tz)
    if args.webname is not None:
        instance.registry.set_webname(path, args.webname)
    if args.parent is not None:
        instance.registry.set_parent(path, calid_mod.to_path(args.parent) if args.parent else None)
    if args.owners is not None:
        instance.registry.set_owners(path, [o for o in args.owners.split(",") if o])
    settings = {}
    for name in SETTINGS:
        value = getattr(args, name)
        if value is not None:
            settings[name] = value == "yes"
    if settings:
        instance.registry.update_settings(path, **settings)
    if args.name is not None or args.description is not None or args.tz:
        instance.store.set_calendar_props(args.calid, name=args.name,
                                          description=args.description, tz=args.tz)
    print(json.dumps(_calendar_dict(instance, args.calid), indent=2))


def cmd_calendar_delete(args) -> None:
    instance = open_instance(args)
    instance.store.delete_calendar(args.calid)
    print("calendar %s deleted" % args.calid)


def cmd_calendar_acl(args) -> None:
    instance = open_instance(args)
    path = calid_mod.to_path(args.calid)
    if instance.store.calendar_props(args.calid) is None:
        raise CliError("no such calendar %r" % args.calid)
    if args.acl is None:
        record = instance.registry.get(path) or instance.registry.default_record(path)
        print(record.acl)
        return
    record = instance.registry.set_acl(path, args.acl)
    print(record.acl)


def cmd_calendar_subscribe(args) -> None:
    instance = open_instance(args)
    if instance.directory.get(args.user) is None:
        raise CliError("no such user %r" % args.user)
    calid_mod.split(args.calid)
    if instance.store.calendar_props(args.calid) is None:
        raise CliError("no such calendar %r" % args.calid)
    lists.subscribe(instance, args.user, [args.calid])
    print("%s subscribed to %s" % (args.user, args.calid))


def cmd_calendar_unsubscribe(args) -> None:
    instance = open_instance(args)
    if instance.directory.get(args.user) is None:
        raise CliError("no such user %r" % args.user)
    # A calendar deleted since must still come off the list.
    lists.unsubscribe(instance, args.user, [args.calid])
    print("%s unsubscribed from %s" % (args.user, args.calid))


def add_commands(commands) -> None:
    cal = commands.add_parser("calendar", help="manage calendars").add_subparsers(
        dest="calendar_command", metavar="ACTION")
    cal.required = True
    create = cal.add_parser("create", help="create a calendar")
    create.add_argument("calid")
    create.add_argument("--owner")
    create.add_argument("--name")
    create.add_argument("--tz")
    create.add_argument("--description")
    create.set_defaults(func=cmd_calendar_create)
    clist = cal.add_parser("list", help="list calendars")
    clist.add_argument("--owner")
    clist.set_defaults(func=cmd_calendar_list)
    cshow = cal.add_parser("show", help="show a calendar and its CalDAV URL")
    cshow.add_argument("calid")
    cshow.set_defaults(func=cmd_calendar_show)
    cset = cal.add_parser("set", help="change a calendar's properties")
    cset.add_argument("calid")
    cset.add_argument("--name")
    cset.add_argument("--description")
    cset.add_argument("--tz")
    cset.add_argument("--webname", help="name for /service/<webname>.ics ('' removes it)")
    cset.add_argument("--parent", help="calid of the parent calendar ('' removes it)")
    cset.add_argument("--owners", help="comma-separated owner list")
    for name in SETTINGS:
        cset.add_argument("--" + name.replace("_", "-"), dest=name, choices=("yes", "no"))
    cset.set_defaults(func=cmd_calendar_set)
    cdel = cal.add_parser("delete", help="delete a calendar and its events")
    cdel.add_argument("calid")
    cdel.set_defaults(func=cmd_calendar_delete)
    acl = cal.add_parser("acl", help="show or set a calendar's ACL")
    acl.add_argument("calid")
    acl.add_argument("acl", nargs="?", help="semicolon-separated ACE strings")
    acl.set_defaults(func=cmd_calendar_acl)
    sub = cal.add_parser("subscribe", help="show a calendar in a user's CalDAV home "
                         "(and WCAP subscribed list)")
    sub.add_argument("user")
    sub.add_argument("calid")
    sub.set_defaults(func=cmd_calendar_subscribe)
    unsub = cal.add_parser("unsubscribe", help="take a calendar out of a user's "
                           "subscribed list and CalDAV home")
    unsub.add_argument("user")
    unsub.add_argument("calid")
    unsub.set_defaults(func=cmd_calendar_unsubscribe)
