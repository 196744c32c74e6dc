"""``apikey create|list|revoke``: the JSON API's bearer keys."""

from __future__ import annotations

from radicale_wcap.cli.common import CliError, instance as open_instance


def cmd_apikey_create(args) -> None:
    instance = open_instance(args)
    if instance.directory.get(args.user) is None:
        raise CliError("no such user %r" % args.user)
    key = instance.apikeys.create(args.user, args.label or "")
    # Scripts take the last line: the key is stored hashed and can not be shown again.
    print("API key for %s (shown once; store it now):" % args.user)
    print(key)


def cmd_apikey_list(args) -> None:
    instance = open_instance(args)
    for key in instance.apikeys.list(args.user):
        print("%d\t%s\t%s" % (key.id, key.user, key.label))


def cmd_apikey_revoke(args) -> None:
    instance = open_instance(args)
    if not instance.apikeys.revoke(args.id):
        raise CliError("no API key with id %d" % args.id)
    print("API key %d revoked" % args.id)


def add_commands(commands) -> None:
    keys = commands.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="apikey_command", metavar="ACTION")
    keys.required = True
    kcreate = keys.add_parser("create", help="create a key (printed alone on the last line)")
    kcreate.add_argument("user")
    kcreate.add_argument("--label")
    kcreate.set_defaults(func=cmd_apikey_create)
    klist = keys.add_parser("list", help="list keys (never the keys themselves)")
    klist.add_argument("user", nargs="?")
    klist.set_defaults(func=cmd_apikey_list)
    krevoke = keys.add_parser("revoke", help="revoke a key by id")
    krevoke.add_argument("id", type=int)
    krevoke.set_defaults(func=cmd_apikey_revoke)
