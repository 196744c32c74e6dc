"""WCAP ``compstate`` (Table 7-7): which of a user's scheduling states a component is in,
from the ORGANIZER and ATTENDEE lines that name the user's address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional


def line_address(line) -> str:
    """An ORGANIZER/ATTENDEE value as compared with a user's address (no ``mailto:``)."""
    value = str(line.value or "").strip()
    return value[7:].lower() if value.lower().startswith("mailto:") else value.lower()


def line_param(line, name: str, default: str = "") -> str:
    """A parameter's first value, upper case: PARTSTAT, RSVP and RELATED are keywords."""
    values = line.params.get(name.upper()) or line.params.get(name)
    return str(values[0]).upper() if values else default


def _my_attendee(component, email: str):
    for line in component.contents.get("attendee", []):
        if email and line_address(line) == email:
            return line
    return None


def _i_organize(component, email: str) -> bool:
    organizer = component.contents.get("organizer")
    return bool(email and organizer and line_address(organizer[0]) == email
                and component.contents.get("attendee"))


def _others_partstats(component, email: str) -> list[str]:
    return [line_param(a, "PARTSTAT", "NEEDS-ACTION") for a in component.contents.get("attendee", [])
            if line_address(a) != email]


@dataclass(frozen=True)
class CompstateRule:
    state: str
    role: str  # Table 7-7 column "Organizer/Attendee"
    test: Callable[[Any, str], bool]


def _attendee_state(partstats: tuple, rsvp: Optional[bool] = None):
    def test(component, email):
        line = _my_attendee(component, email)
        if line is None or line_param(line, "PARTSTAT", "NEEDS-ACTION") not in partstats:
            return False
        return rsvp is None or (line_param(line, "RSVP", "FALSE") == "TRUE") == rsvp
    return test


COMPSTATE_RULES = (
    CompstateRule("REPLY-DECLINED", "attendee", _attendee_state(("DECLINED",))),
    CompstateRule("REPLY-ACCEPTED", "attendee", _attendee_state(("ACCEPTED", "TENTATIVE"))),
    CompstateRule("REQUEST-NEEDS-ACTION", "attendee",
                  _attendee_state(("NEEDS-ACTION",), rsvp=True)),
    CompstateRule("REQUEST-NEEDSNOACTION", "attendee",
                  _attendee_state(("NEEDS-ACTION",), rsvp=False)),
    CompstateRule("REQUEST-COMPLETED", "organizer", lambda c, e: _i_organize(c, e) and all(
        p != "NEEDS-ACTION" for p in _others_partstats(c, e))),
    CompstateRule("REQUEST-WAITFORREPLY", "organizer", lambda c, e: _i_organize(c, e) and any(
        p == "NEEDS-ACTION" for p in _others_partstats(c, e))),
    # Sent, but not yet processed by a group scheduling engine: this server delivers
    # nothing asynchronously, so no component is ever pending.
    CompstateRule("REQUEST-PENDING", "organizer", lambda c, e: False),
)
_RULES = {rule.state: rule for rule in COMPSTATE_RULES}


def matches_compstate(component, compstates, user_email: Optional[str]) -> bool:
    """Whether ``component`` is in one of ``compstates`` (None/empty/ALL: any) for the
    user with address ``user_email``."""
    if not compstates or "ALL" in compstates:
        return True
    email = (user_email or "").lower()
    return any(_RULES[s].test(component, email) for s in compstates if s in _RULES)
