"""WCAP front door: ``<base><command>.wcap`` for every configured base path.

(Foundation stub: answers every command with errno 58-style "not available"
until the WCAP commands land; see issue "WCAP, part 1".)
"""

from __future__ import annotations

import re

from radicale_wcap.middleware import respond


class WcapDoor:
    def __init__(self, instance) -> None:
        self.instance = instance
        bases = instance.settings.get("wcap", "base_paths")
        alternatives = "|".join(re.escape(b if b.endswith("/") else b + "/") for b in bases)
        self._pattern = re.compile(r"(?:%s)([A-Za-z_][A-Za-z0-9_]*)\.wcap\Z" % alternatives)

    def matches(self, path: str) -> bool:
        return bool(self._pattern.match(path))

    def __call__(self, environ, start_response):
        body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//radicale_wcap//EN\r\nX-NSCP-WCAP-ERRNO:58\r\nEND:VCALENDAR\r\n"
        return respond(start_response, "200 OK",
                       [("Content-Type", "text/calendar; charset=utf-8")], body)
