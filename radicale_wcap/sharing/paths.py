"""Where another user's calendar appears in a subscriber's CalDAV home.

jdoe's calendar ``jdoe:work`` appears in jsmith's home as ``/jsmith/~jdoe~work/``, jdoe's
default calendar ``jdoe`` as ``/jsmith/~jdoe/``: ``~``, then the calid with ``:``
spelt ``~``. A calendar name starts with a letter or digit and never holds ``~``
(``calid.NAME_PATTERN``), so such a name can never be one of the user's own calendars,
and the CalDAV guard refuses to create anything at one. ``~`` is also one of the
characters Radicale accepts in paths under strict validation, and is unreserved in
URLs (RFC 3986), so no client has a second spelling for it.

Every name has exactly one spelling: ``~jdoe~calendar`` (the reserved name spelt out)
or ``~jdoe~`` are no shared names at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from radicale_wcap import calid as calid_mod

MARK = "~"


def is_shared_name(name: str) -> bool:
    """Whether a home's child name is in the shared namespace (valid or not)."""
    return name.startswith(MARK)


def shared_name(calid: str) -> str:
    user, name = calid_mod.split(calid)
    if name == calid_mod.DEFAULT_CALENDAR_NAME:
        return MARK + user
    return MARK + user + MARK + name


def calid_of(name: str) -> Optional[str]:
    """The calid a shared name stands for, or None."""
    if not is_shared_name(name):
        return None
    user, sep, calendar = name[len(MARK):].partition(MARK)
    calid = "%s:%s" % (user, calendar) if sep else user
    try:
        if shared_name(calid) != name:
            return None
    except calid_mod.InvalidCalid:
        return None
    return calid


def shared_path(subscriber: str, calid: str) -> str:
    return "/%s/%s/" % (subscriber, shared_name(calid))


@dataclass(frozen=True)
class Located:
    """A path at or below a shared collection."""
    subscriber: str
    calid: str
    path: str          # the shared collection, /jsmith/~jdoe/
    owner_path: str    # the owner's calendar, /jdoe/calendar/
    rest: Tuple[str, ...]  # what follows the collection (an item's name)


def _parts(path: str) -> list:
    return [p for p in path.strip("/").split("/") if p]


def locate(path: str) -> Optional[Located]:
    """The shared collection ``path`` is in, or None when it is in none (a path whose
    second segment is a ``~`` name that stands for no calid is in none either)."""
    parts = _parts(path)
    if len(parts) < 2 or not is_shared_name(parts[1]):
        return None
    calid = calid_of(parts[1])
    if calid is None:
        return None
    return Located(parts[0], calid, "/%s/%s/" % (parts[0], parts[1]),
                   calid_mod.to_path(calid), tuple(parts[2:]))


def in_shared_namespace(path: str) -> bool:
    """Whether ``path`` is at or below a ``~`` name in a home, valid or not."""
    parts = _parts(path)
    return len(parts) >= 2 and is_shared_name(parts[1])


def owner_path(path: str) -> str:
    """``path`` with a shared collection replaced by the owner's calendar (what the
    storage locks and what the item's data is); any other path as it is."""
    located = locate(path)
    if located is None:
        return path
    return located.owner_path + "/".join(located.rest)
