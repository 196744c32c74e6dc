"""Harness plug-in for the feed import benchmark (``--only trumba-import``).

``trumba_import.run`` works in-process on its own store (a feed import has no
stock Radicale counterpart; its comparison is the same events uploaded one by
one through CalDAV PUT on the same server). The feed size is the harness's
``--events`` unless ``BENCH_TRUMBA_EVENTS`` says otherwise.
"""

import os
import tempfile

from benchmarks import trumba_import
from benchmarks.run import Row

NAME = "trumba-import"


def run(ctx):
    n = int(os.environ.get("BENCH_TRUMBA_EVENTS") or ctx.store.events)
    folder = tempfile.mkdtemp(prefix="trumba-", dir=ctx.work)
    rows = []
    for operation, ours, caldav, note in trumba_import.run(folder, n):
        if operation.startswith("peak RSS"):
            rows.append(Row(operation + " = %.0f" % ours, None, None, None, note))
            continue
        rows.append(Row(operation, None if caldav is None else caldav * 1000.0,
                        ours * 1000.0, None,
                        ("stock column: same events by CalDAV PUT on our server; " + note)
                        if caldav is not None else note))
    return rows
