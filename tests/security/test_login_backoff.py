"""Failed-login back-off holds no worker (security issue 6).

The delay used to be slept out in the worker thread that answered the failed
login: 14 concurrent failures for made-up names left the server without a free
thread for 30 s. Now a failure is answered at once and the name's next logins
are refused, unchecked, until the delay has passed.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from radicale_wcap import auth, directory as directory_mod
from tests.conftest import TEST_PASSWORD, LiveServer, add_user, basic, make_instance
from tests.wcap.conftest import wcap

BACKOFF = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # A delay long enough that a worker sleeping it out would be seen at once.
    live = LiveServer(str(tmp_path_factory.mktemp("backoff")), {"auth": {
        "failed_login_backoff": "5", "failed_login_backoff_max": "30"}})
    add_user(live.instance, "jdoe")
    yield live
    live.stop()


def _login(server, user, password):
    started = time.monotonic()
    answer = wcap(server.client, "login", "text/calendar", user=user, password=password)
    return answer.errno, time.monotonic() - started


def test_failed_logins_for_made_up_names_leave_workers_free(server):
    names = ["nobody%02d" % n for n in range(20)]
    with ThreadPoolExecutor(len(names)) as pool:
        failures = [pool.submit(_login, server, name, "guess") for name in names]
        time.sleep(0.2)  # all twenty sent and in the server's queue
        errno, took = _login(server, "jdoe", TEST_PASSWORD)
        failed = [f.result() for f in failures]
    assert errno == 0 and took < 5, took
    assert all(e == 1 for e, _ in failed)
    assert max(t for _, t in failed) < 5
    # The same names again: refused at once, and still no worker held.
    with ThreadPoolExecutor(len(names)) as pool:
        again = list(pool.map(lambda name: _login(server, name, "guess"), names))
    assert all(e == 1 and t < 5 for e, t in again)
    assert _login(server, "jdoe", TEST_PASSWORD)[0] == 0


def test_basic_auth_failures_answer_at_once(server):
    started = time.monotonic()
    for n in range(10):
        response = server.client.request("GET", "/restapi/v1/events", headers={
            "Authorization": basic("madeup%d" % n, "guess")})
        assert response.status == 401
    assert time.monotonic() - started < 5


@pytest.fixture
def backoff_server(tmp_path):
    live = LiveServer(str(tmp_path), {"auth": {
        "failed_login_backoff": str(BACKOFF), "failed_login_backoff_max": "30"}})
    add_user(live.instance, "jdoe")
    yield live
    live.stop()


def test_user_is_refused_until_the_delay_has_passed_then_accepted(backoff_server):
    errno, took = _login(backoff_server, "jdoe", "wrong")
    failed_at = time.monotonic()
    assert errno == 1 and took < BACKOFF
    # The right password within the delay: refused, at once, and not counted.
    while time.monotonic() - failed_at < BACKOFF / 2:
        errno, took = _login(backoff_server, "jdoe", TEST_PASSWORD)
        assert errno == 1 and took < BACKOFF
        assert backoff_server.client.request(
            "PROPFIND", "/jdoe/", headers={"Depth": "0"}, user="jdoe").status == 401
        time.sleep(0.05)
    time.sleep(max(0.0, failed_at + BACKOFF + 0.1 - time.monotonic()))
    assert _login(backoff_server, "jdoe", TEST_PASSWORD)[0] == 0
    # A success clears the count: the next failure is back to the first delay.
    assert _login(backoff_server, "jdoe", "wrong")[0] == 1
    time.sleep(BACKOFF + 0.1)
    assert _login(backoff_server, "jdoe", TEST_PASSWORD)[0] == 0


def test_delay_doubles_up_to_the_maximum_and_refusals_do_not_extend_it(tmp_path):
    instance = make_instance(str(tmp_path), {"auth": {
        "failed_login_backoff": "1", "failed_login_backoff_max": "2"}})
    add_user(instance, "jdoe")
    assert [instance.directory.backoff(n) for n in range(5)] == [0, 1, 2, 2, 2]
    assert instance.directory.backoff(5000) == 2

    def verify(password):
        return auth.verify(instance.configuration, "jdoe", password)

    def sleep_until(moment):
        time.sleep(max(0.0, moment - time.monotonic()))

    assert not verify("wrong")
    failed_at = time.monotonic()
    while time.monotonic() - failed_at < 0.5:
        assert not verify(TEST_PASSWORD)
    sleep_until(failed_at + 1.1)
    assert not verify("wrong")  # the second failure in a row: 2 s
    failed_at = time.monotonic()
    sleep_until(failed_at + 1.2)
    assert not verify(TEST_PASSWORD)
    sleep_until(failed_at + 2.1)
    assert verify(TEST_PASSWORD)


def test_made_up_names_are_counted_like_users_but_bounded(tmp_path, monkeypatch):
    instance = make_instance(str(tmp_path), {"auth": {"failed_login_backoff": "60"}})
    add_user(instance, "jdoe")
    directory = instance.directory
    # Unknown and known names are refused alike, so the back-off tells nothing.
    for name in ("jdoe", "nosuchuser"):
        assert not auth.verify(instance.configuration, name, "wrong")
        assert directory.login_refused(name)
    # Not a name the directory can hold: never counted.
    assert not auth.verify(instance.configuration, "bad/name", "x")
    assert directory.record_failure("x" * 300) == 0
    monkeypatch.setattr(directory_mod, "MAX_FAILURE_ROWS", 50)
    for n in range(200):
        directory.record_failure("flood%03d" % n)
    rows = instance.services.db.scalar("SELECT count(*) FROM login_failures")
    assert rows <= 50
    # The flood pushed out made-up names, not the user under attack.
    assert directory.login_refused("jdoe")
    assert not directory.login_refused("nosuchuser")
    assert directory.login_refused("flood199")


def test_unknown_user_costs_the_same_hash_as_a_wrong_password(tmp_path):
    instance = make_instance(str(tmp_path), {"auth": {
        "argon2_time_cost": "2", "argon2_memory_cost": "16384"}})
    add_user(instance, "jdoe")
    directory = instance.directory

    def timed(name):
        started = time.perf_counter()
        assert not directory.verify_password(name, "wrong")
        return time.perf_counter() - started

    known, unknown = [], []
    for _ in range(7):
        known.append(timed("jdoe"))
        unknown.append(timed("nosuchuser"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2, (known, unknown)
