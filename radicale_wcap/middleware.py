"""The WSGI middleware in front of Radicale.

Requests for the project's own doors (WCAP ``*.wcap``, ``/service/*.ics``,
``/api/``, ``/restapi/``) are answered here; everything else goes to Radicale
untouched, after the CalDAV guard (``caldav_guard.py``) has decided what
Radicale's rights letters can not. Bodies are capped here, before they are
read, because Radicale's own size limit only applies in its built-in server.
Requests that would make Radicale fail (malformed credentials, XML with a DTD
or nested too deep, over-long names) get their 4xx from
``caldav_guard.screen`` before the fast REPORT path, which parses the same
bodies, and before Radicale. A write that finds the disk full gets Radicale's
507, whichever method it is (``radicale_compat.insufficient_storage_when``).
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, Optional

import radicale
from radicale import log as radicale_log

from radicale_wcap import caldav_guard, caldav_privacy, caldav_report, radicale_compat
from radicale_wcap.api.door import ApiDoor
from radicale_wcap.db import is_disk_full
from radicale_wcap.http import respond
from radicale_wcap.instance import Instance
from radicale_wcap.ops.wrapper import Observed
from radicale_wcap.logtext import cap_radicale_log_lines, shorten
from radicale_wcap.trumba.door import TrumbaDoor
from radicale_wcap.wcap.door import WcapDoor

logger = logging.getLogger("radicale.wcap.middleware")


def _load_doors(instance: Instance) -> list:
    doors = []
    settings = instance.settings
    if settings.get("wcap", "enabled"):
        doors.append(WcapDoor(instance))
    if settings.get("feeds", "enabled"):
        doors.append(TrumbaDoor(instance))
    if settings.get("api", "enabled"):
        doors.append(ApiDoor(instance))
    return doors


class Middleware:
    def __init__(self, instance: Instance, radicale_app: Optional[Callable] = None) -> None:
        self.instance = instance
        if radicale_app is None:
            radicale_app = radicale.Application(instance.configuration)
            radicale_compat.insufficient_storage_when(radicale_app, is_disk_full, logger)
        self.app = radicale_app
        self.doors = _load_doors(instance)
        self.max_body_size = instance.settings.get("http", "max_body_size")
        self.fast_report = instance.settings.get("http", "fast_calendar_query")
        cap_radicale_log_lines()

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return respond(start_response, "400 Bad Request",
                           [("Content-Type", "text/plain")], b"Bad Content-Length")
        door = next((d for d in self.doors if d.matches(path)), None)
        limit = getattr(door, "max_body_size", None) or self.max_body_size
        if limit and length > limit:
            logger.warning("%s %s refused: body of %d bytes is over the limit of %d",
                           shorten(environ.get("REQUEST_METHOD"), 20), shorten(path),
                           length, limit)
            if door is not None and hasattr(door, "too_large"):
                return door.too_large(environ, start_response)
            return respond(start_response, "413 Request Entity Too Large",
                           [("Content-Type", "text/plain")],
                           b"Request body too large")
        if door is not None:
            try:
                return door(environ, start_response)
            except Exception:
                logger.exception("Unhandled error in %s for %s",
                                 type(door).__name__, shorten(path))
                return respond(start_response, "500 Internal Server Error",
                               [("Content-Type", "text/plain")], b"Internal server error")
        return self._caldav(environ, start_response, path)

    def _caldav(self, environ, start_response, path: str) -> Iterable[bytes]:
        try:
            refusal = caldav_guard.screen(self.instance.configuration, environ)
        except Exception:
            logger.exception("Unhandled error in the CalDAV screen for %s", shorten(path))
            return respond(start_response, "500 Internal Server Error",
                           [("Content-Type", "text/plain")], b"Internal server error")
        if refusal is not None:
            return respond(start_response, *refusal)
        if self.fast_report and environ.get("REQUEST_METHOD") == "REPORT":
            try:
                fast = caldav_report.answer(self.instance, environ)
            except Exception:
                logger.exception("Fast REPORT path failed for %s; Radicale answers",
                                 shorten(path))
                fast = None
            if fast is not None:
                return respond(start_response, *fast)
        try:
            refusal = caldav_guard.guard(self.instance.configuration, environ)
        except Exception:
            logger.exception("Unhandled error in the CalDAV guard for %s", shorten(path))
            return respond(start_response, "500 Internal Server Error",
                           [("Content-Type", "text/plain")], b"Internal server error")
        if refusal is not None:
            return respond(start_response, *refusal)
        return caldav_privacy.through_radicale(self.instance, environ, start_response,
                                               self.app)


_logging_ready = False


def setup_logging(configuration) -> None:
    """Radicale's log setup, once per process (as radicale/__init__.py does)."""
    global _logging_ready
    if _logging_ready:
        return
    radicale_log.setup()
    radicale_log.set_level(configuration.get("logging", "level"),
                           configuration.get("logging", "backtrace_on_debug"),
                           configuration.get("logging", "trace_filter"))
    _logging_ready = True


def make_app(instance: Instance) -> Observed:
    setup_logging(instance.configuration)
    recover_interrupted_writes(instance)
    return Observed(instance, Middleware(instance))


def recover_interrupted_writes(instance: Instance) -> None:
    """Finish what a crashed process left (storage/consistency.py), calendar by
    calendar; a calendar's next use would do it too, this saves that request."""
    try:
        recovered = instance.store.recover()
    except Exception:
        logger.exception("Recovery of interrupted writes failed; each calendar "
                         "recovers when it is next used")
        return
    if recovered:
        logger.warning("Recovered %d calendar(s) from interrupted writes", recovered)
