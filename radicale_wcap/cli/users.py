"""``user add|passwd|set|del|list|show``: the directory, and each user's default calendar."""

from __future__ import annotations

import json

from radicale_wcap import calid as calid_mod
from radicale_wcap.cli.common import CliError, instance as open_instance, read_password
from radicale_wcap.store import create_default_calendar


def _user_dict(user, instance) -> dict:
    return {"name": user.name, "email": user.email, "cn": user.cn, "tz": user.tz,
            "admin": user.admin, "default_calendar": user.default_calid,
            "calendars": [r.calid for r in instance.registry.list(owner=user.name)]}


def cmd_user_add(args) -> None:
    instance = open_instance(args)
    password = read_password(args)
    instance.directory.add(args.name, password, email=args.email or "",
                           cn=args.fullname or args.name, tz=args.tz, admin=args.admin)
    create_default_calendar(instance.configuration, args.name, instance.store)
    print("user %s added; default calendar %s at %s" % (
        args.name, args.name, calid_mod.to_path(args.name)))


def cmd_user_passwd(args) -> None:
    instance = open_instance(args)
    instance.directory.set_password(args.name, read_password(args))
    print("password of %s changed" % args.name)


def cmd_user_set(args) -> None:
    instance = open_instance(args)
    changes = {}
    if args.email is not None:
        changes["email"] = args.email
    if args.fullname is not None:
        changes["cn"] = args.fullname
    if args.tz is not None:
        changes["tz"] = args.tz
    if args.admin is not None:
        changes["admin"] = args.admin == "yes"
    user = instance.directory.update(args.name, **changes)
    print(json.dumps(_user_dict(user, instance), indent=2))


def cmd_user_del(args) -> None:
    instance = open_instance(args)
    if instance.directory.get(args.name) is None:
        raise CliError("no such user %r" % args.name)
    owned = instance.registry.list(owner=args.name)
    # Calendars on disk that the registry never saw (made through CalDAV) count too:
    # otherwise they would outlive their owner, reachable by whoever takes the name next.
    on_disk = [p for p in instance.store.calendars_on_disk()
               if p.startswith("/%s/" % args.name)]
    calids = sorted({r.calid for r in owned} | {calid_mod.from_path(p) for p in on_disk})
    if calids and not args.delete_calendars:
        raise CliError("user %s owns calendars (%s); give --delete-calendars to delete them "
                       "too" % (args.name, ", ".join(calids)))
    for calid in calids:
        try:
            instance.store.delete_calendar(calid)
        except Exception as e:
            raise CliError("can not delete calendar %s: %s" % (calid, e)) from e
    instance.directory.delete(args.name)
    print("user %s deleted (%d calendar(s) deleted, sessions and keys revoked)"
          % (args.name, len(calids)))


def cmd_user_list(args) -> None:
    instance = open_instance(args)
    for user in instance.directory.list():
        print("%s\t%s\t%s%s" % (user.name, user.email, user.tz,
                                "\tadmin" if user.admin else ""))


def cmd_user_show(args) -> None:
    instance = open_instance(args)
    user = instance.directory.get(args.name)
    if user is None:
        raise CliError("no such user %r" % args.name)
    print(json.dumps(_user_dict(user, instance), indent=2))


def add_commands(commands) -> None:
    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", metavar="ACTION")
    user.required = True
    add = user.add_parser("add", help="add a user and its default calendar")
    add.add_argument("name")
    add.add_argument("--email", required=True)
    add.add_argument("--name", dest="fullname", help="full name (common name)")
    add.add_argument("--tz", default="UTC", help="IANA time zone (default UTC)")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--password-stdin", action="store_true", required=True)
    add.set_defaults(func=cmd_user_add)
    passwd = user.add_parser("passwd", help="change a password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True)
    passwd.set_defaults(func=cmd_user_passwd)
    uset = user.add_parser("set", help="change a user's attributes")
    uset.add_argument("name")
    uset.add_argument("--email")
    uset.add_argument("--name", dest="fullname")
    uset.add_argument("--tz")
    uset.add_argument("--admin", choices=("yes", "no"))
    uset.set_defaults(func=cmd_user_set)
    delete = user.add_parser("del", help="delete a user (revokes sessions and keys)")
    delete.add_argument("name")
    delete.add_argument("--delete-calendars", action="store_true",
                        help="also delete the calendars the user owns")
    delete.set_defaults(func=cmd_user_del)
    user.add_parser("list", help="list users").set_defaults(func=cmd_user_list)
    show = user.add_parser("show", help="show a user")
    show.add_argument("name")
    show.set_defaults(func=cmd_user_show)
