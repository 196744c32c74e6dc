"""Killed mid-run (SIGKILL) and started again: nothing duplicated, nothing lost, and the
store is consistent (``verify``)."""

from __future__ import annotations

import signal

from radicale_wcap.store import READ, SYSTEM
from radicale_wcap.verify import verify_store
from tests.conftest import LiveServer, add_user
from tests.migrate.conftest import report
from tests.migrate.fill import ADMIN, Wcap

USERS = ["user%02d" % n for n in range(4)]
EVENTS = 12


def _calendar(user: str) -> str:
    events = "".join(
        "BEGIN:VEVENT\r\nUID:%s-%03d\r\nDTSTAMP:20240101T000000Z\r\n"
        "DTSTART:202403%02dT%02d0000Z\r\nDURATION:PT1H\r\n"
        "SUMMARY:Événement %d de %s\r\n%sEND:VEVENT\r\n"
        % (user, n, n % 28 + 1, n % 10 + 8, n, user,
           "RRULE:FREQ=DAILY;COUNT=5\r\n" if n % 7 == 0 else "")
        for n in range(EVENTS))
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n%sEND:VCALENDAR\r\n" % events


def test_killed_and_started_again(tmp_path, target):
    source = LiveServer(str(tmp_path / "old-server"))
    try:
        add_user(source.instance, ADMIN, admin=True)
        for user in USERS:
            add_user(source.instance, user)
            Wcap(source.client, user).import_(user, _calendar(user))
        args = ("wcap", "--url", source.url + "/wcap/", "--admin", ADMIN, "--password-stdin",
                "--all", "--jobs", "1")
        process = target.popen(*args)
        written = 0
        for line in process.stdout:
            if " created (" in line and "calendar user" in line:
                written += 1
                if written == 1:
                    process.send_signal(signal.SIGKILL)
                    break
        process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
        instance = target.instance()
        assert 0 < len(instance.store.calendars_on_disk()) < len(USERS) + 1

        again = target.migrate(*args, "--report", str(tmp_path / "r.json"))
        assert again.returncode == 0, again.stderr
        totals = report(tmp_path / "r.json")["totals"]
        assert totals["items_created"] + totals["items_unchanged"] == len(USERS) * EVENTS
        assert totals["items_unchanged"] >= EVENTS  # what the first run wrote
        instance = target.instance()
        for user in USERS:
            with instance.store.reading("/%s/calendar/" % user, SYSTEM, READ) as handle:
                # every object once: as many files as UIDs, every UID there
                assert len(handle.items()) == len(handle.entries()) == EVENTS
        problems = []
        assert verify_store(instance, log=problems.append) == 0, problems
    finally:
        source.stop()
