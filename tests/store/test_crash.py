"""kill -9 at any point of a write leaves every calendar as before or as after.

A child process (``crash_child.py``) runs a door's write and kills itself with
SIGKILL at a chosen item write; this process then looks at the store the way
the next worker would. For batches: the files are really half-written before
anyone touches the calendar, the first read rolls them back, the journal is
empty and ``verify`` is clean. For a single write killed between the item
file and its index row: the index knows the file at the next read.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import threading
import time

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from radicale_wcap.verify import verify_store
from tests.conftest import InProcessClient, make_instance
from tests.store.scenarios import PATH, SCENARIOS

pytestmark = pytest.mark.file_engine(reason="reads item files and the journal past the store; "
                                    "the crash child finds its store by folder, not URL")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def files(folder, path=PATH):
    """Item files as they are on disk, read past the store (which would recover)."""
    where = os.path.join(folder, "collections", "collection-root", path.strip("/"))
    found = {}
    for name in glob.glob(os.path.join(where, "*.ics")):
        with open(name, encoding="utf-8") as f:
            found[os.path.basename(name)] = f.read()
    return found


def child(folder, scenario, n, mode="kill"):
    env = dict(os.environ, CRASH_MODE=mode, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "tests.store.crash_child", folder,
                             scenario, str(n)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prepared(tmp_path, scenario):
    folder = str(tmp_path)
    instance = make_instance(folder)
    SCENARIOS[scenario].setup(instance, InProcessClient(make_app(instance)))
    return folder


def reopened(folder):
    instance = make_instance(folder)
    return instance, InProcessClient(make_app(instance))


def quiet_verify(instance) -> int:
    lines = []
    return verify_store(instance, log=lines.append)


def all_files(folder, paths):
    return {path: files(folder, path) for path in paths}


@pytest.mark.parametrize("scenario,n", [("feed", 0), ("feed", 5), ("feed", 17),
                                        ("range-delete", 0), ("range-delete", 6),
                                        ("wcap-import", 4), ("fork", 1),
                                        ("scheduling", 2)])
def test_killed_batch_is_rolled_back_by_the_next_reader(tmp_path, scenario, n):
    paths, reader = SCENARIOS[scenario].paths, SCENARIOS[scenario].reader
    folder = prepared(tmp_path, scenario)
    before = all_files(folder, paths)
    process = child(folder, scenario, n)
    _, err = process.communicate(timeout=120)
    assert process.returncode == -9, err.decode()[-2000:]
    if n:
        assert all_files(folder, paths) != before        # really half-written
    instance, client = reopened(folder)                 # a fresh worker, no startup recovery
    response = client.request("GET", paths[0], user=reader)  # a plain CalDAV read
    assert response.status == 200
    assert all_files(folder, paths) == before
    assert instance.services.journal.pending() == []
    assert quiet_verify(instance) == 0


def test_killed_single_write_is_indexed_at_the_next_read(tmp_path):
    folder = prepared(tmp_path, "single")
    process = child(folder, "single", 0)
    _, err = process.communicate(timeout=120)
    assert process.returncode == -9, err.decode()[-2000:]
    assert "lonely.ics" in files(folder)                 # the file made it, its row did not
    instance, client = reopened(folder)
    with instance.store.reading(PATH, SYSTEM, READ) as calendar:
        assert calendar.etag("lonely") is not None
    assert instance.services.intents.pending() == []
    assert quiet_verify(instance) == 0


def test_readers_in_another_process_never_see_half_a_batch(tmp_path):
    folder = prepared(tmp_path, "feed")
    before = files(folder)
    process = child(folder, "feed", 3, mode="slow")       # ~7 s of writes after the 3rd
    marker = os.path.join(folder, "at-write")
    deadline = time.monotonic() + 60
    while not os.path.exists(marker):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    instance, client = reopened(folder)
    response = client.request("GET", PATH, user="jdoe")
    assert response.status == 200
    summaries = {line for line in response.text.splitlines() if line.startswith("SUMMARY")}
    old = {"SUMMARY:Talk %d" % i for i in range(10)}
    new = {"SUMMARY:Changed %d" % i for i in range(10)} | {"SUMMARY:New %d" % i
                                                           for i in range(10)}
    assert summaries in (old, new)
    process.communicate(timeout=120)
    assert process.returncode == 0
    assert files(folder) != before


def test_a_long_batch_does_not_hold_up_another_calendar(tmp_path):
    folder = prepared(tmp_path, "feed")
    instance, client = reopened(folder)
    from tests.conftest import add_user
    add_user(instance, "jsmith")
    process = child(folder, "feed", 0, mode="slow")      # holds jdoe's calendar ~8 s
    marker = os.path.join(folder, "at-write")
    deadline = time.monotonic() + 60
    while not os.path.exists(marker):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:own\r\n"
            "DTSTAMP:20250101T000000Z\r\nDTSTART:20250110T100000Z\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")
    started = time.monotonic()
    response = client.request("PUT", "/jsmith/calendar/own.ics", body,
                              {"Content-Type": "text/calendar"}, user="jsmith")
    elapsed = time.monotonic() - started
    still_running = process.poll() is None
    process.communicate(timeout=120)
    assert response.status == 201
    assert still_running, "the batch ended before the other write: nothing was shown"
    assert elapsed < 4.0


def test_temporary_folders_a_crash_left_are_removed_when_old(tmp_path):
    from radicale_wcap.storage import consistency
    folder = prepared(tmp_path, "single")
    home = os.path.join(folder, "collections", "collection-root", "jdoe")
    old, young = (os.path.join(home, ".Radicale.tmp-" + n) for n in ("old", "young"))
    for name in (old, young):
        os.makedirs(os.path.join(name, "calendar"))
    hours_ago = time.time() - 2 * consistency.TEMPORARY_AGE
    os.utime(old, (hours_ago, hours_ago))
    consistency._tidied.clear()
    _, client = reopened(folder)
    body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:w\r\n"
            "DTSTAMP:20250101T000000Z\r\nDTSTART:20250110T100000Z\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")
    assert client.request("PUT", PATH + "w.ics", body, {"Content-Type": "text/calendar"},
                          user="jdoe").status == 201
    assert not os.path.exists(old) and os.path.exists(young)
