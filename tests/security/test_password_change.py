"""A password change ends the user's sessions and cached credentials everywhere
(security issue 5: ``radicale-wcap user passwd`` left WCAP sessions alive)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

from radicale_wcap.db import Database
from radicale_wcap.schema import WCAP
from radicale_wcap.sessions import Sessions
from tests.conftest import TEST_PASSWORD, LiveServer, add_user, make_instance
from tests.security.test_acl_revocation import _config_file
from tests.wcap.conftest import wcap, wcap_login

NEW = "n3w-secret-pass"


def _alive(client, sid) -> bool:
    return wcap(client, "get_userprefs", "text/xml", id=sid).errno == 0


@pytest.fixture
def server(tmp_path):
    live = LiveServer(str(tmp_path))
    add_user(live.instance, "jdoe")
    add_user(live.instance, "bob")
    live.config = _config_file(str(tmp_path))
    yield live
    live.stop()


def _passwd(config, name, password):
    subprocess.run([sys.executable, "-m", "radicale_wcap.cli", "--config", config,
                    "user", "passwd", name, "--password-stdin"], input=password + "\n",
                   text=True, check=True, capture_output=True, timeout=120,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                       os.path.abspath(__file__)))))


def test_cli_passwd_in_another_process_ends_sessions_and_cached_password(server):
    client = server.client
    sids = [wcap_login(client, "jdoe") for _ in range(3)]
    bobs = wcap_login(client, "bob")
    # The server now holds jdoe's password in its credential cache.
    assert client.request("PROPFIND", "/jdoe/", headers={"Depth": "0"},
                          user="jdoe").status == 207
    _passwd(server.config, "jdoe", NEW)
    assert not any(_alive(client, sid) for sid in sids)
    assert _alive(client, bobs)
    assert client.request("PROPFIND", "/jdoe/", headers={"Depth": "0"},
                          user="jdoe").status == 401
    assert wcap(client, "login", "text/calendar", user="jdoe",
                password=TEST_PASSWORD).errno == 1
    assert client.request("PROPFIND", "/jdoe/", headers={"Depth": "0"}, user="jdoe",
                          password=NEW).status == 207
    assert _alive(client, wcap_login(client, "jdoe", NEW))


def test_directory_set_password_ends_sessions_on_every_worker(tmp_path):
    first = LiveServer(str(tmp_path))
    try:
        add_user(first.instance, "jdoe")
        second = LiveServer(str(tmp_path))
        try:
            sids = [wcap_login(first.client, "jdoe"), wcap_login(second.client, "jdoe")]
            first.instance.directory.set_password("jdoe", NEW)
            for client in (first.client, second.client):
                assert not any(_alive(client, sid) for sid in sids)
        finally:
            second.stop()
    finally:
        first.stop()


def test_wcap_change_password_keeps_only_the_callers_session(server):
    client = server.client
    mine, other = wcap_login(client, "jdoe"), wcap_login(client, "jdoe")
    assert wcap(client, "change_password", "text/xml", id=mine, oldPassword=TEST_PASSWORD,
                newPassword=NEW).errno == 0
    assert _alive(client, mine) and not _alive(client, other)
    # A later change by the administrator ends the kept one too.
    _passwd(server.config, "jdoe", TEST_PASSWORD)
    assert not _alive(client, mine)


def test_password_change_stamp_only_grows(tmp_path):
    instance = make_instance(str(tmp_path))
    add_user(instance, "jdoe")
    sessions = Sessions(instance.services.db, 3600, 3600)
    stamps = []
    for n in range(5):
        sid = sessions.create("jdoe")
        instance.directory.set_password("jdoe", "pass-%d" % n)
        assert sessions.user_of(sid) is None
        stamps.append(instance.directory.get("jdoe").password_changed)
    assert stamps == sorted(set(stamps))


def test_sessions_from_before_the_upgrade_survive_it(tmp_path):
    """Migration 4 stamps existing sessions, so an upgrade logs nobody out."""
    path = str(tmp_path / "wcap.sqlite")
    old = Database(path, WCAP.upto(2))
    old.execute("INSERT INTO users (name, password_hash, password_changed, created) "
                "VALUES ('jdoe', 'x', 5.0, 1.0)")
    now = time.time()
    old.execute('INSERT INTO sessions (id_hash, "user", created, last_seen) '
                "VALUES (:id, 'jdoe', :now, :now)",
                {"id": hashlib.sha256(b"legacyid").hexdigest(), "now": now})
    old.dispose()
    assert Sessions(Database(path, WCAP), 3600, 3600).user_of("legacyid") == "jdoe"
