"""JSON front doors: ``/api/`` and ``/restapi/`` (foundation stub)."""

from __future__ import annotations

from radicale_wcap.middleware import respond


class ApiDoor:
    def __init__(self, instance) -> None:
        self.instance = instance

    def matches(self, path: str) -> bool:
        return path.startswith("/api/") or path.startswith("/restapi/")

    def __call__(self, environ, start_response):
        return respond(start_response, "501 Not Implemented",
                       [("Content-Type", "application/json")],
                       b'{"error": 1, "message": "not implemented yet"}')
