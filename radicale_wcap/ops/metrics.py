"""Prometheus metrics at ``[http] metrics_path``, correct under several worker processes.

Under gunicorn each worker process counts in its own files in
``$PROMETHEUS_MULTIPROC_DIR`` (``deploy/gunicorn.conf.py`` sets it before anything
imports ``prometheus_client``, which reads it once), and a scrape adds up every
process's files, whichever worker answers it; the master removes a dead worker's
gauges. Without the variable (``radicale-wcap serve``: one process) the values are
the process's own.

Label values are bounded by their producers: the wrapper names doors and CalDAV methods
from fixed tables and the WCAP door says ``unknown`` for a command not in the table,
so a scanner's made-up URLs do not create series. The session count is read from the
database at scrape time (it is shared by all workers, not per process).

Readable only when ``[http] metrics`` is on, from ``[http] metrics_allow`` or with
``Authorization: Bearer [http] metrics_token``; a request that came through a proxy
(``X-Forwarded-For``) is not judged by the proxy's address.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from typing import Any, Mapping, Tuple

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# This process's metrics; a multi-process scrape reads the files instead.
REGISTRY = CollectorRegistry(auto_describe=True)
# Fetches answer in milliseconds; a first feed import of thousands of events, minutes.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
           120.0, 300.0, 600.0, 1800.0)

REQUESTS = Counter("radicale_wcap_requests", "Requests answered, by door, command and "
                   "HTTP status", ("door", "command", "status"), registry=REGISTRY)
DURATION = Histogram("radicale_wcap_request_duration_seconds", "Time from the request "
                     "to the last byte of the answer", ("door", "command"),
                     buckets=BUCKETS, registry=REGISTRY)
ERRORS = Counter("radicale_wcap_errors", "Failed requests: WCAP by errno (always HTTP "
                 "200), the other doors by HTTP status", ("door", "command", "code"),
                 registry=REGISTRY)
FEED_IMPORTS = Counter("radicale_wcap_feed_imports", "Feed imports (PUT /service/*.ics) "
                       "by HTTP status", ("status",), registry=REGISTRY)
FEED_EVENTS = Counter("radicale_wcap_feed_events", "Events of feed imports by what "
                      "happened to them", ("change",), registry=REGISTRY)
INDEX_REBUILDS = Counter("radicale_wcap_index_rebuilds", "Times a calendar's index was "
                         "built or caught up from item files written outside it (first "
                         "use, another process, another program)", registry=REGISTRY)
INDEX_ITEMS = Counter("radicale_wcap_index_items_read", "Item files read into the index "
                      "by those rebuilds", registry=REGISTRY)

# WCAP errnos that are not failures: OK and LOGOUT.
WCAP_SUCCESS = (0, -1)
FEED_CHANGES = ("added", "modified", "deleted", "not_imported")


def observe(record: Mapping[str, Any], seconds: float) -> None:
    door = str(record.get("door", ""))
    command = str(record.get("command", ""))
    status = str(record.get("status", ""))
    REQUESTS.labels(door, command, status).inc()
    DURATION.labels(door, command).observe(seconds)
    errno = record.get("errno")
    if door == "wcap" and errno is not None and errno not in WCAP_SUCCESS:
        ERRORS.labels(door, command, str(errno)).inc()
    elif status[:1] in ("4", "5"):
        ERRORS.labels(door, command, status).inc()
    if door == "feeds" and command == "import":
        FEED_IMPORTS.labels(status).inc()
        counts = record.get("feed") or {}
        for change in FEED_CHANGES:
            if counts.get(change):
                FEED_EVENTS.labels(change).inc(counts[change])


def index_rebuilt(items_read: int) -> None:
    INDEX_REBUILDS.inc()
    INDEX_ITEMS.inc(items_read)


class _Sessions:
    """Live WCAP sessions, from the database every worker shares."""

    def __init__(self, instance) -> None:
        self.instance = instance

    def collect(self):
        sessions = self.instance.sessions
        now = time.time()
        count = sessions.db.scalar(
            "SELECT COUNT(*) FROM sessions WHERE last_seen >= :idle AND created >= :old",
            {"idle": now - sessions.idle_timeout, "old": now - sessions.max_lifetime})
        family = GaugeMetricFamily("radicale_wcap_sessions", "Live WCAP sessions")
        family.add_metric([], count)
        yield family


class _Own:
    def collect(self):
        return REGISTRY.collect()


def scrape(instance) -> Tuple[str, bytes]:
    registry = CollectorRegistry()
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Own())
    registry.register(_Sessions(instance))
    return CONTENT_TYPE_LATEST, generate_latest(registry)


def mark_process_dead(pid: int) -> None:
    """For gunicorn's ``child_exit``: a dead worker's live gauges go."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)


class Gate:
    def __init__(self, settings) -> None:
        self.networks = [ipaddress.ip_network(entry, strict=False)
                         for entry in settings.get("http", "metrics_allow")]
        self.token = settings.get("http", "metrics_token").encode("utf-8")

    def allows(self, environ: Mapping[str, Any]) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if self.token and header[:7].lower() == "bearer ":
            return hmac.compare_digest(header[7:].strip().encode("utf-8"), self.token)
        if environ.get("HTTP_X_FORWARDED_FOR") or environ.get("HTTP_FORWARDED"):
            return False
        try:
            address = ipaddress.ip_address(environ.get("REMOTE_ADDR", "").split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)
