"""The production application plus ``GET /test/slow?seconds=N``, a request that takes as
long as a test needs without a machine-dependent import size (test_gunicorn.py)."""

from __future__ import annotations

import os
import time
import urllib.parse

from radicale_wcap.wsgi import application as production


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/test/slow":
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        time.sleep(float(query["seconds"][0]))
        body = b"finished by %d\n" % os.getpid()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return production(environ, start_response)
