"""JSON front doors: ``/api/ics`` (seed 002), ``/restapi/v1/events`` (seed 003)
and the OpenAPI document that describes both (``GET /api/openapi.json``).

The one place where API exceptions become answers: ``IcsApiError`` becomes
the E17xx failure body, ``RestApiError`` the ``{"error": 1, ...}`` body;
anything else is logged with its traceback and answered with a fixed 500, but a
full disk with the REST door's 507 (``INSUFFICIENT_STORAGE``).
"""

from __future__ import annotations

import logging

from radicale_wcap.api import authn
from radicale_wcap.api.errors import IcsApiError, RestApiError
from radicale_wcap.api.events_endpoint import EventsEndpoint, MethodNotAllowed
from radicale_wcap.api.ics_endpoint import IcsEndpoint
from radicale_wcap.api.reply import Reply, json_reply, status_line
from radicale_wcap.api.request import ApiRequest, BadJson, BodyTooLarge, NotJson, read_body
from radicale_wcap.api.validation import OPENAPI_FILE  # the file bodies are checked against
from radicale_wcap.db import is_disk_full
from radicale_wcap.http import respond
from radicale_wcap.ops.access import note

logger = logging.getLogger("radicale.wcap.api")

# Until ``[api] max_body_size`` exists in config.SETTINGS; an event is a few KB.
MAX_BODY_SIZE = 1024 * 1024
OPENAPI_PATH = "/api/openapi.json"
ICS_PATH = "/api/ics"
REST_PREFIX = "/restapi/"
CHALLENGE = ("WWW-Authenticate", 'Basic realm="radicale_wcap", charset="UTF-8"')
NO_STORE = ("Cache-Control", "no-store")


def _max_body_size(settings) -> int:
    try:
        return int(settings.get("api", "max_body_size")) or MAX_BODY_SIZE
    except KeyError:
        return MAX_BODY_SIZE


class ApiDoor:
    def __init__(self, instance) -> None:
        self.instance = instance
        self.max_body_size = _max_body_size(instance.settings)
        self.ics = IcsEndpoint(instance)
        self.events = EventsEndpoint(instance)
        self.openapi = OPENAPI_FILE.read_bytes()

    def matches(self, path: str) -> bool:
        return path.startswith("/api/") or path.startswith(REST_PREFIX)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        if path == ICS_PATH:
            reply = self._ics(environ)
        elif path.startswith(REST_PREFIX):
            reply = self._rest(environ)
        elif path == OPENAPI_PATH:
            reply = self._openapi(environ)
        else:
            reply = json_reply(404, {"error": 1, "message": "No such resource."})
        headers = list(reply.headers)
        if not any(name.lower() == "cache-control" for name, _ in headers):
            headers.append(NO_STORE)
        return respond(start_response, status_line(reply.status), headers, reply.body)

    def _openapi(self, environ) -> Reply:
        if environ.get("REQUEST_METHOD", "GET").upper() not in ("GET", "HEAD"):
            return json_reply(405, {"error": 1, "message": "Only GET is allowed."},
                              (("Allow", "GET, HEAD"),))
        return Reply(200, (("Content-Type", "application/json; charset=utf-8"),
                           ("Cache-Control", "public, max-age=3600")), self.openapi)

    def _ics(self, environ) -> Reply:
        try:
            try:
                body = read_body(environ, self.max_body_size)
            except BodyTooLarge:
                raise IcsApiError.of("BODY_TOO_LARGE") from None
            return self.ics.handle(ApiRequest.from_environ(environ, body))
        except IcsApiError as error:
            if error.http_status >= 500:
                logger.error("POST /api/ics failed: %s", error)
            else:
                logger.info("POST /api/ics refused: %s", error)
            extra = (("Allow", "POST"),) if error.http_status == 405 else ()
            return json_reply(error.http_status, error.body(), extra)
        except Exception:
            logger.exception("Unhandled error in POST /api/ics")
            return json_reply(500, IcsApiError.of("INTERNAL").body())

    def _rest(self, environ) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        try:
            user = authn.authenticate(self.instance, environ)
            note(environ, user=user)
            if user is None:
                raise RestApiError("UNAUTHORIZED")
            try:
                body = read_body(environ, self.max_body_size)
            except BodyTooLarge:
                raise RestApiError("BODY_TOO_LARGE") from None
            request = ApiRequest.from_environ(environ, body)
            request.user = user
            try:
                return self.events.handle(request)
            except NotJson:
                raise RestApiError("UNSUPPORTED_MEDIA_TYPE") from None
            except BadJson as error:
                raise RestApiError("BAD_REQUEST", "The body is not valid JSON: %s" % error) from None
        except RestApiError as error:
            logger.info("%s %s refused: %s", method, path, error)
            extra = ()
            if error.http_status == 401:
                extra = (CHALLENGE,)
            elif isinstance(error, MethodNotAllowed):
                extra = (("Allow", ", ".join(error.allowed)),)
            return json_reply(error.http_status, error.body(), extra)
        except Exception as e:
            if is_disk_full(e):
                logger.error("%s %s refused, no space left: %s", method, path, e)
                return json_reply(507, RestApiError("INSUFFICIENT_STORAGE").body())
            logger.exception("Unhandled error in %s %s", method, path)
            return json_reply(500, {"error": 1, "message": "internal error"})
