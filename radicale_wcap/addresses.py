"""Calendar user addresses (ORGANIZER, ATTENDEE values) and the local users they name.

Shared by the store, which lets a scheduling handle change only the organizer's own
events (``store/access.py``), and by WCAP's group scheduling, which works out whom an
event goes to (``wcap/scheduling.py``). A value may be ``mailto:addr``, a bare address or
a calid (Lightning writes calids with ``emailorcalid=0``); users are matched by their
directory entry, so two spellings of one user are one person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from radicale_wcap import calid as calid_mod

COMPONENTS = ("VEVENT", "VTODO")


@dataclass(frozen=True)
class Address:
    uri: Optional[str]       # mailto:addr, or None when the value names nobody
    key: str                 # lower-cased address, for matching
    user: Optional[object]   # directory User when local
    cn: Optional[str] = None


def address_key(value) -> str:
    text = str(value or "").strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).lower()


def address_of(directory, value) -> Address:
    """An attendee/organizer value (``mailto:addr``, an address, a calid) -> Address."""
    text = str(value or "").strip()
    user = None
    if text.lower().startswith("mailto:"):
        email = text[7:]
        user = directory.by_email(email)
    elif "@" in text and ":" not in text:
        email = text
        user = directory.by_email(email)
    else:
        owner = calid_mod.owner_of(text) if calid_mod.is_valid_name(text.split(":")[0]) else None
        user = directory.get(owner) if owner else None
        email = user.email if user is not None else ""
    if not email:
        return Address(None, text.lower(), None)
    return Address("mailto:" + email, email.lower(), user, user.cn if user else None)


def user_address(directory, name: str) -> Optional[Address]:
    """The Address of the local user ``name`` (None: no such user), even without a mail
    address: `same_person` matches users by name."""
    user = directory.get(name) if name else None
    if user is None:
        return None
    email = user.email or ""
    return Address("mailto:" + email if email else None, (email or name).lower(), user,
                   user.cn)


def write_address(line, address: Address) -> None:
    line.value = address.uri
    if address.cn and "CN" not in line.params:
        line.params["CN"] = [address.cn]


def same_person(a: Address, b: Address) -> bool:
    if a.user is not None and b.user is not None:
        return a.user.name == b.user.name
    return a.uri is not None and a.key == b.key


def components(vcal):
    return [c for c in vcal.getChildren() if c.name in COMPONENTS]


def organised_by(directory, vcal, organizer: Address) -> bool:
    """Whether ``vcal`` is ``organizer``'s event: its master (or only) component names
    them as ORGANIZER and no component names anyone else. An item without ORGANIZER is
    its calendar owner's own."""
    comps = components(vcal)
    master = next((c for c in comps if "recurrence-id" not in c.contents),
                  comps[0] if comps else None)
    if master is None or "organizer" not in master.contents:
        return False
    return all(same_person(address_of(directory, c.organizer.value), organizer)
               for c in comps if "organizer" in c.contents)


def invites(directory, vcal, person: Address) -> bool:
    """Whether some component of ``vcal`` names ``person`` as an ATTENDEE."""
    return any(same_person(address_of(directory, line.value), person)
               for comp in components(vcal) for line in comp.contents.get("attendee", []))
