"""``migrate-store``: the whole store into another engine (``store/migration.py``)."""

from __future__ import annotations

import os
import sys

from radicale_wcap.cli.common import EXIT_DAMAGE, instance as open_instance
from radicale_wcap.instance import Instance
from radicale_wcap.store.migration import migrate, target_overrides


def cmd_migrate_store(args) -> int:
    source = open_instance(args)
    work = args.work or os.path.join(source.services.folder, "migrate-store")
    target = Instance.from_file(args.config, target_overrides(args.to, work))

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    outcome = migrate(source, target, progress)
    for problem in outcome.problems:
        print(problem)
    if outcome.problems:
        print("%d difference(s) between the stores; run it again to carry on"
              % len(outcome.problems), file=sys.stderr)
        return EXIT_DAMAGE
    print("%d calendar(s) in the target (%d written now, %d items), %d table(s) copied; "
          "verified" % (outcome.calendars, outcome.copied, outcome.items, len(outcome.rows)))
    return 0


def add_commands(commands) -> None:
    parser = commands.add_parser(
        "migrate-store", help="copy the store into another engine (PostgreSQL, or back "
        "to files), resumable, verified at the end; exit 3 when the copies differ")
    parser.add_argument("--to", required=True, metavar="URL_OR_FOLDER",
                        help="postgresql://user:password@host/db, or a new folder for "
                        "the file engine")
    parser.add_argument("--work", metavar="FOLDER",
                        help="the target's host-local folder when it is PostgreSQL "
                        "(default: migrate-store/ in the source's wcap folder)")
    parser.set_defaults(func=cmd_migrate_store)
