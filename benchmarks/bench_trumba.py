"""Harness plug-in for the feed import benchmark (``--only trumba-import``).

``trumba_import.run`` works on its own store: our first import of the feed and
stock Radicale's whole-calendar PUT of the same events, each in a fresh process,
then our re-imports. The feed size is the harness's ``--events`` unless
``BENCH_TRUMBA_EVENTS`` says otherwise.
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
    for operation, stock, ours, target, note, unit in trumba_import.run(folder, n):
        scale = 1000.0 if unit == "s" else 1.0
        rows.append(Row(operation, None if stock is None else stock * scale,
                        None if ours is None else ours * scale, target, note,
                        unit="ms" if unit == "s" else unit))
    return rows
