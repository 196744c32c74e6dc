"""WSGI entry point for production servers (gunicorn, uwsgi, mod_wsgi):

    RADICALE_WCAP_CONFIG=/etc/radicale-wcap/config gunicorn -w 4 radicale_wcap.wsgi:application

Several worker processes on one store are safe: locks are ``flock`` based and
sessions, users and ACLs live in SQLite.
"""

from __future__ import annotations

import os
import threading

from radicale_wcap.instance import Instance
from radicale_wcap.middleware import make_app

_app = None
_lock = threading.Lock()


def application(environ, start_response):
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                path = environ.get("RADICALE_WCAP_CONFIG") or os.environ.get(
                    "RADICALE_WCAP_CONFIG")
                _app = make_app(Instance.from_file(path))
    return _app(environ, start_response)
