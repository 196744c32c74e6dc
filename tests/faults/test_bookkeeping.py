"""What a read merely notes is written best-effort: with the project database refusing
every write (``PRAGMA query_only``, the same refusal a full disk or a read-only file
gives), sessions, API keys and failed logins still answer, and a login that can not
record its session is errno 53. Runs anywhere; test_full_disk.py does it for real.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
import sqlalchemy

from tests.conftest import TEST_PASSWORD, add_user
from tests.faults import doors


@pytest.fixture
def world(instance, client):
    add_user(instance, "alice")
    key = instance.apikeys.create("alice", "bookkeeping")
    code, sid = doors.wcap_login(client, "alice")
    assert code == 0
    return instance, client, key, sid


def refuse_writes(instance):
    """Every connection of the database refuses writes from now on: the pooled ones are
    closed, and each new one is made read-only as it opens."""
    db = instance.services.db
    statement = "PRAGMA query_only=1" if db.kind == "sqlite" \
        else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

    def read_only(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if db.kind == "postgresql":
            dbapi_connection.commit()

    db.engine.dispose()
    sqlalchemy.event.listen(db.engine, "connect", read_only)


def test_reads_go_on_when_nothing_can_be_written(world, caplog):
    instance, client, key, sid = world
    instance.services.db.execute("UPDATE sessions SET last_seen = last_seen - 60")
    refuse_writes(instance)
    caplog.set_level(logging.WARNING, logger="radicale.wcap.db")
    for _ in range(3):
        fetched = doors.wcap_fetch(client, sid, "alice")
        assert doors.errno(fetched) == 0, fetched.text
        listed = client.request("GET", "/restapi/v1/events", headers={"x-api-key": key})
        assert listed.status == 200, listed.text
    # Tried once, then paused: one warning per kind of write, not one per request.
    warnings = [r.getMessage() for r in caplog.records if r.name == "radicale.wcap.db"]
    assert len([w for w in warnings if "last_seen" in w]) == 1, warnings
    assert len([w for w in warnings if "last_used" in w]) == 1, warnings
    # Nothing was written.
    assert instance.services.db.scalar("SELECT last_used FROM apikeys") is None


def test_a_login_that_can_not_be_recorded_is_a_server_error(world):
    instance, client, _, _ = world
    refuse_writes(instance)
    answer = client.request("GET", "/wcap/login.wcap?user=alice&password=%s&fmt-out=text/xml"
                            % TEST_PASSWORD)
    assert re.search(r"<X-NSCP-WCAP-ERRNO>53<", answer.text), answer.text
    assert "SESSION-ID" not in answer.text
    # A wrong password is still errno 1, though its failure could not be counted.
    assert doors.wcap_login(client, "alice", "wrong")[0] == 1
    assert instance.directory.record_failure("alice") == 0


def test_api_key_last_used_is_written_once_a_minute(world):
    instance, client, key, _ = world
    db = instance.services.db

    def used():
        return db.scalar("SELECT last_used FROM apikeys")

    assert client.request("GET", "/restapi/v1/events", headers={"x-api-key": key}).status == 200
    first = used()
    assert first is not None and abs(first - time.time()) < 60
    assert client.request("GET", "/restapi/v1/events", headers={"x-api-key": key}).status == 200
    assert used() == first
    db.execute("UPDATE apikeys SET last_used = last_used - 61")
    assert client.request("GET", "/restapi/v1/events", headers={"x-api-key": key}).status == 200
    assert used() >= first  # written again: it was over a minute old
