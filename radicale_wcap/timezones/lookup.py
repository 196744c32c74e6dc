"""Which IANA zones this server knows, and TZIDs checked against them.

Only names zoneinfo lists (less the ones no user should pick) are zones here, so a path
trick (``../etc/passwd``) never reaches the file system and every name accepted can be
given as a VTIMEZONE and a get_all_timezones entry.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

UTC = dt.timezone.utc

#: Names zoneinfo lists that are not zones a user should pick.
_EXCLUDED = frozenset({"Factory", "localtime", "posixrules", "leap-seconds.list",
                       "leapseconds", "tzdata.zi", "zone.tab", "zone1970.tab", "iso3166.tab"})
_EXCLUDED_PREFIXES = ("posix/", "right/", "SystemV/")
_TZID_SYNTAX = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*\Z")


class UnknownTimezone(ValueError):
    """A TZID that is not an IANA zone this server knows."""


@functools.lru_cache(maxsize=1)
def _tzid_set() -> frozenset:
    return frozenset(t for t in zoneinfo.available_timezones()
                     if t not in _EXCLUDED and not t.startswith(_EXCLUDED_PREFIXES))


def all_tzids() -> list[str]:
    """Every selectable IANA zone name, sorted."""
    return sorted(_tzid_set())


def normalize_tzid(tzid: str) -> str:
    """Strip a vendor prefix (old Lightning ``/mozilla.org/20070129_1/``, libical
    ``/softwarestudio.org/Olson_20011030_5/``, ``/freeassociation.sourceforge.net/Tzfile/``)
    from an IANA name: such TZIDs start with "/", and the longest valid tail is the zone."""
    if tzid.startswith("/"):
        parts = tzid.strip("/").split("/")
        for i in range(1, len(parts)):
            tail = "/".join(parts[i:])
            if tail in _tzid_set():
                return tail
    return tzid


def is_valid_tzid(tzid) -> bool:
    try:
        get_zone(tzid)
    except UnknownTimezone:
        return False
    return True


def get_zone(tzid) -> zoneinfo.ZoneInfo:
    """The zone for an exact IANA name.  Only names listed by :func:`all_tzids` are
    accepted, so a path trick (``../etc/passwd``) never reaches the file system."""
    if not isinstance(tzid, str) or not _TZID_SYNTAX.match(tzid) or tzid not in _tzid_set():
        raise UnknownTimezone("unknown time zone %r" % (tzid,))
    return zoneinfo.ZoneInfo(tzid)


def to_utc(value: dt.datetime, tzid: str) -> dt.datetime:
    """A naive wall time in *tzid* (or an aware datetime) as an aware UTC datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=get_zone(tzid))
    return value.astimezone(UTC)


def from_utc(value: dt.datetime, tzid: str) -> dt.datetime:
    """An instant (naive means UTC) as an aware datetime in *tzid*."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(get_zone(tzid))
