"""What an endpoint answers, before it becomes WSGI.

Endpoints return a :class:`Reply` instead of calling ``start_response`` so
that the door is the one place that sends, logs and catches (design.md
"Errors": translate once).
"""

from __future__ import annotations

import json
from typing import NamedTuple


class Reply(NamedTuple):
    status: int
    headers: tuple
    body: bytes


# The reason phrases the two doors use; WSGI needs one on the status line.
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large",
           415: "Unsupported Media Type", 500: "Internal Server Error",
           507: "Insufficient Storage"}


def json_reply(status: int, data, headers: tuple = ()) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Reply(status, (("Content-Type", "application/json; charset=utf-8"),) + tuple(headers),
                 body)


def status_line(status: int) -> str:
    return "%d %s" % (status, REASONS.get(status, "Unknown"))
