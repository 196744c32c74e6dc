"""Other users' calendars in a CalDAV home, for any of the project's storage classes.

`SharingStorage` is mixed in front of a storage plugin's Storage (the file plugin's in
``storage/__init__.py``; any other engine the same way). It changes what Radicale's
requests discover and nothing else:

* ``/jsmith/`` at depth 1 also lists the shares of jsmith's home
  (``sharing/shares.py``) as collections of their own;
* ``/jsmith/~jdoe/`` (and an item below it) resolves to a `SharedCollection`: the
  owner's collection, discovered through the rest of the plugin (its locks, its
  privacy view), shown at the shared path. Reads and writes are the owner's items, one
  copy; ETags, the sync token and its history are the owner's collection's, so a
  change is reported once on each path;
* a lock taken for a shared path locks the owner's calendar.

Who may do what there is decided by the rights plugin and the CalDAV guard, which map
the shared path to the owner's calendar; here a share that its home no longer lists
is simply not found. MOVE from or into a shared collection, and creating, replacing
or deleting one, are refused (the guard refuses them first, with 403).

Shares exist only while Radicale answers a request (``request_view.answering``): the
store, ``verify``, ``reindex`` and ``backup`` walk the homes through the same plugin
and must see each calendar once, at its owner's path.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from typing import Iterable, Iterator, Optional

from radicale import storage as radicale_storage

from radicale_wcap import request_view
from radicale_wcap.calid import normalize_path
from radicale_wcap.sharing import paths, shares, subscriptions
from radicale_wcap.state import services

logger = logging.getLogger("radicale.wcap.sharing")


class SharedCollection(radicale_storage.BaseCollection):
    """The owner's calendar ``inner`` at the subscriber's shared path."""

    def __init__(self, inner, share: shares.Share, own_props: dict) -> None:
        self._inner = inner
        self.share = share
        self._path = share.path.strip("/")
        self._own = dict(own_props)

    @property
    def path(self) -> str:
        return self._path

    @property
    def owner(self) -> str:
        # DAV:owner names the calendar's owner, as clients show "shared by".
        return self.share.owner

    @property
    def tag(self) -> str:
        return self._inner.tag

    @property
    def etag(self) -> str:
        if not self._own:
            return self._inner.etag
        digest = hashlib.sha256(self._inner.etag.encode())
        digest.update(json.dumps(self._own, sort_keys=True).encode())
        return '"%s"' % digest.hexdigest()

    @property
    def last_modified(self) -> str:
        return self._inner.last_modified

    def _rehome(self, item):
        """The owner's item as an item of this collection (hrefs under the shared
        path); a copy, the owner's collection may hand out the object again."""
        if item is None:
            return None
        shown = copy.copy(item)
        shown.collection = self
        return shown

    def sync(self, old_token: str = ""):
        return self._inner.sync(old_token)

    def get_multi(self, hrefs: Iterable[str]):
        for href, item in self._inner.get_multi(hrefs):
            yield href, self._rehome(item)

    def get_all(self):
        for item in self._inner.get_all():
            yield self._rehome(item)

    def get_filtered(self, filters):
        for item, simple in self._inner.get_filtered(filters):
            yield self._rehome(item), simple

    def has_uid(self, uid: str) -> bool:
        return self._inner.has_uid(uid)

    def upload(self, href: str, item):
        uploaded, replaced = self._inner.upload(href, item)
        return self._rehome(uploaded), self._rehome(replaced)

    def delete(self, href: Optional[str] = None) -> None:
        if href is None:
            raise ValueError("a shared calendar is deleted by its owner, not through %s"
                             % self.share.path)
        self._inner.delete(href)

    def get_meta(self, key: Optional[str] = None):
        meta = dict(self._inner.get_meta())
        meta.update(self._own)
        return meta if key is None else meta.get(key)

    def set_meta(self, props) -> None:
        # The CalDAV guard answers a PROPPATCH of a shared collection itself, into the
        # subscriber's own properties; the owner's are never written from here.
        raise ValueError("the properties of %s are the owner's" % self.share.path)


class SharingStorage:
    """Mixed in front of a storage plugin's Storage (before its privacy and lock
    mixins, so that what it discovers through them is the owner's calendar)."""

    def discover(self, path: str, depth: str = "0", *args, **kwargs) -> Iterator:
        if not request_view.answering():
            yield from super().discover(path, depth, *args, **kwargs)
            return
        if paths.in_shared_namespace(path):
            yield from self._discover_shared(path, depth, *args, **kwargs)
            return
        parts = [p for p in path.strip("/").split("/") if p]
        home = None
        for found in super().discover(path, depth, *args, **kwargs):
            if isinstance(found, radicale_storage.BaseCollection):
                found_parts = found.path.split("/") if found.path else []
                if len(found_parts) == 1:
                    home = found
                elif len(found_parts) == 2 and paths.is_shared_name(found_parts[1]):
                    continue  # a folder in the reserved namespace: never shown
            yield found
        if depth != "0" and len(parts) == 1 and home is not None:
            for share in shares.shares_of(self.configuration, parts[0]):
                shown = self._shared_collection(share, *args, **kwargs)
                if shown is not None:
                    yield shown

    def _shared_collection(self, share: shares.Share, *args, **kwargs):
        inner = next(iter(super().discover(share.owner_path, "0", *args, **kwargs)), None)
        if not isinstance(inner, radicale_storage.BaseCollection) or inner.tag != "VCALENDAR":
            return None
        return SharedCollection(inner, share, self._own_props(share))

    def _own_props(self, share: shares.Share) -> dict:
        return subscriptions.own_props(services(self.configuration).directory,
                                       share.subscriber, share.calid)

    def _discover_shared(self, path: str, depth: str, *args, **kwargs) -> Iterator:
        located = paths.locate(path)
        share = shares.share_at(self.configuration, path) if located is not None else None
        if share is None or len(located.rest) > 1:
            return
        if not located.rest:
            shown = None
            for found in super().discover(share.owner_path, depth, *args, **kwargs):
                if isinstance(found, radicale_storage.BaseCollection):
                    if shown is None and normalize_path(found.path) == share.owner_path:
                        if found.tag != "VCALENDAR":
                            return
                        shown = SharedCollection(found, share, self._own_props(share))
                        yield shown
                    continue  # a collection inside the owner's calendar is not shared
                if shown is not None:
                    yield shown._rehome(found)
            return
        owner_item_path = share.owner_path + located.rest[0]
        for found in super().discover(owner_item_path, "0", *args, **kwargs):
            if isinstance(found, radicale_storage.BaseCollection) or found.collection is None:
                return
            if found.collection.tag != "VCALENDAR":
                return
            yield SharedCollection(found.collection, share,
                                   self._own_props(share))._rehome(found)
            return

    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs):
        for key in ("path", "to_path"):
            if kwargs.get(key):
                kwargs[key] = paths.owner_path(kwargs[key])
        return super().acquire_lock(mode, user, *args, **kwargs)

    def move(self, item, to_collection, to_href: str) -> None:
        if (isinstance(item.collection, SharedCollection)
                or isinstance(to_collection, SharedCollection)):
            raise ValueError("MOVE from or into a shared calendar")
        super().move(item, to_collection, to_href)

    def create_collection(self, href: str, items=None, props=None):
        if paths.in_shared_namespace(href):
            raise ValueError("%s is in the shared namespace of a home" % href)
        return super().create_collection(href, items, props)
