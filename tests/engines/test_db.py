"""db.Database on both engines: the guarantees its callers rely on, checked on the
embedded SQLite file and on a real PostgreSQL (tests/pgserver.py)."""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg
import pytest
import sqlalchemy

from radicale_wcap.db import Database, is_disk_full, url_for
from radicale_wcap.db_schema import lock_key
from radicale_wcap.registry import Registry
from radicale_wcap.schema import WCAP
from radicale_wcap.sessions import Sessions

ACL = "@@o^a^r^g"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield url_for("", str(tmp_path))
        return
    with request.getfixturevalue("pg_server").database() as pg:
        yield url_for(pg, str(tmp_path))


@pytest.fixture
def db(url):
    database = Database(url, WCAP)
    yield database
    database.dispose()


def test_schema_is_at_the_code_version_and_sound(db):
    assert db.check() == []
    db.ping()
    if db.kind == "sqlite":
        assert db.scalar("PRAGMA user_version") == WCAP.version
    else:
        assert db.scalar("SELECT version FROM schema_version WHERE name = 'wcap'") == WCAP.version


def test_hosts_starting_together_migrate_once(url):
    databases = [Database(url, WCAP) for _ in range(4)]
    errors = []

    def first_use(database):
        try:
            database.ping()
        except Exception as e:  # noqa: BLE001 - the test reports it
            errors.append(e)

    threads = [threading.Thread(target=first_use, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(d.check() == [] for d in databases)
    for database in databases:
        database.dispose()


def test_rows_have_attributes_and_lists_expand(db):
    with db.transaction() as tx:
        tx.execute("INSERT INTO login_failures (name, count, last) VALUES (:name, :n, 1.5)",
                   [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}])
    rows = db.query("SELECT name, count, last FROM login_failures WHERE name IN :names "
                    "ORDER BY name", {"names": ["a", "c"]})
    assert [(r.name, r.count, r.last) for r in rows] == [("a", 1, 1.5), ("c", 3, 1.5)]
    assert rows[0][0] == "a"
    assert db.query("SELECT name FROM login_failures WHERE name IN :names",
                    {"names": []}) == []
    assert db.execute("DELETE FROM login_failures WHERE name IN :names",
                      {"names": ("a", "b")}) == 2


def test_a_block_sees_its_own_writes_and_an_error_undoes_them(db):
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO login_failures (name, count, last) VALUES ('x', 1, 0)")
            # Reads of the thread join its transaction, nested blocks too.
            assert db.scalar("SELECT count FROM login_failures WHERE name = 'x'") == 1
            with db.transaction() as inner:
                assert inner is tx
            raise RuntimeError("undo")
    assert db.scalar("SELECT count(*) FROM login_failures") == 0


def test_a_failed_bookkeeping_write_leaves_the_callers_transaction_usable(db, caplog):
    with db.transaction() as tx:
        tx.execute("INSERT INTO login_failures (name, count, last) VALUES ('x', 1, 0)")
        assert not db.bookkeeping("a test's note", lambda t: t.execute(
            "INSERT INTO login_failures (name, count, last) VALUES ('x', 1, 0)"))
        tx.execute("UPDATE login_failures SET count = 2")
    assert db.scalar("SELECT count FROM login_failures") == 2
    # Paused: not tried again, not logged again.
    assert not db.bookkeeping("a test's note", lambda t: t.execute("SELECT 1"))
    assert sum("a test's note" in r.getMessage() for r in caplog.records) == 1


def test_errors_are_sqlalchemys_without_parameters(db):
    with pytest.raises(sqlalchemy.exc.IntegrityError) as raised:
        with db.transaction() as tx:
            for _ in range(2):
                tx.execute("INSERT INTO users (name, password_hash, created) "
                           "VALUES ('jdoe', :secret, 0)", {"secret": "argon2-hash-here"})
    assert "argon2-hash-here" not in str(raised.value)
    assert db.scalar("SELECT count(*) FROM users") == 0


def test_lock_serialises_read_then_write_across_connections(url):
    """What registry.register relies on: with ``tx.lock`` two writers that read the
    highest number and then insert the next never pick the same (on PostgreSQL the
    advisory lock, on SQLite BEGIN IMMEDIATE)."""
    registries = [Registry(Database(url, WCAP), ACL) for _ in range(3)]
    barrier = threading.Barrier(9)

    def register(n):
        barrier.wait()
        registries[n % 3].register("/user%d/calendar/" % n)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.number for r in registries[0].list()) == list(range(1, 10))
    for registry in registries:
        registry.db.dispose()


def test_postgresql_locks_wait_and_differ_by_name(pg_url, tmp_path):
    db = Database(url_for(pg_url, str(tmp_path)), WCAP)
    order = []
    held = threading.Event()

    def holder():
        with db.transaction() as tx:
            tx.lock("calendar:/jdoe/calendar/")
            held.set()
            time.sleep(0.5)
            order.append("holder done")

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    with db.transaction() as tx:
        tx.lock("calendar:/bob/calendar/")  # another name: no wait
        order.append("other name")
        tx.lock("calendar:/jdoe/calendar/", shared=True)
        order.append("same name")
    thread.join()
    assert order == ["other name", "holder done", "same name"]
    assert lock_key("a") == lock_key("a") != lock_key("b")
    db.dispose()


def test_a_deadlock_is_run_again(pg_url, tmp_path):
    """PostgreSQL ends one of two transactions that wait for each other; ``run``
    runs the victim again and both complete."""
    db = Database(url_for(pg_url, str(tmp_path)), WCAP)
    db.execute("INSERT INTO login_failures (name, count, last) VALUES ('a', 0, 0), ('b', 0, 0)")
    barrier = threading.Barrier(2)
    attempts = []

    def work(first, second):
        def body(tx):
            attempts.append(first)
            tx.execute("UPDATE login_failures SET count = count + 1 WHERE name = :n",
                       {"n": first})
            if len(attempts) <= 2:
                barrier.wait(10)
            tx.execute("UPDATE login_failures SET count = count + 1 WHERE name = :n",
                       {"n": second})
        db.run(body)

    threads = [threading.Thread(target=work, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(attempts) == 3  # one of the two ran again
    assert [r.count for r in db.query("SELECT count FROM login_failures ORDER BY name")] \
        == [2, 2]
    db.dispose()


def test_disk_full_is_recognised_on_both_engines():
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    full = psycopg.errors.DiskFull("could not extend file")
    assert is_disk_full(sqlalchemy.exc.OperationalError("INSERT", None, full))
    assert not is_disk_full(sqlalchemy.exc.OperationalError(
        "INSERT", None, psycopg.errors.DeadlockDetected("deadlock")))


def test_sessions_are_read_from_the_database_on_every_call(url):
    """No per-process cache: a session ended through one Database object (another
    host) is refused by the next call through another at once."""
    here, there = Database(url, WCAP), Database(url, WCAP)
    here.execute("INSERT INTO users (name, password_hash, created) VALUES ('jdoe', 'x', 0)")
    mine, theirs = Sessions(here, 3600, 3600), Sessions(there, 3600, 3600)
    sid = mine.create("jdoe")
    assert theirs.user_of(sid) == "jdoe"
    assert theirs.revoke(sid)
    assert mine.user_of(sid) is None
    here.dispose()
    there.dispose()


def test_statements_can_join_another_engines_transaction(db, url):
    """The SQL storage writes items on its own engine; the durable rows that go with
    them (a feed's origins) join its transaction and are undone with it."""
    other = sqlalchemy.create_engine(url)
    with other.connect() as connection:
        connection.begin()
        with db.sharing(connection):
            db.execute("INSERT INTO login_failures (name, count, last) VALUES ('x', 1, 0)")
            with db.transaction() as tx:  # joins it too
                tx.execute("UPDATE login_failures SET count = 2")
            assert db.scalar("SELECT count FROM login_failures") == 2
        connection.rollback()
    assert db.scalar("SELECT count(*) FROM login_failures") == 0
    other.dispose()


def test_a_restarted_server_costs_no_failed_request(pg_url, tmp_path):
    """Every connection of the pool dies (a restart, a failover): the next read and
    the next write each find out, reconnect and succeed."""
    db = Database(url_for(pg_url, str(tmp_path)), WCAP)
    with db.transaction():  # several pooled connections
        db.ping()
        with db.engine.connect() as extra:
            extra.exec_driver_sql("SELECT 1")
    db.execute("INSERT INTO login_failures (name, count, last) VALUES ('x', 1, 0)")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid != pg_backend_pid()")
    assert db.scalar("SELECT count FROM login_failures") == 1
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid != pg_backend_pid()")
    assert db.execute("UPDATE login_failures SET count = 2") == 1
    assert db.scalar("SELECT count FROM login_failures") == 2
    db.dispose()
