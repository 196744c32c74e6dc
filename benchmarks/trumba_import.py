"""Trumba-style import of an n-event feed, side by side with stock Radicale storing
the same events by one whole-calendar PUT.

``run(folder, n=10000)`` returns rows ``(operation, stock, ours, min_speedup, note,
unit)`` (unit "s" or "MB"); ``python -m benchmarks.trumba_import [--events N]``
prints them. Both sides run through WSGI in a fresh process of their own (ours:
``make_app``, the import door; stock: ``radicale.Application`` alone on its own
storage), which also gives each one's peak memory; the re-imports then run in
this process on the store the first import left.

Rows: first import against stock's whole-calendar PUT (target: no slower);
unchanged re-import (target: under 20% of the first, and no item file's mtime
changes); re-import with 1% of the events changed (target: under 10% of the first
import); peak memory of both first writes (target: ours under 250 MB).
``--caldav-puts`` adds the same events PUT one by one through CalDAV on our server.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Tuple

PASSWORD = "bench-password"
USER = "bench"
WEBNAME = "BenchFeed"
ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo")
WHOLE = "whole-calendar.ics"

Row = Tuple[str, Optional[float], Optional[float], Optional[float], str, str]


def vevent(i: int, revision: int = 0) -> List[str]:
    """One event; every 10th all-day, every 7th weekly for 10 weeks, the rest zoned."""
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    lines = ["BEGIN:VEVENT", "UID:bench-%d@example.edu" % i,
             "DTSTAMP:20240105T%06dZ" % (i % 240000)]
    if i % 10 == 0:
        lines += ["DTSTART;VALUE=DATE:2025%02d%02d" % (month, day),
                  "DTEND;VALUE=DATE:2025%02d%02d" % (month, day + 1)]
    else:
        zone = ZONES[i % len(ZONES)]
        lines += ["DTSTART;TZID=%s:2025%02d%02dT%02d0000" % (zone, month, day, 8 + i % 10),
                  "DTEND;TZID=%s:2025%02d%02dT%02d3000" % (zone, month, day, 8 + i % 10)]
    if i % 7 == 0:
        lines.append("RRULE:FREQ=WEEKLY;COUNT=10")
    lines += ["SUMMARY:Event %d revision %d – Café" % (i, revision),
              "LOCATION:Room %d" % (i % 300),
              "DESCRIPTION:Generated event %d for the import benchmark." % i,
              "X-TRUMBA-CUSTOMFIELD;NAME=\"Event Type\";ID=21;TYPE=SingleLine:Lecture",
              "END:VEVENT"]
    return lines


def feed(n: int, changed: frozenset = frozenset()) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "METHOD:PUBLISH"]
    for i in range(n):
        lines += vevent(i, 1 if i in changed else 0)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def caldav_bodies(n: int) -> List[Tuple[str, bytes]]:
    """The same events as single-event VCALENDARs (with VTIMEZONEs) for CalDAV PUT."""
    from radicale_wcap.trumba.feed import parse_feed
    parsed = parse_feed(feed(n), calendar_tzid="UTC", max_events=n + 1)
    return [("%d.ics" % i, event.ical.encode("utf-8")) for i, event in enumerate(parsed.events)]


def make_instance(folder: str):
    from radicale_wcap.instance import Instance
    return Instance.from_file(None, {
        "storage": {"filesystem_folder": os.path.join(folder, "collections")},
        "auth": {"argon2_time_cost": "1", "argon2_memory_cost": "8",
                 "failed_login_backoff": "0", "delay": "0"},
        "logging": {"level": "warning"}, "web": {"type": "none"}})


def prepare(instance) -> None:
    from radicale_wcap.store import create_default_calendar
    if instance.directory.get(USER) is None:
        instance.directory.add(USER, PASSWORD, email="bench@example.com", cn="Bench", tz="UTC")
    create_default_calendar(instance.configuration, USER, instance.store)
    instance.store.create_calendar("%s:caldav" % USER, owner=USER, user=USER) \
        if instance.registry.get("/%s/caldav/" % USER) is None else None
    instance.registry.set_webname("/%s/calendar/" % USER, WEBNAME)


def call(app, method: str, path: str, body: bytes = b"", query: str = "") -> Tuple[int, bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
               "wsgi.multiprocess": False, "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_LENGTH": str(len(body)), "SCRIPT_NAME": "",
               "CONTENT_TYPE": "text/calendar",
               "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(
                   ("%s:%s" % (USER, PASSWORD)).encode()).decode()}
    status = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    data = b"".join(chunks)
    return int(status[0].split()[0]), data


def timed_put(app, path: str, body: bytes, expected: int) -> float:
    """Seconds one PUT took; anything but the ``expected`` status fails the benchmark."""
    started = time.perf_counter()
    status, answer = call(app, "PUT", path, body)
    elapsed = time.perf_counter() - started
    if status != expected:
        raise RuntimeError("PUT %s failed: %d %s" % (path, status, answer[:500]))
    return elapsed


def import_feed(app, body: bytes) -> float:
    return timed_put(app, "/service/%s.ics" % WEBNAME, body, 200)


def whole_calendar(n: int) -> bytes:
    """The feed's events as one VCALENDAR with each zone once: what a client uploads
    to stock Radicale with a whole-calendar PUT."""
    import re
    from radicale_wcap.icalparse import VTIMEZONE
    from radicale_wcap.trumba.feed import parse_feed
    zones: dict = {}
    events: List[str] = []
    for event in parse_feed(feed(n), calendar_tzid="UTC", max_events=n + 1).events:
        for zone in VTIMEZONE.findall(event.ical):
            zones.setdefault(re.search(r"TZID:([^\r\n]*)", zone).group(1), zone)
        events.extend(re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", event.ical, re.S))
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
            + "".join(zones.values()) + "".join(events) + "END:VCALENDAR\r\n").encode("utf-8")


def stock_whole_put(body: bytes) -> float:
    """Stock Radicale 3.9 (its own storage, no plugins) storing ``body`` (see
    ``whole_calendar``) by one whole-calendar PUT, in-process like our import."""
    import radicale
    from radicale import config as radicale_config
    with tempfile.TemporaryDirectory() as folder:
        configuration = radicale_config.load()
        configuration.update({"storage": {"filesystem_folder": folder},
                              "auth": {"type": "none"}, "rights": {"type": "owner_only"},
                              "logging": {"level": "warning"}, "web": {"type": "none"}},
                             "benchmark")
        app = radicale.Application(configuration)
        call(app, "PROPFIND", "/%s/" % USER)
        return timed_put(app, "/%s/stock/" % USER, body, 201)


def mtimes(folder: str) -> dict:
    return {entry.name: entry.stat().st_mtime_ns for entry in os.scandir(folder)
            if entry.is_file() and not entry.name.startswith(".")}


def in_child(kind: str, n: int, folder: str) -> Tuple[float, float]:
    """(seconds, peak RSS in MB) of a first write of n events in a fresh process:
    ``ours`` imports the feed into ``folder``, ``stock`` PUTs the whole calendar."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.trumba_import", "--child", kind,
                          "--folder", folder, "--events", str(n)], check=True,
                         capture_output=True, text=True, cwd=os.path.dirname(
                             os.path.dirname(os.path.abspath(__file__))))
    seconds, peak = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak)


def child(kind: str, folder: str, n: int) -> None:
    if kind == "stock":
        # The body is made by the parent, so that stock's process loads nothing of ours.
        with open(os.path.join(folder, WHOLE), "rb") as f:
            seconds = stock_whole_put(f.read())
    else:
        from radicale_wcap.middleware import make_app
        instance = make_instance(folder)
        prepare(instance)
        body = feed(n)
        seconds = import_feed(make_app(instance), body)
    print("%.6f %.1f" % (seconds, peak_rss_mb()))


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux carries that across exec, so
    a child forked from a big parent (the harness, after its in-process imports)
    reports the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(folder: str, n: int = 10000, caldav_puts: bool = False) -> List[Row]:
    from radicale_wcap.middleware import make_app
    rows: List[Row] = []
    with open(os.path.join(folder, WHOLE), "wb") as f:
        f.write(whole_calendar(n))
    first, ours_mb = in_child("ours", n, folder)
    stock, stock_mb = in_child("stock", n, folder)
    rows.append(("feed first import, %d events" % n, stock, first, 1.0,
                 "stock: Radicale 3.9 alone storing the same events by one whole-calendar "
                 "PUT (one VCALENDAR, each zone once); each in a fresh process; "
                 "import / PUT = %.2f" % (first / stock), "s"))
    instance = make_instance(folder)
    prepare(instance)
    app = make_app(instance)
    if caldav_puts:
        bodies = caldav_bodies(n)
        started = time.perf_counter()
        for name, single in bodies:
            status, answer = call(app, "PUT", "/%s/caldav/%s" % (USER, name), single)
            if status not in (200, 201, 204):
                raise RuntimeError("CalDAV PUT failed: %d %s" % (status, answer[:300]))
        rows.append(("the same events by CalDAV PUT one by one, our server", None,
                     time.perf_counter() - started, None,
                     "informational: %d PUTs of one event each" % n, "s"))

    calendar = os.path.join(instance.configuration.get("storage", "filesystem_folder"),
                            "collection-root", USER, "calendar")
    before = mtimes(calendar)
    again = import_feed(app, feed(n))
    untouched = mtimes(calendar) == before
    rows.append(("feed re-import, unchanged", None, again, None,
                 "%.1f%% of the first import (target < 20%%); %s" % (
                     100 * again / first,
                     "no item file written" if untouched else "ITEM FILES CHANGED"), "s"))

    changed = frozenset(range(0, n, 100))
    started_files = mtimes(calendar)
    one_percent = import_feed(app, feed(n, changed))
    rewritten = sum(1 for k, v in mtimes(calendar).items() if started_files.get(k) != v)
    rows.append(("feed re-import, 1%% changed (%d events)" % len(changed), first,
                 one_percent, 10.0,
                 "stock column: our first import (target: under 10%% of it, %.1f%%); "
                 "%d item files rewritten" % (100 * one_percent / first, rewritten), "s"))

    rows.append(("peak RSS of the first write (MB)", stock_mb, ours_mb, None,
                 "VmHWM of each fresh process; target: ours < 250 MB (%s)"
                 % ("ok" if ours_mb < 250 else "MISSED"), "MB"))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--caldav-puts", action="store_true",
                        help="also PUT the events one by one through CalDAV (slow)")
    parser.add_argument("--child", choices=("ours", "stock"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.folder, args.events)
        return
    with tempfile.TemporaryDirectory() as folder:
        rows = run(folder, args.events, args.caldav_puts)
    print("%-45s %12s %12s  %s" % ("operation", "stock", "ours", "note"))
    for name, stock, ours, _target, note, unit in rows:
        shown = lambda v: "-" if v is None else "%.3f %s" % (v, unit)  # noqa: E731
        print("%-45s %12s %12s  %s" % (name, shown(stock), shown(ours), note))


if __name__ == "__main__":
    main()
