"""WCAP storeevents into the N-event calendar against a CalDAV PUT of the same event on
the same server and store (target: a WCAP store no slower than 1.5x a PUT, i.e.
speed-up >= 0.67), plus stores per second.

The store is what Lightning sends for a new event (docs/wcap-clients.md#lightning-store):
storetype=1, fetch=1, the whole tail, text/calendar. Events go a year after the query week,
so the other benchmarks' REPORT rows stay comparable. ``python -m
benchmarks.bench_wcap_store`` runs just this module through the harness.
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
    # 5,000 on the full benchmark; fewer on the smoke test's tiny store.
    rows.append(import_row(ctx, sid, min(IMPORT_EVENTS, max(10, ctx.store.events // 2))))
    return rows


IMPORT_EVENTS = 5000


def _event(uid: str, start: datetime.datetime) -> str:
    end = start + datetime.timedelta(hours=1)
    return ("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:%s\r\n"
            "DTEND:%s\r\nSUMMARY:Imported %s\r\nEND:VEVENT\r\n"
            % (uid, start.strftime(FMT), end.strftime(FMT), uid))


def import_row(ctx: Context, sid: str, n: int) -> Row:
    """A WCAP import of n events (one multipart POST) against the same n events
    PUT one by one through CalDAV, both into the big calendar of our server."""
    base = ctx.week[0] + datetime.timedelta(days=731)
    events = "".join(_event("imp-%d@bench" % i, base + datetime.timedelta(hours=3 * i))
                     for i in range(n))
    calendar = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n%s"
                "END:VCALENDAR\r\n" % events)
    boundary = "benchboundary7d93"
    body = ("--%s\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"e.ics\"\r\n"
            "Content-Type: text/calendar\r\n\r\n%s\r\n--%s--\r\n"
            % (boundary, calendar, boundary)).encode("utf-8")
    answer = ctx.request(ctx.wcap, "POST", "/import.wcap?id=%s&calid=bench%%3Acal"
                         "&content-in=text%%2Fcalendar&fmt-out=text%%2Fcalendar" % sid, body,
                         {"Content-Type": "multipart/form-data; boundary=%s" % boundary},
                         expect=(200,))
    if b"X-NSCP-WCAP-ERRNO:0" not in answer.body:
        return Row("WCAP import %d events" % n, None, None, None,
                   "import failed: %r" % answer.body[-120:])
    put_ms = 0.0
    for i in range(n):
        text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n%s"
                "END:VCALENDAR\r\n" % _event("put-%d@bench" % i,
                                             base + datetime.timedelta(hours=3 * i + 1)))
        put_ms += ctx.request(ctx.wcap, "PUT", "%sput-%d.ics" % (ctx.calendar_path, i),
                              text.encode("utf-8"), {"Content-Type": "text/calendar"},
                              expect=(201,)).ms
    return Row("WCAP import %d events (one POST)" % n, put_ms, answer.ms, None,
               "stock column: the same events by %d CalDAV PUTs on our server" % n)


def main() -> None:
    from benchmarks import run as harness
    harness.main(["--only", NAME] + sys.argv[1:])


if __name__ == "__main__":
    main()
