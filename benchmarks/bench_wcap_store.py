"""WCAP storeevents into the N-event calendar against a CalDAV PUT of the same event on
the same server and store (target: a WCAP store no slower than 1.5x a PUT, i.e.
speed-up >= 0.67), plus stores per second.

The store is what Lightning sends for a new event (wcap-clients.md §2.3): storetype=1,
fetch=1, the whole tail, text/calendar. Events go a year after the query week, so the
other benchmarks' REPORT rows stay comparable. ``python -m benchmarks.bench_wcap_store``
runs just this module through the harness.
"""

from __future__ import annotations

import datetime
import sys
from typing import List

from benchmarks.bench_wcap_fetch import login
from benchmarks.caldav_bench import put_new
from benchmarks.run import Context, Row, median

NAME = "wcap-store"
FMT = "%Y%m%dT%H%M%SZ"
SAMPLES = 15


def store_path(ctx: Context, sid: str) -> str:
    uid = ctx.new_uid().split("@")[0]
    start = ctx.week[0] + datetime.timedelta(days=366, hours=14)
    end = start + datetime.timedelta(hours=1)
    return ("/storeevents.wcap?appid=mozilla-calendar&id=%s&dtstart=%s&dtend=%s&isAllDay=0"
            "&rrules=&rdates=&exrules=&exdates=&summary=Bench%%20store&priority=0"
            "&icsClass=PUBLIC&status=0&transparent=0&alarmStart=&alarmPopup=&alarmEmails="
            "&uid=%s&storetype=1&mod=4&method=1&replace=1&fetch=1&relativealarm=1"
            "&compressed=1&recurring=1&emailorcalid=1&fmt-out=text%%2Fcalendar"
            "&calid=bench%%3Acal" % (sid, start.strftime(FMT), end.strftime(FMT), uid))


def run(ctx: Context) -> List[Row]:
    sid = login(ctx)
    first = ctx.request(ctx.wcap, "GET", store_path(ctx, sid), expect=(200,))
    if b"X-NSCP-WCAP-ERRNO:0" not in first.body:
        raise RuntimeError("store failed: %r" % first.body[-200:])
    put_new(ctx, ctx.wcap)
    wcap_ms, put_ms = [], []
    for _ in range(max(SAMPLES, ctx.repeat)):  # interleaved against background load
        wcap_ms.append(ctx.request(ctx.wcap, "GET", store_path(ctx, sid), expect=(200,)).ms)
        put_ms.append(put_new(ctx, ctx.wcap))
    store = median(wcap_ms)
    rows = [Row("WCAP storeevents vs CalDAV PUT (both radicale_wcap)", median(put_ms), store,
                1 / 1.5, "stock column = our own CalDAV PUT; %.0f stores/s" % (1000 / store))]
    rows.append(Row("WCAP import 5k events", None, None, None,
                    "skipped: import is benchmarked by its own module when it exists"))
    return rows


def main() -> None:
    from benchmarks import run as harness
    harness.main(["--only", NAME] + sys.argv[1:])


if __name__ == "__main__":
    main()
