"""The privacy rule (``privacy.py``) for the requests that Radicale answers.

Radicale reads items through the storage plugin and never says for whom. So the
middleware opens a `RadicaleRequest` around each request it hands over; the rights
plugin, which Radicale asks with the user it has authenticated before it reads
anything, notes that user in it; and the storage plugin's read methods
(``storage/privacy.py``: discover, get_multi, get_all, get_filtered) hand out each item
as `reading_view` shows it. GET, PROPFIND and every REPORT (calendar-query, multiget,
sync-collection) thereby send the same redacted text, with its own ETag, that
multiget, PROPFIND's getetag and If-None-Match then agree on.

Not redacted, by design:

* free/busy (a free-busy-query REPORT, ``GET ?view=freebusy``): its answer holds
  nothing but busy time, and in ``hide`` mode the hidden items must still count;
* `Collection.sync`, whose history of ETags gives the sync token: an owner's and a
  reader's requests must not see each other's view as a change of every private item;
* writes (PUT, DELETE, MOVE, ...), which compare preconditions against the stored item.

Writes are refused (403) here, before Radicale, when they would change, move or delete
an item whose stored class the user may not see (`write_refusal`), or replace a whole
calendar that holds one; the storage plugin refuses the same again under its write lock.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import List, Optional, Tuple

import defusedxml.ElementTree as DefusedET
from radicale import pathutils

from radicale_wcap import auth as auth_plugin
from radicale_wcap import privacy
from radicale_wcap import store as store_mod
from radicale_wcap.caldav_guard import authenticated_user
from radicale_wcap.http import content_length, read_body, respond
from radicale_wcap.request_view import _REQUEST, RadicaleRequest
from radicale_wcap.rights import access_for
from radicale_wcap.sharing import paths as shared_paths

logger = logging.getLogger("radicale.wcap.privacy")

READ_METHODS = frozenset({"GET", "HEAD", "PROPFIND", "REPORT"})
WRITE_METHODS = frozenset({"PUT", "DELETE", "MOVE"})
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
Response = Tuple[str, list, bytes]
FORBIDDEN: Response = ("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")],
                       b"Only the calendar's owners change private and confidential items.")


# ---------------------------------------------------------------- the middleware's hook

def through_radicale(instance, environ, start_response, app):
    """Hand the request to Radicale with the privacy rule in force."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method in WRITE_METHODS:
        refusal = write_refusal(instance, environ, method)
        if refusal is not None:
            return respond(start_response, *refusal)
    request = RadicaleRequest(instance.configuration, redacts=method in READ_METHODS
                              and not _asks_free_busy(environ, method))
    token = _REQUEST.set(request)
    try:
        # Radicale computes the whole answer inside the call (a list of bytes).
        return app(environ, start_response)
    finally:
        _REQUEST.reset(token)


def _asks_free_busy(environ, method: str) -> bool:
    if method in ("GET", "HEAD"):
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return "freebusy" in (query.get("view") or [])
    if method != "REPORT":
        return False
    if content_length(environ) is None:
        return False
    body = read_body(environ, keep=True)  # Radicale reads it again
    if b"free-busy-query" not in body:
        return False
    try:
        return DefusedET.fromstring(body).tag == CALDAV + "free-busy-query"
    except Exception:
        return False


def _parts(path: str) -> List[str]:
    path = pathutils.sanitize_path(urllib.parse.unquote(path))
    return [p for p in path.strip("/").split("/") if p]


def _destination(environ) -> List[str]:
    target = urllib.parse.urlsplit(environ.get("HTTP_DESTINATION", "")).path
    prefix = (environ.get("SCRIPT_NAME") or "").rstrip("/")
    if prefix and target.startswith(prefix + "/"):
        target = target[len(prefix):]
    return _parts(target) if target else []


def _holds_hidden(instance, calendar_path: str, href: Optional[str]) -> bool:
    """Whether the item at ``href`` (None: any item of the calendar) is stored with a
    class that not everyone sees."""
    # The store's own principal: this only says whether the user's view must be asked.
    try:
        with instance.store.reading(calendar_path, store_mod.SYSTEM, store_mod.READ) \
                as calendar:
            if href is not None:
                item = calendar.by_href(href)
                return item is not None and privacy.rule_of(item.serialize()) is not None
            rows = calendar.ending_after(-2 ** 62, "%CLASS%")
    except store_mod.CalendarNotFound:
        return False
    return any(privacy.rule_of(text or "") is not None for _, text in rows)


def _acting_user(instance, environ) -> Optional[str]:
    user = environ.get(auth_plugin.ENVIRON_USER)
    if user:
        return user  # the CalDAV guard has verified the password
    if not environ.get("HTTP_AUTHORIZATION"):
        return ""
    return authenticated_user(instance.configuration, environ)


def write_refusal(instance, environ, method: str) -> Optional[Response]:
    """403 for a PUT, DELETE or MOVE that would change what the user can not see."""
    settings = instance.settings
    if settings.get(*privacy.SETTING) == privacy.SHOW:
        return None
    parts = _parts(environ.get("PATH_INFO", "/"))
    targets: List[Tuple[str, Optional[str]]] = []
    if len(parts) == 3:
        targets.append(("/%s/%s/" % (parts[0], parts[1]), parts[2]))
    elif len(parts) == 2 and method == "PUT":
        targets.append(("/%s/%s/" % (parts[0], parts[1]), None))  # the whole calendar
    if method == "MOVE":
        destination = _destination(environ)
        if len(destination) == 3:
            targets.append(("/%s/%s/" % (destination[0], destination[1]), destination[2]))
    # An item of a shared collection is the owner's item (sharing/paths.py).
    targets = [(shared_paths.owner_path(path), href) for path, href in targets]
    hidden = [path for path, href in targets if _holds_hidden(instance, path, href)]
    if not hidden:
        return None
    user = _acting_user(instance, environ)
    if user is None:
        return None  # wrong credentials: Radicale answers 401
    for path in hidden:
        if not privacy.view_for(settings, access_for(instance.configuration, user, path)).whole:
            logger.warning("CalDAV %s %s by %r refused: it changes an item in %s whose "
                           "class hides it from this user", method, "/".join(parts)[:200],
                           user or "(anonymous)", path)
            return FORBIDDEN
    return None
