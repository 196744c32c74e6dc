"""``migrate files`` (WCAP export files, iCalendar and XML) and ``migrate caldav``; the
clean one-line errors of ``migrate wcap`` (not an administrator, not a WCAP URL) and of
a calid this server can not hold."""

from __future__ import annotations

import pathlib

from radicale_wcap.store import READ, SYSTEM
from tests.conftest import TEST_PASSWORD
from tests.migrate.conftest import caldav_objects, in_process, report, wcap_text
from tests.migrate.fill import ADMIN

DATA = pathlib.Path(__file__).parent / "data"


def test_export_files_into_one_calendar(source, target, tmp_path):
    xml = tmp_path / "export.xml"
    xml.write_text(wcap_text(in_process(source.instance), source.instance, "jdoe", "export",
                             calid="jdoe", **{"content-out": "text/xml"}), encoding="utf-8")
    run = target.run("files", "--calid", "jdoe:imported", str(xml),
                         str(DATA / "export.ical.txt"), "--report", str(tmp_path / "r.json"))
    assert run.returncode == 0, run.stderr
    done = report(tmp_path / "r.json")
    calendar = done["calendars"][0]
    assert calendar["calid"] == "jdoe:imported" and calendar["action"] == "created"
    assert calendar["items"]["created"] == 3, calendar
    # The manual's export holds two instances of tm-001 and not their series: refused,
    # with the reason, and the rest of the calendar written.
    assert calendar["refused"] == [{"uid": "tm-001", "reason": "Main component missing"}]
    instance = target.instance()
    with instance.store.reading("/jdoe/imported/", SYSTEM, READ) as handle:
        assert sorted(handle.entries()) == ["allday-1", "series-1", "todo-1"]
        series = handle.by_uid("series-1").serialize()
    assert "DTSTART;TZID=Europe/Berlin:20240105T100000" in series
    assert "SUMMARY:Größe ☃ 会議" in series
    again = target.run("files", "--calid", "jdoe:imported", str(xml),
                           str(DATA / "export.ical.txt"))
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout


def test_calid_this_server_can_not_hold(target):
    run = target.run("files", "--calid", "jdoe:calendar", str(DATA / "export.ical.txt"))
    assert run.returncode == 1
    assert run.stderr.strip() == ("radicale-wcap: error: calid 'jdoe:calendar' can not be "
                                  "held by this server: the calendar name 'calendar' is "
                                  "reserved") or "can not be held" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_from_a_caldav_server(source, target, tmp_path):
    run = target.run("caldav", "--url", source.url + "/", "--user", "jdoe",
                         "--password-stdin", "--report", str(tmp_path / "r.json"))
    assert run.returncode == 0, run.stderr
    done = report(tmp_path / "r.json")
    assert sorted(c["calid"] for c in done["calendars"]) == ["jdoe", "jdoe:work"]
    instance = target.instance()
    instance.directory.set_password("jdoe", TEST_PASSWORD)
    for path in ("/jdoe/calendar/", "/jdoe/work/"):
        assert caldav_objects(in_process(instance), path, "jdoe") == \
            caldav_objects(in_process(source.instance), path, "jdoe")


def test_not_an_administrator_and_not_wcap(source, target):
    for admin, url, message in (
            ("jdoe", source.url + "/wcap/", "'jdoe' is not an administrator of the old server"),
            (ADMIN, source.url + "/nowhere/", "not a WCAP server at this URL"),
            (ADMIN, "ftp://old-server/", "is not an http(s) URL")):
        run = target.run("wcap", "--url", url, "--admin", admin, "--password-stdin",
                             "--all")
        assert run.returncode == 1, run.stdout
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("radicale-wcap: error: ") and message in last, run.stderr
        assert "Traceback" not in run.stderr
    assert target.instance().directory.list() == []
