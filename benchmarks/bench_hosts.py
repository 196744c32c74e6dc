"""Throughput with 1, 2 and 3 hosts on one PostgreSQL, and where the limit is.

Each "host" is a separate ``radicale-wcap serve`` process with its own local folder and
the same ``[storage] database_url``: what a deployment behind a load balancer runs. One
PostgreSQL (tests/pgserver.py, durable settings) holds everything. A client spreads a
mixed load round-robin over the hosts, each request to the next host, so any host takes
any request, sessions included (the WCAP sessions are logged in on host 1 only):

* WCAP fetchcomponents_by_range of the seeded week, WCAP login,
* CalDAV calendar-query REPORT of the week, CalDAV PUT of a new event (a year later,
  so that the REPORT answers stay the same size).

Where the limit is: the CPU seconds of the postmaster and its backends and of the host
processes are read from /proc before and after each phase, as a share of the phase's
wall time (100 % = one core). The client threads run on the same cores, so on a small
machine the hosts share the CPU with the database and the client: the figure then shows
what several hosts cost, not how they scale.

    .venv/bin/python -m benchmarks.bench_hosts [--events 200] [--seconds 15] [--clients 6]

or as a harness module (``benchmarks.run --only hosts``), its own calendar either way.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from typing import Dict, List, Optional, Tuple

from benchmarks.caldav_bench import PUT_TEMPLATE, REPORT_BODY
from benchmarks.run import Row
from tests import pgserver

NAME = "hosts"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
USER, PASSWORD = "bench", "bench-hosts-password"
FMT = "%Y%m%dT%H%M%SZ"
ERRNO = re.compile(rb"X-NSCP-WCAP-ERRNO:(-?\d+)")
SESSION = re.compile(rb"X-NSCP-WCAP-SESSION-ID:(\S+)")
TICKS = os.sysconf("SC_CLK_TCK")
WEEK = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- CPU from /proc, no psutil
def _stat(pid: int) -> Optional[Tuple[int, int]]:
    """(parent pid, utime + stime ticks), or None once the process is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_ticks(root: int) -> int:
    """CPU ticks of ``root`` and its children (postgres backends are the postmaster's)."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st and (int(name) == root or st[0] == root):
                total += st[1]
    return total


# -- hosts
class Host:
    def __init__(self, index: int, root: str, database_url: str) -> None:
        self.folder = os.path.join(root, "host-%d" % index)
        os.makedirs(self.folder, exist_ok=True)
        self.config = os.path.join(self.folder, "config")
        self.port = free_port()
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("[server]\nhosts = 127.0.0.1:%d\n\n[auth]\ntype = radicale_wcap.auth\n"
                    "argon2_time_cost = 1\nargon2_memory_cost = 8\nfailed_login_backoff = 0\n\n"
                    "[rights]\ntype = radicale_wcap.rights\n\n[storage]\n"
                    "type = radicale_wcap.storage\nfilesystem_folder = %s\n"
                    "database_url = %s\n\n[web]\ntype = none\n\n[logging]\nlevel = warning\n"
                    "\n[http]\naccess_log = off\n"
                    % (self.port, os.path.join(self.folder, "collections"), database_url))
        self.process: Optional[subprocess.Popen] = None

    def cli(self, *args: str, stdin: str = "") -> None:
        subprocess.run([os.path.join(BIN, "radicale-wcap"), "--config", self.config] + list(args),
                       input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [os.path.join(BIN, "radicale-wcap"), "--config", self.config, "serve",
             "--port", str(self.port)], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.folder, "server.log"), "ab"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                send(self.port, "GET", "/.well-known/health")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("host on port %d did not start" % self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def send(port: int, method: str, path: str, body: bytes = b"",
         headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- the load
AUTH = {"Authorization": "Basic " + base64.b64encode(
    ("%s:%s" % (USER, PASSWORD)).encode()).decode()}
CALENDAR = "/%s/calendar/" % USER
REPORT = REPORT_BODY.format(start=WEEK.strftime(FMT),
                            end=(WEEK + datetime.timedelta(days=7)).strftime(FMT)).encode()
_uid_lock = threading.Lock()
_uid = [0]


def put_event(port: int, start: datetime.datetime) -> int:
    with _uid_lock:
        _uid[0] += 1
        uid = "hosts-%d-%d" % (os.getpid(), _uid[0])
    body = PUT_TEMPLATE.format(uid=uid, stamp=WEEK.strftime(FMT), start=start.strftime(FMT),
                               end=(start + datetime.timedelta(hours=1)).strftime(FMT))
    status, _ = send(port, "PUT", CALENDAR + uid + ".ics", body.encode(),
                     dict(AUTH, **{"Content-Type": "text/calendar; charset=utf-8",
                                   "If-None-Match": "*"}))
    return status


def wcap(port: int, path: str) -> Optional[str]:
    status, body = send(port, "GET", path)
    found = ERRNO.search(body)
    if status != 200 or not found or found.group(1) != b"0":
        return "HTTP %d errno %s" % (status, found.group(1).decode() if found else "-")
    return None


def op_fetch(port: int, sid: str) -> Optional[str]:
    return wcap(port, "/fetchcomponents_by_range.wcap?appid=mozilla-calendar&id=%s"
                "&relativealarm=1&compressed=1&recurring=1&fmt-out=text%%2Fcalendar"
                "&component-type=event&dtstart=%s&dtend=%s&calid=%s" % (
                    sid, WEEK.strftime(FMT),
                    (WEEK + datetime.timedelta(days=7)).strftime(FMT), USER))


def op_login(port: int, sid: str) -> Optional[str]:
    return wcap(port, "/login.wcap?" + urllib.parse.urlencode(
        {"user": USER, "password": PASSWORD, "fmt-out": "text/calendar"}))


def op_report(port: int, sid: str) -> Optional[str]:
    status, _ = send(port, "REPORT", CALENDAR, REPORT,
                     dict(AUTH, **{"Depth": "1", "Content-Type": "application/xml"}))
    return None if status == 207 else "HTTP %d" % status


def op_put(port: int, sid: str) -> Optional[str]:
    status = put_event(port, WEEK + datetime.timedelta(days=365, hours=10))
    return None if status == 201 else "HTTP %d" % status


OPS = [("WCAP fetch", op_fetch), ("CalDAV REPORT", op_report), ("CalDAV PUT", op_put),
       ("WCAP fetch", op_fetch), ("CalDAV REPORT", op_report), ("WCAP login", op_login)]


def drive(ports: List[int], sessions: List[str], seconds: float) -> Dict[str, object]:
    latencies: List[float] = []
    errors: Dict[str, int] = {}
    lock = threading.Lock()
    counter = [0]
    deadline = time.monotonic() + seconds

    def client(thread: int) -> None:
        n = thread
        while time.monotonic() < deadline:
            with lock:
                counter[0] += 1
                port = ports[counter[0] % len(ports)]   # round-robin, as a balancer
            name, op = OPS[n % len(OPS)]
            started = time.perf_counter()
            try:
                wrong = op(port, sessions[thread])
            except (OSError, http.client.HTTPException) as e:
                wrong = type(e).__name__
            ms = (time.perf_counter() - started) * 1000
            with lock:
                if wrong is None:
                    latencies.append(ms)
                else:
                    key = "%s: %s" % (name, wrong)
                    errors[key] = errors.get(key, 0) + 1
            n += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 \
        else [0.0] * 99
    return {"rate": (len(latencies) + sum(errors.values())) / elapsed, "p50": q[49],
            "p99": q[98], "requests": len(latencies), "errors": errors, "seconds": elapsed}


def measure(events: int, seconds: float, clients: int, host_counts: List[int]) -> List[dict]:
    results = []
    with pgserver.running(durable=True) as pg, \
            tempfile.TemporaryDirectory(prefix="bench-hosts-") as root:
        url = pg.url(pg.create_database())
        hosts = [Host(i + 1, root, url) for i in range(max(host_counts))]
        hosts[0].cli("user", "add", USER, "--email", "bench@example.com", "--password-stdin",
                     stdin=PASSWORD + "\n")
        try:
            hosts[0].start()
            for i in range(events):   # spread over the week, 8:00 to 18:00
                start = WEEK + datetime.timedelta(days=i % 7, hours=8 + i % 10,
                                                  minutes=(i // 70) % 60)
                if put_event(hosts[0].port, start) != 201:
                    raise RuntimeError("seeding failed")
            for host in hosts[1:]:
                host.start()
            sessions = []
            for _ in range(clients):
                _, body = send(hosts[0].port, "GET", "/login.wcap?" + urllib.parse.urlencode(
                    {"user": USER, "password": PASSWORD, "fmt-out": "text/calendar"}))
                sessions.append(SESSION.search(body).group(1).decode())
            for count in host_counts:
                used = hosts[:count]
                ports = [h.port for h in used]
                drive(ports, sessions, min(2.0, seconds / 5))   # warm-up
                db0 = tree_ticks(pg.process.pid)
                host0 = sum(tree_ticks(h.process.pid) for h in used)
                result = drive(ports, sessions, seconds)
                db = (tree_ticks(pg.process.pid) - db0) / TICKS / result["seconds"]
                host = (sum(tree_ticks(h.process.pid) for h in used) - host0) / TICKS \
                    / result["seconds"]
                result.update(hosts=count, db_cpu=db * 100, host_cpu=host * 100)
                results.append(result)
                # CPU per request says where the limit is, also on a machine too
                # small to reach it: hosts scale out, the one primary does not.
                result.update(db_ms=db * 1000 / result["rate"],
                              host_ms=host * 1000 / result["rate"])
                print("%d host%s: %6.1f req/s  p50 %6.1f ms  p99 %7.1f ms  database CPU %3.0f %%"
                      " (%.1f ms/req)  hosts CPU %3.0f %% (%.1f ms/req)  (%d requests, %d errors%s)"
                      % (count, "s" if count > 1 else " ", result["rate"], result["p50"],
                         result["p99"], result["db_cpu"], result["db_ms"], result["host_cpu"],
                         result["host_ms"],
                         result["requests"], sum(result["errors"].values()),
                         " " + repr(result["errors"]) if result["errors"] else ""),
                      flush=True)
        finally:
            for host in hosts:
                host.stop()
    return results


def add_arguments(parser) -> None:
    group = parser.add_argument_group("hosts (benchmarks/bench_hosts.py)")
    group.add_argument("--hosts-seconds", type=float, default=15.0,
                       help="timed seconds of load per host count (default 15; 3 phases)")
    group.add_argument("--hosts-clients", type=int, default=6, help="client threads")


def run(ctx) -> List[Row]:
    """The harness's entry: the same measurement, as rows (no stock column: stock
    Radicale has no second host)."""
    options = ctx.options
    results = measure(200, getattr(options, "hosts_seconds", 15.0),
                      getattr(options, "hosts_clients", 6), [1, 2, 3])
    rows: List[Row] = []
    for r in results:
        what = "%d host%s on one PostgreSQL, mixed" % (r["hosts"], "s" if r["hosts"] > 1 else "")
        flag = " — WITH ERRORS" if r["errors"] else ""
        rows.append(Row("%s: requests/s%s" % (what, flag), None, r["rate"], None,
                        "database CPU %.1f ms/request, hosts %.1f ms/request%s" % (
                            r["db_ms"], r["host_ms"],
                            "; ERRORS %r" % r["errors"] if r["errors"] else ""),
                        unit="req/s"))
        rows.append(Row("%s: p50" % what, None, r["p50"], None))
        rows.append(Row("%s: p99" % what, None, r["p99"], None))
    return rows


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200, help="events seeded in the week")
    parser.add_argument("--seconds", type=float, default=15.0, help="timed seconds per phase")
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument("--hosts", default="1,2,3", help="host counts to measure")
    options = parser.parse_args(argv)
    print("cores: %d; %d events in the week, %d clients, %.0f s per phase" % (
        os.cpu_count() or 0, options.events, options.clients, options.seconds), flush=True)
    return measure(options.events, options.seconds, options.clients,
                   [int(n) for n in options.hosts.split(",")])


if __name__ == "__main__":
    main()
