"""The JSON API's week view, ``GET /restapi/v1/events?calendar=&from=&to=``, on the
N-event calendar, against stock Radicale's calendar-query REPORT of the same week
(target: not slower; both answer every event of the week, ours as JSON).

A client polls the same week again and again: the warm row repeats it. The cold row
restarts both servers first, so ours parses every event of the week once
(``api/event_json.py`` keeps the JSON per ETag). Under the mixed load of
``throughput.py`` this request had a p50 of 762 ms on 2,000 events, most of it vobject
reading the same events again on every request.
"""

from __future__ import annotations

import datetime
import json
from typing import List

from benchmarks.caldav_bench import report
from benchmarks.run import Context, Row, median

NAME = "api-events"


def week_path(ctx: Context) -> str:
    start, end = ctx.week
    last = (end - datetime.timedelta(seconds=1)).date()  # "to" is inclusive
    return "/restapi/v1/events?calendar=%s&from=%s&to=%s" % (
        ctx.user + ":" + ctx.calendar_path.strip("/").split("/")[1], start.date().isoformat(),
        last.isoformat())


def get_week(ctx: Context, path: str) -> float:
    return ctx.request(ctx.wcap, "GET", path, expect=(200,)).ms


def run(ctx: Context) -> List[Row]:
    path = week_path(ctx)
    first = ctx.request(ctx.wcap, "GET", path, expect=(200,))
    events = len(json.loads(first.body)["events"])
    _, stock_count = report(ctx, ctx.stock)  # stock builds its item cache first
    samples, cold_samples = 2 * ctx.repeat + 1, 3 if ctx.repeat >= 3 else 1
    ours, stock = [], []
    for _ in range(samples):  # interleaved, so background load hits both alike
        ours.append(get_week(ctx, path))
        stock.append(report(ctx, ctx.stock)[0])
    cold_ours, cold_stock = [], []
    for _ in range(cold_samples):
        ctx.wcap.restart()
        cold_ours.append(get_week(ctx, path))
        ctx.stock.restart()
        cold_stock.append(report(ctx, ctx.stock)[0])
    return [
        Row("JSON GET events of one week (vs stock REPORT)", median(stock), median(ours), 1.0,
            "median of %d; %d events (a series once) against stock's %d items"
            % (samples, events, stock_count)),
        Row("JSON GET events of one week, cold (restarted, median of %d)" % cold_samples,
            median(cold_stock), median(cold_ours), None,
            "informational: the first request after a restart parses every event of the week"),
    ]
