"""A process that dies by ``kill -9`` at a chosen point of a write (tests only).

    python -m tests.store.crash_child FOLDER SCENARIO N

It opens the store in FOLDER as the tests configure it, arranges to SIGKILL
itself at the Nth item write of the scenario (or, for ``single``, between an
item file and its index row), and runs the scenario through the real door.
``slow`` instead sleeps at each write after the Nth and finishes, touching
FOLDER/at-write once it is there.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from radicale_wcap.middleware import make_app
from radicale_wcap.storage import batch as batch_mod
from radicale_wcap.storage import index as index_mod
from tests.conftest import InProcessClient, make_instance
from tests.store.scenarios import SCENARIOS


def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    folder, scenario, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    instance = make_instance(folder)
    client = InProcessClient(make_app(instance))
    mode = os.environ.get("CRASH_MODE", "kill")
    if scenario == "single":
        index_mod.ItemIndex.upsert = die
    elif mode == "slow":
        def slow(number):
            if number == n:
                open(os.path.join(folder, "at-write"), "w").close()
            if number >= n:
                time.sleep(0.4)
        batch_mod.before_write = slow
    else:
        batch_mod.before_write = lambda number: die() if number == n else None
    SCENARIOS[scenario].run(instance, client)
    sys.exit(0)


if __name__ == "__main__":
    main()
