"""Whose request Radicale is answering, for the storage plugin's reads.

Radicale reads items through the storage plugin and never says for whom. The
middleware (``caldav_privacy.through_radicale``) opens a `RadicaleRequest` around each
request it hands over; the rights plugin notes the user Radicale has authenticated in
it; and the storage plugin's reads (``storage/privacy.py``) ask `reading_view`. This
sits below the storage plugin and the rights plugin, which both need it.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Dict, Iterator, Optional

from radicale_wcap import privacy
from radicale_wcap.calid import normalize_path
from radicale_wcap.principals import access_for
from radicale_wcap.state import services


class RadicaleRequest:
    """One request that Radicale answers: for whom, and whether its reads are redacted."""

    def __init__(self, configuration, redacts: bool) -> None:
        self.configuration = configuration
        self.redacts = redacts
        self.user = ""
        self._views: Dict[str, privacy.View] = {}

    def view(self, collection_path: str) -> Optional[privacy.View]:
        """The user's view of a calendar, or None when its items go out as stored."""
        if not self.redacts:
            return None
        path = normalize_path(collection_path)
        found = self._views.get(path)
        if found is None:
            found = privacy.view_for(services(self.configuration).settings,
                                     access_for(self.configuration, self.user, path))
            self._views[path] = found
        return None if found.whole else found


_REQUEST: ContextVar[Optional[RadicaleRequest]] = ContextVar(
    "radicale_wcap_radicale_request", default=None)


def answering() -> Optional[RadicaleRequest]:
    """The request Radicale is answering in this context, or None: only then does a
    home show other users' calendars (``storage/sharing.py``); the store never sees
    them."""
    return _REQUEST.get()


def note_user(user: str) -> None:
    """Called by the rights plugin: the user Radicale has authenticated ("" anonymous)."""
    request = _REQUEST.get()
    if request is not None and request.user != (user or ""):
        request.user = user or ""
        request._views.clear()


def reading_view(collection) -> Optional[privacy.View]:
    """The view the items of ``collection`` go out in during this request (None: as
    stored; also outside a Radicale request, e.g. the project's own doors)."""
    request = _REQUEST.get()
    if request is None or not request.redacts:
        return None
    return request.view(collection.path)


@contextlib.contextmanager
def unredacted() -> Iterator[None]:
    """Stored items for the block, whatever the request (sync tokens, history)."""
    request = _REQUEST.get()
    if request is None or not request.redacts:
        yield
        return
    request.redacts = False
    try:
        yield
    finally:
        request.redacts = True
