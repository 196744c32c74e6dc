"""Event CRUD (seed 003) over the store: ``/restapi/v1/events[/<event>]``.

``<event>`` is the ledger's stable ``cal_item_id`` or ``itemguid=<UID>``.
Visibility: a user with no right at all on an event's calendar gets 404, as
if the event did not exist (ids are sequential and would otherwise reveal
other users' events); a user who can see the calendar but lacks the right
for the operation gets 403.

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
from typing import Iterator, NamedTuple

from radicale_wcap import calid as calid_mod
from radicale_wcap import privacy
from radicale_wcap import store as store_mod
from radicale_wcap.api.errors import RestApiError
from radicale_wcap.api.julian import parse_api_date
from radicale_wcap.api.reply import Reply, json_reply
from radicale_wcap.api.representation import (
    NoOccurrence, ValidationError, event_to_json, fork_occurrence, json_to_vcalendar,
    version_matches)
from radicale_wcap.rights import access_for
from radicale_wcap.store import (READ, WRITE, AccessDenied, CalendarNotFound, Changed,
                                 ItemRefused, StoreError, prepare_item)

logger = logging.getLogger("radicale.wcap.api")

ROUTE = re.compile(r"^/restapi/v1/events(?:/(?P<event>[^/]+))?/?\Z")
ITEMGUID = "itemguid="
COLLECTION_METHODS = ("GET", "POST")
EVENT_METHODS = ("GET", "PUT", "POST", "DELETE")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_FAR_FUTURE = 253402300799  # 9999-12-31T23:59:59Z


class Located(NamedTuple):
    path: str
    uid: str


class EventsEndpoint:
    def __init__(self, instance) -> None:
        self.instance = instance
        self.store = instance.store

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
    def _access(self, user, path):
        return access_for(self.instance.configuration, user, path)

    @staticmethod
    def _visible(access) -> bool:
        return bool(access.radicale_letters().replace("l", ""))

    def _authorize(self, user: str, path: str, operation: str) -> None:
        access = self._access(user, path)
        if not self._visible(access):
            raise RestApiError("NOT_FOUND")
        if not access.permits(operation):
            raise RestApiError("FORBIDDEN")

    def _locate(self, request, ref: str) -> Located:
        if ref.isdigit() and len(ref) <= 18:
            found = self.instance.ledger.by_item_id(int(ref))
            if found is None:
                raise RestApiError("NOT_FOUND")
            return Located(calid_mod.normalize_path(found[0]), found[1])
        if ref.startswith(ITEMGUID) and len(ref) > len(ITEMGUID):
            return self._find_uid(request, ref[len(ITEMGUID):])
        raise RestApiError("BAD_REQUEST", "The event is a cal_item_id or itemguid=<UID>.")

    def _find_uid(self, request, uid: str) -> Located:
        """The one calendar the user can see that holds ``uid``."""
        calendar = request.param("calendar")
        if calendar is not None:
            paths = [self._calendar_path(calendar)]
        else:
            paths = self.store.calendars_on_disk()
        found = self.store.holding(
            uid, [p for p in paths if self._visible(self._access(request.user, p))])
        if not found:
            raise RestApiError("NOT_FOUND")
        if len(found) > 1:
            raise RestApiError("BAD_REQUEST", "itemguid is in several calendars (%s); name one "
                               "with ?calendar=<calid>." % ", ".join(
                                   calid_mod.from_path(p) or p for p in found))
        return Located(found[0], uid)

    @staticmethod
    def _calendar_path(calendar) -> str:
        try:
            return calid_mod.to_path(calendar)
        except calid_mod.InvalidCalid:
            raise RestApiError("BAD_REQUEST", "calendar is not a calendar id.") from None

    def _default_tz(self, user: str, path: str) -> str:
        record = self.instance.registry.get(path)
        if record is not None and record.setting("tzid"):
            return record.setting("tzid")
        found = self.instance.directory.get(user)
        return (found.tz if found is not None else None) or "UTC"

    @staticmethod
    def _check_change(view: privacy.View, user: str, path: str, stored) -> None:
        """Refuse a change to an event the user does not see whole."""
        if view.whole:
            return
        text = stored.serialize()
        if view.text(text) is None:
            raise RestApiError("NOT_FOUND")
        if not view.may_change(text):
            logger.info("API: %r may not change %s in %s: private or confidential",
                        user, stored.uid, path)
            raise RestApiError("FORBIDDEN")

    def _event_json(self, path: str, item) -> dict:
        return event_to_json(item.vobject_item,
                             cal_item_id=self.instance.ledger.item_id(path, item.uid),
                             calendar=calid_mod.from_path(path) or path, etag=item.etag)

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
    def _body(request, invalid: str) -> dict:
        data = request.json()
        if not isinstance(data, dict):
            raise RestApiError(invalid, "The body must be a JSON object (an event).")
        return data

    # ----------------------------------------------------------- methods --
    def list(self, request) -> Reply:
        start, end = self._range(request)
        calendar = request.param("calendar")
        if calendar is not None:
            path = self._calendar_path(calendar)
            access = self._access(request.user, path)
            if not access.permits("read"):
                raise RestApiError("FORBIDDEN")
            paths = [path]
        else:
            paths = [p for p in self.store.calendars_on_disk()
                     if "r" in self._access(request.user, p).radicale_letters()]
        events = []
        for path in paths:
            try:
                with _refusals(missing=("NOT_FOUND", "No such calendar.")), \
                        self.store.reading(path, request.user, READ) as handle:
                    items = handle.items("VEVENT") if start is None \
                        else handle.in_range(start, end, "VEVENT")
                    view = handle.view
            except RestApiError:
                if calendar is not None:
                    raise
                continue  # gone, or no longer readable, since it was listed
            for item in [seen for seen in map(view.item, items) if seen is not None]:
                try:
                    events.append(self._event_json(path, item))
                except ValidationError as error:
                    logger.warning("API list: %s in %s skipped: %s", item.uid, path, error)
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
        located = self._locate(request, ref)
        self._authorize(request.user, located.path, "read")
        stored, view = self._read(request.user, located, READ)
        item = view.item(stored)
        if item is None:
            raise RestApiError("NOT_FOUND")
        return self._event_reply(200, located.path, item)

    def create(self, request) -> Reply:
        data = self._body(request, "CREATE_INVALID")
        calendar = data.get("calendar") or request.user
        if not isinstance(calendar, str):
            raise RestApiError("CREATE_INVALID", "calendar must be a calendar id.")
        try:
            path = calid_mod.to_path(calendar)
        except calid_mod.InvalidCalid:
            raise RestApiError("CREATE_INVALID", "calendar is not a calendar id.") from None
        # 403 whether or not the calendar exists: the spec's answer, and no probe.
        if not self._access(request.user, path).permits("write"):
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
        location = "/restapi/v1/events/%d" % self.instance.ledger.item_id(path, stored.uid)
        return reply._replace(headers=reply.headers + (("Location", location),))

    def update(self, request, ref: str) -> Reply:
        located = self._locate(request, ref)
        self._authorize(request.user, located.path, "write")
        data = self._body(request, "UPDATE_INVALID")
        base, view = self._read(request.user, located, WRITE)
        self._check_change(view, request.user, located.path, base)
        client_version = request.header("If-Match") or data.get("version")
        if client_version is not None and not isinstance(client_version, str):
            raise RestApiError("UPDATE_INVALID", "version must be a string.")
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
        located = self._locate(request, ref)
        self._authorize(request.user, located.path, "delete")
        if_match = request.header("If-Match")
        with _refusals(), self.store.writing(located.path, request.user, store_mod.DELETE,
                                             label="API delete") as handle:
            current = handle.by_uid(located.uid)
            if current is None or current.component_name != "VEVENT":
                raise RestApiError("NOT_FOUND")
            self._check_change(handle.view, request.user, located.path, current)
            if if_match and not version_matches(if_match, current.etag):
                # Seed 003: a DELETE that fails otherwise is 200 with error 1.
                raise RestApiError("DELETE_FAILED",
                                   "The event was changed since it was read; not deleted.")
            handle.delete(located.uid)
        logger.info("API: %r deleted %s in %s", request.user, located.uid, located.path)
        return Reply(204, (), b"")

    def fork(self, request, ref: str) -> Reply:
        data = request.json() or {}
        if not isinstance(data, dict):
            raise RestApiError("FORK_INVALID")
        fork = request.param("fork") or data.get("fork")
        starting_date = request.param("starting_date") or data.get("starting_date")
        if str(fork) != "1" or starting_date is None:
            raise RestApiError("FORK_INVALID")
        try:
            day = parse_api_date(starting_date)
        except ValueError:
            raise RestApiError("FORK_INVALID", "starting_date is not a date (yyyy-mm-dd).") from None
        located = self._locate(request, ref)
        self._authorize(request.user, located.path, "write")
        new_uid = str(uuid.uuid4())
        # The clone and the shortened series are one batch of the store: both or neither.
        with _refusals(), self.store.writing(located.path, request.user, WRITE,
                                             label="API fork") as handle:
            current = handle.by_uid(located.uid)
            if current is None or current.component_name != "VEVENT":
                raise RestApiError("NOT_FOUND")
            view = handle.view
            self._check_change(view, request.user, located.path, current)
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
        cal_item_id = self.instance.ledger.item_id(located.path, new_uid)
        logger.info("API: %r forked %s on %s into %s", request.user, located.uid, day, new_uid)
        stored_clone = view.item(stored_clone) or stored_clone
        return json_reply(201, {"error": 0, "message": None, "cal_item_id": cal_item_id,
                                "event": self._event_json(located.path, stored_clone)},
                          (("ETag", stored_clone.etag),
                           ("Location", "/restapi/v1/events/%d" % cal_item_id)))


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
