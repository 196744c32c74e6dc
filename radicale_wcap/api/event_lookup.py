"""Which event a ``/restapi/v1/events/<event>`` request names, and who may know of it.

``<event>`` is the ledger's stable ``cal_item_id`` or ``itemguid=<UID>``. A user with
no right at all on an event's calendar gets 404, as if the event did not exist (ids
are sequential and would otherwise reveal other users' events); a user who can see
the calendar but lacks the right for the operation gets 403.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from radicale_wcap import calid as calid_mod
from radicale_wcap import privacy
from radicale_wcap.api.errors import RestApiError
from radicale_wcap.lru import LRU
from radicale_wcap.rights import access_for

logger = logging.getLogger("radicale.wcap.api")

ITEMGUID = "itemguid="
# (calendar path, UID) -> cal_item_id. The ledger never gives a pair another id, so
# the ids a list shows are looked up once per process, not once per event and request.
ITEM_IDS_KEPT = 100_000


class Located(NamedTuple):
    path: str
    uid: str


class EventLookup:
    def __init__(self, instance) -> None:
        self.instance = instance
        self.store = instance.store
        self._item_ids = LRU(ITEM_IDS_KEPT)

    def access(self, user, path):
        return access_for(self.instance.configuration, user, path)

    @staticmethod
    def visible(access) -> bool:
        return bool(access.radicale_letters().replace("l", ""))

    def authorize(self, user: str, path: str, operation: str) -> None:
        access = self.access(user, path)
        if not self.visible(access):
            raise RestApiError("NOT_FOUND")
        if not access.permits(operation):
            raise RestApiError("FORBIDDEN")

    def locate(self, request, ref: str) -> Located:
        if ref.isdigit() and len(ref) <= 18:
            found = self.instance.ledger.by_item_id(int(ref))
            if found is None:
                raise RestApiError("NOT_FOUND")
            return Located(calid_mod.normalize_path(found[0]), found[1])
        if ref.startswith(ITEMGUID) and len(ref) > len(ITEMGUID):
            return self._find_uid(request, ref[len(ITEMGUID):])
        raise RestApiError("BAD_REQUEST", "The event is a cal_item_id or itemguid=<UID>.")

    def item_id(self, path: str, uid: str) -> int:
        found = self._item_ids.get((path, uid))
        if found is None:
            # Assigns an id to an event written through another door (see ledger.py).
            found = self.instance.ledger.item_id(path, uid)
            self._item_ids.put((path, uid), found)
        return found

    def _find_uid(self, request, uid: str) -> Located:
        """The one calendar the user can see that holds ``uid``."""
        calendar = request.param("calendar")
        if calendar is not None:
            paths = [calendar_path(calendar)]
        else:
            paths = self.store.calendars_on_disk()
        found = self.store.holding(
            uid, [p for p in paths if self.visible(self.access(request.user, p))])
        if not found:
            raise RestApiError("NOT_FOUND")
        if len(found) > 1:
            raise RestApiError("BAD_REQUEST", "itemguid is in several calendars (%s); name one "
                               "with ?calendar=<calid>." % ", ".join(
                                   calid_mod.from_path(p) or p for p in found))
        return Located(found[0], uid)


def calendar_path(calendar) -> str:
    try:
        return calid_mod.to_path(calendar)
    except calid_mod.InvalidCalid:
        raise RestApiError("BAD_REQUEST", "calendar is not a calendar id.") from None


def check_change(view: privacy.View, user: str, path: str, stored) -> None:
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
