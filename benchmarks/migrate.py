"""``python -m benchmarks.migrate [--users 100] [--events 1000] [--jobs 4]``: moving in from
a local old server, in events per second, with the old server's own time shown apart.

The old server is this server (``radicale-wcap serve`` as a subprocess on a free loopback
port) on a generated store: ``--users`` users with one calendar of ``--events`` events
each, made by ``store_gen``'s generators (10 % recurring with exceptions, 10 % all-day,
10 % zoned), written as files and indexed before the clock starts. Two timings:

* the source alone: every WCAP read the migration makes (get_userprefs, list, one
  lossless fetchcomponents_by_range per calendar), with the same ``--jobs`` threads, and
  nothing written (after an untimed pass, so that the old server's caches are as warm
  as they are for the migration that follows);
* the migration: ``migrate_wcap`` into an empty store (in this process, the code the
  command runs), reads and writes together.

If the two are close, the migration is limited by the source; the difference is what
this server's side costs (planning, validation, one store batch per calendar, whose
files Radicale writes with an fsync each). Not a ``benchmarks.run`` module (no NAME): it
compares us with an old server, not with stock Radicale.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List

from benchmarks import store_gen
from radicale_wcap.instance import Instance
from radicale_wcap.migrate import Options, migrate_wcap
from radicale_wcap.migrate.report import Report
from radicale_wcap.migrate.wcapsource import WcapSource

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(os.path.abspath(sys.executable))
ADMIN, PASSWORD = "calmaster", "bench-password"


def _config(folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "config")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[server]\nhosts = 127.0.0.1:5232\n[storage]\nfilesystem_folder = %s\n"
                "[auth]\nargon2_time_cost = 1\nargon2_memory_cost = 8\n"
                "failed_login_backoff = 0\ndelay = 0\n[logging]\nlevel = warning\n"
                "[web]\ntype = none\n" % os.path.join(folder, "collections"))
    return path


def _users(count: int) -> List[str]:
    return ["user%03d" % n for n in range(count)]


def fill_source(folder: str, users: int, events: int) -> str:
    """A source store with ``users`` x ``events``, indexed; its config path."""
    config = _config(folder)
    instance = Instance.from_file(config)
    instance.directory.add(ADMIN, PASSWORD, email="calmaster@example.com", admin=True)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    stamp = now.strftime(store_gen.UTC_FMT)
    root = os.path.join(folder, "collections", "collection-root")
    for index, user in enumerate(_users(users)):
        instance.directory.add(user, PASSWORD, email="%s@example.com" % user, cn=user.title(),
                               tz="Europe/Berlin")
        calendar = os.path.join(root, user, "calendar")
        os.makedirs(calendar)
        with open(os.path.join(calendar, ".Radicale.props"), "w", encoding="utf-8") as f:
            json.dump({"C:supported-calendar-component-set": "VEVENT,VTODO",
                       "D:displayname": "%s's calendar" % user, "tag": "VCALENDAR"}, f)
        rng = random.Random(index)
        for n in range(events):
            uid = "%s-%06d@radicale-wcap.invalid" % (user, n)
            if n % 10 == 9:
                text = store_gen._recurring(rng, uid, stamp, now, n)
            else:
                text = store_gen._single(rng, uid, stamp, now, n)[0]
            with open(os.path.join(calendar, "%06d.ics" % n), "w", encoding="utf-8",
                      newline="") as f:
                f.write(text)
        instance.registry.register("/%s/calendar/" % user)
    instance.store.reindex(lambda *args: None)
    return config


def serve(config: str, log: str) -> subprocess.Popen:
    out = open(log, "wb")
    process = subprocess.Popen([os.path.join(BIN, "radicale-wcap"), "--config", config,
                                "serve", "--port", "0"], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8", errors="replace") as f:
            found = re.search(r"Listening on (http://127\.0\.0\.1:\d+)", f.read())
        if found:
            process.url = found.group(1)
            return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the source server did not start (see %s)" % log)


def read_source_alone(url: str, users: List[str], jobs: int) -> Dict[str, float]:
    source = WcapSource(url + "/wcap/", ADMIN, PASSWORD)
    source.login()
    started = time.monotonic()
    counted = [0]

    def one(user: str) -> int:
        source.user(user)
        text = "".join(source.calendar(entry).text for entry in source.calendars(user))
        return text.count("\nUID:") + text.startswith("UID:")

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        counted[0] = sum(pool.map(one, users))
    seconds = time.monotonic() - started
    source.logout()
    return {"seconds": seconds, "components": counted[0]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--work", default=os.path.join(HERE, "work", "migrate"))
    args = parser.parse_args(argv)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    started = time.monotonic()
    source_config = fill_source(os.path.join(work, "old"), args.users, args.events)
    fill_seconds = time.monotonic() - started
    server = serve(source_config, os.path.join(work, "old-server.log"))
    try:
        users = _users(args.users)
        # Untimed first pass: the old server lays out each calendar once (its output
        # cache), as it would have long before a real migration; both timings are warm.
        read_source_alone(server.url, users, args.jobs)
        alone = read_source_alone(server.url, users, args.jobs)
        target = Instance.from_file(_config(os.path.join(work, "new")))
        report = Report(server.url, False, None)
        started = time.monotonic()
        with open(os.devnull, "w") as quiet:
            migrate_wcap(target, WcapSource(server.url + "/wcap/", ADMIN, PASSWORD), users,
                         Options(jobs=args.jobs), report, stream=quiet)
        seconds = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    totals = report.finish()["totals"]
    events = args.users * args.events
    result = {
        "users": args.users, "events_per_user": args.events, "jobs": args.jobs,
        "events": events, "items_created": totals["items_created"],
        "items_refused": totals["items_refused"],
        "source_alone_seconds": round(alone["seconds"], 2),
        "source_alone_events_per_second": round(events / alone["seconds"], 1),
        "migration_seconds": round(seconds, 2),
        "migration_events_per_second": round(events / seconds, 1),
        "migration_waiting_on_source_seconds": round(report.source_seconds, 2),
        "fill_seconds": round(fill_seconds, 1),
    }
    print("| measure | seconds | events/s |\n|---|---|---|")
    print("| old server alone (every read of the migration, %d jobs) | %.2f | %.1f |" % (
        args.jobs, alone["seconds"], events / alone["seconds"]))
    print("| migration (reads + plan + writes) | %.2f | %.1f |" % (seconds, events / seconds))
    print("%d users x %d events: %d created, %d refused; the migration's threads waited "
          "%.1f s on the old server in all" % (args.users, args.events,
                                               totals["items_created"],
                                               totals["items_refused"], report.source_seconds))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
