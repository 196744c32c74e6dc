"""Trumba-style import door: ``/service/<webname>.ics`` (foundation stub)."""

from __future__ import annotations

from radicale_wcap.middleware import respond


class TrumbaDoor:
    def __init__(self, instance) -> None:
        self.instance = instance
        self.max_body_size = instance.settings.get("feeds", "max_body_size")

    def matches(self, path: str) -> bool:
        return path.startswith("/service/")

    def __call__(self, environ, start_response):
        return respond(start_response, "501 Not Implemented",
                       [("Content-Type", "text/plain")], b"Not implemented yet")
