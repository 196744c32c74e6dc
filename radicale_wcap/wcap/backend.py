"""What WCAP handlers reach the rest of the server through.

The dispatcher passes this object to every handler as ``ctx.backend``;
handlers use ``ctx.backend.instance`` (the `Instance`: store, registry,
directory, sessions, ...) and the helpers below, so that every command
resolves calendar ids, checks access and reaches the store the same way.

`reading` and `writing` open the store's handles for the requesting user and turn the
store's refusals into errnos: `store.AccessDenied` 28, `store.CalendarNotFound` 29
(a calendar deleted since it was resolved), unless the command names its own.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Iterator, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap import store as store_mod
from radicale_wcap.acl.evaluate import Access
from radicale_wcap.registry import CalendarRecord
from radicale_wcap.rights import access_for
from radicale_wcap.wcap.errors import WcapErrno, WcapError

logger = logging.getLogger("radicale.wcap.wcap")


class Backend:
    def __init__(self, instance) -> None:
        self.instance = instance

    def session_user(self, sid: str) -> Optional[str]:
        user = self.instance.sessions.user_of(sid)
        if user is not None and self.instance.directory.get(user) is None:
            return None
        return user


@dataclass
class Calendar:
    """A calendar named in a request, resolved and with the requester's access."""
    requested: str          # the calid exactly as the client sent it (echoed back)
    calid: str              # canonical calid ("jdoe", "jdoe:work")
    path: str               # "/jdoe/calendar/"
    record: CalendarRecord
    access: Access

    @property
    def user(self) -> str:
        """Whom the calendar was resolved for ("" anonymous)."""
        return self.access.principal.name


def resolve(backend: Backend, user: str, requested: str) -> Calendar:
    """Resolve a calid (or ``mailto:addr``, the WCAP 3.x form) for ``user``.

    Raises WcapError 30 for an illegal id and 29 for a calendar that does not
    exist. Access is not checked here: each command decides which operation
    it needs (``require``) and which errno a denial gets.
    """
    instance = backend.instance
    text = (requested or "").strip()
    calid = text
    if text.lower().startswith("mailto:"):
        found = instance.directory.by_email(text[7:])
        if found is None:
            raise WcapError(WcapErrno.CALENDAR_DOES_NOT_EXIST, "no user with that address")
        calid = found.default_calid
    try:
        path = calid_mod.to_path(calid)
    except calid_mod.InvalidCalid as e:
        raise WcapError(WcapErrno.ILLEGAL_CALID_NAME, str(e)) from e
    record = instance.registry.get(path)
    if record is None:
        if not instance.store.exists(path):
            raise WcapError(WcapErrno.CALENDAR_DOES_NOT_EXIST, "no calendar %s" % calid)
        # A calendar written by plain Radicale: the default ACL applies; it is
        # registered on its first write, so that a read never writes.
        record = instance.registry.default_record(path)
    return Calendar(requested=text, calid=calid, path=path, record=record,
                    access=access_for(instance.configuration, user or "", path))


def require(calendar: Calendar, operation: str,
            errno: int = WcapErrno.ACCESS_DENIED_TO_CALENDAR) -> None:
    """Raise ``errno`` (28 by default) unless the operation is allowed."""
    decision = calendar.access.decide(operation)
    if not decision.allowed:
        raise WcapError(errno, "%s on %s denied: %s" % (operation, calendar.calid,
                                                        decision.reason))


@contextlib.contextmanager
def translated(denied: int = WcapErrno.ACCESS_DENIED_TO_CALENDAR,
               missing: int = WcapErrno.CALENDAR_DOES_NOT_EXIST) -> Iterator[None]:
    """The store's refusals in the block as WcapErrors (``denied``, ``missing``)."""
    try:
        yield
    except store_mod.AccessDenied as e:
        raise WcapError(denied, str(e)) from e
    except store_mod.CalendarNotFound as e:
        raise WcapError(missing, str(e)) from e


@contextlib.contextmanager
def reading(instance, calendar: Calendar, purpose: store_mod.Purpose = store_mod.READ, *,
            denied: int = WcapErrno.ACCESS_DENIED_TO_CALENDAR,
            missing: int = WcapErrno.CALENDAR_DOES_NOT_EXIST
            ) -> Iterator[store_mod.CalendarReader]:
    """``calendar`` opened for its user (`CalendarStore.reading`)."""
    with translated(denied, missing):
        with instance.store.reading(calendar.path, calendar.user, purpose) as handle:
            yield handle


@contextlib.contextmanager
def writing(instance, calendar: Calendar, purpose: store_mod.Purpose, label: str, *,
            denied: int = WcapErrno.ACCESS_DENIED_TO_CALENDAR,
            missing: int = WcapErrno.CALENDAR_DOES_NOT_EXIST
            ) -> Iterator[store_mod.CalendarWriter]:
    """``calendar`` opened for changes by its user (`CalendarStore.writing`)."""
    with translated(denied, missing):
        with instance.store.writing(calendar.path, calendar.user, purpose,
                                    label=label) as handle:
            yield handle
