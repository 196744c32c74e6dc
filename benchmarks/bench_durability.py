"""What durability costs: the project's databases as shipped (wcap.sqlite with
``synchronous=FULL``, the index NORMAL but its write intents committed durably) against
the same process with every commit at ``synchronous=NORMAL`` and no durable intents,
which could lose an acknowledged tombstone, item id, feed origin or session on power
failure while the item file survives.

In-process on the running server's store (the storage lock is an flock), samples of the
two settings interleaved: a CalDAV PUT of a new event through the whole middleware, and
the session row a WCAP login commits. The "stock" column is the NORMAL run, so the
speed-up column reads "how much faster NORMAL would be"; no target, informational.
``python -m benchmarks.bench_durability`` runs just this module through the harness.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Dict, List

from benchmarks.caldav_bench import PUT_TEMPLATE, FMT, _App
from benchmarks.run import Context, Row, median

NAME = "durability"
SAMPLES = 15


class _Settings:
    """Switches one process's project databases between the shipped and all-NORMAL."""

    def __init__(self, instance) -> None:
        self.db = instance.services.db
        self.index_db = instance.services.index_db
        self.shipped = self.db.synchronous
        self.durable = self.index_db.durable_transaction

    def set(self, durable: bool) -> None:
        mode = self.shipped if durable else "NORMAL"
        self.db.synchronous = mode  # new connections; the idle ones are closed
        self.index_db.durable_transaction = self.durable if durable else \
            self.index_db.transaction

    def restore(self) -> None:
        self.set(True)
        del self.index_db.durable_transaction


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def run(ctx: Context) -> List[Row]:
    import datetime
    app = _App(ctx)
    instance = app.app.instance
    settings = _Settings(instance)
    start = ctx.week[0] + datetime.timedelta(days=365 * 2, hours=9)
    end = start + datetime.timedelta(hours=1)

    def put() -> None:
        uid = ctx.new_uid()
        body = PUT_TEMPLATE.format(uid=uid, stamp=ctx.store.now.strftime(FMT),
                                   start=start.strftime(FMT), end=end.strftime(FMT))
        status = app("PUT", ctx.calendar_path + uid.split("@")[0] + ".ics", body.encode(),
                     {"Content-Type": "text/calendar", "If-None-Match": "*"})
        if status != 201:
            raise RuntimeError("PUT answered %d" % status)

    def login() -> None:
        instance.sessions.create(ctx.user)

    times: Dict[str, Dict[bool, List[float]]] = {"put": {True: [], False: []},
                                                 "login": {True: [], False: []}}
    put()  # warm up this process (imports, caches, the calendar's index)
    try:
        for _ in range(max(SAMPLES, ctx.repeat)):
            for durable in (True, False):
                settings.set(durable)
                times["put"][durable].append(_timed(put))
                times["login"][durable].append(_timed(login))
    finally:
        settings.restore()
    rows = []
    for key, label in (("put", "PUT one new event in-process"),
                       ("login", "WCAP login's session commit")):
        full, normal = median(times[key][True]), median(times[key][False])
        rows.append(Row("%s, durable (FULL) vs all NORMAL" % label, normal, full, None,
                        "stock column = synchronous=NORMAL everywhere; durability costs "
                        "%+.1f ms" % (full - normal)))
    return rows


def main() -> None:
    from benchmarks import run as harness
    harness.main(["--only", NAME] + sys.argv[1:])


if __name__ == "__main__":
    main()
