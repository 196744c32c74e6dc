"""CalDAV side by side: calendar-query REPORT (cold, warm), PUT, whole-calendar
GET, and the one-week query in-process without HTTP.

Both servers got their own copy of the same plain store (no Radicale item
cache, no index), as after an upgrade from plain Radicale. The first request on
each builds its caches (stock: the Radicale item cache; ours: the side index,
which also stands in for the item cache); it is its own row, with the target
"not slower": no request may be slower than stock's, the first one included. "Cold" then means: server process restarted,
on-disk caches (and the OS page cache) warm.
"""

from __future__ import annotations

import base64
import cProfile
import io
import os
import pstats
import re
import sys
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

from benchmarks.run import Context, Row, median

NAME = "caldav"

REPORT_BODY = """<?xml version="1.0" encoding="utf-8" ?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="{start}" end="{end}"/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"""

PUT_TEMPLATE = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//radicale_wcap//benchmark//EN\r\n"
                "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{stamp}\r\nSUMMARY:New event\r\n"
                "DTSTART:{start}\r\nDTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")

FMT = "%Y%m%dT%H%M%SZ"
HREF = re.compile(rb"<(?:\w+:)?href>([^<]+)</(?:\w+:)?href>")


def report_body(ctx: Context) -> bytes:
    start, end = ctx.week
    return REPORT_BODY.format(start=start.strftime(FMT), end=end.strftime(FMT)).encode()


def report(ctx: Context, server) -> Tuple[float, int]:
    timed = ctx.request(server, "REPORT", ctx.calendar_path, report_body(ctx),
                        {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
                        expect=(207,))
    return timed.ms, len(HREF.findall(timed.body))


def put_new(ctx: Context, server) -> float:
    import datetime
    uid = ctx.new_uid()
    # a year after the query week, so that the REPORT results stay comparable
    start = ctx.week[0] + datetime.timedelta(days=365, hours=10)
    body = PUT_TEMPLATE.format(uid=uid, stamp=ctx.store.now.strftime(FMT),
                               start=start.strftime(FMT),
                               end=(start + datetime.timedelta(hours=1)).strftime(FMT))
    href = ctx.calendar_path + uid.split("@")[0] + ".ics"
    return ctx.request(server, "PUT", href, body.encode(),
                       {"Content-Type": "text/calendar; charset=utf-8",
                        "If-None-Match": "*"}, expect=(201,)).ms


def get_all(ctx: Context, server) -> float:
    return ctx.request(server, "GET", ctx.calendar_path, expect=(200,)).ms


def _alternate(ctx: Context, fn, n: int) -> Dict[str, List[float]]:
    """Samples for both servers, interleaved so that background load hits both alike."""
    out: Dict[str, List[float]] = {"stock": [], "wcap": []}
    for _ in range(n):
        for name, server in ctx.servers.items():
            out[name].append(fn(ctx, server))
    return out


def _filters(ctx: Context):
    root = ET.fromstring(report_body(ctx))
    return root.findall("{urn:ietf:params:xml:ns:caldav}filter")


def in_process(ctx: Context) -> Tuple[Dict[str, List[float]], Dict[str, int]]:
    """The one-week query without HTTP: stock ``get_filtered`` (prefilter on the
    cached time range of every item) vs our index plus loading the hits."""
    import time

    from radicale import config as radicale_config
    from radicale import storage as radicale_storage

    from radicale_wcap.instance import Instance
    from radicale_wcap.store import READ, SYSTEM

    stock_cfg = radicale_config.load([(ctx.stock.config_path, False)])
    stock_storage = radicale_storage.load(stock_cfg)
    ours = Instance.from_file(ctx.wcap.config_path)
    filters = _filters(ctx)
    start, end = (int(t.timestamp()) for t in ctx.week)
    path = ctx.calendar_path

    def stock_once() -> Tuple[float, int]:
        t = time.perf_counter()
        with stock_storage.acquire_lock("r"):
            collection = next(iter(stock_storage.discover(path)))
            found = list(collection.get_filtered(filters))
        return (time.perf_counter() - t) * 1000, len(found)

    def ours_once() -> Tuple[float, int]:
        t = time.perf_counter()
        with ours.store.reading(path, SYSTEM, READ) as calendar:
            found = calendar.in_range(start, end, "VEVENT")
        return (time.perf_counter() - t) * 1000, len(found)

    stock_once(), ours_once()  # open files, sqlite, imports
    times: Dict[str, List[float]] = {"stock": [], "wcap": []}
    counts: Dict[str, int] = {}
    for _ in range(ctx.repeat):
        for name, fn in (("stock", stock_once), ("wcap", ours_once)):
            ms, counts[name] = fn()
            times[name].append(ms)
    return times, counts


def run(ctx: Context) -> List[Row]:
    rows: List[Row] = []
    n = ctx.repeat

    first = {name: report(ctx, server) for name, server in ctx.servers.items()}
    rows.append(Row("first REPORT on the fresh store (plain Radicale files, builds caches)",
                    first["stock"][0], first["wcap"][0], 1,
                    "an upgrade from plain Radicale: stock builds its item cache, ours the "
                    "side index (each file parsed once, no item cache file written); "
                    "both answer %d items" % first["stock"][1]
                    if first["stock"][1] == first["wcap"][1] else
                    "RESULTS DIFFER: stock %d items, ours %d"
                    % (first["stock"][1], first["wcap"][1])))

    cold: Dict[str, List[float]] = {"stock": [], "wcap": []}
    for _ in range(min(3, n)):
        for name, server in ctx.servers.items():
            server.restart()
            cold[name].append(report(ctx, server)[0])
    rows.append(Row("REPORT one week, cold (restarted, median of %d)" % len(cold["stock"]),
                    median(cold["stock"]), median(cold["wcap"]), 30))

    counts = {}
    warm: Dict[str, List[float]] = {"stock": [], "wcap": []}
    for _ in range(n):
        for name, server in ctx.servers.items():
            ms, counts[name] = report(ctx, server)
            warm[name].append(ms)
    note = ("both answer %d items" % counts["stock"] if counts["stock"] == counts["wcap"]
            else "RESULTS DIFFER: stock %d items, ours %d" % (counts["stock"], counts["wcap"]))
    rows.append(Row("REPORT one week, warm (median of %d)" % n,
                    median(warm["stock"]), median(warm["wcap"]), 30, note))

    puts = _alternate(ctx, put_new, n)
    rows.append(Row("PUT one new event (median of %d)" % n,
                    median(puts["stock"]), median(puts["wcap"]), 10))

    gets = _alternate(ctx, get_all, max(3, n // 2))
    rows.append(Row("GET whole calendar (median of %d)" % len(gets["stock"]),
                    median(gets["stock"]), median(gets["wcap"]), 1))

    times, found = in_process(ctx)
    rows.append(Row("one-week query in-process, no HTTP (median of %d)" % n,
                    median(times["stock"]), median(times["wcap"]), 1,
                    "stock: Collection.get_filtered (prefilter only, %d candidates); ours: "
                    "ItemIndex.hrefs_in_range + loading the items (%d)"
                    % (found["stock"], found["wcap"])))
    return rows


# -- profiling our server in-process (``--profile``)
class _App:
    def __init__(self, ctx: Context) -> None:
        from radicale_wcap.instance import Instance
        from radicale_wcap.middleware import make_app
        self.app = make_app(Instance.from_file(ctx.wcap.config_path))
        self.auth = "Basic " + base64.b64encode(
            ("%s:%s" % (ctx.user, ctx.password)).encode()).decode()

    def __call__(self, method: str, path: str, body: bytes = b"", headers=None) -> int:
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)), "SCRIPT_NAME": "",
            "HTTP_AUTHORIZATION": self.auth}
        for key, value in (headers or {}).items():
            key = key.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
        status = []
        chunks = self.app(environ, lambda s, h, e=None: status.append(s))
        b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return int(status[0].split()[0])


def profile(ctx: Context, out_dir: str) -> None:
    import datetime
    app = _App(ctx)
    body = report_body(ctx)
    headers = {"Depth": "1", "Content-Type": "application/xml"}
    app("REPORT", ctx.calendar_path, body, headers)   # warm up this process

    def reports():
        for _ in range(3):
            app("REPORT", ctx.calendar_path, body, headers)

    def puts():
        for i in range(3):
            uid = ctx.new_uid()
            start = ctx.week[0] + datetime.timedelta(days=400, hours=i)
            ics = PUT_TEMPLATE.format(uid=uid, stamp=ctx.store.now.strftime(FMT),
                                      start=start.strftime(FMT),
                                      end=(start + datetime.timedelta(hours=1)).strftime(FMT))
            app("PUT", ctx.calendar_path + uid.split("@")[0] + ".ics", ics.encode(),
                {"Content-Type": "text/calendar", "If-None-Match": "*"})

    os.makedirs(out_dir, exist_ok=True)
    for label, fn in (("report", reports), ("put", puts)):
        profiler = cProfile.Profile()
        profiler.runcall(fn)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs()
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
        path = os.path.join(out_dir, "profile-%s-%dev.txt" % (label, ctx.store.events))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.getvalue())
        print("profile of 3 in-process %s requests: %s" % (label.upper(), path))
