"""Which other users' calendars a user's CalDAV home shows, and what he may do there.

A share is decided afresh on every call, from the subscription list (and, with
``[rights] share_granted_calendars``, the ACLs) and the owner's calendar's ACEs for
the subscriber, by the one evaluator every door uses: a change of ACL or of the list
decides the very next request, in every process.

What a share shows (``level``):

* ``read``: the ACL lets the subscriber read its events (``r``); what else he may do
  there (write ``w``, delete ``w`` + ``d``) is decided per request the same way;
* ``freebusy``: only ``f``. With ``[rights] shared_freebusy = show`` it is listed and
  answers free/busy only (no event, no detail); with ``hide`` (the default) it is not
  listed at all;
* nothing: not listed, and every request on its path is refused (403), as on any
  calendar the ACL denies.

Only the subscriber himself sees his home's shares; to everyone else (administrators
included) the path grants nothing.

Within one request that Radicale answers, a share is decided once (`_memo`): Radicale
asks the rights plugin several times per request and the storage resolves the path
too, and each decision reads the directory and the registry.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap import request_view
from radicale_wcap.acl.evaluate import Access
from radicale_wcap.principals import access_for, principal_for
from radicale_wcap.sharing import paths, subscriptions
from radicale_wcap.state import services

READ = "read"
FREEBUSY = "freebusy"
GRANTED_SETTING = ("rights", "share_granted_calendars")
FREEBUSY_SETTING = ("rights", "shared_freebusy")
SHOW = "show"


@dataclass(frozen=True)
class Share:
    subscriber: str
    calid: str
    path: str          # /jsmith/~jdoe/
    owner_path: str    # /jdoe/calendar/
    access: Access     # the subscriber's rights on the owner's calendar
    level: str         # READ or FREEBUSY

    @property
    def owner(self) -> str:
        return self.owner_path.strip("/").split("/")[0]


def level(access: Access) -> str:
    """READ, FREEBUSY or "" (the checks log nothing: a listing is not a request)."""
    if access.check("c", "r").allowed:
        return READ
    if access.check("c", "f").allowed:
        return FREEBUSY
    return ""


def _listed(configuration, level_: str) -> bool:
    if level_ == READ:
        return True
    return (level_ == FREEBUSY and
            services(configuration).settings.get(*FREEBUSY_SETTING) == SHOW)


def _share(configuration, subscriber: str, calid: str) -> Optional[Share]:
    try:
        owner_path = calid_mod.to_path(calid)
    except calid_mod.InvalidCalid:
        return None
    if calid_mod.owner_of(calid) == subscriber:
        return None  # his own calendars are in his home already
    access = access_for(configuration, subscriber, owner_path)
    found = level(access)
    if not _listed(configuration, found):
        return None
    return Share(subscriber, calid, paths.shared_path(subscriber, calid), owner_path,
                 access, found)


def _grants_read(configuration, principal, path: str) -> bool:
    """Whether the calendar's ACEs themselves grant read: an administrator's override
    counts for nothing here (it would list every calendar of the site)."""
    acl = services(configuration).registry.acl_for(path)
    return Access(principal, acl, admin_overrides=False).check("c", "r").allowed


def _granted(configuration, subscriber: str) -> List[str]:
    """Calids of the other users' calendars whose ACEs grant ``subscriber`` read."""
    principal = principal_for(configuration, subscriber)
    return sorted(record.calid for record in services(configuration).registry.list()
                  if record.calid and calid_mod.owner_of(record.calid) != subscriber
                  and _grants_read(configuration, principal, record.path))


def _candidates(configuration, subscriber: str) -> List[str]:
    svc = services(configuration)
    calids = subscriptions.subscribed(svc.directory, subscriber)
    if svc.settings.get(*GRANTED_SETTING):
        calids += [c for c in _granted(configuration, subscriber) if c not in calids]
    return calids


def shares_of(configuration, subscriber: str) -> List[Share]:
    """The shares ``subscriber``'s home lists now, subscribed ones first, in order."""
    if not subscriber:
        return []
    found = []
    for calid in _candidates(configuration, subscriber):
        try:
            key = paths.shared_path(subscriber, calid)
        except calid_mod.InvalidCalid:
            continue
        share = _memo(key, lambda: _share(configuration, subscriber, calid))
        if share is not None:
            found.append(share)
    return found


_memos: "weakref.WeakKeyDictionary[object, Dict[str, Optional[Share]]]" = \
    weakref.WeakKeyDictionary()
_memos_lock = threading.Lock()


def _memo(key: str, decide: Callable[[], Optional[Share]]) -> Optional[Share]:
    """``decide()``, once per request Radicale answers (every time outside one)."""
    request = request_view.answering()
    if request is None:
        return decide()
    with _memos_lock:
        memo = _memos.setdefault(request, {})
        if key in memo:
            return memo[key]
    found = decide()
    with _memos_lock:
        memo[key] = found
    return found


def share_at(configuration, path: str) -> Optional[Share]:
    """The share at (or above, for an item) ``path``, if its home lists it now."""
    located = paths.locate(path)
    if located is None:
        return None
    return _memo(located.path, lambda: _decide_at(configuration, located))


def _decide_at(configuration, located: paths.Located) -> Optional[Share]:
    svc = services(configuration)
    calids = subscriptions.subscribed(svc.directory, located.subscriber)
    if located.calid not in calids and not (
            svc.settings.get(*GRANTED_SETTING) and _grants_read(
                configuration, principal_for(configuration, located.subscriber),
                located.owner_path)):
        return None
    return _share(configuration, located.subscriber, located.calid)


def share_for(configuration, user: str, path: str) -> Optional[Share]:
    """The share at ``path`` when ``user`` is its subscriber, else None."""
    located = paths.locate(path)
    if located is None or not user or user != located.subscriber:
        return None
    return share_at(configuration, path)


def radicale_letters(configuration, user: str, path: str) -> str:
    """The rights plugin's letters for a shared collection: the owner's calendar's
    for its subscriber, nothing for anyone else or for a share no longer listed."""
    share = share_for(configuration, user, path)
    if share is None:
        return ""
    letters = share.access.radicale_letters()
    if share.level == FREEBUSY:
        # Free/busy only, even should the ACL grant writing without reading.
        letters = "f"
    return letters
