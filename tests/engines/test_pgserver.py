"""The test PostgreSQL itself: what every PostgreSQL test relies on."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest

from tests import pgserver


def test_fresh_database_per_test_is_empty_and_writable(pg_url):
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                            ).fetchone()[0] == 0
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.execute("SELECT x FROM t").fetchone()[0] == 1


def test_databases_are_isolated_and_dropped(pg_server):
    with pg_server.database() as first:
        with psycopg.connect(first) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
        with pg_server.database() as second:
            with psycopg.connect(second) as conn:
                assert conn.execute("SELECT to_regclass('only_here')").fetchone()[0] is None
    name = first.rsplit("/", 1)[1]
    with pg_server.admin() as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is None


def test_drop_ends_connections_left_open(pg_server):
    with pg_server.database() as url:
        leaked = psycopg.connect(url)
        leaked.execute("BEGIN")
    with pytest.raises(psycopg.OperationalError):
        leaked.execute("SELECT 1")


def test_template_is_cloned(pg_server):
    template = pg_server.create_database()
    try:
        with psycopg.connect(pg_server.url(template)) as conn:
            conn.execute("CREATE TABLE schema_marker (x int)")
        with pg_server.database(template=template) as url:
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT to_regclass('schema_marker')").fetchone()[0]
    finally:
        pg_server.drop_database(template)


def test_server_never_runs_as_root(pg_server):
    owner = os.stat("/proc/%d" % pg_server.process.pid).st_uid
    assert owner == os.geteuid() if os.geteuid() != 0 else owner != 0


def test_stopped_and_removed_when_the_owner_fails():
    """A session that dies with an exception leaves no server and no folder."""
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        from tests import pgserver
        with pgserver.running() as server:
            print(server.root, server.process.pid, flush=True)
            raise SystemExit(3)
    """ % os.getcwd())
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 3, result.stderr
    root, pid = result.stdout.split()
    assert not os.path.exists(root)
    assert not pgserver._pid_alive(int(pid))


def test_killed_owner_takes_the_server_down_and_the_next_session_sweeps():
    script = textwrap.dedent("""
        import sys, time
        sys.path.insert(0, %r)
        from tests import pgserver
        server = pgserver.PgServer()
        print(server.root, server.process.pid, flush=True)
        time.sleep(600)
    """ % os.getcwd())
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        root, pid = child.stdout.readline().split()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    pid = int(pid)
    for _ in range(100):
        if not pgserver._pid_alive(pid):
            break
        time.sleep(0.1)
    assert not pgserver._pid_alive(pid), "postmaster outlived its owner"
    assert os.path.exists(root)
    pgserver.sweep_stale()
    assert not os.path.exists(root)
