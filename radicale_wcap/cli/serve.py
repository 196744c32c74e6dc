"""``serve``: the built-in server (waitress), one process; gunicorn runs ``wsgi`` instead."""

from __future__ import annotations

import sys

from radicale_wcap.cli.common import instance as open_instance
from radicale_wcap.server import Server


def cmd_serve(args) -> None:
    instance = open_instance(args)
    server = Server(instance, host=args.host, port=args.port)
    for host, port in server.bound:
        base = "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port)
        print("Listening on %s" % base)
        print("  CalDAV:  %s/" % base)
        print("  WCAP:    %s/wcap/login.wcap  (also %s/<command>.wcap)" % (base, base))
        print("  Import:  %s/service/<webname>.ics" % base)
        print("  JSON:    %s/api/ics  %s/restapi/v1/events" % (base, base))
    # Printed before run() blocks: dev.py and tests read the port from these lines.
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass


def add_commands(commands) -> None:
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="override [server] hosts")
    serve.add_argument("--port", type=int, help="override the port (0: any free port)")
    # serve keeps the root logger free for Radicale's handler, whose lines carry the
    # time and the process (the access lines rely on it).
    serve.set_defaults(func=cmd_serve, own_logging=True)
