"""Serving the middleware with waitress.

Radicale's built-in server always builds its own application and has no hook
for a middleware, so ``serve`` uses waitress (pure Python, threaded). Port 0
asks the system for a free port; the port actually bound is reported, which
is how the tests start real servers.

Waitress reads requests in its one event loop and hands only complete ones to the
worker threads, so a slow client holds a connection, never a thread. Its defaults
let 100 connections that each send half a request header close the server to
everyone else for two minutes (no new connection is accepted past
``connection_limit`` until ``channel_timeout`` expires them); ``[http]
connection_limit``, ``channel_timeout`` and ``max_header_size`` set what fits a
calendar server. Many more connections than that are a proxy's to absorb (README).
"""

from __future__ import annotations

import logging
import resource
import threading
from typing import List, Optional, Tuple

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

from radicale_wcap.instance import Instance
from radicale_wcap.middleware import make_app

logger = logging.getLogger("radicale.wcap.server")


def listen_addresses(instance: Instance) -> List[Tuple[str, int]]:
    return list(instance.configuration.get("server", "hosts"))


class Server:
    """A running waitress server; ``port`` is the port actually bound."""

    def __init__(self, instance: Instance, host: Optional[str] = None,
                 port: Optional[int] = None) -> None:
        addresses = listen_addresses(instance)
        if host is not None or port is not None:
            first = addresses[0] if addresses else ("127.0.0.1", 5232)
            addresses = [(host or first[0], first[1] if port is None else port)]
        self.instance = instance
        self.app = make_app(instance)
        listen = " ".join("[%s]:%d" % (h, p) if ":" in h else "%s:%d" % (h, p)
                          for h, p in addresses)
        settings = instance.settings
        connection_limit = settings.get("http", "connection_limit")
        channel_timeout = settings.get("http", "channel_timeout")
        _make_room_for(connection_limit)
        self._server = create_server(
            self.app, listen=listen,
            threads=settings.get("http", "threads"),
            connection_limit=connection_limit, channel_timeout=channel_timeout,
            # Expired connections are only looked for every cleanup_interval (waitress:
            # 30 s, a quarter of its timeout).
            cleanup_interval=max(1, min(30, channel_timeout // 4)),
            max_request_header_size=settings.get("http", "max_header_size"),
            max_request_body_size=max(instance.settings.get("http", "max_body_size"),
                                      instance.settings.get("feeds", "max_body_size"),
                                      instance.settings.get("wcap", "max_import_size")) + 65536,
            ident="radicale-wcap", clear_untrusted_proxy_headers=True,
            # poll(), not select(): select() fails on descriptors above 1024.
            asyncore_use_poll=True)
        self._thread: Optional[threading.Thread] = None

    @property
    def connections(self) -> int:
        """Open client connections (the listening sockets not counted)."""
        return sum(1 for channel in list(self._map.values())
                   if isinstance(channel, HTTPChannel))

    @property
    def _map(self) -> dict:
        return getattr(self._server, "_map", None) or getattr(self._server, "map", {})

    @property
    def bound(self) -> List[Tuple[str, int]]:
        result = []
        for candidate in ([self._server] if hasattr(self._server, "effective_port")
                          else list(self._map.values())):
            if hasattr(candidate, "effective_port"):
                result.append((str(candidate.effective_host), int(candidate.effective_port)))
        return result

    @property
    def port(self) -> int:
        return self.bound[0][1]

    def run(self) -> None:
        self._server.run()

    def start(self) -> "Server":
        self._thread = threading.Thread(target=self._server.run, daemon=True,
                                        name="radicale-wcap-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        # close() alone leaves kept-alive client connections in waitress's
        # socket map, and its loop runs until the map is empty.
        server = self._server
        dispatcher = getattr(server, "task_dispatcher", None)
        if dispatcher is not None:
            dispatcher.shutdown()
        socket_map = self._map or None
        if socket_map is not None:
            wasyncore.close_all(socket_map)
        else:
            server.close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _make_room_for(connections: int) -> None:
    """Raise the soft limit of open files so that *connections* fit beside the store's
    own files (systemd starts services with a soft limit of 1,024); waitress polls,
    so descriptors above 1,024 are fine."""
    wanted = connections + 256
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            if new < wanted:
                logger.warning("Open files limited to %d: fewer than [http] connection_limit "
                               "= %d connections will be accepted", new, connections)
    except (ValueError, OSError) as e:
        logger.warning("Could not raise the limit of open files: %s", e)
