"""First-match-wins evaluation of an ACL, shared by every front door.

Each check asks one question: may this user exercise one access character on
one scope (components ``c`` or calendar properties ``p``) of one calendar?
The ACEs are walked in order; the first one whose *who* matches the user,
whose *flags* cover the scope and whose *how* holds the character decides.
No match denies. The primary owner (and, if configured, an administrator)
needs no ACE, as the manual says.

Operations combine checks as Table 7-3 and the issues say: deleting needs
``w`` and ``d``; reading components needs ``r``; free/busy needs ``f`` (or
``r``, which shows more); changing properties needs ``p:w``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

from radicale_wcap.acl.ace import ACE
from radicale_wcap.acl.letters import SCOPES_OF_FLAG

logger = logging.getLogger("radicale.wcap.acl")


@dataclass(frozen=True)
class Principal:
    """Who is asking. ``name`` is "" for an anonymous request."""
    name: str
    email: str = ""
    admin: bool = False


@dataclass(frozen=True)
class CalendarACL:
    path: str
    primary_owner: str
    owners: FrozenSet[str]
    aces: Tuple[ACE, ...]


@dataclass
class Decision:
    allowed: bool
    reason: str


# Operation name -> list of (scope, character) that must all be allowed.
OPERATIONS = {
    "read": (("c", "r"),),
    "freebusy": (("c", "f"),),
    "write": (("c", "w"),),
    "delete": (("c", "w"), ("c", "d")),
    "read_props": (("p", "r"),),
    "write_props": (("p", "w"),),
    "schedule": (("c", "s"),),
}


def _who_matches(who: str, principal: Principal, acl: CalendarACL) -> bool:
    is_primary = bool(principal.name) and principal.name == acl.primary_owner
    is_owner = is_primary or (bool(principal.name) and principal.name in acl.owners)
    if who == "@":
        return True
    if who == "@@p":
        return is_primary
    if who == "@@o":
        return is_owner
    if who == "@@n":
        return not is_owner
    if not principal.name:
        return False
    if who.startswith("@"):
        domain = who[1:].lower()
        addresses = (principal.name.lower(), principal.email.lower())
        return any(a.endswith("@" + domain) for a in addresses if a)
    return who == principal.name


class Access:
    """The rights of one principal on one calendar."""

    def __init__(self, principal: Principal, acl: CalendarACL,
                 admin_overrides: bool = True) -> None:
        self.principal = principal
        self.acl = acl
        self.admin_overrides = admin_overrides

    @property
    def is_primary_owner(self) -> bool:
        return bool(self.principal.name) and self.principal.name == self.acl.primary_owner

    @property
    def is_owner(self) -> bool:
        return self.is_primary_owner or (
            bool(self.principal.name) and self.principal.name in self.acl.owners)

    def check(self, scope: str, character: str) -> Decision:
        if self.is_primary_owner:
            return Decision(True, "primary owner")
        if self.principal.admin and self.admin_overrides:
            return Decision(True, "administrator")
        decided = self._first_match(scope, character)
        if decided is None:
            return Decision(False, "no ACE matched")
        ace, allowed = decided
        return Decision(allowed, "ACE %s" % ace)

    def _first_match(self, scope: str, character: str
                     ) -> Optional[Tuple[ACE, bool]]:
        for ace in self.acl.aces:
            if (scope in SCOPES_OF_FLAG[ace.flags] and character in ace.how
                    and _who_matches(ace.who, self.principal, self.acl)):
                return ace, ace.grant
        return None

    def allows(self, scope: str, character: str) -> bool:
        return self.check(scope, character).allowed

    def decide(self, operation: str) -> Decision:
        """All checks of an operation; the first refusal is the reason."""
        last = Decision(True, "")
        for scope, character in OPERATIONS[operation]:
            last = self.check(scope, character)
            if character == "f" and not last.allowed:
                # Reading shows more than free/busy, so it implies it.
                read = self.check(scope, "r")
                if read.allowed:
                    last = read
            if not last.allowed:
                logger.info("Access denied: user %r, calendar %r, operation %s: %s",
                            self.principal.name or "(anonymous)", self.acl.path,
                            operation, last.reason)
                return last
        return last

    def permits(self, operation: str) -> bool:
        return self.decide(operation).allowed

    def radicale_letters(self) -> str:
        """Radicale's rights letters for this calendar (see rights plugin)."""
        letters = ""
        if self._quiet("read"):
            letters += "r"
        elif self._quiet("freebusy"):
            letters += "f"
        if self._quiet("write"):
            letters += "w"
        if not self._quiet("write_props"):
            letters += "l"
        return letters

    def _quiet(self, operation: str) -> bool:
        for scope, character in OPERATIONS[operation]:
            allowed = self.check(scope, character).allowed
            if not allowed and character == "f":
                allowed = self.check(scope, "r").allowed
            if not allowed:
                return False
        return True

