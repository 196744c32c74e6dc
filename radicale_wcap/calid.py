"""WCAP calendar ids and CalDAV collection paths.

The manual's calendar ids are ``jdoe`` (jdoe's default calendar) and
``jdoe:work``. CalDAV paths can not carry ``:`` safely (Radicale refuses it in
user names, and clients escape it differently), so every id maps to exactly
one collection under the user's home:

    jdoe        <->  /jdoe/calendar/
    jdoe:work   <->  /jdoe/work/

The calendar name ``calendar`` is therefore reserved.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

DEFAULT_CALENDAR_NAME = "calendar"
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}"
_NAME = re.compile(NAME_PATTERN + r"\Z")

# First path segments the middleware answers itself; a user with one of these
# names would have a CalDAV home hidden behind the project's own URLs.
RESERVED_USER_NAMES = frozenset({
    "service", "wcap", "api", "restapi", ".well-known", "well-known",
    "calendar", "admin", "static", "public", ".web", "web", ".token",
    "principals", "dav", "caldav", "carddav", "feeds", "openapi.json",
    "davserver",  # Oracle Calendar Server's WCAP base, /davserver/wcap/
})


class InvalidCalid(ValueError):
    pass


def is_valid_name(name: str) -> bool:
    return bool(_NAME.match(name)) and ".." not in name


def split(calid: str) -> Tuple[str, str]:
    """``"jdoe:work"`` -> ``("jdoe", "work")``; ``"jdoe"`` -> ``("jdoe", "calendar")``."""
    if not isinstance(calid, str) or calid.count(":") > 1:
        raise InvalidCalid("illegal calendar id %r" % calid)
    user, _, name = calid.partition(":")
    if not is_valid_name(user):
        raise InvalidCalid("illegal user part in calendar id %r" % calid)
    if _ == "":
        return user, DEFAULT_CALENDAR_NAME
    if name == DEFAULT_CALENDAR_NAME or not is_valid_name(name):
        raise InvalidCalid("illegal calendar name in calendar id %r" % calid)
    return user, name


def to_path(calid: str) -> str:
    user, name = split(calid)
    return "/%s/%s/" % (user, name)


def from_path(path: str) -> Optional[str]:
    """The calid of a calendar collection path, or None if it is not one."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) != 2 or not all(is_valid_name(p) for p in parts):
        return None
    user, name = parts
    return user if name == DEFAULT_CALENDAR_NAME else "%s:%s" % (user, name)


def owner_of(calid: str) -> str:
    return split(calid)[0]


def normalize_path(path: str) -> str:
    """``/jdoe/work`` or ``jdoe/work/`` -> ``/jdoe/work/``."""
    parts = [p for p in path.strip("/").split("/") if p]
    return "/" + "/".join(parts) + "/" if parts else "/"
