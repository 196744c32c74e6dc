"""The Trumba-style door: ``PUT`` and ``GET /service/<webname>.ics`` (issue 6).

Trumba help, "Programmatically upload iCal files": a connector PUTs one
iCalendar file with HTTP Basic authentication to the calendar's web name, and
gets an XML ``Response`` (report.py).  ``/service/calendar.<number>.ics`` is
the older numeric form (the registry's ``number``); web names can not hold a
dot, so the two never collide.  GET of the same URL is the calendar as a
subscription feed, private and confidential events as the subscriber's view of
them (``privacy.py``).

Nothing from the URL becomes a path: the web name or number is looked up in
the registry, which gives the collection path.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Dict, List, Optional, Tuple

from radicale_wcap import auth
from radicale_wcap import store as store_mod
from radicale_wcap import timezones
from radicale_wcap.db import is_disk_full
from radicale_wcap.http import (basic_credentials, content_length, read_body, respond,
                                status_line)
from radicale_wcap.ops.access import note
from radicale_wcap.trumba import apply as apply_mod
from radicale_wcap.trumba import subscription
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.feed import FeedError, parse_feed
from radicale_wcap.trumba.origins import Origins
from radicale_wcap.trumba.report import (Message, http_status, render_response,
                                         render_server_error)

logger = logging.getLogger("radicale.wcap.trumba.door")

PREFIX = "/service/"
SUFFIX = ".ics"
NUMERIC = re.compile(r"calendar\.([0-9]{1,12})\Z")
# The brief asks for text/xml (report.CONTENT_TYPE says application/xml).
XML_TYPE = "text/xml; charset=utf-8"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
CHALLENGE = ("WWW-Authenticate", 'Basic realm="Calendar feed import", charset="UTF-8"')
_DELTA = {"true": True, "false": False, "": False}


class _Refusal(Exception):
    """An HTTP-level refusal (401/403/404/405/400) before the feed is looked at."""

    def __init__(self, status: int, detail: str, challenge: bool = False) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.challenge = challenge


class TrumbaDoor:
    def __init__(self, instance) -> None:
        self.instance = instance
        self.max_body_size = instance.settings.get("feeds", "max_body_size")

    def matches(self, path: str) -> bool:
        return path.startswith(PREFIX)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        try:
            if method == "PUT":
                return self._put(environ, start_response, path)
            if method in ("GET", "HEAD"):
                return self._get(environ, start_response, path, method == "HEAD")
            raise _Refusal(405, "only PUT (import) and GET (subscribe) are served here")
        except _Refusal as refusal:
            logger.info("Feed %s %s refused (%d): %s", method, path, refusal.status,
                        refusal.detail)
            headers = [CHALLENGE] if refusal.challenge else []
            if refusal.status == 405:
                headers.append(("Allow", "GET, HEAD, PUT"))
            return self._xml(start_response, refusal.status,
                             [Message(Code.SINGLE_VCALENDAR, detail=refusal.detail)], headers)
        except Exception as e:
            if is_disk_full(e):
                logger.error("Feed %s %s refused, no space left: %s", method, path, e)
                status, detail = 507, "insufficient storage"
            else:
                logger.exception("Feed %s %s failed", method, path)
                status, detail = 500, "internal error"
            return respond(start_response, status_line(status), [("Content-Type", XML_TYPE)],
                           render_server_error(status, detail + "; nothing was imported, the "
                                               "calendar is as it was before this request"))

    # -- the pieces
    def _xml(self, start_response, status: int, messages: List[Message], headers=()):
        return respond(start_response, status_line(status),
                       [("Content-Type", XML_TYPE), *headers], render_response(messages))

    def _calendar(self, path: str):
        name = path[len(PREFIX):]
        if not name.endswith(SUFFIX):
            raise _Refusal(404, "feed URLs are /service/<web name>.ics")
        name = name[:-len(SUFFIX)]
        numeric = NUMERIC.match(name)
        registry = self.instance.registry
        record = (registry.get_by_number(int(numeric.group(1))) if numeric
                  else registry.get_by_webname(name))
        if record is None:
            raise _Refusal(404, "no calendar is published under this name")
        return record

    def _login(self, environ) -> Optional[str]:
        """The verified user, None without credentials; wrong ones are a 401."""
        credentials = basic_credentials(environ)
        if credentials is None:
            return None
        login, password = credentials
        if not auth.verify(self.instance.configuration, login, password):
            raise _Refusal(401, "wrong user name or password", challenge=True)
        return login

    def _calendar_tzid(self, record) -> str:
        """Floating times take the calendar's zone, else the owner's, else UTC."""
        candidates = [record.setting("tzid")]
        owner = self.instance.directory.get(record.owner)
        if owner is not None:
            candidates.append(owner.tz)
        return next((tz for tz in candidates if tz and timezones.is_valid_tzid(tz)), "UTC")

    # -- GET: the calendar as a subscription feed
    def _get(self, environ, start_response, path: str, head: bool):
        record = self._calendar(path)
        user = self._login(environ) or ""
        note(environ, user=user, calid=record.calid)
        try:
            with self.instance.store.reading(record.path, user, store_mod.READ) as handle:
                view = handle.view
                items = [item for item in map(view.item, handle.items("VEVENT"))
                         if item is not None]
        except store_mod.AccessDenied:
            if not user:
                raise _Refusal(401, "this calendar is not public; log in", challenge=True)
            raise _Refusal(403, "%s may not read this calendar" % user)
        except store_mod.CalendarNotFound:
            raise _Refusal(404, "no calendar is published under this name")
        body = subscription.render(items).encode("utf-8")
        headers = [("Content-Type", CALENDAR_TYPE)]
        if head:
            start_response("200 OK", headers + [("Content-Length", str(len(body)))])
            return [b""]
        return respond(start_response, "200 OK", headers, body)

    # -- PUT: import
    def _put(self, environ, start_response, path: str):
        user = self._login(environ)
        if user is None:
            raise _Refusal(401, "the import needs HTTP Basic authentication", challenge=True)
        record = self._calendar(path)
        note(environ, user=user, calid=record.calid)
        try:
            self.instance.store.check(record.path, user, store_mod.FEED)
        except store_mod.AccessDenied:
            raise _Refusal(403, "%s may not write and delete in this calendar" % user)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        delta_text = (query.get("delta") or [""])[-1].strip().lower()
        if delta_text not in _DELTA:
            raise _Refusal(400, "delta must be true or false")
        body = _read_body(environ)
        settings = self.instance.settings
        feed_name = record.webname or "calendar.%d" % record.number
        known = {origin.fingerprint for origin in
                 Origins(self.instance.services.db).of_calendar(record.path).values()}
        try:
            feed = parse_feed(body, calendar_tzid=self._calendar_tzid(record),
                              max_events=settings.get("feeds", "max_events"),
                              max_bytes=settings.get("feeds", "max_body_size") or None,
                              known_fingerprints=known)
        except FeedError as e:
            logger.info("Feed %s from %s refused: %s", feed_name, user, e.detail)
            return self._xml(start_response, 400, [e.message])
        policy = apply_mod.Policy(
            delta=_DELTA[delta_text],
            deletes_own_only=bool(record.setting("feed_deletes_own_only")),
            max_delete_share=settings.get("feeds", "max_delete_share"),
            allow_mass_delete=bool(record.setting("feed_allow_mass_delete")))
        try:
            plan, applied = self._import(record.path, feed, policy, user, feed_name)
        except apply_mod.FeedRefused as e:
            logger.warning("Feed %s from %s refused: %s", feed_name, user, e)
            return self._xml(start_response, 400, [e.message])
        messages = apply_mod.messages_in_order(feed, plan, applied)
        counts = {code: sum(1 for m in applied if m.code == code) for code in
                  (Code.EVENT_ADDED, Code.EVENT_MODIFIED, Code.EVENT_DELETED)}
        logger.info("Feed %s into %s by %s (delta=%s): %d added, %d modified, %d deleted, "
                    "%d not imported", feed_name, record.calid, user, policy.delta,
                    counts[Code.EVENT_ADDED], counts[Code.EVENT_MODIFIED],
                    counts[Code.EVENT_DELETED], len(feed.rejected) + len(plan.messages))
        note(environ, feed={"added": counts[Code.EVENT_ADDED],
                            "modified": counts[Code.EVENT_MODIFIED],
                            "deleted": counts[Code.EVENT_DELETED],
                            "not_imported": len(feed.rejected) + len(plan.messages)})
        return self._xml(start_response, http_status(messages), messages)

    def _import(self, path: str, feed, policy, user: str, feed_name: str):
        """Validate outside the lock what probably needs writing, then decide and write
        under one storage write lock (another client sees the feed all or nothing)."""
        store = self.instance.store
        configuration = self.instance.configuration
        db = self.instance.services.db
        origins = Origins(db)
        prepared: Dict[str, Tuple[str, object]] = {}  # uid -> (fingerprint, item or error)
        try:
            if feed.method != "CANCEL":
                with store.reading(path, user, store_mod.FEED) as handle:
                    rows = handle.entries()
                known = origins.of_calendar(path)
                for event in feed.events:
                    if apply_mod.needs_write(event, rows, known):
                        prepared[event.uid] = (event.fingerprint,
                                               _prepare(configuration, path, event))
                del rows, known

            def prepare(event):
                fingerprint, result = prepared.get(event.uid, (None, None))
                if fingerprint != event.fingerprint:  # the calendar changed in between
                    result = _prepare(configuration, path, event)
                if isinstance(result, Exception):
                    raise result
                return result

            family = apply_mod.family_uids(store, self.instance.registry, path)
            with store.writing(path, user, store_mod.FEED, label="feed") as handle:
                plan = apply_mod.plan_feed(
                    feed, rows=handle.entries(), origins=origins.of_calendar(path),
                    family=family, policy=policy, prepare=prepare)
                prepared.clear()
                applied = apply_mod.apply_plan(handle, plan, feed_name=feed_name)
        except store_mod.CalendarNotFound:
            raise _Refusal(404, "the calendar of this web name is gone")
        except store_mod.AccessDenied:
            raise _Refusal(403, "%s may not write and delete in this calendar" % user)
        return plan, applied


def _prepare(configuration, path: str, event):
    """A validated item, or the refusal.  Only text and metadata are kept: 10,000 parsed
    vobject trees waiting for the lock cost far more memory than re-parsing the
    recurring ones (which the storage plugin and the index parse again anyway)."""
    try:
        return store_mod.lean(store_mod.prepare_item(configuration, path, event.ical), path)
    except store_mod.ItemRefused as e:
        return e


def _read_body(environ) -> bytes:
    # The middleware has already refused a Content-Length over [feeds] max_body_size.
    if content_length(environ) is None:
        raise _Refusal(400, "bad Content-Length")
    return read_body(environ)
