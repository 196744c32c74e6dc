"""Decisions on CalDAV requests that Radicale's rights letters can not express.

Radicale's rights check sees a path, not the HTTP method, and has one letter
for writing; the ACE model distinguishes more. So before Radicale sees a
request the middleware decides, by the same evaluator as every other door,
on exactly the path Radicale will act on (``radicale_path``: Radicale 3.9
sanitises PATH_INFO, which the WSGI server has already percent-decoded, and
decodes nothing more; decoding it again made ``odd%252Fslash.ics`` look like
two segments and skip the delete check).

Every method that changes the store is decided by the depth of its path, and
a depth not listed is refused:

=====================  ==========================================================
``/``                  nothing
``/<user>/``           PROPPATCH by that user; the home itself is made by the
                       server, and deleting, moving or replacing it would take
                       every calendar in it past their own rules
``/<user>/<cal>/``     DELETE, PUT, MKCALENDAR, MKCOL, MOVE: the primary owner
                       (for a new path: the home's user) or an administrator;
                       PROPPATCH: ``p:w``
``/<user>/<cal>/<x>``  PUT: ``w``; DELETE: ``w`` and ``d`` (manual, Table 7-3);
                       MOVE: ``w`` and ``d`` here, ``w`` at the Destination
=====================  ==========================================================

A home's shared namespace (``/<user>/~<calid>/``, another user's calendar shown
in the home, ``sharing/``) is decided first (``_shared``): only the home's user,
and only while his home lists that calendar; the collection itself is never
created, replaced, moved or deleted there (it is the owner's); a PROPPATCH of it
sets the subscriber's own name and colour and is answered here
(``sharing/properties.py``), and a DELETE of a subscribed one unsubscribes
(the owner's calendar stays); an item there is decided as the same item at the
owner's path (``principals.access_for`` maps it); MOVE from or into a shared
collection is refused, since its two ends would be decided for different
calendars and no client needs it.

A PUT of a whole calendar to a collection path is a delete and a re-create:
Radicale replaces the collection's folder, so every item not in the body is
gone and every property is dropped (colour and display name too, whether or
not the body carries ``X-WR-CALNAME``). Checking ``w`` + ``d`` + ``p:w``
would grant, piece by piece, what the ACL never says as a whole (anyone with
those three could empty and rename a shared calendar), and the properties it
drops are not known before the request runs; so it takes the calendar-delete
rule: the primary owner or an administrator. That is how Radicale itself
treats it (a separate ``O`` right, ``permit_overwrite_collection``) and why
Apple's CalendarServer refuses a PUT to a collection outright. A PUT,
MKCALENDAR or MKCOL creating a calendar is the same act in the other
direction, by the home's user (the primary owner of a new path) or an
administrator, never by whoever the default ACL lets write components.

Some requests make Radicale fail rather than answer; they are refused first
(``screen``): an ``Authorization: Basic`` it can not split (500 from its
unpacking), a ``charset`` Python does not know (500 from its decoding), a path
segment longer than a file name may be (500 from the file system; 414 here),
an XML body with a DTD or nested too deep (``xmlscreen.py``; 400 here).

PUT bodies with recurrence rules are checked against the limits before
Radicale expands them to compute the item's time range.
"""

from __future__ import annotations

import base64
import codecs
import logging
import urllib.parse
from typing import List, Optional, Tuple

from radicale import httputils, pathutils

from radicale_wcap import auth as auth_plugin
from radicale_wcap import icalparse, xmlscreen
from radicale_wcap.acl.evaluate import Access
from radicale_wcap.http import basic_credentials, read_body
from radicale_wcap.logtext import shorten
from radicale_wcap.rights import access_for
from radicale_wcap.sharing import paths as shared_paths
from radicale_wcap.sharing import properties as shared_properties
from radicale_wcap.sharing import shares, subscriptions
from radicale_wcap.state import services
from radicale_wcap.store.items import ItemOverLimits, item_limits, validate_item

logger = logging.getLogger("radicale.wcap.caldav")

Response = Tuple[str, list, bytes]
FORBIDDEN: Response = ("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")],
                       b"Access to the requested resource forbidden.")

WRITE_METHODS = frozenset({"DELETE", "PROPPATCH", "MOVE", "PUT", "MKCALENDAR", "MKCOL"})
CREATE_METHODS = frozenset({"PUT", "MKCALENDAR", "MKCOL"})

# A path segment becomes a file name (the item, its cache entry): 255 bytes
# is NAME_MAX on the usual Linux file systems.
MAX_SEGMENT_BYTES = 255
# User names are at most 64 characters (calid.NAME_PATTERN); a login far
# longer can not succeed and is not worth a password check or a log line.
MAX_LOGIN_LENGTH = 1024

# Headers that make Radicale treat a request as coming through a reverse proxy.
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
                  "HTTP_X_FORWARDED_SERVER")


def _plain(status: str, text: str, headers: Optional[list] = None) -> Response:
    return (status, [("Content-Type", "text/plain; charset=utf-8")] + (headers or []),
            text.encode("utf-8"))


def authenticated_user(configuration, environ) -> Optional[str]:
    credentials = basic_credentials(environ)
    if credentials is None:
        return None
    login, password = credentials
    if len(login) > MAX_LOGIN_LENGTH:
        return None
    if auth_plugin.verify(configuration, login, password):
        return login
    return None


# -- the path Radicale acts on

def radicale_path(configuration, environ) -> Optional[Tuple[str, str]]:
    """``(path, base_prefix)`` as Radicale 3.9's ``Application._handle_request``
    derives them, or None where Radicale refuses the request itself."""
    reverse_proxy = any(environ.get(key) for key in _PROXY_HEADERS)
    script_name = configuration.get("server", "script_name")
    if script_name and reverse_proxy:
        base_prefix = script_name
    else:
        key = "HTTP_X_SCRIPT_NAME" if "HTTP_X_SCRIPT_NAME" in environ else "SCRIPT_NAME"
        base_prefix = environ.get(key, "")
        if base_prefix and base_prefix[0] != "/":
            return None
        base_prefix = base_prefix.rstrip("/")
    path = pathutils.sanitize_path(environ.get("PATH_INFO", ""))
    if reverse_proxy and base_prefix and path.startswith(base_prefix):
        path = path.removeprefix(base_prefix)
    return path, base_prefix


def destination_path(environ, base_prefix: str) -> Optional[str]:
    """The path a MOVE writes to, as Radicale 3.9's ``do_MOVE`` derives it
    (it percent-decodes the header before parsing it as a URL), or None where
    it lies outside the base prefix."""
    to_url = urllib.parse.urlparse(urllib.parse.unquote(environ.get("HTTP_DESTINATION", "")))
    to_path = pathutils.sanitize_path(to_url.path)
    if not (to_path + "/").startswith(base_prefix + "/"):
        return None
    return to_path[len(base_prefix):]


def _parts(path: str) -> List[str]:
    return [p for p in path.strip("/").split("/") if p]


# -- requests Radicale would fail on

def _authorization_refusal(configuration, environ) -> Optional[str]:
    """Why Radicale could not read the Authorization header, or None.

    Radicale 3.9 reads any header starting with ``Basic`` (case-sensitive),
    decodes it leniently and splits at the first ``:``; what it can not split
    raises inside its request handling.
    """
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic") or environ.get(auth_plugin.ENVIRON_USER):
        return None
    try:
        decoded = base64.b64decode(header[len("Basic"):].strip().encode("ascii"))
        login, _ = httputils.decode_request(configuration, environ, decoded).split(":", 1)
    except (ValueError, UnicodeError, LookupError):
        return "malformed Basic credentials"
    if len(login) > MAX_LOGIN_LENGTH:
        return "user name of %d characters" % len(login)
    return None


def _charset_refusal(environ) -> Optional[str]:
    content_type = environ.get("CONTENT_TYPE") or ""
    if "charset=" not in content_type:
        return None
    charset = content_type.split("charset=")[1].split(";")[0].strip()
    try:
        codecs.lookup(charset)
    except LookupError:
        return "unknown charset %r" % shorten(charset, 40)
    return None


def screen(configuration, environ) -> Optional[Response]:
    """A 4xx for a request that would make Radicale fail, or None."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    reason = _charset_refusal(environ)
    if reason:
        logger.warning("CalDAV %s %s refused: %s", shorten(method, 20),
                       shorten(environ.get("PATH_INFO", "")), reason)
        return _plain("400 Bad Request", "Unknown charset.")
    reason = _authorization_refusal(configuration, environ)
    if reason:
        logger.warning("CalDAV %s %s refused: %s", shorten(method, 20),
                       shorten(environ.get("PATH_INFO", "")), reason)
        realm = configuration.get("auth", "realm").replace('"', "")
        return _plain("401 Unauthorized", "Malformed credentials.",
                      [("WWW-Authenticate", 'Basic realm="%s"' % realm)])
    located = radicale_path(configuration, environ)
    if located is not None:
        paths = [located[0]]
        if method in ("MOVE", "COPY"):
            paths.append(destination_path(environ, located[1]) or "/")
        for path in paths:
            for part in _parts(path):
                if len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
                    logger.warning("CalDAV %s %s refused: a name of %d characters",
                                   shorten(method, 20), shorten(path), len(part))
                    return _plain("414 URI Too Long",
                                  "A name in the path is longer than %d bytes."
                                  % MAX_SEGMENT_BYTES)
    if method in xmlscreen.XML_METHODS:
        body = read_body(environ, keep=True)  # Radicale reads it again
        if body:
            reason = xmlscreen.refusal(httputils.decode_request(configuration, environ, body))
            if reason:
                logger.warning("CalDAV %s %s refused: %s", method,
                               shorten(environ.get("PATH_INFO", "")), reason)
                return _plain("400 Bad Request", "XML body refused: %s." % reason)
    return None


# -- access decisions

def _refuse(user: str, method: str, path: str, reason: str, realm: str) -> Response:
    logger.warning("CalDAV %s %s by %r refused: %s", method, shorten(path),
                   shorten(user) if user else "(anonymous)", reason)
    if not user:
        # As Radicale answers an anonymous request it does not allow: ask
        # for credentials, so that a client prompts its user.
        return _plain("401 Unauthorized", "Access to the requested resource forbidden.",
                      [("WWW-Authenticate", 'Basic realm="%s"' % realm.replace('"', ""))])
    return FORBIDDEN


def _owns(access: Access) -> bool:
    return access.is_primary_owner or (access.principal.admin and access.admin_overrides)


def _decide(configuration, user: str, method: str, parts: List[str],
            environ, base_prefix: str) -> Tuple[bool, str]:
    """(allowed, reason) for a write method on a path of ``parts``."""
    depth = len(parts)
    if depth == 1:
        if method == "PROPPATCH" and user and user == parts[0]:
            return True, ""
        return False, "%s of a home collection" % method
    if depth not in (2, 3):
        return False, "%s at a depth of %d" % (method, depth)
    calendar_path = "/%s/%s/" % (parts[0], parts[1])
    access = access_for(configuration, user, calendar_path)
    if depth == 2:
        if method == "PROPPATCH":
            decision = access.decide("write_props")
            return decision.allowed, decision.reason
        if method == "MOVE":
            allowed, reason = _decide_destination(configuration, user, environ, base_prefix,
                                                  depth)
            if not allowed:
                return allowed, reason
        if _owns(access):
            return True, ""
        return False, ("only the primary owner %s a calendar" %
                       ("creates or replaces" if method in CREATE_METHODS else "deletes"))
    if method == "PUT":
        decision = access.decide("write")
    elif method in ("DELETE", "MOVE"):
        decision = access.decide("delete")
    else:
        return False, "%s of an item" % method
    if decision.allowed and method == "MOVE":
        return _decide_destination(configuration, user, environ, base_prefix, depth)
    return decision.allowed, decision.reason


def _decide_destination(configuration, user: str, environ, base_prefix: str,
                        depth: int) -> Tuple[bool, str]:
    """A MOVE writes at its Destination: an item there needs ``w`` on that
    calendar, a calendar there is a new calendar; any other depth is refused."""
    to_path = destination_path(environ, base_prefix)
    if to_path is None:
        return False, "Destination outside the base prefix"
    to_parts = _parts(to_path)
    if len(to_parts) != depth:
        return False, "Destination %s at another depth" % shorten(to_path)
    to_access = access_for(configuration, user, "/%s/%s/" % (to_parts[0], to_parts[1]))
    if depth == 2:
        return (_owns(to_access),
                "only the primary owner creates a calendar at %s" % shorten(to_path))
    decision = to_access.decide("write")
    return decision.allowed, "Destination %s: %s" % (shorten(to_path), decision.reason)


def guard(configuration, environ) -> Optional[Response]:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method not in WRITE_METHODS:
        return None
    located = radicale_path(configuration, environ)
    if located is None:
        return _plain("400 Bad Request", "Bad base prefix.")
    path, base_prefix = located
    user = authenticated_user(configuration, environ)
    if user is not None:
        # Radicale need not verify the password a second time.
        environ[auth_plugin.ENVIRON_USER] = user
    user = user or ""
    answer = _shared(configuration, user, method, path, environ, base_prefix)
    if answer is not None:
        return answer
    parts = _parts(path)
    allowed, reason = _decide(configuration, user, method, parts, environ, base_prefix)
    if not allowed:
        return _refuse(user, method, path, reason, configuration.get("auth", "realm"))
    if method == "PUT":
        return _screen_put(configuration, environ, user, path)
    return None


def _shared(configuration, user: str, method: str, path: str, environ,
            base_prefix: str) -> Optional[Response]:
    """The answer to a write on or into a shared namespace, or None to decide it as
    any other request (an item of a share its user may change)."""
    to_path = destination_path(environ, base_prefix) if method == "MOVE" else None
    if not (shared_paths.in_shared_namespace(path)
            or (to_path is not None and shared_paths.in_shared_namespace(to_path))):
        return None
    realm = configuration.get("auth", "realm")
    if method == "MOVE":
        return _refuse(user, method, path, "MOVE from or into a shared calendar", realm)
    share = shares.share_for(configuration, user, path)
    if share is None:
        return _refuse(user, method, path, "no shared calendar of this user here", realm)
    depth = len(_parts(path))
    if depth == 2 and method == "PROPPATCH":
        return shared_properties.proppatch(configuration, share,
                                           read_body(environ, keep=True), base_prefix)
    if depth == 2 and method == "DELETE" and share.calid in subscriptions.subscribed(
            services(configuration).directory, user):
        # What Apple Calendar sends to "unsubscribe" a calendar it does not own: the
        # subscription goes, the owner's calendar stays.
        subscriptions.unsubscribe(services(configuration).directory, user, [share.calid])
        logger.info("CalDAV DELETE %s by %r: unsubscribed from %s", shorten(path), user,
                    share.calid)
        return ("204 No Content", [], b"")
    if depth == 2:
        return _refuse(user, method, path, "%s of a shared calendar: it is %s's"
                       % (method, share.owner), realm)
    return None


def _screen_put(configuration, environ, user: str, path: str) -> Optional[Response]:
    """Every PUT body is held to the item limits on its text, before anything parses
    it (Radicale's own parse of a 1.2 MB event took 25 s before it was refused), and
    its recurrence rules to the rule limits before Radicale expands them."""
    body = read_body(environ, keep=True)  # Radicale reads it again
    text = body.decode("utf-8", "replace")
    try:
        item_limits(configuration).check_text(text, one_item=len(_parts(path)) >= 3)
    except ItemOverLimits as e:
        return _refuse_put(user, path, "Item refused", e)
    if b"RRULE" not in body and b"EXRULE" not in body:
        return None
    try:
        components = icalparse.read_components(text)
    except Exception:
        return None  # Radicale answers malformed bodies itself
    for component in components:
        try:
            validate_item(configuration, component)
        except ItemOverLimits as e:
            return _refuse_put(user, path, "Recurrence refused", e)
    return None


def _refuse_put(user: str, path: str, what: str, error: Exception) -> Response:
    logger.warning("CalDAV PUT to %s by %r refused: %s", shorten(path),
                   shorten(user) if user else "(anonymous)", error)
    return ("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")],
            ("%s: %s" % (what, error)).encode("utf-8"))
