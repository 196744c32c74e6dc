"""Shared fixtures: an instance on a temporary store, an in-process WSGI
client, and a real server on a free loopback port.

One client API with two transports (``InProcessClient`` calls the WSGI app;
``HttpClient`` talks HTTP to a real server), so a scenario can run both ways.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Optional, Tuple

import pytest

from radicale_wcap.instance import Instance
from radicale_wcap.middleware import make_app
from radicale_wcap.state import forget
from tests import pgserver

TEST_PASSWORD = "secret-pass"
# The engine switch: RADICALE_WCAP_TEST_DATABASE=postgresql gives every test instance its
# own fresh database on the session's PostgreSQL (tests/pgserver.py) as its
# [storage] database_url; unset (or sqlite), the embedded wcap.sqlite.
TEST_DATABASE = os.environ.get("RADICALE_WCAP_TEST_DATABASE", "sqlite").strip().lower()
_databases: Dict[str, str] = {}  # folder -> database name, this module's tests
_databases_lock = threading.Lock()


def engine_database_url(folder: str) -> str:
    """The database of the test instance at ``folder`` under the engine switch: the
    same for every instance and config made for that folder (a live server and the
    in-process instance beside it share it); "" for the embedded default."""
    if TEST_DATABASE != "postgresql":
        return ""
    folder = os.path.abspath(folder)
    server = pgserver.shared()
    with _databases_lock:
        if folder not in _databases:
            _databases[folder] = server.create_database()
        return server.url(_databases[folder])


def pytest_collection_modifyitems(config, items):
    """Under the engine switch a ``file_engine`` test is skipped with its reason:
    it inspects what only the file engine has, so it would fail for no SQL bug."""
    if TEST_DATABASE != "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("file_engine")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args
                                                     else "file engine only")
            item.add_marker(pytest.mark.skip(reason="file engine only: %s" % reason))


@pytest.fixture(scope="module", autouse=True)
def _test_databases():
    """Under the engine switch, a module's databases are dropped after its last test
    (module-scoped live servers use theirs until then)."""
    yield
    if TEST_DATABASE == "postgresql":
        with _databases_lock:
            names = list(_databases.values())
            _databases.clear()
        for name in names:
            pgserver.shared().drop_database(name)


def test_overrides(folder: str) -> Dict[str, Dict[str, object]]:
    """Settings for tests: a cheap hash and no failed-login delays."""
    return {
        "storage": {"filesystem_folder": os.path.join(folder, "collections"),
                    "database_url": engine_database_url(folder) or None},
        "auth": {"argon2_time_cost": "1", "argon2_memory_cost": "8",
                 "failed_login_backoff": "0", "delay": "0"},
        "logging": {"level": "warning"},
        "web": {"type": "none"},
    }


def _clean(overrides):
    return {s: {k: v for k, v in o.items() if v is not None} for s, o in overrides.items()}


def make_instance(folder: str, extra: Optional[Dict[str, Dict[str, object]]] = None
                  ) -> Instance:
    overrides = _clean(test_overrides(folder))
    for section, options in (extra or {}).items():
        overrides.setdefault(section, {}).update(options)
    forget(os.path.join(folder, "collections", "collection-db", "wcap"))
    return Instance.from_file(None, overrides)


def add_user(instance: Instance, name: str, password: str = TEST_PASSWORD, *,
             email: Optional[str] = None, tz: str = "UTC", admin: bool = False) -> None:
    from radicale_wcap.store import create_default_calendar
    instance.directory.add(name, password, email=email or "%s@example.com" % name,
                           cn=name.title(), tz=tz, admin=admin)
    create_default_calendar(instance.configuration, name, instance.store)


@contextlib.contextmanager
def plugin_collection(instance: Instance, path: str, user: str = "", mode: str = "r"):
    """The storage plugin's own collection at ``path``, locked as Radicale locks it, for
    tests of the plugin itself (doors read and write through the store's handles)."""
    storage = instance.store.storage
    if mode == "w":
        with storage.acquire_lock("w", user, path=path):
            yield storage.calendar_at(path)
        return
    with storage.acquire_lock("r", user), storage.calendar_lock([path], "r"):
        yield storage.calendar_at(path)


def basic(user: str, password: str = TEST_PASSWORD) -> str:
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


class InProcessClient:
    def __init__(self, app) -> None:
        self.app = app

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Optional[Dict[str, str]] = None, user: Optional[str] = None,
                password: str = TEST_PASSWORD) -> Response:
        headers = dict(headers or {})
        if user:
            headers["Authorization"] = basic(user, password)
        path, _, query = path.partition("?")
        if isinstance(body, str):
            body = body.encode("utf-8")
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False,
            "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
            "SCRIPT_NAME": "",
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key == "CONTENT_LENGTH":
                environ["CONTENT_LENGTH"] = value
            else:
                environ["HTTP_" + key] = value
        captured: Dict[str, object] = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = response_headers

        chunks = self.app(environ, start_response)
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        status = int(str(captured["status"]).split()[0])
        return Response(status, dict(captured["headers"]), data)


class HttpClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Optional[Dict[str, str]] = None, user: Optional[str] = None,
                password: str = TEST_PASSWORD) -> Response:
        headers = dict(headers or {})
        if user:
            headers["Authorization"] = basic(user, password)
        if isinstance(body, str):
            body = body.encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=body or None,
                                         method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Response(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())


@pytest.fixture
def instance(tmp_path) -> Instance:
    return make_instance(str(tmp_path))


@pytest.fixture
def app(instance):
    return make_app(instance)


@pytest.fixture
def client(app) -> InProcessClient:
    return InProcessClient(app)


class LiveServer:
    def __init__(self, folder: str, extra=None) -> None:
        from radicale_wcap.server import Server
        self.instance = make_instance(folder, extra)
        self.server = Server(self.instance, host="127.0.0.1", port=0).start()
        self.url = "http://127.0.0.1:%d" % self.server.port
        self.client = HttpClient(self.url)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(str(tmp_path_factory.mktemp("live")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL (tests/pgserver.py), stopped and removed at the end."""
    yield pgserver.shared()
    pgserver.stop_shared()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    with pg_server.database() as url:
        yield url
