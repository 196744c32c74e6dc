"""``migrate wcap|files|caldav``: moving in from a Sun or Oracle calendar server, from
its export files, or from another CalDAV server (docs/migrate.md).

Progress goes to standard output (a redrawn line on a terminal, a line per calendar
otherwise), then the summary; ``--report FILE`` writes the JSON report, also when the
run stops early. Exit 1 with one line on stderr when the run stops (wrong URL, not an
administrator, the old server unreachable after its retries) or when a user or a
calendar was refused; items refused inside a calendar are in the report only.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import List, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap.cli.common import CliError, instance as open_instance, read_password
from radicale_wcap.migrate import MigrationError, Options, migrate_calendars, migrate_wcap
from radicale_wcap.migrate.caldavsource import read_account
from radicale_wcap.migrate.filesource import read_files
from radicale_wcap.migrate.ldapusers import users_from_ldap
from radicale_wcap.migrate.model import UserEntry
from radicale_wcap.migrate.report import Report
from radicale_wcap.migrate.wcapsource import WcapSource

_COMPACT = re.compile(r"\d{8}T\d{6}Z\Z")


def _since(text: Optional[str]) -> Optional[str]:
    """``--since`` as WCAP writes times (``20261130T180000Z``); ISO 8601 accepted."""
    if not text:
        return None
    if _COMPACT.match(text):
        return text
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError("--since %r is not a time (20261130T180000Z or "
                       "2026-11-30T18:00:00Z)" % text) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _user_list(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip() and not line.startswith("#")]
    except OSError as e:
        raise CliError("can not read --users %s: %s" % (path, e.strerror or e)) from None


def _options(args) -> Options:
    if args.jobs < 1 or args.jobs > 32:
        raise CliError("--jobs must be between 1 and 32")
    return Options(dry_run=args.dry_run, since=_since(getattr(args, "since", None)),
                   jobs=args.jobs)


def _finish(args, report: Report) -> int:
    print(report.summary())
    if args.report:
        report.write(args.report)
    totals = report.totals()
    refused = totals["calendars_refused"] + totals["users_refused"]
    if refused:
        raise CliError("%d calendar(s) and %d user(s) refused (reasons above%s)" % (
            totals["calendars_refused"], totals["users_refused"],
            " and in %s" % args.report if args.report else ""))
    return 0


def _run(args, report: Report, work) -> int:
    try:
        work()
    except (MigrationError, KeyboardInterrupt) as e:
        reason = str(e) if isinstance(e, MigrationError) else \
            "interrupted; the same command again finishes the job"
        if args.report:
            report.data["stopped"] = reason
            report.write(args.report)
        raise CliError(reason) from None
    return _finish(args, report)


def cmd_migrate_wcap(args) -> int:
    password = read_password(args)
    instance = open_instance(args)
    options = _options(args)
    if args.users:
        users: Optional[List[str]] = _user_list(args.users)
    elif args.users_from_ldap:
        try:
            users = users_from_ldap(instance.configuration)
        except MigrationError as e:
            raise CliError(str(e)) from None
    else:
        users = None
    try:
        source = WcapSource(args.url, args.admin, password, retries=args.retries)
    except MigrationError as e:
        raise CliError(str(e)) from None
    report = Report(args.url, options.dry_run, options.since)
    # Printed so that the cut-over's catch-up run knows its --since.
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report.data["next_since"] = started
    code = _run(args, report, lambda: migrate_wcap(instance, source, users, options, report))
    print("catch up later with: --since %s" % started)
    return code


def _checked_calid(calid: str) -> str:
    try:
        calid_mod.to_path(calid)
    except calid_mod.InvalidCalid as e:
        raise CliError("calid %r can not be held by this server: %s" % (calid, e)) from None
    return calid


def cmd_migrate_files(args) -> int:
    calid = _checked_calid(args.calid)
    instance = open_instance(args)
    options = _options(args)
    report = Report("files: " + ", ".join(args.files), options.dry_run, None)

    def work():
        source = read_files(calid, args.files)
        migrate_calendars(instance, calid_mod.owner_of(calid), [source], options, report)
    return _run(args, report, work)


def cmd_migrate_caldav(args) -> int:
    password = read_password(args)
    instance = open_instance(args)
    options = _options(args)
    report = Report(args.url, options.dry_run, None)

    def work():
        sources = read_account(args.url, args.user, password)
        migrate_calendars(instance, args.user, sources, options, report,
                          user=UserEntry(uid=args.user))
    return _run(args, report, work)


def _common(parser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="read and plan everything, write nothing")
    parser.add_argument("--report", metavar="FILE", help="write the JSON report here")
    parser.add_argument("--jobs", type=int, default=4,
                        help="parallel reads from the source (default 4)")


def add_commands(commands) -> None:
    migrate = commands.add_parser(
        "migrate", help="move users, calendars, rights and events in from another "
        "server").add_subparsers(dest="migrate_command", metavar="SOURCE")
    migrate.required = True
    wcap = migrate.add_parser("wcap", help="from a Sun/Oracle calendar server, over WCAP")
    wcap.add_argument("--url", required=True, help="the old server's WCAP base URL")
    wcap.add_argument("--admin", required=True, help="an administrator of the old server")
    wcap.add_argument("--password-stdin", action="store_true", required=True)
    who = wcap.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", metavar="FILE", help="user ids, one a line")
    who.add_argument("--all", action="store_true",
                     help="every user who owns a calendar on the old server")
    who.add_argument("--users-from-ldap", action="store_true",
                     help="every user of the [auth] LDAP directory")
    wcap.add_argument("--since", metavar="TIME",
                      help="only what changed or was deleted since TIME (catch-up)")
    wcap.add_argument("--retries", type=int, default=4,
                      help="tries again after a network error, waiting 0.5 s, 1 s, ...")
    _common(wcap)
    wcap.set_defaults(func=cmd_migrate_wcap)
    files = migrate.add_parser("files", help="from csexport or WCAP export files "
                               "(iCalendar or XML) into one calendar")
    files.add_argument("--calid", required=True)
    files.add_argument("files", nargs="+", metavar="FILE")
    _common(files)
    files.set_defaults(func=cmd_migrate_files)
    caldav = migrate.add_parser("caldav", help="from a CalDAV server, one account")
    caldav.add_argument("--url", required=True)
    caldav.add_argument("--user", required=True)
    caldav.add_argument("--password-stdin", action="store_true", required=True)
    _common(caldav)
    caldav.set_defaults(func=cmd_migrate_caldav)
