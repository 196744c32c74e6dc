"""Decisions on CalDAV requests that Radicale's rights letters can not express.

Radicale's rights check sees a path, not the HTTP method, and has one letter
for writing; the ACE model distinguishes more. So before Radicale sees a
request the middleware decides, by the same evaluator as every other door:

* DELETE of an item needs ``w`` and ``d`` (manual, Table 7-3);
* DELETE of a calendar needs its primary owner (or an administrator);
* PROPPATCH of a calendar needs ``p:w``, so that no CalDAV client changes
  calendar properties past the ACL;
* MOVE out of a calendar deletes there, so it needs ``w`` and ``d`` too;
* PUT bodies with recurrence rules are checked against the limits before
  Radicale expands them to compute the item's time range.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import urllib.parse
from typing import Optional, Tuple

from radicale import item as radicale_item
from radicale import pathutils

from radicale_wcap import auth as auth_plugin
from radicale_wcap.rights import access_for
from radicale_wcap.storage import RecurrenceRefused, validate_item

logger = logging.getLogger("radicale.wcap.caldav")

Response = Tuple[str, list, bytes]
FORBIDDEN: Response = ("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")],
                       b"Access to the requested resource forbidden.")


def basic_credentials(environ) -> Optional[Tuple[str, str]]:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip().encode("ascii"), validate=True)
        login, _, password = decoded.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not login or not _:
        return None
    return login, password


def authenticated_user(configuration, environ) -> Optional[str]:
    credentials = basic_credentials(environ)
    if credentials is None:
        return None
    login, password = credentials
    if auth_plugin.verify(configuration, login, password, sleep=False):
        return login
    return None


def _path_parts(environ) -> list:
    path = pathutils.sanitize_path(urllib.parse.unquote(environ.get("PATH_INFO", "/")))
    return [p for p in path.strip("/").split("/") if p]


def _refuse(user: str, method: str, path: str, reason: str) -> Response:
    logger.warning("CalDAV %s %s by %r refused: %s", method, path, user or "(anonymous)",
                   reason)
    return FORBIDDEN


def guard(configuration, environ) -> Optional[Response]:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method not in ("DELETE", "PROPPATCH", "MOVE", "PUT"):
        return None
    parts = _path_parts(environ)
    if len(parts) < 2:
        return None
    user = authenticated_user(configuration, environ)
    if user is not None:
        # Radicale need not verify the password a second time.
        environ[auth_plugin.ENVIRON_USER] = user
    user = user or ""
    calendar_path = "/%s/%s/" % (parts[0], parts[1])
    access = access_for(configuration, user, calendar_path)
    if method == "DELETE" and len(parts) == 3:
        decision = access.decide("delete")
        if not decision.allowed:
            return _refuse(user, method, calendar_path, decision.reason)
    elif method == "DELETE" and len(parts) == 2:
        if not (access.is_primary_owner or (access.principal.admin and access.admin_overrides)):
            return _refuse(user, method, calendar_path, "only the primary owner deletes a calendar")
    elif method == "PROPPATCH" and len(parts) == 2:
        decision = access.decide("write_props")
        if not decision.allowed:
            return _refuse(user, method, calendar_path, decision.reason)
    elif method == "MOVE" and len(parts) == 3:
        decision = access.decide("delete")
        if not decision.allowed:
            return _refuse(user, method, calendar_path, decision.reason)
    elif method == "PUT":
        return _screen_put(configuration, environ, user, calendar_path)
    return None


def _screen_put(configuration, environ, user: str, path: str) -> Optional[Response]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ("400 Bad Request", [("Content-Type", "text/plain")], b"Bad Content-Length")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    if b"RRULE" not in body and b"EXRULE" not in body:
        return None
    try:
        components = radicale_item.read_components(body.decode("utf-8"))
    except Exception:
        return None  # Radicale answers malformed bodies itself
    for component in components:
        try:
            validate_item(configuration, component)
        except RecurrenceRefused as e:
            logger.warning("CalDAV PUT to %s by %r refused: %s", path, user or "(anonymous)", e)
            return ("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")],
                    ("Recurrence refused: %s" % e).encode("utf-8"))
    return None
