"""``POST /api/ics`` (seed 002) over HTTP: the key, the reply, and ``store-in-calendar``.

The calendar file is rendered before anything is stored, so a failure can
not leave a stored event behind an error answer; the store write is the last
step and happens under the storage lock.
"""

from __future__ import annotations

import datetime as dt
import logging

from radicale_wcap import calid as calid_mod
from radicale_wcap.api import authn
from radicale_wcap.api.errors import IcsApiError
from radicale_wcap.api.ics_generator import (
    MAX_BODY_BYTES, RESPONSE_HEADERS, event_vcalendar, new_uid, parse_request, render_ics)
from radicale_wcap.api.reply import Reply
from radicale_wcap.api.representation import FIRST_DAY, LAST_DAY
from radicale_wcap.rights import access_for
from radicale_wcap.store import (WRITE, AccessDenied, CalendarNotFound, ItemRefused,
                                 prepare_item)

logger = logging.getLogger("radicale.wcap.api")


class IcsEndpoint:
    def __init__(self, instance) -> None:
        self.instance = instance

    def handle(self, request) -> Reply:
        if request.method != "POST":
            raise IcsApiError.of("METHOD_NOT_ALLOWED")
        key = request.header("x-api-key")
        if key is None or not key.strip():
            raise IcsApiError.of("API_KEY_MISSING")
        user = authn.api_key_user(self.instance, key)
        if user is None:
            raise IcsApiError.of("API_KEY_INVALID")
        req = parse_request(request.body, request.content_type, max_bytes=MAX_BODY_BYTES)
        strict = req.strict
        if strict is None:
            strict = bool(self.instance.settings.get("api", "ics_strict"))
        dtstamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        uid = new_uid(dtstamp)
        body = render_ics(req, strict=strict, uid=uid, dtstamp=dtstamp)
        if req.store_in_calendar:
            self._store(user, req, uid, dtstamp)
        logger.info("ICS generated for %r%s", user,
                    " and stored in %s" % req.store_in_calendar if req.store_in_calendar else "")
        return Reply(200, RESPONSE_HEADERS, body)

    def _store(self, user, req, uid, dtstamp) -> None:
        try:
            path = calid_mod.to_path(req.store_in_calendar)
        except calid_mod.InvalidCalid:
            raise IcsApiError.of("CALENDAR_INVALID") from None
        # No write right is E1722 whether or not the calendar exists, so a key
        # can not probe for other users' calendars.
        if not access_for(self.instance.configuration, user, path).permits("write"):
            raise IcsApiError.of("CALENDAR_FORBIDDEN")
        # The file may name any instant; a stored event must leave the index and every
        # renderer a day on each side (representation.FIRST_DAY, as for the CRUD door).
        for name, value in (("START_INVALID", req.start), ("END_INVALID", req.end)):
            if not FIRST_DAY <= value.date() <= LAST_DAY:
                raise IcsApiError.of(name, "Only events between %s and %s can be stored."
                                     % (FIRST_DAY, LAST_DAY))
        try:
            item = prepare_item(self.instance.configuration, path,
                                event_vcalendar(req, uid=uid, dtstamp=dtstamp))
        except ItemRefused as error:
            logger.warning("ICS event for %s refused by the store: %s", path, error)
            raise IcsApiError.of("INTERNAL", "The event could not be stored.") from None
        try:
            with self.instance.store.writing(path, user, WRITE, label="API ics") as calendar:
                calendar.put(item)
        except CalendarNotFound:
            raise IcsApiError.of("CALENDAR_NOT_FOUND") from None
        except AccessDenied:
            raise IcsApiError.of("CALENDAR_FORBIDDEN") from None
