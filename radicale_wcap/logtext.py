"""Text taken from a request, shortened before it goes into a log line.

A client chooses its user name, path, Depth and User-Agent, and the server's
header limit (waitress: 256 KB) is the only bound on them; one request with a
100 KB login wrote 100 KB to the log, a cheap way to fill a disk or bury a
record. Every door logs such text through ``shorten``; head and tail are kept
because both ends of a path (the calendar, the item) tell what was asked.

Radicale logs the same text itself ("Failed login attempt from ...: %r", the
request and response lines); ``RequestTextFilter`` on the ``radicale`` logger
shortens the arguments of those records. Records from our own loggers
(``radicale.wcap.*``) do not pass a parent logger's filters, hence
``shorten`` at each of our log calls.
"""

from __future__ import annotations

import logging
from typing import Any

LIMIT = 200
# A line Radicale formats itself before logging (the response status line
# holds the whole path): longer, since the status is at its end.
MESSAGE_LIMIT = 1000
ELLIPSIS = "…"


def shorten(text: Any, limit: int = LIMIT) -> str:
    """``text`` as a string of at most ``limit`` characters."""
    text = text if isinstance(text, str) else str(text)
    if len(text) <= limit:
        return text
    kept = max(limit - len(ELLIPSIS), 2)
    head = kept * 2 // 3
    return text[:head] + ELLIPSIS + text[len(text) - (kept - head):]


def _shorten_bytes(data: bytes, limit: int) -> bytes:
    if len(data) <= limit:
        return data
    head = (limit - 3) * 2 // 3
    return data[:head] + b"..." + data[len(data) - (limit - 3 - head):]


def _short_arg(arg: Any, limit: int) -> Any:
    if isinstance(arg, str):
        return shorten(arg, limit)
    if isinstance(arg, (bytes, bytearray)):
        return _shorten_bytes(bytes(arg), limit)
    if isinstance(arg, BaseException) and len(str(arg)) > limit:
        return shorten(str(arg), limit)
    return arg


class RequestTextFilter(logging.Filter):
    """Shortens the arguments (and long preformatted messages) of a record.

    Records at DEBUG and below are left alone: debug output is a diagnostic
    mode an administrator turns on to see request and response contents,
    which Radicale already bounds by ``[logging] limit_content``.
    """

    def __init__(self, limit: int = LIMIT, message_limit: int = MESSAGE_LIMIT) -> None:
        super().__init__()
        self.limit = limit
        self.message_limit = message_limit

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(_short_arg(a, self.limit) for a in args)
        elif isinstance(args, dict) and args:
            record.args = {k: _short_arg(v, self.limit) for k, v in args.items()}
        elif not args and isinstance(record.msg, str) and len(record.msg) > self.message_limit:
            # No arguments: the message is final text, safe to cut anywhere
            # (with arguments it is a format string and must stay whole).
            record.msg = shorten(record.msg, self.message_limit)
        return True


def cap_radicale_log_lines(logger_name: str = "radicale") -> None:
    """Install ``RequestTextFilter`` on Radicale's logger, once per process."""
    target = logging.getLogger(logger_name)
    if not any(isinstance(f, RequestTextFilter) for f in target.filters):
        target.addFilter(RequestTextFilter())
