"""Two hosts on one PostgreSQL: what a load balancer in front of them may rely on.

Each host is a real ``radicale-wcap serve`` process with a local folder of its own and
``[storage] database_url`` on the test PostgreSQL (tests/pgserver.py); the changes "on
A" are made by A's server or by the command line on A's config, the requests that must
see them go to B. Nothing is cached per process where another host's change must show:
sessions and API keys are read per request, the ACL cache is keyed on the registry
revision that PostgreSQL's triggers bump, the credential cache on the password stamp.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from radicale_wcap.instance import Instance
from radicale_wcap.store import create_default_calendar
from tests.conftest import TEST_PASSWORD, add_user
from tests.ops.conftest import serve, write_config
from tests.wcap.conftest import wcap, wcap_login

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEW = "n3w-secret-pass"


def _cli(config, *args: str, password: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "radicale_wcap.cli", "--config", str(config),
                           *args], input=password + "\n" if password else None, text=True,
                          check=True, capture_output=True, timeout=120, cwd=ROOT)
    return done.stdout


@pytest.fixture
def hosts(tmp_path, pg_url):
    """(A, B): two server processes, their configs as ``.config``."""
    configs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        configs.append(write_config(folder, {"storage": {"database_url": pg_url}}))
    # Users and ACLs are in the shared database; so are the items with the SQL storage
    # that a postgresql:// URL selects. With [storage] type set to the file plugin each
    # host would have its own item folder: each host creates the calendars it serves
    # (a no-op where they exist already).
    first = Instance.from_file(str(configs[0]))
    for user in ("jdoe", "bob"):
        add_user(first, user)
    second = Instance.from_file(str(configs[1]))
    for user in ("jdoe", "bob"):
        create_default_calendar(second.configuration, user, second.store)
    for instance in (first, second):
        instance.services.db.dispose()
    started = []
    try:
        for name, config in zip("ab", configs):
            process = serve(config, tmp_path / ("%s.log" % name))
            process.config = config
            started.append(process)
        yield started
    finally:
        for process in started:
            process.stop()


def _alive(client, sid) -> bool:
    return wcap(client, "get_userprefs", "text/xml", id=sid).errno == 0


def _reads(client, sid, calid) -> int:
    return wcap(client, "fetchcomponents_by_range", "text/xml", id=sid, calid=calid,
                dtstart="20250601T000000Z", dtend="20250701T000000Z").errno


def test_a_session_from_a_works_on_b_and_logout_on_b_ends_it_on_a(hosts):
    a, b = hosts
    sid = wcap_login(a.client, "jdoe")
    assert _alive(b.client, sid)
    assert _reads(b.client, sid, "jdoe") == 0
    assert wcap(b.client, "logout", "text/xml", id=sid).errno in (0, -1)
    assert not _alive(a.client, sid)
    assert not _alive(b.client, sid)


def test_a_password_change_on_a_ends_sessions_and_the_old_password_on_b(hosts):
    a, b = hosts
    on_b = [wcap_login(b.client, "jdoe") for _ in range(2)]
    bobs = wcap_login(b.client, "bob")
    # B now also holds jdoe's password in its credential cache.
    assert b.client.request("PROPFIND", "/jdoe/", headers={"Depth": "0"},
                            user="jdoe").status == 207
    _cli(a.config, "user", "passwd", "jdoe", "--password-stdin", password=NEW)
    assert not any(_alive(b.client, sid) for sid in on_b)
    assert _alive(b.client, bobs)
    assert b.client.request("PROPFIND", "/jdoe/", headers={"Depth": "0"},
                            user="jdoe").status == 401
    assert b.client.request("PROPFIND", "/jdoe/", headers={"Depth": "0"}, user="jdoe",
                            password=NEW).status == 207
    # And through A's own door: WCAP change_password on A ends B's sessions too.
    on_b = wcap_login(b.client, "jdoe", NEW)
    mine = wcap_login(a.client, "jdoe", NEW)
    assert wcap(a.client, "change_password", "text/xml", id=mine, oldPassword=NEW,
                newPassword=TEST_PASSWORD).errno == 0
    assert not _alive(b.client, on_b)
    assert _alive(b.client, mine)  # the changer's own session lives on, on every host


def test_an_acl_change_on_a_decides_the_next_request_on_b(hosts):
    a, b = hosts
    bob = wcap_login(b.client, "bob")
    assert _reads(b.client, bob, "jdoe") != 0
    for acl, allowed in (("@@o^a^rsf^g;bob^a^r^g", True), ("@@o^a^rsf^g;bob^a^r^d", False),
                         ("@@o^a^rsf^g;bob^a^r^g", True)):
        _cli(a.config, "calendar", "acl", "jdoe", acl)
        assert (_reads(b.client, bob, "jdoe") == 0) is allowed, acl
        assert (b.client.request("PROPFIND", "/jdoe/calendar/", headers={"Depth": "0"},
                                 user="bob").status == 207) is allowed, acl
    # A change through A's server, not its command line, decides B's next request too.
    jdoe = wcap_login(a.client, "jdoe")
    assert wcap(a.client, "set_calprops", "text/xml", id=jdoe, calid="jdoe",
                acl="@@o^a^rsf^g;bob^a^r^d").errno == 0
    assert _reads(b.client, bob, "jdoe") != 0


def test_an_api_key_made_on_a_works_on_b_until_revoked_on_a(hosts):
    a, b = hosts
    key = _cli(a.config, "apikey", "create", "jdoe", "--label", "hosts").strip().splitlines()[-1]
    listed = b.client.request("GET", "/restapi/v1/events", headers={"x-api-key": key})
    assert listed.status == 200, listed.text
    assert b.client.request("GET", "/restapi/v1/events",
                            headers={"x-api-key": key[:-2] + "xx"}).status == 401
    key_id = key.split("_")[1]
    _cli(a.config, "apikey", "revoke", key_id)
    assert b.client.request("GET", "/restapi/v1/events",
                            headers={"x-api-key": key}).status == 401
