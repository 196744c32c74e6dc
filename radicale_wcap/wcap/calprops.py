"""A calendar's WCAP properties (``X-NSCP-CALPROPS-*``, ``X-S1CS-CALPROPS-*``).

Shared by get_calprops, search_calprops, the fetch commands and get_freebusy, which all
print a calendar's properties before its components (manual get_calprops example, the
list under "Returns" of Table 7-27; [63] for the ``X-S1CS-*`` names).

Where each value comes from:

* name, description: the collection's ``.Radicale.props`` (``D:displayname``,
  ``C:calendar-description``), which CalDAV clients edit too;
* owners, ACL, time zone, categories, double booking, parent, created: the registry
  (they must not live where a CalDAV PROPPATCH could change them);
* last-modified: the newest file of the collection (Radicale's own ``last_modified``);
* ``X-S1CS-CALPROPS-COMMON-NAME``: the primary owner's ``cn`` from the directory
  (Lightning's fallback display name and organizer CN,
  docs/wcap-clients.md#calprops-answer);
* ``X-NSCP-CALPROPS-READ``/``-WRITE``: the manual's prose ("0 = cannot read, 1 = can
  read") for the requester, not its example's opaque ``999``.

``X-NSCP-CALPROPS-RELATIVE-CALID`` is the calid exactly as the client sent it: Lightning
keys the answer on it (docs/wcap-clients.md#default-calid). For a ``mailto:`` request it
carries ``X-S1CS-EMAIL`` as in [63]'s example.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap.acl.ace import InvalidACL, parse_acl

from .backend import Calendar
from .result import Prop

logger = logging.getLogger("radicale.wcap.wcap.calprops")

NAME = "D:displayname"
DESCRIPTION = "C:calendar-description"
LANGUAGE = "en"  # the manual: "if empty string, default is en"


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _created(instance, record) -> Optional[dt.datetime]:
    if not record.registered:  # it may have been since the request looked it up
        record = instance.registry.get(record.path) or record
    if record.created is None:
        return None
    return dt.datetime.fromtimestamp(float(record.created), dt.timezone.utc)


def calprops_for(instance, calendar: Calendar, *, handle: Any = None) -> list[Prop]:
    """The calendar's properties in the manual's order.

    Pass the store ``handle`` when the caller holds the calendar open: the store would
    take the calendar's lock again for a second read.
    """
    found = handle.properties() if handle is not None \
        else instance.store.properties(calendar.path)
    meta = dict(found.meta) if found is not None else {}
    modified = found.last_modified if found is not None else None
    record = calendar.record
    created = _created(instance, record)
    created = created or modified
    modified = modified or created
    owner = instance.directory.get(record.owner) if record.owner else None

    props: list[Prop] = []
    if modified is not None:
        props.append(Prop("X-NSCP-CALPROPS-LAST-MODIFIED", _stamp(modified)))
    if created is not None:
        props.append(Prop("X-NSCP-CALPROPS-CREATED", _stamp(created)))
    access = calendar.access
    props.append(Prop("X-NSCP-CALPROPS-READ", "1" if access.check("c", "r").allowed else "0"))
    props.append(Prop("X-NSCP-CALPROPS-WRITE", "1" if access.check("c", "w").allowed else "0"))
    relative_params: tuple = ()
    if calendar.requested.lower().startswith("mailto:"):
        relative_params = (("X-S1CS-EMAIL", calendar.requested[7:]),)
    props.append(Prop("X-NSCP-CALPROPS-RELATIVE-CALID", calendar.requested, relative_params))
    props.append(Prop("X-NSCP-CALPROPS-NAME", meta.get(NAME) or calendar.calid))
    if meta.get(DESCRIPTION):
        props.append(Prop("X-NSCP-CALPROPS-DESCRIPTION", meta[DESCRIPTION]))
    props.append(Prop("X-NSCP-CALPROPS-LANGUAGE", LANGUAGE))
    props.append(Prop("X-NSCP-CALPROPS-PRIMARY-OWNER", record.owner))
    # The manual calls owners and categories "semicolon-separated"; one line each
    # avoids the TEXT escaping that would turn ';' into '\;' in iCalendar.
    props += [Prop("X-NSCP-CALPROPS-OWNERS", o) for o in record.owners]
    if record.parent:
        props.append(Prop("X-NSCP-CALPROPS-PARENT-CALID",
                          calid_mod.from_path(record.parent) or record.parent))
    tzid = record.setting("tzid") or (owner.tz if owner is not None else "")
    if tzid:
        props.append(Prop("X-NSCP-CALPROPS-TZID", tzid))
    props += [Prop("X-NSCP-CALPROPS-CATEGORIES", c) for c in record.setting("categories") or ()]
    try:
        aces = parse_acl(record.acl)
    except InvalidACL:
        logger.warning("calendar %s has an unreadable ACL; none listed", calendar.calid)
        aces = ()
    props += [Prop("X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY", str(ace)) for ace in aces]
    props.append(Prop("X-NSCP-CALPROPS-RESOURCE", "0"))
    if owner is not None and owner.email:
        props.append(Prop("X-NSCP-CALPROPS-CAL-MASTER", owner.email))
    props.append(Prop("X-S1CS-CALPROPS-COMMON-NAME",
                      (owner.cn if owner is not None and owner.cn else None)
                      or meta.get(NAME) or calendar.calid))
    props.append(Prop("X-S1CS-CALPROPS-ALLOW-DOUBLEBOOKING",
                      "1" if record.setting("allow_double_booking") else "0"))
    props.append(Prop("X-S1CS-CALPROPS-FB-INCLUDE", "1"))
    if ":" not in calendar.calid:
        # Oracle CS 7/8 marks a user's default calendar (its calids are server-made, so
        # the client can not tell it by its form as with Sun's "jdoe" and "jdoe:work").
        props.append(Prop("X-S1CS-DEFAULTCALENDAR", "1"))
    return props
