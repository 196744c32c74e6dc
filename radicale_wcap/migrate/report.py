"""What a migration did: a progress display while it runs, a summary and a JSON report.

On a terminal the progress is one redrawn line (a bar for the users, the current
user's calendars, counts and an estimate of the time left); when the output is a
file or a pipe (cron, a log) it is one plain line per calendar, so nothing in the
log is a carriage return.

The JSON report lists every user and calendar with what happened to it (created,
updated, unchanged, refused with the reason) and, per calendar, the items created,
updated, unchanged, deleted, kept (here but not sent by the source), refused (UID and
reason) and repaired (UID and what was repaired).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Dict, List, Optional

from .plan import CalendarPlan, UserPlan

BAR = 24


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progress:
    def __init__(self, users: int, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.users = users
        self.users_done = 0
        self.items = 0
        self.started = time.monotonic()

    def _bar(self, done: int, total: int) -> str:
        filled = BAR * done // total if total else BAR
        return "[" + "#" * filled + "." * (BAR - filled) + "]"

    def calendar(self, user: str, done: int, total: int, plan: CalendarPlan) -> None:
        self.items += len(plan.puts) + plan.unchanged
        if self.tty:
            elapsed = time.monotonic() - self.started
            share = (self.users_done + (done / total if total else 1)) / max(self.users, 1)
            left = elapsed / share - elapsed if share > 0 else 0
            self.stream.write("\r%s %d/%d users %s %s %d/%d calendars, %d items, ~%s left \x1b[K"
                              % (self._bar(int(share * 1000), 1000), self.users_done,
                                 self.users, user, self._bar(done, total), done, total,
                                 self.items, _duration(left)))
        else:
            self.stream.write("%s: calendar %s %s (%d created, %d updated, %d unchanged, "
                              "%d deleted, %d refused)%s\n" % (
                                  user, plan.calid, plan.action, plan.count("created"),
                                  plan.count("updated"), plan.unchanged, len(plan.deletes),
                                  len(plan.refused),
                                  ": " + plan.reason if plan.reason else ""))
        self.stream.flush()

    def user(self, user: str, plan: UserPlan) -> None:
        if not self.tty:
            self.stream.write("%s: user %s%s\n" % (user, plan.action,
                                                    ": " + plan.reason if plan.reason else ""))
            self.stream.flush()

    def user_done(self) -> None:
        self.users_done += 1

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Report:
    def __init__(self, source: str, dry_run: bool, since: Optional[str]) -> None:
        self.data: Dict[str, object] = {
            "source": source, "dry_run": dry_run, "since": since,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "users": [], "calendars": []}
        self.started = time.monotonic()
        self.source_seconds = 0.0

    @property
    def users(self) -> List[dict]:
        return self.data["users"]  # type: ignore[return-value]

    @property
    def calendars(self) -> List[dict]:
        return self.data["calendars"]  # type: ignore[return-value]

    def user(self, plan: UserPlan) -> None:
        entry = {"user": plan.uid, "action": plan.action}
        if plan.reason:
            entry["reason"] = plan.reason
        if plan.repairs:
            entry["repaired"] = plan.repairs
        if plan.prefs:
            entry["preferences"] = sorted(plan.prefs)
        self.users.append(entry)

    def refuse_user(self, uid: str, reason: str) -> None:
        self.users.append({"user": uid, "action": "refused", "reason": reason})

    def calendar(self, plan: CalendarPlan) -> None:
        entry = {"calid": plan.calid, "action": plan.action,
                 "items": {"created": plan.count("created"), "updated": plan.count("updated"),
                           "unchanged": plan.unchanged, "deleted": len(plan.deletes),
                           "kept": plan.kept, "refused": len(plan.refused)},
                 "refused": plan.refused, "repaired": plan.repaired}
        if plan.reason:
            entry["reason"] = plan.reason
        self.calendars.append(entry)

    def totals(self) -> Dict[str, int]:
        totals = {"users_created": 0, "users_updated": 0, "users_unchanged": 0,
                  "users_refused": 0, "calendars_created": 0, "calendars_updated": 0,
                  "calendars_unchanged": 0, "calendars_refused": 0, "items_created": 0,
                  "items_updated": 0, "items_unchanged": 0, "items_deleted": 0,
                  "items_kept": 0, "items_refused": 0, "items_repaired": 0}
        for user in self.users:
            totals["users_" + user["action"]] += 1
        for calendar in self.calendars:
            totals["calendars_" + calendar["action"]] += 1
            for key, value in calendar["items"].items():
                totals["items_" + key] += value
            totals["items_repaired"] += sum(1 for r in calendar["repaired"] if r["uid"])
        return totals

    @property
    def changed(self) -> bool:
        totals = self.totals()
        return any(totals[k] for k in totals if k.endswith(("_created", "_updated",
                                                            "_deleted")))

    def finish(self) -> dict:
        self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.data["seconds"] = round(time.monotonic() - self.started, 3)
        self.data["source_seconds"] = round(self.source_seconds, 3)
        self.data["totals"] = self.totals()
        return self.data

    def summary(self) -> str:
        t = self.totals()
        verb = "would be" if self.data["dry_run"] else ""
        lines = ["users: %d created, %d updated, %d unchanged, %d refused" % (
                     t["users_created"], t["users_updated"], t["users_unchanged"],
                     t["users_refused"]),
                 "calendars: %d created, %d updated, %d unchanged, %d refused" % (
                     t["calendars_created"], t["calendars_updated"], t["calendars_unchanged"],
                     t["calendars_refused"]),
                 "items: %d created, %d updated, %d unchanged, %d deleted, %d refused, "
                 "%d repaired, %d kept" % (
                     t["items_created"], t["items_updated"], t["items_unchanged"],
                     t["items_deleted"], t["items_refused"], t["items_repaired"],
                     t["items_kept"])]
        if verb:
            lines.insert(0, "dry run: nothing written; this is what a run would do")
        if not self.changed:
            lines.append("nothing changed: this server already holds everything read")
        for calendar in self.calendars:
            if calendar["action"] == "refused":
                lines.append("refused calendar %s: %s" % (calendar["calid"],
                                                          calendar.get("reason", "")))
        for user in self.users:
            if user["action"] == "refused":
                lines.append("refused user %s: %s" % (user["user"], user.get("reason", "")))
        return "\n".join(lines)

    def write(self, path: str) -> None:
        # Written whole and renamed: a report is never half a file.
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(self.finish(), f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(temporary, path)
