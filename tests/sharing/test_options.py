"""The command line's subscriptions and the per-site options: calendars granted by
ACL listed without a subscription, free/busy-only calendars hidden or shown."""

from __future__ import annotations

import pytest

from radicale_wcap import cli
from radicale_wcap.instance import Instance
from radicale_wcap.middleware import make_app
from radicale_wcap.state import forget
from radicale_wcap.wcap.commands import lists
from tests.conftest import InProcessClient, add_user, make_instance
from tests.sharing.conftest import EVENT, ICS, answered

FREEBUSY = ("<?xml version='1.0'?><C:free-busy-query xmlns:C='urn:ietf:params:xml:ns:caldav'>"
            "<C:time-range start='20240101T000000Z' end='20240110T000000Z'/>"
            "</C:free-busy-query>")


def site(tmp_path, **rights):
    instance = make_instance(str(tmp_path), {"rights": rights} if rights else None)
    for name in ("jdoe", "jsmith", "boss"):
        add_user(instance, name, admin=name == "boss")
    client = InProcessClient(make_app(instance))
    for calid, acl in (("jdoe:open", "jsmith^a^r^g"), ("jdoe:busy", "jsmith^a^f^g"),
                       ("jdoe:closed", "@@o^a^rwd^g")):
        instance.store.create_calendar(calid, name=calid, user="jdoe", acl=acl)
        path = "/jdoe/%s/" % calid.split(":")[1]
        assert client.request("PUT", path + "e1.ics", EVENT % ("e1", "Detail " + calid),
                              ICS, user="jdoe").status == 201
    return instance, client


def home(client, user="jsmith"):
    answer = client.request("PROPFIND", "/%s/" % user, "", {"Depth": "1"}, user=user)
    assert answer.status == 207
    return sorted(h for h in answered(answer.text) if "~" in h)


def test_by_default_only_subscribed_readable_calendars_are_listed(tmp_path):
    instance, client = site(tmp_path)
    assert home(client) == []  # granted, not subscribed
    lists.subscribe(instance, "jsmith", ["jdoe:open", "jdoe:busy", "jdoe:closed"])
    assert home(client) == ["/jsmith/~jdoe~open/"]
    assert client.request("REPORT", "/jsmith/~jdoe~busy/", FREEBUSY,
                          {"Depth": "1"}, user="jsmith").status == 403


def test_free_busy_only_shown_without_details(tmp_path):
    instance, client = site(tmp_path, shared_freebusy="show")
    lists.subscribe(instance, "jsmith", ["jdoe:open", "jdoe:busy", "jdoe:closed"])
    assert home(client) == ["/jsmith/~jdoe~busy/", "/jsmith/~jdoe~open/"]
    answer = client.request("REPORT", "/jsmith/~jdoe~busy/", FREEBUSY, {"Depth": "1"},
                            user="jsmith")
    assert answer.status == 200 and "FREEBUSY" in answer.text
    assert "Detail" not in answer.text
    assert client.request("GET", "/jsmith/~jdoe~busy/e1.ics", user="jsmith").status == 403
    answer = client.request("PROPFIND", "/jsmith/~jdoe~busy/", "", {"Depth": "0"},
                            user="jsmith")
    assert "read-free-busy" in answer.text and "<read />" not in answer.text
    assert client.request("PUT", "/jsmith/~jdoe~busy/e2.ics", EVENT % ("e2", "x"), ICS,
                          user="jsmith").status == 403


def test_granted_calendars_listed_without_subscription(tmp_path):
    instance, client = site(tmp_path, share_granted_calendars="True")
    assert home(client) == ["/jsmith/~jdoe~open/"]
    assert "Detail jdoe:open" in client.request("GET", "/jsmith/~jdoe~open/e1.ics",
                                                user="jsmith").text
    # An administrator's override grants everything but lists nothing.
    assert home(client, "boss") == []
    instance.registry.set_acl("/jdoe/open/", "@@o^a^rwd^g")
    assert home(client) == []


CONFIG = """[storage]
filesystem_folder = store
[auth]
argon2_time_cost = 1
argon2_memory_cost = 8
failed_login_backoff = 0
[logging]
level = warning
"""


def test_command_line_subscribe_and_unsubscribe(tmp_path, capsys):
    config = tmp_path / "config"
    config.write_text(CONFIG)
    forget(str(tmp_path / "store" / "collection-db" / "wcap"))
    instance = Instance.from_file(str(config))
    for name in ("jdoe", "jsmith"):
        add_user(instance, name)
    instance.store.create_calendar("jdoe:team", name="Team", user="jdoe",
                                   acl="jsmith^a^r^g")
    client = InProcessClient(make_app(instance))
    assert cli.main(["--config", str(config), "calendar", "subscribe", "jsmith",
                     "jdoe:team"]) == 0
    assert "jsmith subscribed to jdoe:team" in capsys.readouterr().out
    assert home(client) == ["/jsmith/~jdoe~team/"]
    assert instance.directory.get("jsmith").prefs["icsSubscribed"] == "jdoe:team$Team"
    assert cli.main(["--config", str(config), "calendar", "unsubscribe", "jsmith",
                     "jdoe:team"]) == 0
    assert home(client) == []
    assert instance.store.calendar_props("jdoe:team") is not None
    for args in (["nobody", "jdoe:team"], ["jsmith", "jdoe:nothing"], ["jsmith", "a:b:c"]):
        assert cli.main(["--config", str(config), "calendar", "subscribe", *args]) == 1
        assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("name", ["~jdoe", "~x", "~jdoe~open"])
def test_reserved_names_are_refused_at_creation(tmp_path, name):
    _, client = site(tmp_path)
    mkcalendar = ("<?xml version='1.0'?><C:mkcalendar xmlns:D='DAV:' "
                  "xmlns:C='urn:ietf:params:xml:ns:caldav'/>")
    assert client.request("MKCALENDAR", "/jsmith/%s/" % name, mkcalendar,
                          user="jsmith").status == 403
    assert client.request("PUT", "/jsmith/%s/" % name, EVENT % ("z", "z"), ICS,
                          user="jsmith").status == 403
