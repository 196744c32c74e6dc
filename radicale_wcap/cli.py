"""The command line: ``radicale-wcap --config FILE <command> ...``.

A public interface: administrators' scripts call it, so commands, options and
exit codes are stable (docs in the README). Errors print one line on stderr
and exit 1 (2 for usage errors); ``verify`` exits 3 when it finds damage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import List, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap import timezones
from radicale_wcap.backup import backup
from radicale_wcap.config import settings_table_markdown
from radicale_wcap.instance import Instance
from radicale_wcap.server import Server
from radicale_wcap.store import PROP_DESCRIPTION, PROP_NAME, create_default_calendar
from radicale_wcap.verify import reindex_store, verify_store

EXIT_ERROR = 1
EXIT_DAMAGE = 3


class CliError(Exception):
    pass


def _read_password(args) -> str:
    if not getattr(args, "password_stdin", False):
        raise CliError("give the password on standard input with --password-stdin")
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("empty password on standard input")
    return password


def _instance(args):
    return Instance.from_file(args.config)


def _user_dict(user, instance) -> dict:
    return {"name": user.name, "email": user.email, "cn": user.cn, "tz": user.tz,
            "admin": user.admin, "default_calendar": user.default_calid,
            "calendars": [r.calid for r in instance.registry.list(owner=user.name)]}


# -- user
def cmd_user_add(args) -> None:
    instance = _instance(args)
    password = _read_password(args)
    instance.directory.add(args.name, password, email=args.email or "",
                           cn=args.fullname or args.name, tz=args.tz, admin=args.admin)
    create_default_calendar(instance.configuration, args.name, instance.store)
    print("user %s added; default calendar %s at %s" % (
        args.name, args.name, calid_mod.to_path(args.name)))


def cmd_user_passwd(args) -> None:
    instance = _instance(args)
    instance.directory.set_password(args.name, _read_password(args))
    print("password of %s changed" % args.name)


def cmd_user_set(args) -> None:
    instance = _instance(args)
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
    instance = _instance(args)
    if instance.directory.get(args.name) is None:
        raise CliError("no such user %r" % args.name)
    owned = instance.registry.list(owner=args.name)
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
    instance = _instance(args)
    for user in instance.directory.list():
        print("%s\t%s\t%s%s" % (user.name, user.email, user.tz,
                                "\tadmin" if user.admin else ""))


def cmd_user_show(args) -> None:
    instance = _instance(args)
    user = instance.directory.get(args.name)
    if user is None:
        raise CliError("no such user %r" % args.name)
    print(json.dumps(_user_dict(user, instance), indent=2))


# -- calendar
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


def cmd_calendar_create(args) -> None:
    instance = _instance(args)
    owner = args.owner or calid_mod.owner_of(args.calid)
    if owner != calid_mod.owner_of(args.calid) and instance.directory.get(owner) is None:
        raise CliError("no such user %r" % owner)
    if args.tz:
        if not timezones.is_valid_tzid(args.tz):
            raise CliError("unknown time zone %r" % args.tz)
    instance.store.create_calendar(args.calid, owner=owner, name=args.name,
                                   tz=args.tz, description=args.description)
    print("calendar %s created at %s" % (args.calid, calid_mod.to_path(args.calid)))


def cmd_calendar_list(args) -> None:
    instance = _instance(args)
    for path in instance.store.calendars_on_disk():
        calid = calid_mod.from_path(path)
        record = instance.registry.get(path) or instance.registry.default_record(path)
        if args.owner and record.owner != args.owner:
            continue
        print("%s\t%s\t%s" % (calid, path, record.owner))


def cmd_calendar_show(args) -> None:
    instance = _instance(args)
    calid_mod.split(args.calid)
    print(json.dumps(_calendar_dict(instance, args.calid), indent=2))


def cmd_calendar_set(args) -> None:
    instance = _instance(args)
    path = calid_mod.to_path(args.calid)
    if instance.store.calendar_props(args.calid) is None:
        raise CliError("no such calendar %r" % args.calid)
    if args.tz:
        if not timezones.is_valid_tzid(args.tz):
            raise CliError("unknown time zone %r" % args.tz)
    if args.webname is not None:
        instance.registry.set_webname(path, args.webname)
    if args.parent is not None:
        instance.registry.set_parent(path, calid_mod.to_path(args.parent) if args.parent else None)
    if args.owners is not None:
        instance.registry.set_owners(path, [o for o in args.owners.split(",") if o])
    settings = {}
    for name in ("allow_double_booking", "feed_deletes_own_only", "feed_allow_mass_delete"):
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
    instance = _instance(args)
    instance.store.delete_calendar(args.calid)
    print("calendar %s deleted" % args.calid)


def cmd_calendar_acl(args) -> None:
    instance = _instance(args)
    path = calid_mod.to_path(args.calid)
    if instance.store.calendar_props(args.calid) is None:
        raise CliError("no such calendar %r" % args.calid)
    if args.acl is None:
        record = instance.registry.get(path) or instance.registry.default_record(path)
        print(record.acl)
        return
    record = instance.registry.set_acl(path, args.acl)
    print(record.acl)


# -- api keys
def cmd_apikey_create(args) -> None:
    instance = _instance(args)
    if instance.directory.get(args.user) is None:
        raise CliError("no such user %r" % args.user)
    key = instance.apikeys.create(args.user, args.label or "")
    print("API key for %s (shown once; store it now):" % args.user)
    print(key)


def cmd_apikey_list(args) -> None:
    instance = _instance(args)
    for key in instance.apikeys.list(args.user):
        print("%d\t%s\t%s" % (key.id, key.user, key.label))


def cmd_apikey_revoke(args) -> None:
    instance = _instance(args)
    if not instance.apikeys.revoke(args.id):
        raise CliError("no API key with id %d" % args.id)
    print("API key %d revoked" % args.id)


# -- store
def cmd_verify(args) -> int:
    instance = _instance(args)
    problems = verify_store(instance, log=print)
    if problems:
        print("%d problem(s) found" % problems, file=sys.stderr)
        return EXIT_DAMAGE
    print("store and index consistent")
    return 0


def cmd_reindex(args) -> None:
    instance = _instance(args)
    count = reindex_store(instance, log=print)
    print("reindexed %d calendar(s)" % count)


def cmd_backup(args) -> None:
    backup(_instance(args), args.destination)


def cmd_serve(args) -> None:
    instance = _instance(args)
    server = Server(instance, host=args.host, port=args.port)
    for host, port in server.bound:
        base = "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port)
        print("Listening on %s" % base)
        print("  CalDAV:  %s/" % base)
        print("  WCAP:    %s/wcap/login.wcap  (also %s/<command>.wcap)" % (base, base))
        print("  Import:  %s/service/<webname>.ics" % base)
        print("  JSON:    %s/api/ics  %s/restapi/v1/events" % (base, base))
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass


def cmd_settings(args) -> None:
    print(settings_table_markdown())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radicale-wcap",
        description="Radicale with WCAP, Trumba-style import and JSON front doors.")
    parser.add_argument("--config", "-C", metavar="FILE",
                        default=os.environ.get("RADICALE_WCAP_CONFIG"),
                        help="the configuration file (a Radicale config file with the "
                        "project's sections); default $RADICALE_WCAP_CONFIG")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="override [server] hosts")
    serve.add_argument("--port", type=int, help="override the port (0: any free port)")
    serve.set_defaults(func=cmd_serve)

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
    for name in ("allow-double-booking", "feed-deletes-own-only", "feed-allow-mass-delete"):
        cset.add_argument("--" + name, dest=name.replace("-", "_"), choices=("yes", "no"))
    cset.set_defaults(func=cmd_calendar_set)
    cdel = cal.add_parser("delete", help="delete a calendar and its events")
    cdel.add_argument("calid")
    cdel.set_defaults(func=cmd_calendar_delete)
    acl = cal.add_parser("acl", help="show or set a calendar's ACL")
    acl.add_argument("calid")
    acl.add_argument("acl", nargs="?", help="semicolon-separated ACE strings")
    acl.set_defaults(func=cmd_calendar_acl)

    keys = commands.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="apikey_command", metavar="ACTION")
    keys.required = True
    kcreate = keys.add_parser("create", help="create a key (printed alone on the last line)")
    kcreate.add_argument("user")
    kcreate.add_argument("--label")
    kcreate.set_defaults(func=cmd_apikey_create)
    klist = keys.add_parser("list", help="list keys (never the keys themselves)")
    klist.add_argument("user", nargs="?")
    klist.set_defaults(func=cmd_apikey_list)
    krevoke = keys.add_parser("revoke", help="revoke a key by id")
    krevoke.add_argument("id", type=int)
    krevoke.set_defaults(func=cmd_apikey_revoke)

    commands.add_parser("verify", help="check store and index; exit 3 on damage"
                        ).set_defaults(func=cmd_verify)
    commands.add_parser("reindex", help="rebuild the index from the items"
                        ).set_defaults(func=cmd_reindex)
    backup_parser = commands.add_parser(
        "backup", help="copy the items and the database, consistently, while the server "
        "runs (not the index)")
    backup_parser.add_argument("destination", metavar="DEST", help="a new folder")
    backup_parser.set_defaults(func=cmd_backup)
    commands.add_parser("settings", help="print the settings table"
                        ).set_defaults(func=cmd_settings)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in ("settings",) and not args.config:
        parser.error("--config FILE is required (or set RADICALE_WCAP_CONFIG)")
    if args.command != "serve":
        # serve keeps the root logger free for Radicale's handler, whose lines carry the
        # time and the process (the access lines rely on it).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        result = args.func(args)
    except (CliError, ValueError, RuntimeError, OSError) as e:
        message = str(e) or type(e).__name__
        print("radicale-wcap: error: %s" % message, file=sys.stderr)
        return EXIT_ERROR
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
