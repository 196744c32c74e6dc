"""Two servers for the migration tests: the old one (a second instance of this server on
a free loopback port, filled through its own WCAP) and a target store on a config file,
which ``radicale-wcap migrate`` fills as a real subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse
from typing import Dict, List, Tuple

import pytest
import vobject

from radicale_wcap.cli import main
from radicale_wcap.instance import Instance
from radicale_wcap.middleware import make_app
from tests.conftest import TEST_PASSWORD, InProcessClient, LiveServer
from tests.migrate.fill import ADMIN, fill
from tests.ops.conftest import BIN, ROOT, write_config

STAMPS = ("DTSTAMP", "X-NSCP-CALPROPS-LAST-MODIFIED", "X-NSCP-CALPROPS-CREATED", "PRODID")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    server = LiveServer(str(tmp_path_factory.mktemp("old-server")))
    fill(server.instance, server.client)
    yield server
    server.stop()


class Target:
    def __init__(self, folder: pathlib.Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.config = write_config(folder, level="warning")

    def migrate(self, *args: str, password: str = TEST_PASSWORD, timeout: float = 120
                ) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "radicale-wcap"), "--config", str(self.config),
                               "migrate", *args], input=password + "\n", text=True,
                              capture_output=True, cwd=str(ROOT), timeout=timeout,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))

    def run(self, *args: str, password: str = TEST_PASSWORD) -> subprocess.CompletedProcess:
        """The command line in this process (the same ``main``; no interpreter start)."""
        out, err = io.StringIO(), io.StringIO()
        stdin = sys.stdin
        sys.stdin = io.StringIO(password + "\n")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["--config", str(self.config), "migrate", *args])
        finally:
            sys.stdin = stdin
        return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())

    def popen(self, *args: str, password: str = TEST_PASSWORD) -> subprocess.Popen:
        process = subprocess.Popen([str(BIN / "radicale-wcap"), "--config", str(self.config),
                                    "migrate", *args], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)))
        process.stdin.write(password + "\n")
        process.stdin.close()
        return process

    def instance(self) -> Instance:
        return Instance.from_file(str(self.config))


@pytest.fixture
def target(tmp_path) -> Target:
    return Target(tmp_path / "new-server")


def report(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------ comparing the two servers

def wcap_text(client, instance, user: str, command: str, **params) -> str:
    sid = instance.sessions.create(user)
    params = dict(params, id=sid)
    params.setdefault("fmt-out", "text/calendar")
    response = client.request("GET", "/wcap/%s.wcap?%s" % (
        command, urllib.parse.urlencode(params, safe=";")))
    assert response.status == 200
    return response.text


def _unfolded(text: str) -> List[str]:
    return re.sub(r"\r?\n[ \t]", "", text).replace("\r\n", "\n").split("\n")


def components(text: str) -> Dict[str, List[str]]:
    """UID -> its components, each the sorted lines without stamps, VTIMEZONEs left out
    (the target writes each zone's definition from its own tz data)."""
    found: Dict[str, List[str]] = {}
    block: List[str] = []
    depth, skip = 0, False
    for line in _unfolded(text):
        if line.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                block, skip = [], line == "BEGIN:VTIMEZONE"
        if depth >= 2 and not line.startswith(STAMPS):
            block.append(line)
        if line.startswith("END:"):
            if depth == 2 and not skip:
                uid = next((b[4:] for b in block if b.startswith("UID:")), "")
                found.setdefault(uid, []).append("\n".join(sorted(block)))
            depth -= 1
    return {uid: sorted(parts) for uid, parts in found.items()}


def top_props(text: str) -> List[str]:
    lines, depth = [], 0
    for line in _unfolded(text):
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            depth -= 1
        elif depth == 1 and line and not line.startswith(STAMPS):
            lines.append(line)
    return lines


def caldav_objects(client, path: str, user: str) -> Dict[str, List[str]]:
    """A calendar-query REPORT for everything in the calendar, as the owner sees it."""
    body = ('<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>'
            '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')
    response = client.request("REPORT", path, body, {"Depth": "1",
                                                     "Content-Type": "application/xml"},
                              user=user)
    assert response.status == 207, response.text
    texts = re.findall(r"<C:calendar-data[^>]*>(.*?)</C:calendar-data>", response.text, re.S)
    found: Dict[str, List[str]] = {}
    for text in texts:
        text = text.replace("&#13;", "").replace("&lt;", "<").replace("&gt;", ">") \
            .replace("&amp;", "&")
        for uid, parts in components(text).items():
            found.setdefault(uid, []).extend(parts)
    return found


def in_process(instance) -> InProcessClient:
    return InProcessClient(make_app(instance))
