"""``python -m benchmarks.run [--events 10000] [--only NAME]``: stock Radicale
3.9 against radicale_wcap on the same generated calendar, as one table.

The harness generates the store once (``store_gen.py``), copies it for each
server, starts both servers as subprocesses on free loopback ports, runs every
benchmark module (see README.md for the plug-in convention), prints the table,
the peak RSS of both servers, and saves the table under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import pkgutil
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import requests

from benchmarks import store_gen

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.path.dirname(os.path.abspath(sys.executable))
# Modules of the harness itself; every other benchmarks/*.py with NAME and run(ctx)
# is a benchmark (README.md).
INFRASTRUCTURE = {"run", "store_gen"}
PASSWORD = "bench-password"


@dataclass
class Row:
    """One line of the table. Times in milliseconds; None: not measured there."""
    operation: str
    stock_ms: Optional[float]
    wcap_ms: Optional[float]
    min_speedup: Optional[float] = 1.0   # target: stock/wcap >= this; None: no target
    note: str = ""
    module: str = ""
    # "req/s": the two values are rates, not times, so the speed-up is ours / stock
    unit: str = "ms"

    @property
    def speedup(self) -> Optional[float]:
        if self.stock_ms is None or self.wcap_ms is None or self.wcap_ms <= 0:
            return None
        if self.unit == "req/s":
            return self.wcap_ms / self.stock_ms if self.stock_ms > 0 else None
        return self.stock_ms / self.wcap_ms

    @property
    def met(self) -> Optional[bool]:
        if self.min_speedup is None or self.speedup is None:
            return None
        return self.speedup >= self.min_speedup


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# -- servers
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A server subprocess on a store folder; restartable, with peak RSS."""

    kind = ""

    def __init__(self, name: str, folder: str, run_dir: str,
                 mtime_cache: bool) -> None:
        self.name = name
        self.folder = folder                 # [storage] filesystem_folder
        self.run_dir = run_dir               # config and logs
        self.mtime_cache = mtime_cache
        self.process: Optional[subprocess.Popen] = None
        self.url = ""
        self.peak_rss_kib = 0                # max VmHWM over every process started
        self.starts = 0
        os.makedirs(run_dir, exist_ok=True)
        self.config_path = os.path.join(run_dir, "%s.conf" % name)

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def rss_kib(self) -> Tuple[int, int]:
        """(VmRSS, VmHWM) of the running process, in KiB."""
        values = {}
        try:
            with open("/proc/%d/status" % self.pid, encoding="ascii") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        values[key] = int(rest.split()[0])
        except OSError:
            pass
        return values.get("VmRSS", 0), values.get("VmHWM", 0)

    def _command(self) -> Tuple[List[str], Optional[int]]:
        raise NotImplementedError

    def start(self, timeout: float = 120) -> "ServerProcess":
        argv, port = self._command()
        log = os.path.join(self.run_dir, "%s-%d.log" % (self.name, self.starts))
        self.starts += 1
        self._log_path = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s exited with %s; see %s" % (
                    self.name, self.process.returncode, log))
            if port is None:
                port = self._port_from_log(log)
            if port is not None and self._answers(port):
                self.url = "http://127.0.0.1:%d" % port
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not start within %ds; see %s" % (self.name, timeout, log))

    @staticmethod
    def _port_from_log(log: str) -> Optional[int]:
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Listening on http://"):
                    return int(line.strip().rsplit(":", 1)[1])
        return None

    @staticmethod
    def _answers(port: int) -> bool:
        try:
            requests.request("OPTIONS", "http://127.0.0.1:%d/" % port, timeout=2)
            return True
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.peak_rss_kib = max(self.peak_rss_kib, self.rss_kib()[1])
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> "ServerProcess":
        """Stop and start again: the next request is a cold one (OS page cache stays warm)."""
        self.stop()
        return self.start()


class StockRadicale(ServerProcess):
    """``python -m radicale`` (its built-in server), htpasswd plain, owner_only."""

    kind = "stock"

    def _command(self):
        htpasswd = os.path.join(self.run_dir, "%s.htpasswd" % self.name)
        with open(htpasswd, "w", encoding="utf-8") as f:
            f.write("%s:%s\n" % (store_gen.USER, PASSWORD))
        port = free_port()
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write("[server]\nhosts = 127.0.0.1:%d\n\n"
                    "[auth]\ntype = htpasswd\nhtpasswd_filename = %s\n"
                    "htpasswd_encryption = plain\n\n"
                    "[rights]\ntype = owner_only\n\n"
                    "[storage]\nfilesystem_folder = %s\n"
                    "use_mtime_and_size_for_item_cache = %s\n\n"
                    "[web]\ntype = none\n\n[logging]\nlevel = warning\n"
                    % (port, htpasswd, self.folder, self.mtime_cache))
        return [sys.executable, "-m", "radicale", "--config", self.config_path], port


class WcapServer(ServerProcess):
    """``radicale-wcap serve`` (waitress + middleware + our three plugins)."""

    kind = "wcap"

    def write_config(self) -> str:
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write("[server]\nhosts = 127.0.0.1:5232\n\n"  # the port is given on the command line
                    "[auth]\ntype = radicale_wcap.auth\nargon2_time_cost = 1\n"
                    "argon2_memory_cost = 8\n\n"
                    "[rights]\ntype = radicale_wcap.rights\n\n"
                    "[storage]\ntype = radicale_wcap.storage\nfilesystem_folder = %s\n"
                    "use_mtime_and_size_for_item_cache = %s\n\n"
                    "[web]\ntype = none\n\n[logging]\nlevel = warning\n"
                    % (self.folder, self.mtime_cache))
        return self.config_path

    def add_user(self) -> None:
        self.write_config()
        subprocess.run([os.path.join(BIN, "radicale-wcap"), "--config", self.config_path,
                        "user", "add", store_gen.USER, "--email", "bench@example.com",
                        "--password-stdin"], input=PASSWORD + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL, cwd=self.run_dir)

    def _command(self):
        self.write_config()
        port = free_port()
        return [os.path.join(BIN, "radicale-wcap"), "--config", self.config_path,
                "serve", "--port", str(port)], port


# -- the context handed to every benchmark module
@dataclass
class Timed:
    status: int
    ms: float
    body: bytes


@dataclass
class Context:
    store: store_gen.StoreInfo      # the pristine generated store (never served)
    stock: StockRadicale            # running, on its own copy of the store
    wcap: WcapServer                # running, on its own copy of the store
    user: str
    password: str
    calendar_path: str              # "/bench/cal/", owned by ``user`` on both servers
    week: Tuple[datetime.datetime, datetime.datetime]
    repeat: int                     # samples for "median of several"
    work: str                       # scratch folder of this run
    mtime_cache: bool
    extra_servers: List[ServerProcess] = field(default_factory=list)
    # the command line, with the options that modules add through add_arguments(parser)
    options: Optional[argparse.Namespace] = None

    @property
    def servers(self) -> Dict[str, ServerProcess]:
        return {"stock": self.stock, "wcap": self.wcap}

    def request(self, server: ServerProcess, method: str, path: str, body: bytes = b"",
                headers: Optional[Dict[str, str]] = None, expect: Sequence[int] = ()
                ) -> Timed:
        """One HTTP request on a new connection (stock's server closes every
        connection anyway), wall-clock timed until the whole body is read."""
        started = time.perf_counter()
        response = requests.request(method, server.url + path, data=body or None,
                                    headers=headers or {}, auth=(self.user, self.password),
                                    timeout=600)
        content = response.content
        ms = (time.perf_counter() - started) * 1000
        if expect and response.status_code not in expect:
            raise RuntimeError("%s %s on %s: %d %s" % (method, path, server.name,
                                                     response.status_code, content[:300]))
        return Timed(response.status_code, ms, content)

    def samples(self, fn: Callable[[], float], n: Optional[int] = None) -> List[float]:
        return [fn() for _ in range(n or self.repeat)]

    def copy_store(self, name: str) -> str:
        """A private copy of the pristine store for a module that writes a lot."""
        return store_gen.copy_store(self.store, os.path.join(self.work, name))

    def start_extra(self, server: ServerProcess) -> ServerProcess:
        """Start another server; the harness stops it at the end of the run."""
        self.extra_servers.append(server)
        if isinstance(server, WcapServer):
            server.add_user()
        return server.start()

    def new_uid(self) -> str:
        return "bench-new-%s@radicale-wcap.invalid" % uuid.uuid4().hex


# -- modules
def discover_modules() -> List[str]:
    names = []
    for info in pkgutil.iter_modules([HERE]):
        if info.name.startswith("_") or info.name in INFRASTRUCTURE:
            continue
        names.append(info.name)
    # caldav_bench first: it measures the cold start before other modules touch the servers
    return sorted(names, key=lambda n: (n != "caldav_bench", n))


def load_benchmarks(only: Optional[Sequence[str]]) -> List[Tuple[str, object]]:
    found = []
    for name in discover_modules():
        module = importlib.import_module("benchmarks." + name)
        label = getattr(module, "NAME", None)
        if not isinstance(label, str) or not callable(getattr(module, "run", None)):
            if not only or name in only:
                print("skipping benchmarks/%s.py: not a harness plug-in (needs NAME and "
                      "run(ctx); see benchmarks/README.md)" % name, flush=True)
            continue
        if only and name not in only and label not in only:
            continue
        found.append((label, module))
    if only and not found:
        raise SystemExit("no benchmark module matches %s" % ", ".join(only))
    return found


# -- output
def _ms(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return "%.1f" % value if value < 100 else "%.0f" % value


def format_table(rows: Sequence[Row]) -> str:
    header = ("operation", "stock Radicale (ms)", "radicale_wcap (ms)", "speed-up", "target")
    body = []
    for row in rows:
        speedup = "—" if row.speedup is None else "%.1f×" % row.speedup
        if row.min_speedup is None:
            target = "—"
        else:
            goal = ("≥%g×" % row.min_speedup if row.min_speedup != 1
                    else "not slower")
            target = goal + ("" if row.met is None else (" ok" if row.met else " MISSED"))
        unit = "" if row.unit == "ms" else " " + row.unit
        body.append((row.operation, _ms(row.stock_ms) + unit if row.stock_ms is not None
                     else "—", _ms(row.wcap_ms) + unit if row.wcap_ms is not None else "—",
                     speedup, target))
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    ) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in body]
    return "\n".join(out)


def format_notes(rows: Sequence[Row]) -> str:
    return "\n".join("* %s: %s" % (r.operation, r.note) for r in rows if r.note)


def remove_stale_runs(work: str) -> None:
    """Drop run-<pid> folders of runs that are gone (killed, or --keep)."""
    for name in os.listdir(work):
        if not name.startswith("run-") or not name[4:].isdigit():
            continue
        if not os.path.exists("/proc/%s" % name[4:]):
            shutil.rmtree(os.path.join(work, name), ignore_errors=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000,
                        help="events in the calendar (default 10000)")
    parser.add_argument("--only", action="append",
                        help="run only this module (file name or NAME); repeatable")
    parser.add_argument("--repeat", type=int, default=7,
                        help="samples per warm measurement, median reported (default 7)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mtime-cache", choices=("yes", "no"), default="yes",
                        help="[storage] use_mtime_and_size_for_item_cache, same for both "
                        "servers (default yes, as the project's shipped config)")
    parser.add_argument("--work", default=os.path.join(HERE, "work"),
                        help="where the generated store and server copies live")
    parser.add_argument("--results", default=os.path.join(HERE, "results"),
                        help="where the table is saved (empty: do not save)")
    parser.add_argument("--keep", action="store_true",
                        help="keep this run's store copies, configs and server logs "
                        "(work/run-<pid>/)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile our server in-process (cProfile) and save "
                        "the top functions under the results folder")
    # A module's own options (README.md): importing it here is what load_benchmarks does
    # anyway, and an unknown option should fail before any server starts.
    for name in discover_modules():
        module = importlib.import_module("benchmarks." + name)
        if callable(getattr(module, "add_arguments", None)):
            module.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    args = parse_args(argv)
    benchmarks = load_benchmarks(args.only)
    mtime_cache = args.mtime_cache == "yes"
    os.makedirs(args.work, exist_ok=True)
    started = time.monotonic()
    store = store_gen.load_or_generate(args.work, args.events, args.seed)
    print("store: %d events (%d recurring, %d all-day), now=%s, in %s" % (
        store.events, store.recurring, store.all_day, store.now.isoformat(), store.folder),
        flush=True)
    remove_stale_runs(args.work)
    # one folder per run: engineers run the harness concurrently on one work folder
    run_dir = os.path.join(args.work, "run-%d" % os.getpid())
    if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    stock = StockRadicale("stock", store_gen.copy_store(store, os.path.join(run_dir, "stock")),
                          os.path.join(run_dir, "stock-run"), mtime_cache)
    wcap = WcapServer("wcap", store_gen.copy_store(store, os.path.join(run_dir, "wcap")),
                      os.path.join(run_dir, "wcap-run"), mtime_cache)
    wcap.add_user()
    ctx = Context(store=store, stock=stock, wcap=wcap, user=store_gen.USER,
                  password=PASSWORD, calendar_path=store_gen.CALENDAR_PATH,
                  week=store.week(), repeat=args.repeat, work=run_dir,
                  mtime_cache=mtime_cache, options=args)
    rows: List[Row] = []
    try:
        stock.start()
        wcap.start()
        for label, module in benchmarks:
            print("running %s ..." % label, flush=True)
            for row in module.run(ctx):
                row.module = label
                rows.append(row)
                print("  %-55s stock %8s %s   wcap %8s %s" % (
                    row.operation, _ms(row.stock_ms), row.unit, _ms(row.wcap_ms),
                    row.unit), flush=True)
        rss = {name: max(s.peak_rss_kib, s.rss_kib()[1]) for name, s in ctx.servers.items()}
        if args.profile:
            for label, module in benchmarks:
                if callable(getattr(module, "profile", None)):
                    module.profile(ctx, args.results or run_dir)
    finally:
        for server in [stock, wcap] + ctx.extra_servers:
            server.stop()
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    table = format_table(rows)
    notes = format_notes(rows)
    summary = ("%d events (%d recurring, %d all-day); one week %s .. %s; "
               "use_mtime_and_size_for_item_cache = %s on both; medians of %d; "
               "every request on a new connection, Basic auth; 2 cores shared with "
               "other work, so expect noise." % (
                   store.events, store.recurring, store.all_day,
                   ctx.week[0].date().isoformat(), ctx.week[1].date().isoformat(),
                   mtime_cache, args.repeat))
    rss_line = "peak RSS (VmHWM): stock Radicale %.0f MiB, radicale_wcap %.0f MiB" % (
        rss["stock"] / 1024, rss["wcap"] / 1024)
    print()
    print(summary)
    print()
    print(table)
    print()
    if notes:
        print(notes)
    print(rss_line)
    print("total %.0f s" % (time.monotonic() - started))
    result = {"rows": [dict(asdict(r), speedup=r.speedup, met=r.met) for r in rows],
              "table": table, "summary": summary, "rss_kib": rss,
              "events": store.events, "mtime_cache": mtime_cache}
    if args.results:
        os.makedirs(args.results, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = os.path.join(args.results, "%s-%dev" % (stamp, store.events))
        with open(base + ".md", "w", encoding="utf-8") as f:
            f.write(summary + "\n\n" + table + "\n\n" + notes + "\n" + rss_line + "\n")
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=str)
        print("saved %s.md and .json" % base)
    return result


if __name__ == "__main__":
    # Run the copy imported as benchmarks.run, so that benchmark modules (which
    # import Row and Context from there) and the harness share one set of classes.
    from benchmarks.run import main as _main
    _main()
