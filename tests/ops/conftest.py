"""Real server processes for the operations tests: ``radicale-wcap serve`` and gunicorn
with ``deploy/gunicorn.conf.py``, on a config file, so that what is tested is what an
administrator runs (log level, log destinations, several worker processes)."""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import pytest

from tests.conftest import TEST_PASSWORD, HttpClient, add_user, engine_database_url
from radicale_wcap.instance import Instance

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
BIN = pathlib.Path(sys.executable).parent


def write_config(folder: pathlib.Path, extra: Optional[Dict[str, Dict[str, str]]] = None,
                 level: str = "info") -> pathlib.Path:
    sections: Dict[str, Dict[str, str]] = {
        "server": {"hosts": "127.0.0.1:5232"},  # never bound: serve --port 0, gunicorn -b
        "storage": {"filesystem_folder": str(folder / "collections")},
        "auth": {"argon2_time_cost": "1", "argon2_memory_cost": "8",
                 "failed_login_backoff": "0", "delay": "0"},
        "logging": {"level": level},
        "web": {"type": "none"},
    }
    if engine_database_url(str(folder)):
        sections["storage"]["database_url"] = engine_database_url(str(folder))
    for section, options in (extra or {}).items():
        sections.setdefault(section, {}).update(options)
    path = folder / "config"
    path.write_text("".join("[%s]\n%s\n" % (section, "".join(
        "%s = %s\n" % item for item in options.items())) for section, options in sections.items()))
    return path


def users(config: pathlib.Path, *names: str) -> Instance:
    """The config's instance, in this process, with these users added."""
    instance = Instance.from_file(str(config))
    for name in names:
        add_user(instance, name)
    return instance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url_host: str, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((url_host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("nothing listens on port %d" % port)


class Process:
    """A server process whose combined output is kept in a file."""

    def __init__(self, args: List[str], env: Dict[str, str], log: pathlib.Path) -> None:
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(args, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     cwd=str(ROOT))
        self.url = ""
        self.client: Optional[HttpClient] = None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return self.output()


def serve(config: pathlib.Path, log: pathlib.Path) -> Process:
    process = Process([str(BIN / "radicale-wcap"), "--config", str(config), "serve",
                       "--port", "0"],
                      dict(os.environ), log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"Listening on (http://127\.0\.0\.1:(\d+))", process.output())
        if found:
            process.url = found.group(1)
            process.client = HttpClient(process.url)
            return process
        if process.proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError("server did not start:\n" + process.stop())


def gunicorn(config: pathlib.Path, log: pathlib.Path, workers: int = 2,
             env: Optional[Dict[str, str]] = None, app: str = "radicale_wcap.wsgi:application",
             options: Tuple[str, ...] = ()) -> Process:
    port = free_port()
    environment = dict(os.environ, RADICALE_WCAP_CONFIG=str(config), **(env or {}))
    environment.pop("WEB_CONCURRENCY", None)
    process = Process([str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), "-w", str(workers),
                       "-b", "127.0.0.1:%d" % port, *options, app],
                      environment, log)
    process.url = "http://127.0.0.1:%d" % port
    process.client = HttpClient(process.url)
    try:
        wait_for("127.0.0.1", port, time.monotonic() + 20)
        # A worker accepts only once post_worker_init has built the application.
        if process.client.request("GET", "/.well-known/health").status != 200:
            raise RuntimeError("not healthy")
    except Exception:
        raise RuntimeError("gunicorn did not start:\n" + process.stop())
    return process


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD
