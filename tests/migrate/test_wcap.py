"""``migrate wcap`` against a second instance of this server: the new server answers
every WCAP fetch, get_calprops, get_userprefs and CalDAV REPORT as the old one did;
a second run changes nothing; ``--since`` brings changes and deletions; ``--dry-run``
writes nothing."""

from __future__ import annotations

from radicale_wcap import calid as calid_mod
from tests.conftest import TEST_PASSWORD, LiveServer
from tests.migrate.conftest import (caldav_objects, components, in_process, report,
                                    top_props, wcap_text)
from tests.migrate.fill import ADMIN, USERS, Wcap, fill

CALENDARS = {"jdoe": "jdoe", "jdoe:work": "jdoe", "lucy": "lucy", "jjones": "jjones",
             ADMIN: ADMIN}


def _args(source, *extra):
    return ("wcap", "--url", source.url + "/wcap/", "--admin", ADMIN, "--password-stdin",
            *extra)


def assert_same(source, target_instance):
    old, new = source.instance, target_instance
    old_client, new_client = in_process(old), in_process(new)
    for calid, owner in CALENDARS.items():
        for params in ({"recurring": "1", "relativealarm": "1"},
                       {"recurring": "0", "dtstart": "20240101T000000Z",
                        "dtend": "20240401T000000Z"},
                       {"recurring": "1", "tzidout": "America/New_York"}):
            before = wcap_text(old_client, old, owner, "fetchcomponents_by_range", calid=calid,
                               **params)
            after = wcap_text(new_client, new, owner, "fetchcomponents_by_range", calid=calid,
                              **params)
            assert components(after) == components(before), (calid, params)
            assert top_props(after) == top_props(before), calid
        assert top_props(wcap_text(new_client, new, owner, "get_calprops", calid=calid)) == \
            top_props(wcap_text(old_client, old, owner, "get_calprops", calid=calid))
        path = calid_mod.to_path(calid)
        assert caldav_objects(new_client, path, owner) == caldav_objects(old_client, path, owner)
    for user in [ADMIN, *USERS]:
        for command in ("get_userprefs", "list", "list_subscribed"):
            assert top_props(wcap_text(new_client, new, user, command)) == \
                top_props(wcap_text(old_client, old, user, command)), (user, command)


def test_everything_moves_and_a_second_run_changes_nothing(source, target, tmp_path):
    first = target.migrate(*_args(source, "--all", "--report", str(tmp_path / "1.json")))
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr and "error" not in first.stderr
    done = report(tmp_path / "1.json")
    assert done["totals"]["users_created"] == 4
    assert done["totals"]["calendars_created"] == 5
    assert done["totals"]["items_created"] == 7 and done["totals"]["items_refused"] == 0
    assert "jdoe: calendar jdoe:work created" in first.stdout  # plain lines, not a tty
    instance = target.instance()
    for user in [ADMIN, *USERS]:
        # the old passwords can not be read: LDAP sites keep authenticating there
        instance.directory.set_password(user, TEST_PASSWORD)
    assert_same(source, instance)
    record = instance.registry.get_by_calid("jdoe:work")
    assert record.owners == ["jjones", "lucy"] and record.owner == "jdoe"
    assert record.acl == source.instance.registry.get_by_calid("jdoe:work").acl
    assert record.setting("allow_double_booking") is False

    second = target.migrate(*_args(source, "--all", "--report", str(tmp_path / "2.json")))
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    totals = report(tmp_path / "2.json")["totals"]
    assert totals["items_unchanged"] == 7 and totals["calendars_unchanged"] == 5
    assert totals["users_unchanged"] == 4
    assert sum(v for k, v in totals.items() if k.endswith(("created", "updated", "deleted"))) == 0


def test_since_brings_changes_and_deletions(tmp_path, target):
    source = LiveServer(str(tmp_path / "old-server"))
    try:
        fill(source.instance, source.client)
        _since(source, target, tmp_path)
    finally:
        source.stop()


def _since(source, target, tmp_path):
    first = target.run(*_args(source, "--users", _users_file(tmp_path, "lucy", "jdoe"),
                                  "--report", str(tmp_path / "1.json")))
    assert first.returncode == 0, first.stderr
    since = report(tmp_path / "1.json")["next_since"]
    lucy = Wcap(source.client, "lucy")
    lucy.ok("storeevents", calid="lucy", uid="lucy-2", dtstart="20240310T090000Z",
            dtend="20240310T100000Z", summary="Neu: Ölwechsel")
    lucy.ok("storeevents", calid="lucy", uid="lucy-1", summary="Zahnarzt")
    jdoe = Wcap(source.client, "jdoe")
    jdoe.ok("deletetodos_by_id", calid="jdoe:work", uid="todo-2", rid="0", mod="1")
    catch_up = target.run(*_args(source, "--users", _users_file(tmp_path, "lucy", "jdoe"),
                                     "--since", since, "--report", str(tmp_path / "2.json")))
    assert catch_up.returncode == 0, catch_up.stderr
    totals = report(tmp_path / "2.json")["totals"]
    assert (totals["items_created"], totals["items_updated"], totals["items_deleted"]) == \
        (1, 1, 1), totals
    instance = target.instance()
    new_client, old_client = in_process(instance), in_process(source.instance)
    for calid, owner in (("lucy", "lucy"), ("jdoe:work", "jdoe")):
        assert components(wcap_text(new_client, instance, owner, "fetchcomponents_by_range",
                                    calid=calid, recurring="1")) == \
            components(wcap_text(old_client, source.instance, owner,
                                 "fetchcomponents_by_range", calid=calid, recurring="1"))


def test_dry_run_writes_nothing(source, target, tmp_path):
    run = target.run(*_args(source, "--all", "--dry-run", "--report",
                                str(tmp_path / "r.json")))
    assert run.returncode == 0, run.stderr
    assert "dry run" in run.stdout
    assert report(tmp_path / "r.json")["totals"]["items_created"] == 7
    instance = target.instance()
    assert instance.directory.list() == []
    assert instance.store.calendars_on_disk() == []


def _users_file(tmp_path, *users):
    path = tmp_path / ("users-%s.txt" % "-".join(users))
    path.write_text("# who moves first\n" + "\n".join(users) + "\n")
    return str(path)
