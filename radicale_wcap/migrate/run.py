"""One migration run: read users and calendars from a source, plan, write, report.

Reads run in ``jobs`` threads, a user (entry, calendar list, every calendar) per task,
at most ``2 * jobs`` users read ahead of the writes, so memory and the old server's
load stay bounded whatever the number of users. Writes happen in this thread, in the
users' order: a user before their calendars, one store batch per calendar.

A failure of one calendar (the old server refuses it, this server can not hold its
calid, a write fails) is that calendar's "refused" line in the report; only what
stops the whole run (`MigrationError`: wrong URL, not an administrator, the old
server gone after the retries) ends it, with the report of what was done so far.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from radicale_wcap.directory import DirectoryError
from radicale_wcap.store import StoreError

from .apply import apply_calendar, apply_user
from .model import SourceCalendar, UserEntry
from .plan import CalendarPlan, UserPlan, plan_calendar, plan_user
from .report import Progress, Report
from .wcapsource import WcapFailure, WcapSource

logger = logging.getLogger("radicale.wcap.migrate")


class Addresses:
    """User id -> mail address, for repairing bare user ids in ORGANIZER/ATTENDEE:
    the users read from the source, else this server's directory."""

    def __init__(self, instance) -> None:
        self.instance = instance
        self.known: Dict[str, str] = {}

    def get(self, uid: str, default: str = "") -> str:
        if uid in self.known:
            return self.known[uid]
        user = self.instance.directory.get(uid)
        return user.email if user is not None else default


@dataclass
class UserRead:
    uid: str
    plan: Optional[UserPlan] = None
    refused: str = ""
    calendars: List[CalendarPlan] = field(default_factory=list)


@dataclass
class Options:
    dry_run: bool = False
    since: Optional[str] = None
    jobs: int = 4


def _plan_safely(instance, source: SourceCalendar, addresses: Addresses) -> CalendarPlan:
    try:
        return plan_calendar(instance, source, addresses)
    except (StoreError, ValueError) as e:
        logger.warning("migrate: calendar %s: %s", source.entry.calid, e)
        plan = CalendarPlan(source.entry.calid, action="refused", reason=str(e)[:300])
        return plan


def _apply_calendar(instance, plan: CalendarPlan) -> None:
    try:
        apply_calendar(instance, plan)
    except (StoreError, ValueError, OSError) as e:
        logger.warning("migrate: writing calendar %s failed: %s", plan.calid, e)
        plan.action, plan.reason = "refused", "writing failed: %s" % str(e)[:300]
        plan.puts, plan.deletes = [], []


def _read_wcap_user(instance, source: WcapSource, uid: str, options: Options,
                    addresses: Addresses) -> UserRead:
    read = UserRead(uid)
    try:
        entry = source.user(uid)
    except WcapFailure as e:
        read.refused = "the old server has no such user (%s)" % e
        return read
    if entry.mail:
        addresses.known[uid] = entry.mail
    read.plan = plan_user(instance, entry)
    for calendar in source.calendars(uid):
        since = options.since
        if since and instance.store.calendar_props(calendar.calid) is None:
            since = None  # not here yet: everything, not only what changed
        read.calendars.append(_plan_safely(instance, source.calendar(calendar, since),
                                           addresses))
    return read


def _write_user(instance, read: UserRead, options: Options, report: Report,
                progress: Progress) -> None:
    if read.refused:
        report.refuse_user(read.uid, read.refused)
        progress.user(read.uid, UserPlan(read.uid, "refused", read.refused))
        progress.user_done()
        return
    plan = read.plan
    if not options.dry_run and plan.action != "refused":
        try:
            apply_user(instance, plan)
        except DirectoryError as e:
            plan.action, plan.reason = "refused", str(e)
    report.user(plan)
    progress.user(read.uid, plan)
    for index, calendar in enumerate(read.calendars, 1):
        if not options.dry_run:
            _apply_calendar(instance, calendar)
        report.calendar(calendar)
        report.source_seconds += calendar.read_seconds
        progress.calendar(read.uid, index, len(read.calendars), calendar)
    progress.user_done()


def migrate_wcap(instance, source: WcapSource, users: Optional[Iterable[str]],
                 options: Options, report: Report, stream=None) -> Report:
    """``users`` None: everyone the old server lists."""
    source.login()
    try:
        uids = list(users) if users is not None else source.all_users()
        progress = Progress(len(uids), stream)
        addresses = Addresses(instance)
        jobs = max(1, options.jobs)
        with concurrent.futures.ThreadPoolExecutor(jobs, "migrate-read") as pool:
            pending: collections.deque = collections.deque()
            queue = iter(uids)
            try:
                for uid in queue:
                    pending.append(pool.submit(_read_wcap_user, instance, source, uid,
                                               options, addresses))
                    if len(pending) >= 2 * jobs:
                        _write_user(instance, pending.popleft().result(), options, report,
                                    progress)
                while pending:
                    _write_user(instance, pending.popleft().result(), options, report,
                                progress)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        progress.end()
    finally:
        source.logout()
        report.data["source_requests"] = source.requests
        report.data["relogins"] = source.relogins
    return report


def migrate_calendars(instance, owner: str, sources: List[SourceCalendar],
                      options: Options, report: Report, stream=None,
                      user: Optional[UserEntry] = None) -> Report:
    """Calendars from files or a CalDAV server (one user's; ``user``: create them too)."""
    progress = Progress(1, stream)
    addresses = Addresses(instance)
    read = UserRead(owner)
    if user is not None:
        read.plan = plan_user(instance, user)
        if read.plan.action != "created":
            # Only made when missing: the other source knows nothing of the user's
            # mail, name or preferences, so an existing user is left as is.
            read.plan = UserPlan(owner)
    else:
        read.plan = UserPlan(owner)
    read.calendars = [_plan_safely(instance, source, addresses) for source in sources]
    _write_user(instance, read, options, report, progress)
    progress.end()
    return report
