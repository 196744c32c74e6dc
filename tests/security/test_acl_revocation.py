"""A change of ACL decides the very next request, in every worker thread and
whichever process made it (security issue 4: a revoked grant kept answering
for 15-25% of requests, because the ACL cache compared one thread's
``PRAGMA data_version`` with a version another thread had stored)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import TEST_PASSWORD, LiveServer, add_user, engine_database_url

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
         "UID:secret-meeting\r\nDTSTAMP:20240101T000000Z\r\n"
         "DTSTART:20240110T100000Z\r\nDTEND:20240110T110000Z\r\n"
         "SUMMARY:Secret meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
OWNER_ONLY = "@@o^a^r^g;@@o^c^wdeic^g"
BOB_READS = OWNER_ONLY + ";bob^a^r^g;bob^c^r^g"
REQUESTS = 120
CLIENT_THREADS = 12


def _config_file(folder: str) -> str:
    """The live server's store as a configuration file, for the CLI."""
    path = os.path.join(folder, "cli.conf")
    with open(path, "w") as f:
        f.write("[storage]\nfilesystem_folder = %s\ndatabase_url = %s\n[auth]\n"
                "argon2_time_cost = 1\nargon2_memory_cost = 8\n[logging]\nlevel = warning\n"
                % (os.path.join(folder, "collections"), engine_database_url(folder)))
    return path


def _cli(config: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "radicale_wcap.cli", "--config", config, *args],
                   check=True, capture_output=True, timeout=120,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                       os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("acl"))
    live = LiveServer(folder)
    add_user(live.instance, "jdoe")
    add_user(live.instance, "bob")
    response = live.client.request("PUT", "/jdoe/calendar/secret-meeting.ics", body=EVENT,
                                   headers={"Content-Type": "text/calendar"}, user="jdoe")
    assert response.status in (201, 204), response.status
    live.config = _config_file(folder)
    yield live
    live.stop()


def _bob_reads(server) -> list:
    """Bob's GET of jdoe's calendar, many times from many connections at once:
    every worker thread of the server answers some of them."""
    def one(_):
        response = server.client.request("GET", "/jdoe/calendar/", user="bob",
                                          password=TEST_PASSWORD)
        return response.status, b"secret-meeting" in response.body
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        return list(pool.map(one, range(REQUESTS)))


def _assert_all_refused(answers: list) -> None:
    leaked = [a for a in answers if a[0] == 200 or a[1]]
    assert not leaked, "%d of %d requests answered by the old ACL" % (len(leaked),
                                                                       len(answers))


def _assert_all_granted(answers: list) -> None:
    refused = [a for a in answers if a != (200, True)]
    assert not refused, "%d of %d requests refused by the old ACL" % (len(refused),
                                                                       len(answers))


def test_revocation_by_another_process_decides_the_next_request(server):
    for _ in range(3):
        _cli(server.config, "calendar", "acl", "jdoe", BOB_READS)
        _assert_all_granted(_bob_reads(server))
        _cli(server.config, "calendar", "acl", "jdoe", OWNER_ONLY)
        _assert_all_refused(_bob_reads(server))


def test_revocation_in_another_thread_decides_the_next_request(server):
    registry = server.instance.registry
    for _ in range(3):
        with ThreadPoolExecutor(1) as writer:
            writer.submit(registry.set_acl, "/jdoe/calendar/", BOB_READS).result()
        _assert_all_granted(_bob_reads(server))
        with ThreadPoolExecutor(1) as writer:
            writer.submit(registry.set_acl, "/jdoe/calendar/", OWNER_ONLY).result()
        _assert_all_refused(_bob_reads(server))


def test_wcap_set_calprops_revocation_decides_the_next_request(server):
    from tests.wcap.conftest import wcap, wcap_login
    owner = wcap_login(server.client, "jdoe")
    bob = wcap_login(server.client, "bob")
    for acl, readable in ((BOB_READS, True), (OWNER_ONLY, False)) * 2:
        assert wcap(server.client, "set_calprops", "text/xml", id=owner, calid="jdoe",
                    acl=acl).errno == 0

        def fetch(_):
            answer = wcap(server.client, "fetchcomponents_by_range", "text/calendar",
                          id=bob, calid="jdoe", dtstart="20240101T000000Z",
                          dtend="20240201T000000Z")
            return "secret-meeting" in answer.text
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            seen = list(pool.map(fetch, range(60)))
        assert seen == [readable] * len(seen)
