"""Throughput under a mixed load: requests per second, p50 and p99, of radicale_wcap
under gunicorn (deploy/gunicorn.conf.py, as deployed) with 1 and with 4 worker
processes, against stock Radicale's own server under the CalDAV part of the same load.

A fixed number of client threads (``--throughput-clients``) sends requests back to
back for a fixed time (``--throughput-seconds``) after a short untimed warm-up. Each
thread cycles through the operations of its load, starting at its own offset so that
at any moment every operation is in flight about equally often:

* CalDAV: calendar-query REPORT of the query week, GET of one item of that week, PUT
  of a new event (a year after the week, so that the REPORT answers stay the same);
* WCAP (ours only): fetchcomponents_by_range of the week as Lightning sends it and
  storeevents of a new event, on a session each thread logged in with once;
* JSON (ours only): GET /restapi/v1/events of the week with an API key.

Every request is on a new connection with Basic auth (stock's server closes each
connection anyway), as in the other modules. The client threads run on the same two
cores as the servers, so their own cost is in every figure, alike for both. Any
answer other than the expected status (or a WCAP errno other than 0, or no answer)
is an error: it is counted, and a phase with errors says so in its row.

Ours runs on its own copy of the store (the same copy for 1 and 4 workers, one after
the other), stock on another: the PUTs would otherwise grow the calendars that the
other modules measure.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from benchmarks import store_gen
from benchmarks.caldav_bench import HREF, PUT_TEMPLATE, report_body
from benchmarks.run import (BIN, PASSWORD, REPO, Context, Row, ServerProcess, StockRadicale,
                            WcapServer, free_port)

NAME = "throughput"
FMT = "%Y%m%dT%H%M%SZ"
GUNICORN_CONF = os.path.join(REPO, "deploy", "gunicorn.conf.py")
ERRNO = re.compile(rb"X-NSCP-WCAP-ERRNO:(-?\d+)")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("throughput (benchmarks/throughput.py)")
    group.add_argument("--throughput-seconds", type=float, default=15.0,
                       help="timed seconds of load per phase (default 15; 5 phases)")
    group.add_argument("--throughput-clients", type=int, default=8,
                       help="client threads sending requests back to back (default 8)")


class GunicornWcap(ServerProcess):
    """Ours as deployed: gunicorn -c deploy/gunicorn.conf.py, ``WEB_CONCURRENCY`` workers,
    on a config written like WcapServer's (the bind address comes from its hosts)."""

    kind = "wcap"

    def __init__(self, name: str, folder: str, run_dir: str, mtime_cache: bool,
                 workers: int) -> None:
        super().__init__(name, folder, run_dir, mtime_cache)
        self.workers = workers
        self.base = WcapServer(name + "-base", folder, run_dir, mtime_cache)

    def _command(self):
        port = free_port()
        with open(self.base.write_config(), encoding="utf-8") as f:
            text = f.read()
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text.replace("hosts = 127.0.0.1:5232", "hosts = 127.0.0.1:%d" % port))
        metrics = os.path.join(self.run_dir, "prometheus-%s" % self.name)
        shutil.rmtree(metrics, ignore_errors=True)
        os.makedirs(metrics)
        # env(1) execs gunicorn: the pid stopped at the end is gunicorn's master
        return ["env", "WEB_CONCURRENCY=%d" % self.workers,
                "RADICALE_WCAP_CONFIG=%s" % self.config_path,
                "PROMETHEUS_MULTIPROC_DIR=%s" % metrics,
                os.path.join(BIN, "gunicorn"), "-c", GUNICORN_CONF,
                "radicale_wcap.wsgi:application"], port


# -- the load
@dataclass
class Phase:
    label: str
    latencies: List[float] = field(default_factory=list)   # ms, every answered request
    errors: Dict[str, int] = field(default_factory=dict)   # "operation: what" -> count
    per_op: Dict[str, int] = field(default_factory=dict)
    op_ms: Dict[str, List[float]] = field(default_factory=dict)  # answered, per operation
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> Optional[float]:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


Op = Callable[["Load", http.client.HTTPConnection], Tuple[str, int, bytes]]


class Load:
    """What one phase sends to one server; ``ops`` builds each request."""

    def __init__(self, ctx: Context, url: str, hrefs: List[str], mixed: bool,
                 key: str = "", sessions: Optional[List[str]] = None) -> None:
        self.ctx = ctx
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.hrefs = hrefs
        self.key = key
        self.sessions = sessions or []
        self.auth = "Basic " + base64.b64encode(
            ("%s:%s" % (ctx.user, ctx.password)).encode()).decode()
        self.report = report_body(ctx)
        start, end = ctx.week
        self.week = (start.strftime(FMT), end.strftime(FMT))
        self.days = (start.date().isoformat(),
                     (end - datetime.timedelta(days=1)).date().isoformat())
        self.ops: List[Tuple[str, Callable]] = [
            ("CalDAV REPORT", self.caldav_report), ("CalDAV GET", self.caldav_get),
            ("CalDAV PUT", self.caldav_put)]
        if mixed:
            self.ops += [("WCAP fetch", self.wcap_fetch), ("WCAP storeevents", self.wcap_store),
                         ("JSON GET", self.json_get)]

    def send(self, method: str, path: str, body: bytes = b"",
             headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def new_event(self) -> Tuple[str, datetime.datetime]:
        uid = self.ctx.new_uid()
        return uid, self.ctx.week[0] + datetime.timedelta(days=365, hours=10)

    # each returns None when the answer is right, else what was wrong
    def caldav_report(self, n: int, thread: int) -> Optional[str]:
        status, _ = self.send("REPORT", self.ctx.calendar_path, self.report, {
            "Depth": "1", "Content-Type": "application/xml; charset=utf-8",
            "Authorization": self.auth})
        return None if status == 207 else "HTTP %d" % status

    def caldav_get(self, n: int, thread: int) -> Optional[str]:
        href = self.hrefs[(n * 7 + thread) % len(self.hrefs)]
        status, _ = self.send("GET", href, headers={"Authorization": self.auth})
        return None if status == 200 else "HTTP %d" % status

    def caldav_put(self, n: int, thread: int) -> Optional[str]:
        uid, start = self.new_event()
        body = PUT_TEMPLATE.format(uid=uid, stamp=self.ctx.store.now.strftime(FMT),
                                   start=start.strftime(FMT),
                                   end=(start + datetime.timedelta(hours=1)).strftime(FMT))
        status, _ = self.send("PUT", self.ctx.calendar_path + uid.split("@")[0] + ".ics",
                              body.encode(), {"Content-Type": "text/calendar; charset=utf-8",
                                              "If-None-Match": "*",
                                              "Authorization": self.auth})
        return None if status == 201 else "HTTP %d" % status

    def _wcap(self, path: str) -> Optional[str]:
        status, body = self.send("GET", path)
        if status != 200:
            return "HTTP %d" % status
        found = ERRNO.search(body)
        return None if found and found.group(1) == b"0" else "errno %s" % (
            found.group(1).decode() if found else "missing")

    def wcap_fetch(self, n: int, thread: int) -> Optional[str]:
        return self._wcap(
            "/fetchcomponents_by_range.wcap?appid=mozilla-calendar&id=%s&relativealarm=1"
            "&compressed=1&recurring=1&emailorcalid=1&fmt-out=text%%2Fcalendar"
            "&component-type=event&dtstart=%s&dtend=%s&calid=bench%%3Acal"
            % ((self.sessions[thread],) + self.week))

    def wcap_store(self, n: int, thread: int) -> Optional[str]:
        uid, start = self.new_event()
        return self._wcap("/storeevents.wcap?" + urllib.parse.urlencode({
            "id": self.sessions[thread], "calid": "bench:cal", "uid": uid,
            "dtstart": start.strftime(FMT),
            "dtend": (start + datetime.timedelta(hours=1)).strftime(FMT),
            "summary": "Stored under load", "fmt-out": "text/calendar"}))

    def json_get(self, n: int, thread: int) -> Optional[str]:
        status, _ = self.send("GET", "/restapi/v1/events?from=%s&to=%s" % self.days,
                              headers={"x-api-key": self.key})
        return None if status == 200 else "HTTP %d" % status


def drive(load: Load, clients: int, seconds: float, label: str) -> Phase:
    """``clients`` threads, each cycling through ``load.ops`` until the time is up."""
    phase = Phase(label)
    lock = threading.Lock()
    go = threading.Event()
    deadline = [0.0]

    def client(thread: int) -> None:
        latencies: List[float] = []
        errors: Dict[str, int] = {}
        per_op: Dict[str, int] = {}
        op_ms: Dict[str, List[float]] = {}
        n = thread
        go.wait()
        while time.monotonic() < deadline[0]:
            name, op = load.ops[n % len(load.ops)]
            started = time.perf_counter()
            try:
                wrong = op(n // len(load.ops), thread)
            except (OSError, http.client.HTTPException) as error:
                wrong = type(error).__name__
            ms = (time.perf_counter() - started) * 1000
            per_op[name] = per_op.get(name, 0) + 1
            if wrong is None:
                latencies.append(ms)
                op_ms.setdefault(name, []).append(ms)
            else:
                key = "%s: %s" % (name, wrong)
                errors[key] = errors.get(key, 0) + 1
            n += 1
        with lock:
            phase.latencies.extend(latencies)
            for table, mine in ((phase.errors, errors), (phase.per_op, per_op)):
                for key, count in mine.items():
                    table[key] = table.get(key, 0) + count
            for key, values in op_ms.items():
                phase.op_ms.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    started = time.monotonic()
    deadline[0] = started + seconds
    go.set()
    for t in threads:
        t.join()
    # the last requests end after the deadline: count the time they took
    phase.seconds = time.monotonic() - started
    return phase


def run_phase(load: Load, clients: int, seconds: float, label: str) -> Phase:
    drive(load, clients, min(2.0, seconds / 5), label + " (warm-up)")
    phase = drive(load, clients, seconds, label)
    print("    %-28s %6.1f req/s  p50 %7.1f ms  p99 %7.1f ms  %d requests, %d errors%s" % (
        label, phase.rate, phase.percentile(50) or 0, phase.percentile(99) or 0,
        phase.requests, phase.error_count,
        "" if not phase.errors else " " + repr(phase.errors)), flush=True)
    return phase


# -- setting up the servers
def week_hrefs(ctx: Context, url: str) -> List[str]:
    """Items of the query week, for the GETs (found once, before the clock starts)."""
    load = Load(ctx, url, [], mixed=False)
    status, body = load.send("REPORT", ctx.calendar_path, load.report, {
        "Depth": "1", "Content-Type": "application/xml; charset=utf-8",
        "Authorization": load.auth})
    if status != 207:
        raise RuntimeError("REPORT on %s: %d %r" % (url, status, body[:300]))
    hrefs = [urllib.parse.unquote(h.decode()) for h in HREF.findall(body)]
    hrefs = [h for h in hrefs if h.endswith(".ics")]
    if not hrefs:
        raise RuntimeError("no item in the query week on %s" % url)
    return [urllib.parse.quote(h) for h in hrefs]


def wcap_sessions(ctx: Context, url: str, clients: int) -> List[str]:
    load = Load(ctx, url, [], mixed=False)
    sessions = []
    for _ in range(clients):
        query = urllib.parse.urlencode({"user": ctx.user, "password": ctx.password,
                                        "fmt-out": "text/calendar"})
        status, body = load.send("GET", "/login.wcap?" + query)
        found = re.search(rb"X-NSCP-WCAP-SESSION-ID:(\S+)", body)
        if status != 200 or not found:
            raise RuntimeError("WCAP login on %s: %d %r" % (url, status, body[:300]))
        sessions.append(found.group(1).decode())
    return sessions


def api_key(config_path: str, run_dir: str) -> str:
    out = subprocess.run([os.path.join(BIN, "radicale-wcap"), "--config", config_path,
                          "apikey", "create", store_gen.USER, "--label", "throughput"],
                         capture_output=True, text=True, check=True, cwd=run_dir)
    return out.stdout.strip().splitlines()[-1].strip()


def run(ctx: Context) -> List[Row]:
    options = ctx.options
    seconds = getattr(options, "throughput_seconds", 15.0)
    clients = getattr(options, "throughput_clients", 8)
    run_dir = os.path.join(ctx.work, "throughput-run")
    phases: Dict[str, Phase] = {}

    stock = ctx.start_extra(StockRadicale("throughput-stock", ctx.copy_store("throughput-stock"),
                                          run_dir, ctx.mtime_cache))
    load = Load(ctx, stock.url, week_hrefs(ctx, stock.url), mixed=False)
    phases["stock"] = run_phase(load, clients, seconds, "stock, CalDAV part")
    stock.stop()

    folder = ctx.copy_store("throughput-wcap")
    key = ""
    for workers in (1, 4):
        server = GunicornWcap("throughput-gunicorn-%d" % workers, folder, run_dir,
                              ctx.mtime_cache, workers)
        if not key:
            server.base.add_user()
            key = api_key(server.base.config_path, run_dir)
        ctx.extra_servers.append(server)
        server.start()
        hrefs = week_hrefs(ctx, server.url)
        sessions = wcap_sessions(ctx, server.url, clients)
        phases["mixed-%d" % workers] = run_phase(
            Load(ctx, server.url, hrefs, True, key, sessions), clients, seconds,
            "ours, %d worker%s, mixed" % (workers, "s" if workers > 1 else ""))
        phases["caldav-%d" % workers] = run_phase(
            Load(ctx, server.url, hrefs, False), clients, seconds,
            "ours, %d worker%s, CalDAV part" % (workers, "s" if workers > 1 else ""))
        server.stop()
    return rows(phases, clients, seconds)


def rows(phases: Dict[str, Phase], clients: int, seconds: float) -> List[Row]:
    stock = phases["stock"]
    out: List[Row] = []

    def mix(phase: Phase) -> str:
        return ", ".join("%s %d (p50 %.0f ms)" % (
            name, count, statistics.median(phase.op_ms[name]) if phase.op_ms.get(name) else 0)
            for name, count in sorted(phase.per_op.items()))

    for key, what in (("mixed-1", "1 worker, mixed"), ("caldav-1", "1 worker, CalDAV part"),
                      ("mixed-4", "4 workers, mixed"), ("caldav-4", "4 workers, CalDAV part")):
        ours = phases[key]
        errors = ours.error_count + stock.error_count
        flag = " — WITH %d ERRORS" % errors if errors else ""
        note = ("%d clients × %.0f s, gunicorn + deploy/gunicorn.conf.py; ours %d requests "
                "(%s); stock %d (%s)" % (clients, seconds, ours.requests, mix(ours),
                                         stock.requests, mix(stock)))
        if errors:
            note += "; ERRORS ours %r, stock %r" % (ours.errors, stock.errors)
        out.append(Row("throughput %s: requests/s%s" % (what, flag), stock.rate, ours.rate,
                       None, note, unit="req/s"))
        out.append(Row("throughput %s: p50" % what, stock.percentile(50),
                       ours.percentile(50), None))
        out.append(Row("throughput %s: p99" % what, stock.percentile(99),
                       ours.percentile(99), None))
    return out


if __name__ == "__main__":
    from benchmarks.run import main as _main
    _main(["--only", NAME] + sys.argv[1:])
