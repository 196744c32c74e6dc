"""The WSGI layer outside the middleware: health, metrics, one access line per request.

It sits outside so that it sees every answer, also the middleware's own refusals
(413) and Radicale's, and so that the health check and the metrics are answered before
any door or authentication. The line and the counters are written when the server
closes the answer's iterable (PEP 3333 says it must), so the duration includes sending
the body and the byte count is what was sent.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Iterable, Optional

from radicale_wcap.http import basic_credentials
from radicale_wcap.ops import access, health, metrics

logger = logging.getLogger("radicale.wcap.ops")

DOOR_NAMES = {"WcapDoor": "wcap", "TrumbaDoor": "feeds", "ApiDoor": "api"}
# CalDAV/WebDAV methods a metrics label may name; anything else is "other".
METHODS = frozenset(("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PROPFIND",
                     "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR", "MOVE", "COPY",
                     "LOCK", "UNLOCK", "ACL"))
API_COMMANDS = (("/api/ics", "ics"), ("/api/openapi.json", "openapi"),
                ("/restapi/", "events"))
JSON_TYPE = "application/json"
NO_STORE = ("Cache-Control", "no-store")


def _command(door: str, method: str, path: str) -> str:
    if door == "feeds":
        return "import" if method == "PUT" else "subscribe"
    if door == "api":
        return next((name for prefix, name in API_COMMANDS if path.startswith(prefix)),
                    "other")
    return method if method in METHODS else "other"


class _Answer:
    """The answer's iterable, counting bytes; ``close`` finishes the record."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[int], None]) -> None:
        self._body = body
        self._finish = finish
        self._sent = 0
        self._closed = False

    def __iter__(self):
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish(self._sent)


class Observed:
    def __init__(self, instance, app: Callable) -> None:
        self.instance = instance
        self.app = app
        settings = instance.settings
        self.log = access.AccessLog.from_settings(settings)
        self.health_path = settings.get("http", "health_path")
        self.counting = settings.get("http", "metrics")
        self.metrics_path = settings.get("http", "metrics_path") if self.counting else ""
        self.gate = metrics.Gate(settings) if self.counting else None

    def __getattr__(self, name: str) -> Any:
        # Tests and tools reach the middleware's doors through the app.
        return getattr(self.app, name)

    def _door(self, path: str) -> str:
        door = next((d for d in getattr(self.app, "doors", ()) if d.matches(path)), None)
        return DOOR_NAMES.get(type(door).__name__, "caldav") if door is not None else "caldav"

    def __call__(self, environ, start_response):
        started = time.monotonic()
        record = access.new_record(environ)
        record["time"] = access.timestamp(time.time())
        status: Dict[str, str] = {}

        def recording_start_response(line, headers, exc_info=None):
            status["line"] = line
            if exc_info is None:
                return start_response(line, headers)
            return start_response(line, headers, exc_info)

        def finish(sent: int) -> None:
            self._finish(environ, record, status.get("line", "500"), sent, started)

        path = record["path"]
        method = record["method"].upper()
        try:
            own = self._own(environ, recording_start_response, path, method, record)
            body = own if own is not None else self.app(environ, recording_start_response)
        except BaseException:
            status.setdefault("line", "500")
            finish(0)
            raise
        return _Answer(body, finish)

    def _own(self, environ, start_response, path: str, method: str,
             record: Dict[str, Any]) -> Optional[Iterable[bytes]]:
        if method not in ("GET", "HEAD"):
            return None
        if self.health_path and path == self.health_path:
            record.update(door="ops", command="health")
            healthy, body = health.check(self.instance)
            return self._reply(start_response, "200 OK" if healthy else
                               "503 Service Unavailable", JSON_TYPE, body, method)
        if self.metrics_path and path == self.metrics_path:
            record.update(door="ops", command="metrics")
            if not self.gate.allows(environ):
                return self._reply(start_response, "403 Forbidden", "text/plain",
                                   b"Forbidden\n", method)
            content_type, body = metrics.scrape(self.instance)
            return self._reply(start_response, "200 OK", content_type, body, method)
        return None

    @staticmethod
    def _reply(start_response, status: str, content_type: str, body: bytes,
               method: str) -> Iterable[bytes]:
        start_response(status, [("Content-Type", content_type),
                                ("Content-Length", str(len(body))), NO_STORE])
        return [b"" if method == "HEAD" else body]

    def _finish(self, environ, record: Dict[str, Any], line: str, sent: int,
                started: float) -> None:
        seconds = time.monotonic() - started
        try:
            record["status"] = int(str(line).split(" ", 1)[0])
        except ValueError:
            record["status"] = 500
        record["ms"] = round(seconds * 1000, 1)
        record["bytes"] = sent
        method = record["method"].upper()
        if "door" not in record:
            record["door"] = self._door(record["path"])
        if not record.get("command"):
            record["command"] = _command(record["door"], method, record["path"])
        if not record.get("user"):
            credentials = basic_credentials(environ)
            if credentials is not None:
                record["user"] = credentials[0]
        try:
            self.log.write(record)
            if self.counting:
                metrics.observe(record, seconds)
        except Exception:
            logger.exception("Access record of %s %s not written", method, record["path"])
