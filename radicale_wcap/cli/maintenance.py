"""``verify``, ``reindex``, ``backup``, ``settings``: the store as a whole, and the
settings table that needs no store at all."""

from __future__ import annotations

import sys

from radicale_wcap.backup import backup
from radicale_wcap.cli.common import EXIT_DAMAGE, instance as open_instance
from radicale_wcap.config import settings_table_markdown
from radicale_wcap.verify import reindex_store, verify_store


def cmd_verify(args) -> int:
    instance = open_instance(args)
    problems = verify_store(instance, log=print)
    if problems:
        print("%d problem(s) found" % problems, file=sys.stderr)
        return EXIT_DAMAGE
    print("store and index consistent")
    return 0


def cmd_reindex(args) -> None:
    instance = open_instance(args)
    count = reindex_store(instance, log=print)
    print("reindexed %d calendar(s)" % count)


def cmd_backup(args) -> None:
    backup(open_instance(args), args.destination)


def cmd_settings(args) -> None:
    print(settings_table_markdown())


def add_commands(commands) -> None:
    commands.add_parser("verify", help="check store and index; exit 3 on damage"
                        ).set_defaults(func=cmd_verify)
    commands.add_parser("reindex", help="rebuild the index from the items"
                        ).set_defaults(func=cmd_reindex)
    backup_parser = commands.add_parser(
        "backup", help="copy the items and the database, consistently, while the server "
        "runs (not the index)")
    backup_parser.add_argument("destination", metavar="DEST", help="a new folder")
    backup_parser.set_defaults(func=cmd_backup)
    # The README's settings table is generated from this, on a machine without a config.
    commands.add_parser("settings", help="print the settings table"
                        ).set_defaults(func=cmd_settings, needs_config=False)
