"""WCAP fetchcomponents_by_range on the N-event calendar, against stock Radicale's
calendar-query REPORT for the same week (target: WCAP >= 10x faster), plus requests
per second with 4 concurrent WCAP clients (informational).

The fetch is what Lightning sends for its week view (docs/wcap-clients.md#lightning-fetch):
recurring=1, compressed=1, text/calendar, with an existing session (logged in once).
Warm rows repeat it (Lightning re-polls the same week); the cold row restarts both
servers first, so ours answers without its output cache (wcap/output_cache.py).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from typing import List

import requests

from benchmarks.caldav_bench import report
from benchmarks.run import Context, Row, median

NAME = "wcap-fetch"
SAMPLES = 20
COLD_SAMPLES = 3
CLIENTS = 4
CONCURRENT_SECONDS = 3.0
FMT = "%Y%m%dT%H%M%SZ"


def login(ctx: Context) -> str:
    query = urllib.parse.urlencode({"user": ctx.user, "password": ctx.password,
                                    "fmt-out": "text/calendar"})
    body = requests.get("%s/login.wcap?%s" % (ctx.wcap.url, query), timeout=60).text
    match = re.search(r"X-NSCP-WCAP-SESSION-ID:(\S+)", body)
    if not match:
        raise RuntimeError("WCAP login failed: %r" % body[:200])
    return match.group(1)


def fetch_path(ctx: Context, sid: str) -> str:
    start, end = ctx.week
    return ("/fetchcomponents_by_range.wcap?appid=mozilla-calendar&id=%s&relativealarm=1"
            "&compressed=1&recurring=1&emailorcalid=1&fmt-out=text%%2Fcalendar"
            "&component-type=event&dtstart=%s&dtend=%s&calid=bench%%3Acal"
            % (sid, start.strftime(FMT), end.strftime(FMT)))


def run(ctx: Context) -> List[Row]:
    sid = login(ctx)
    path = fetch_path(ctx, sid)
    first = ctx.request(ctx.wcap, "GET", path, expect=(200,))
    if b"X-NSCP-WCAP-ERRNO:0" not in first.body:
        raise RuntimeError("fetch failed: %r" % first.body[-200:])
    events = len(set(re.findall(rb"\r\nUID:([^\r]+)", first.body)))
    report(ctx, ctx.stock)  # stock builds its item cache first, as the caldav rows do
    wcap_ms, stock_ms = [], []
    for _ in range(SAMPLES):  # interleaved, so background load hits both alike
        wcap_ms.append(ctx.request(ctx.wcap, "GET", path, expect=(200,)).ms)
        stock_ms.append(report(ctx, ctx.stock)[0])
    rps = concurrent_rate(ctx.wcap.url + path)
    cold_wcap, cold_stock = [], []
    for _ in range(COLD_SAMPLES):  # sessions live in wcap.sqlite: the id survives
        ctx.wcap.restart()
        cold_wcap.append(ctx.request(ctx.wcap, "GET", path, expect=(200,)).ms)
        ctx.stock.restart()
        cold_stock.append(report(ctx, ctx.stock)[0])
    return [
        Row("WCAP fetch one week (vs stock REPORT)", median(stock_ms), median(wcap_ms), 10.0,
            "median of %d; %d series in the week; the output cache is warm" % (SAMPLES, events)),
        Row("WCAP fetch one week, cold (restarted, median of %d)" % COLD_SAMPLES,
            median(cold_stock), median(cold_wcap), None,
            "informational: the first fetch of a shape after a restart parses, shapes and "
            "lays out every event of the week and fills the output cache"),
        Row("WCAP fetch one week, %d clients" % CLIENTS, None, 1000.0 / rps if rps else None,
            None, "%.1f requests/s" % rps),
    ]


def concurrent_rate(url: str) -> float:
    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + CONCURRENT_SECONDS

    def client():
        with requests.Session() as session:
            while time.monotonic() < stop:
                session.get(url, timeout=60).content
                with lock:
                    done[0] += 1
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.monotonic() - started)
