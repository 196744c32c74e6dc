"""What an endpoint answers, before it becomes WSGI.

Endpoints return a :class:`Reply` instead of calling ``start_response`` so
that the door is the one place that sends, logs and catches (design.md
"Errors": translate once).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from radicale_wcap.http import status_line  # noqa: F401 (the door's name for it)


class Reply(NamedTuple):
    status: int
    headers: tuple
    body: bytes


def json_reply(status: int, data, headers: tuple = ()) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Reply(status, (("Content-Type", "application/json; charset=utf-8"),) + tuple(headers),
                 body)
