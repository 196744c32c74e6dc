"""Progress on a terminal (one redrawn line with bars and an estimate) and in a log (plain
lines); the summary and the JSON report written whole."""

from __future__ import annotations

import io
import json

from radicale_wcap.migrate.plan import CalendarPlan, UserPlan
from radicale_wcap.migrate.report import Progress, Report


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _calendar(calid: str, action: str = "created") -> CalendarPlan:
    plan = CalendarPlan(calid, action=action, unchanged=2)
    plan.puts = [("created", object()), ("updated", object())]
    return plan


def test_terminal_gets_one_redrawn_line():
    out = Terminal()
    progress = Progress(2, out)
    progress.user("jdoe", UserPlan("jdoe", "created"))
    progress.calendar("jdoe", 1, 2, _calendar("jdoe"))
    progress.calendar("jdoe", 2, 2, _calendar("jdoe:work"))
    progress.user_done()
    progress.end()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "0/2 users jdoe [" in text and "2/2 calendars, 8 items" in text and "left" in text


def test_log_gets_plain_lines():
    out = io.StringIO()
    progress = Progress(1, out)
    progress.user("jdoe", UserPlan("jdoe", "created"))
    progress.calendar("jdoe", 1, 1, _calendar("jdoe:work"))
    assert out.getvalue() == ("jdoe: user created\njdoe: calendar jdoe:work created "
                              "(1 created, 1 updated, 2 unchanged, 0 deleted, 0 refused)\n")


def test_summary_and_report(tmp_path):
    report = Report("https://old/", False, None)
    report.user(UserPlan("jdoe", "created"))
    report.calendar(_calendar("jdoe"))
    refused = CalendarPlan("jdoe:calendar", action="refused", reason="calid can not be held")
    report.calendar(refused)
    summary = report.summary()
    assert "calendars: 1 created, 0 updated, 0 unchanged, 1 refused" in summary
    assert "refused calendar jdoe:calendar: calid can not be held" in summary
    report.write(str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["totals"]["items_created"] == 1 and data["totals"]["calendars_refused"] == 1
    assert not list(tmp_path.glob("*.tmp"))
