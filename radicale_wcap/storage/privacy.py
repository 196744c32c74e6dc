"""The storage plugin's share of the privacy rule (``privacy.py``).

Reads: during a request that Radicale answers, the public read methods hand out each
item as the requesting user's view shows it (``request_view.reading_view``); the
project's own doors read through `get_by_uid`/`get_hrefs`/the index and apply the
view themselves. `sync` reads stored items (see ``request_view``).

Writes: every write of every door ends in `upload`, `delete`, `move` or
`create_collection`, under the storage lock, whose ``acquire_lock`` names the user and
the request. An overwrite, move or delete of an item whose stored class the user may not
see is refused there (`privacy.OwnerOnly`: WCAP answers errno 47; CalDAV and the JSON
API have refused already). Writes made for someone else are not the user's own edits
and pass: scheduling delivers the organizer's update into an attendee's copy and an
attendee's reply into the organizer's, and a feed import writes what its source says
(the store's handles for those purposes say so: ``Writer.on_behalf``).

Mixed in before Radicale's classes (`guarded`), so that reads are redacted on the way
out of the plugin's own methods and writes checked before any of them runs.
"""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional

from radicale import item as radicale_item

from radicale_wcap import privacy, radicale_compat
from radicale_wcap.calid import normalize_path
from radicale_wcap.principals import access_for
from radicale_wcap.request_view import reading_view, unredacted
from radicale_wcap.state import services

logger = logging.getLogger("radicale.wcap.privacy")

@dataclass
class Writer:
    """Who holds the storage write lock, and for what. ``on_behalf``: the writes are
    made for someone else (the store's scheduling, reply and feed handles, the command
    line, the rollback of a batch), not as the user's own edits."""
    user: str
    request: str
    on_behalf: bool = False
    views: Dict[str, privacy.View] = field(default_factory=dict)


_WRITER: ContextVar[Optional[Writer]] = ContextVar("radicale_wcap_writer", default=None)


@contextlib.contextmanager
def acting(request: str, user: str = "", on_behalf: bool = False) -> Iterator[None]:
    """Writes made outside ``acquire_lock("w")`` (a batch, a recovery) name their
    writer here, so that the same check applies to them."""
    token = _WRITER.set(Writer(user or "", request or "", on_behalf))
    try:
        yield
    finally:
        _WRITER.reset(token)


def _writer_view(configuration, collection_path: str) -> Optional[privacy.View]:
    """The lock holder's view of a calendar, None when nothing is checked."""
    writer = _WRITER.get()
    if writer is None or writer.on_behalf:
        return None
    path = normalize_path(collection_path)
    view = writer.views.get(path)
    if view is None:
        view = privacy.view_for(services(configuration).settings,
                                access_for(configuration, writer.user, path))
        writer.views[path] = view
    return None if view.whole else view


def refuse_change(configuration, collection, href: Optional[str], stored=None) -> None:
    """Raise `privacy.OwnerOnly` if the lock holder may not change the item at ``href``."""
    if collection is None or not href:
        return
    view = _writer_view(configuration, collection.path)
    if view is None:
        return
    if stored is None:
        stored = radicale_compat.get_item(collection, href)
    if stored is not None and not view.may_change(stored.serialize()):
        writer = _WRITER.get()
        logger.warning("%s of %s%s by %r refused: its class hides it from this user",
                       writer.request or "write", normalize_path(collection.path), href,
                       writer.user or "(anonymous)")
        raise privacy.OwnerOnly("%s in %s is private or confidential"
                                % (href, normalize_path(collection.path)))


class StorageGuard:
    """Mixed into the plugin's Storage before ``multifilesystem.Storage``."""

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs) -> Iterator[None]:
        with super().acquire_lock(mode, user, *args, **kwargs):
            if mode != "w":
                yield
                return
            token = _WRITER.set(Writer(user or "", kwargs.get("request") or ""))
            try:
                yield
            finally:
                _WRITER.reset(token)

    def discover(self, path: str, depth: str = "0", *args, **kwargs):
        for found in super().discover(path, depth, *args, **kwargs):
            if isinstance(found, radicale_item.Item) and found.collection is not None:
                view = reading_view(found.collection)
                if view is not None:
                    found = view.item(found)
                    if found is None:
                        continue
            yield found

    def move(self, item, to_collection, to_href: str) -> None:
        refuse_change(self.configuration, item.collection, item.href, item)
        refuse_change(self.configuration, to_collection, to_href)
        super().move(item, to_collection, to_href)

    def create_collection(self, href: str, items=None, props=None):
        if items is not None:
            self._refuse_replacing(href)
        return super().create_collection(href, items, props)

    def _refuse_replacing(self, href: str) -> None:
        """A whole-calendar PUT drops every item that is not in the new body."""
        view = _writer_view(self.configuration, href)
        if view is None:
            return
        existing = next(iter(self.discover(href)), None)
        if existing is None or isinstance(existing, radicale_item.Item) or not existing.tag:
            return
        for stored in existing.get_all():
            if not view.may_change(stored.serialize()):
                raise privacy.OwnerOnly("%s holds private or confidential items"
                                        % normalize_path(existing.path))


class CollectionGuard:
    """Mixed into the plugin's Collection before it (see `guarded`)."""

    def get_multi(self, hrefs):
        view = reading_view(self)
        for href, item in super().get_multi(hrefs):
            yield href, (view.item(item) if view is not None else item)

    def get_all(self):
        view = reading_view(self)
        for item in super().get_all():
            if view is not None:
                item = view.item(item)
                if item is None:
                    continue
            yield item

    def get_filtered(self, filters):
        view = reading_view(self)
        for item, simple in super().get_filtered(filters):
            if view is not None:
                item = view.item(item)
                if item is None:
                    continue
            yield item, simple

    def sync(self, old_token: str = ""):
        with unredacted():
            return super().sync(old_token)

    def upload(self, href: str, item):
        refuse_change(self._services.configuration, self, href)
        return super().upload(href, item)

    def delete(self, href: Optional[str] = None) -> None:
        refuse_change(self._services.configuration, self, href)
        return super().delete(href)


def guarded(collection_class):
    """``collection_class`` with `CollectionGuard` in front of it."""
    return type(collection_class.__name__, (CollectionGuard, collection_class),
                {"__module__": collection_class.__module__,
                 "__qualname__": collection_class.__qualname__,
                 "__doc__": collection_class.__doc__})
