"""Who may do what through a store handle: the principal, the purpose, the decision.

Every handle is opened for a principal (a user name, "" for an anonymous request, or
`SYSTEM` for the command line, ``verify`` and recovery) and a `Purpose`, which says
which ACE operation (``acl/evaluate.py`` ``OPERATIONS``) opening it, a put and a delete
need. The decision is the one evaluator's (`principals.access_for`), whatever the door: the
security issue's holes each came from a door that decided itself or not at all.

Two purposes write on someone else's behalf, and are limited to what that mandate
covers (`Mandate`):

* ``SCHEDULE``: the organizer delivers an event into an attendee's calendar. Needs
  ``s`` there, and only the organizer's own events (ORGANIZER is the principal, before
  and after) may be replaced or removed: a UID names nobody's event, so without this
  any user could overwrite anyone's by storing a "copy" with its UID.
* ``REPLY``: an attendee's answer into the organizer's event. No ACE (an invitation is
  the grant), and only an event organised by the named organizer that invites the
  principal.

Writes for someone else (these two, a feed import, and `SYSTEM`) are not the
principal's own edits, so the privacy rule's write check (``storage/privacy.py``) does
not apply to them (`Purpose.on_behalf`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from radicale_wcap import addresses, privacy
from radicale_wcap.principals import access_for
from radicale_wcap.state import services


class StoreError(ValueError):
    pass


class AccessDenied(StoreError):
    """The ACE evaluator refused the operation (WCAP 28, CalDAV/JSON 403)."""

    def __init__(self, path: str, operation: str, reason: str) -> None:
        super().__init__("%s on %s denied: %s" % (operation, path, reason))
        self.path, self.operation, self.reason = path, operation, reason


class ForeignItem(StoreError):
    """The item is not one the handle's mandate covers (WCAP 45): not the organizer's
    event, or not an invitation of the one replying."""


class _System:
    """The principal of the command line, ``verify`` and recovery: no ACE applies."""
    name = ""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()
Principal = Union[str, _System]

ORGANIZER, INVITEE = "organizer", "invitee"
#: An operation that needs no ACE (the mandate decides).
NO_ACE = ""


@dataclass(frozen=True)
class Purpose:
    """What a handle is opened for. ``opens``/``puts``/``deletes``: the ACE operation
    each needs (`NO_ACE`: none; None: not allowed at all)."""
    name: str
    opens: Optional[str]
    puts: Optional[str] = None
    deletes: Optional[str] = None
    on_behalf: bool = False
    mandate: Optional[str] = None


READ = Purpose("read", opens="read")
FREEBUSY = Purpose("freebusy", opens="freebusy")
WRITE = Purpose("write", opens="write", puts="write", deletes="delete")
DELETE = Purpose("delete", opens="delete", puts="write", deletes="delete")
FEED = Purpose("feed", opens="delete", puts="write", deletes="delete", on_behalf=True)
SCHEDULE = Purpose("scheduling", opens="schedule", puts="schedule", deletes="schedule",
                   on_behalf=True, mandate=ORGANIZER)
REPLY = Purpose("reply", opens=NO_ACE, puts=NO_ACE, on_behalf=True, mandate=INVITEE)


class Gate:
    """The decisions for one principal and purpose on one calendar."""

    def __init__(self, configuration, path: str, principal: Principal, purpose: Purpose,
                 organizer: Optional[str] = None) -> None:
        self.configuration = configuration
        self.path = path
        self.principal = principal
        self.purpose = purpose
        self.system = principal is SYSTEM
        self.user = "" if self.system else str(principal or "")
        self.access = None if self.system else access_for(configuration, self.user, path)
        if purpose.mandate == ORGANIZER:
            organizer = self.user
        self.organizer = organizer
        if purpose.mandate is not None and not organizer:
            raise ValueError("a %s handle needs an organizer" % purpose.name)
        self._decided: dict = {}

    def require(self, operation: Optional[str]) -> None:
        """Raise `AccessDenied` unless ``operation`` is allowed (None: never)."""
        if self.system or operation == NO_ACE:
            return
        if operation is None:
            raise AccessDenied(self.path, "a %s handle's change" % self.purpose.name,
                               "not what it was opened for")
        decision = self._decided.get(operation)
        if decision is None:
            decision = self._decided[operation] = self.access.decide(operation)
        if not decision.allowed:
            raise AccessDenied(self.path, operation, decision.reason)

    def open(self) -> None:
        self.require(self.purpose.opens)

    def view(self) -> privacy.View:
        """The principal's view of private and confidential items (``privacy.py``)."""
        settings = services(self.configuration).settings
        if self.system:
            return privacy.View(settings.get(*privacy.SETTING), True)
        return privacy.view_for(settings, self.access)

    # -- what a change may touch
    @property
    def mandated(self) -> bool:
        """Whether a change must be checked against the items it touches."""
        return self.purpose.mandate is not None and not self.system

    def within_mandate(self, uid: str, stored_vcal, new_vcal) -> None:
        """Raise `ForeignItem` unless the mandate covers replacing ``stored_vcal`` (the
        parsed item ``uid`` there now, None: none) by ``new_vcal`` (None: deleting it)."""
        mandate = self.purpose.mandate
        if not self.mandated:
            return
        directory = services(self.configuration).directory
        organizer = addresses.user_address(directory, self.organizer)
        if organizer is None:
            raise ForeignItem("%s is not a user" % self.organizer)
        if mandate == INVITEE and stored_vcal is None:
            raise ForeignItem("%s is not in %s: a reply changes an existing event only"
                              % (uid, self.path))
        change = "to be removed" if new_vcal is None else "to be replaced"
        for vcal, what in ((stored_vcal, change), (new_vcal, "as sent")):
            if vcal is not None and not addresses.organised_by(directory, vcal, organizer):
                raise ForeignItem("%s in %s, %s, is not an event organised by %s"
                                  % (uid, self.path, what, self.organizer))
        if mandate == INVITEE:
            replier = addresses.user_address(directory, self.user)
            if replier is None or not addresses.invites(directory, stored_vcal, replier):
                raise ForeignItem("%s is not an attendee of %s in %s"
                                  % (self.user or "(anonymous)", uid, self.path))
