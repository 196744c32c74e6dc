"""Slow and half-open connections do not keep the built-in server from others.

Security issue: 110 connections that each sent half a request header made the server
(waitress with its defaults: 100 connections, 120 s timeout) unreachable for minutes.
``[http] connection_limit``, ``channel_timeout`` and ``max_header_size`` now fit a
calendar server; many more connections are a proxy's to absorb (README).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.conftest import LiveServer

#: A liveness bound, not a performance figure: the machines running the suite are slow.
LIVENESS = 10.0
HALF_HEADER = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.server.port), timeout=LIVENESS)
    return sock


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def answers_in_time(server) -> float:
    started = time.monotonic()
    response = server.client.request("GET", "/")
    elapsed = time.monotonic() - started
    assert response.status == 200
    return elapsed


@pytest.fixture
def server(tmp_path):
    live = LiveServer(str(tmp_path))
    yield live
    live.stop()


def test_half_sent_headers_and_a_trickling_client_do_not_stop_a_request(server):
    sockets = []
    stop = threading.Event()

    def trickle(sock):
        # One byte a second: never silent long enough to be closed.
        sock.sendall(b"POST /wcap/login.wcap HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        while not stop.wait(1.0):
            try:
                sock.sendall(b"a")
            except OSError:
                return

    try:
        for _ in range(110):
            sock = connect(server)
            sock.sendall(HALF_HEADER)
            sockets.append(sock)
        slow = connect(server)
        sockets.append(slow)
        threading.Thread(target=trickle, args=(slow,), daemon=True).start()
        assert wait_for(lambda: server.server.connections >= 111, LIVENESS)
        assert answers_in_time(server) < LIVENESS
        assert answers_in_time(server) < LIVENESS
    finally:
        stop.set()
        for sock in sockets:
            sock.close()


def test_silent_connections_are_closed_after_channel_timeout(tmp_path):
    live = LiveServer(str(tmp_path), {"http": {"channel_timeout": "2"}})
    try:
        sock = connect(live)
        sock.sendall(HALF_HEADER)
        started = time.monotonic()
        try:
            closed = sock.recv(1024) == b""
        except ConnectionResetError:
            closed = True
        assert closed and time.monotonic() - started < 2 + LIVENESS
        sock.close()
        assert answers_in_time(live) < LIVENESS
    finally:
        live.stop()


def test_oversized_headers_are_refused(server):
    response = server.client.request("GET", "/", headers={"X-Big": "x" * 70_000})
    assert response.status == 431
    assert answers_in_time(server) < LIVENESS


def test_waitress_gets_the_settings(tmp_path):
    live = LiveServer(str(tmp_path), {"http": {"connection_limit": "300",
                                               "channel_timeout": "40",
                                               "max_header_size": "10000"}})
    try:
        adj = live.server._server.adj
        assert (adj.connection_limit, adj.channel_timeout, adj.max_request_header_size) == \
            (300, 40, 10000)
        assert adj.cleanup_interval == 10
    finally:
        live.stop()
