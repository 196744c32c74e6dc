"""WSGI entry point for production servers (gunicorn, uwsgi, mod_wsgi):

    RADICALE_WCAP_CONFIG=/etc/radicale-wcap/config \\
        gunicorn -c deploy/gunicorn.conf.py radicale_wcap.wsgi:application

Several worker processes on one store are safe: locks are ``flock`` based and
sessions, users and ACLs live in the database they all open. The application is built
in each worker (``load``, called by the gunicorn configuration right after the fork, or
by the first request), never before a fork: database connections must not cross one,
and building it is also what rolls back the batches a killed worker left half done.
"""

from __future__ import annotations

import os
import threading

from radicale_wcap.instance import Instance
from radicale_wcap.middleware import make_app

_app = None
_lock = threading.Lock()


def load(path=None):
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                _app = make_app(Instance.from_file(
                    path or os.environ.get("RADICALE_WCAP_CONFIG")))
    return _app


def application(environ, start_response):
    app = _app or load(environ.get("RADICALE_WCAP_CONFIG"))
    return app(environ, start_response)
