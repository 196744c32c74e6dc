"""Event CRUD (seed 003) over the store: ``/restapi/v1/events[/<event>]``.

Which event ``<event>`` names and who may know of it: ``event_lookup.py``.

Lost updates: a PUT merges the body into the item it read, then re-checks
the ETag and writes under one storage write lock; if the item changed in
between (or the client's If-Match / ``version`` is stale) the answer is 409.

Private and confidential events (``privacy.py``): every answer carries the
user's view of the event (redacted, with the ETag of that text; an event the
``hide`` mode leaves out is 404), and a user who does not see an event whole
may not update, fork or delete it (403).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import uuid
from typing import Iterator, Optional

from radicale import item as radicale_item

from radicale_wcap import calid as calid_mod
from radicale_wcap import store as store_mod
from radicale_wcap.api.errors import RestApiError
from radicale_wcap.api.event_ical import json_to_vcalendar
from radicale_wcap.api.event_json import dressed, stored_fields
from radicale_wcap.api.event_lookup import EventLookup, Located, calendar_path, check_change
from radicale_wcap.api.fork import fork_occurrence
from radicale_wcap.api.julian import parse_api_date
from radicale_wcap.api.reply import Reply, json_reply
from radicale_wcap.api.representation import NoOccurrence, ValidationError, version_matches
from radicale_wcap.api.validation import BodyInvalid, check
from radicale_wcap.store import (READ, WRITE, AccessDenied, CalendarNotFound, Changed,
                                 ItemRefused, StoreError, prepare_item)

logger = logging.getLogger("radicale.wcap.api")

ROUTE = re.compile(r"^/restapi/v1/events(?:/(?P<event>[^/]+))?/?\Z")
COLLECTION_METHODS = ("GET", "POST")
EVENT_METHODS = ("GET", "PUT", "POST", "DELETE")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_FAR_FUTURE = 253402300799  # 9999-12-31T23:59:59Z


class EventsEndpoint:
    def __init__(self, instance) -> None:
        self.instance = instance
        self.store = instance.store
        self.lookup = EventLookup(instance)

    def handle(self, request) -> Reply:
        match = ROUTE.match(request.path)
        if match is None:
            raise RestApiError("NOT_FOUND", "No such resource.")
        event = match.group("event")
        allowed = COLLECTION_METHODS if event is None else EVENT_METHODS
        if request.method not in allowed:
            raise MethodNotAllowed(allowed)
        if event is None:
            return self.list(request) if request.method == "GET" else self.create(request)
        return {"GET": self.get, "PUT": self.update, "POST": self.fork,
                "DELETE": self.delete}[request.method](request, event)

    # ------------------------------------------------------------ helpers --
    def _default_tz(self, user: str, path: str) -> str:
        record = self.instance.registry.get(path)
        if record is not None and record.setting("tzid"):
            return record.setting("tzid")
        found = self.instance.directory.get(user)
        return (found.tz if found is not None else None) or "UTC"

    def _event_json(self, path: str, item, shown: Optional[tuple] = None,
                    calendar: Optional[str] = None) -> dict:
        """``item`` as JSON; ``shown`` is (ETag, text) of the user's view when that is
        not the item's own, ``calendar`` the calid of ``path`` when the caller has it."""
        etag, text = shown or (item.etag, item.serialize())
        fields = stored_fields(text, etag)
        uid = getattr(item, "uid", None) or fields["itemguid"]  # texts from the index have none
        return dressed(fields, cal_item_id=self.lookup.item_id(path, uid),
                       calendar=calendar or calid_mod.from_path(path) or path, etag=etag)

    def _read(self, user: str, located: Located, purpose: store_mod.Purpose):
        """The stored event and the user's view of the calendar's items."""
        with _refusals():
            with self.store.reading(located.path, user, purpose) as calendar:
                item = calendar.by_uid(located.uid)
                view = calendar.view
        if item is None or item.component_name != "VEVENT":
            raise RestApiError("NOT_FOUND")
        return item, view

    def _event_reply(self, status: int, path: str, item, extra: tuple = ()) -> Reply:
        return json_reply(status, self._event_json(path, item),
                          (("ETag", item.etag),) + tuple(extra))

    @staticmethod
    def _body(request, schema: str, invalid: str):
        """The body, once it satisfies openapi.json's ``schema`` (else ``invalid``)."""
        data = request.json()
        try:
            check(schema, data)
        except BodyInvalid as error:
            raise RestApiError(invalid, error.message) from None
        return data

    # ----------------------------------------------------------- methods --
    def list(self, request) -> Reply:
        start, end = self._range(request)
        calendar = request.param("calendar")
        if calendar is not None:
            path = calendar_path(calendar)
            access = self.lookup.access(request.user, path)
            if not access.permits("read"):
                raise RestApiError("FORBIDDEN")
            paths = [path]
        else:
            paths = [p for p in self.store.calendars_on_disk()
                     if "r" in self.lookup.access(request.user, p).radicale_letters()]
        events = []
        for path in paths:
            try:
                with _refusals(missing=("NOT_FOUND", "No such calendar.")), \
                        self.store.reading(path, request.user, READ) as handle:
                    # Texts from the index: no item file is opened, and an event this
                    # process has shown before is not parsed again (event_json.py).
                    items = handle.items("VEVENT", texts=True) if start is None \
                        else handle.in_range(start, end, "VEVENT", texts=True)
                    view = handle.view
            except RestApiError:
                if calendar is not None:
                    raise
                continue  # gone, or no longer readable, since it was listed
            name = calid_mod.from_path(path) or path
            for item in items:
                shown = _shown(view, item)
                if shown is None:
                    continue
                try:
                    events.append(self._event_json(path, item, shown, name))
                except ValidationError as error:
                    logger.warning("API list: %s in %s skipped: %s", item.href, path, error)
        events.sort(key=lambda e: (e["starting_date"], e["starting_time"] or "", e["cal_item_id"]))
        return json_reply(200, {"events": events})

    @staticmethod
    def _range(request):
        """``from``/``to`` (inclusive days, UTC) as timestamps; (None, None) for all."""
        days = {}
        for name in ("from", "to"):
            value = request.param(name)
            if value is None:
                continue
            try:
                days[name] = parse_api_date(value)
            except ValueError:
                raise RestApiError("BAD_REQUEST", "%s is not a date (yyyy-mm-dd)." % name) from None
        if not days:
            return None, None
        if "from" in days and "to" in days and days["to"] < days["from"]:
            raise RestApiError("BAD_REQUEST", "to is before from.")
        start = _day_start(days["from"]) if "from" in days else 0
        # The end of "to" in seconds: to=9999-12-31 has no next day as a date (a 500 once).
        end = _day_start(days["to"]) + 86400 if "to" in days else _FAR_FUTURE
        return start, end

    def get(self, request, ref: str) -> Reply:
        located = self.lookup.locate(request, ref)
        self.lookup.authorize(request.user, located.path, "read")
        stored, view = self._read(request.user, located, READ)
        item = view.item(stored)
        if item is None:
            raise RestApiError("NOT_FOUND")
        return self._event_reply(200, located.path, item)

    def create(self, request) -> Reply:
        data = self._body(request, "NewEvent", "CREATE_INVALID")
        calendar = data.get("calendar") or request.user
        try:
            path = calid_mod.to_path(calendar)
        except calid_mod.InvalidCalid:
            raise RestApiError("CREATE_INVALID", "calendar is not a calendar id.") from None
        # 403 whether or not the calendar exists: the spec's answer, and no probe.
        if not self.lookup.access(request.user, path).permits("write"):
            raise RestApiError("FORBIDDEN")
        try:
            vcalendar = json_to_vcalendar(data, existing=None,
                                          default_tz=self._default_tz(request.user, path))
            item = prepare_item(self.instance.configuration, path, vcalendar)
        except (ValidationError, ItemRefused) as error:
            raise RestApiError("CREATE_INVALID", getattr(error, "message", str(error))) from None
        try:
            with _refusals(missing=("CREATE_INVALID", "No such calendar.")), \
                    self.store.writing(path, request.user, WRITE, label="API create") as handle:
                if handle.by_uid(item.uid) is not None:
                    raise RestApiError("CREATE_INVALID",
                                       "itemguid is already used in that calendar.")
                write = handle.put(item)
                view = handle.view
        except StoreError as error:
            logger.warning("API create in %s failed: %s", path, error)
            raise RestApiError("CREATE_FAILED") from None
        stored = write.result
        logger.info("API: %r created %s in %s", request.user, stored.uid, path)
        reply = self._event_reply(201, path, view.item(stored) or stored)
        location = "/restapi/v1/events/%d" % self.lookup.item_id(path, stored.uid)
        return reply._replace(headers=reply.headers + (("Location", location),))

    def update(self, request, ref: str) -> Reply:
        located = self.lookup.locate(request, ref)
        self.lookup.authorize(request.user, located.path, "write")
        data = self._body(request, "Event", "UPDATE_INVALID")
        base, view = self._read(request.user, located, WRITE)
        check_change(view, request.user, located.path, base)
        client_version = request.header("If-Match") or data.get("version")
        if client_version and not version_matches(client_version, base.etag):
            raise RestApiError("CONFLICT")
        try:
            vcalendar = json_to_vcalendar(data, existing=base.vobject_item,
                                          default_tz=self._default_tz(request.user,
                                                                      located.path))
            item = prepare_item(self.instance.configuration, located.path, vcalendar)
        except (ValidationError, ItemRefused) as error:
            raise RestApiError("UPDATE_INVALID", getattr(error, "message", str(error))) from None
        if item.uid != located.uid:
            raise RestApiError("UPDATE_INVALID", "itemguid cannot change.")
        with _refusals(), self.store.writing(located.path, request.user, WRITE,
                                             label="API update") as handle:
            if handle.etag(located.uid) is None:
                raise RestApiError("NOT_FOUND")
            try:
                # The merge above started from ``base``; anything newer would be lost.
                write = handle.put(item, if_etag=base.etag)
            except Changed:
                raise RestApiError("CONFLICT") from None
        stored = write.result
        logger.info("API: %r updated %s in %s", request.user, located.uid, located.path)
        return self._event_reply(200, located.path, view.item(stored) or stored)

    def delete(self, request, ref: str) -> Reply:
        located = self.lookup.locate(request, ref)
        self.lookup.authorize(request.user, located.path, "delete")
        if_match = request.header("If-Match")
        with _refusals(), self.store.writing(located.path, request.user, store_mod.DELETE,
                                             label="API delete") as handle:
            current = handle.by_uid(located.uid)
            if current is None or current.component_name != "VEVENT":
                raise RestApiError("NOT_FOUND")
            check_change(handle.view, request.user, located.path, current)
            if if_match and not version_matches(if_match, current.etag):
                # Seed 003: a DELETE that fails otherwise is 200 with error 1.
                raise RestApiError("DELETE_FAILED",
                                   "The event was changed since it was read; not deleted.")
            handle.delete(located.uid)
        logger.info("API: %r deleted %s in %s", request.user, located.uid, located.path)
        return Reply(204, (), b"")

    def fork(self, request, ref: str) -> Reply:
        data = self._body(request, "ForkRequest", "FORK_INVALID") or {}
        fork = request.param("fork") or data.get("fork")
        starting_date = request.param("starting_date") or data.get("starting_date")
        if str(fork) != "1" or starting_date is None:
            raise RestApiError("FORK_INVALID")
        try:
            day = parse_api_date(starting_date)
        except ValueError:
            raise RestApiError("FORK_INVALID", "starting_date is not a date (yyyy-mm-dd).") from None
        located = self.lookup.locate(request, ref)
        self.lookup.authorize(request.user, located.path, "write")
        new_uid = str(uuid.uuid4())
        # The clone and the shortened series are one batch of the store: both or neither.
        with _refusals(), self.store.writing(located.path, request.user, WRITE,
                                             label="API fork") as handle:
            current = handle.by_uid(located.uid)
            if current is None or current.component_name != "VEVENT":
                raise RestApiError("NOT_FOUND")
            view = handle.view
            check_change(view, request.user, located.path, current)
            try:
                series, clone = fork_occurrence(current.vobject_item, day, new_uid=new_uid)
                series_item = prepare_item(self.instance.configuration, located.path, series)
                clone_item = prepare_item(self.instance.configuration, located.path, clone)
            except NoOccurrence as error:
                raise RestApiError("FORK_NO_OCCURRENCE", error.message) from None
            except (ValidationError, ItemRefused) as error:
                raise RestApiError("FORK_INVALID", getattr(error, "message", str(error))) from None
            clone_write = handle.put(clone_item)
            handle.put(series_item)
        stored_clone = clone_write.result
        cal_item_id = self.lookup.item_id(located.path, new_uid)
        logger.info("API: %r forked %s on %s into %s", request.user, located.uid, day, new_uid)
        stored_clone = view.item(stored_clone) or stored_clone
        return json_reply(201, {"error": 0, "message": None, "cal_item_id": cal_item_id,
                                "event": self._event_json(located.path, stored_clone)},
                          (("ETag", stored_clone.etag),
                           ("Location", "/restapi/v1/events/%d" % cal_item_id)))


def _shown(view, item) -> Optional[tuple]:
    """(ETag, text) of ``item`` as ``view`` shows it, None when it hides it."""
    text = item.serialize()
    if view.whole:
        return item.etag, text
    seen = view.text(text)
    if seen is None:
        return None
    return (item.etag, text) if seen is text else (radicale_item.get_etag(seen), seen)


def _day_start(day: dt.date) -> int:
    return int((dt.datetime.combine(day, dt.time(), dt.timezone.utc) - _EPOCH).total_seconds())


@contextlib.contextmanager
def _refusals(missing=("NOT_FOUND",)) -> Iterator[None]:
    """The store's refusals as this door's answers (the door asks first, so these are
    races with a change of the ACL or a deleted calendar)."""
    try:
        yield
    except AccessDenied:
        raise RestApiError("FORBIDDEN") from None
    except CalendarNotFound:
        raise RestApiError(*missing) from None


class MethodNotAllowed(RestApiError):
    def __init__(self, allowed) -> None:
        super().__init__("METHOD_NOT_ALLOWED")
        self.allowed = tuple(allowed)
