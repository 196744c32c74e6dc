"""WCAP front door: ``<base><command>.wcap`` for every configured base path.

GET and POST (form-encoded bodies too) go to the dispatcher; every answer is
HTTP 200, because Lightning treats any other status as a network failure
(docs/wcap-clients.md#response-parsing) and carries errors as ``X-NSCP-WCAP-ERRNO``.

The default bases are ``/``, ``/wcap/`` (Sun's and Oracle's) and ``/davserver/wcap/``
(Oracle Calendar Server 7/8's). Repeated slashes count as one: Lightning appends the
command to the base URL as typed (which must end in ``/``), while WCapCal and
php-wcap-client append ``"/" + command``, so a base typed with its trailing slash
gives them ``//login.wcap``.
"""

from __future__ import annotations

import re

from radicale_wcap.http import read_body, respond
from radicale_wcap.ops.access import note
from radicale_wcap.wcap.backend import Backend
from radicale_wcap.wcap.commands.table import COMMANDS
from radicale_wcap.wcap.dispatch import WcapDispatcher

_SLASHES = re.compile(r"//+")


class WcapDoor:
    def __init__(self, instance) -> None:
        self.instance = instance
        settings = instance.settings
        bases = settings.get("wcap", "base_paths")
        alternatives = "|".join(re.escape(b if b.endswith("/") else b + "/") for b in bases)
        self._pattern = re.compile(r"(?:%s)([A-Za-z_][A-Za-z0-9_]*)\.wcap\Z" % alternatives)
        self.max_body_size = settings.get("wcap", "max_import_size")
        self.dispatcher = WcapDispatcher(
            Backend(instance), default_fmt_out=settings.get("wcap", "default_fmt_out"),
            settings={"recurrence_bound": settings.get("wcap", "recurrence_bound"),
                      "server_version": settings.get("wcap", "server_version")})

    def _match(self, path: str):
        return self._pattern.match(_SLASHES.sub("/", path))

    def matches(self, path: str) -> bool:
        return bool(self._match(path))

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        command = self._match(path).group(1)
        # A made-up command name must not become a metrics label.
        note(environ, command=command if command in COMMANDS else "unknown")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        body = None
        if method == "POST":
            body = read_body(environ)
        status, headers, payload = self.dispatcher(
            command, method, environ.get("QUERY_STRING", ""), body,
            environ.get("CONTENT_TYPE"), environ)
        if method == "HEAD":
            payload = b""
        return respond(start_response, status, headers, payload)

    def too_large(self, environ, start_response):
        """An upload over ``[wcap] max_import_size``: errno 35, not HTTP 413.

        Lightning and other WCAP clients treat any status but 200 as a network
        failure, so the refusal is a WCAP answer; the body is never read.
        """
        command = self._match(environ.get("PATH_INFO", "")).group(1)
        note(environ, command=command if command in COMMANDS else "unknown", errno=35)
        status, headers, payload = self.dispatcher.refusal(
            command, environ.get("QUERY_STRING", ""), 35)
        return respond(start_response, status, headers, payload)
