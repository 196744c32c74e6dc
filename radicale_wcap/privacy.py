"""What a user who is not an owner gets of a ``CLASS:PRIVATE`` or ``CLASS:CONFIDENTIAL``
item, in every door.

Sun's servers, and Oracle's after them, gave the owners of a calendar the whole of such
an item and everyone else a shadow of it: a private one as busy time only, a
confidential one as its date and time only. The manual's errno 47 MUSTBEOWNER_OPERATION
is there for them ("probably related to private or confidential component"), and
Lightning, reading another user's calendar over WCAP, got these components without
their SUMMARY (docs/wcap-clients.md#component-answers). Without this module a user granted
read saw their full text through WCAP, CalDAV, the JSON API and the feeds.

Who sees everything: the calendar's primary owner, its owners list, and administrators
while ``[rights] admin_overrides_acl`` holds (the people `Access.check` lets past every
ACE). Everyone else who may read gets what ``[rights] private_events`` says:

* ``redact`` (the default): the item cut down as `CLASS_RULES` says. What is kept of
  each VEVENT/VTODO/VJOURNAL is its identity, its times and their recurrence, and what
  free/busy shows of it (TRANSP, STATUS), so that a reader's calendar shows the very
  busy time free/busy shows; SUMMARY becomes the class's label and CLASS the item's
  class. DESCRIPTION, LOCATION, ORGANIZER, ATTENDEE, CATEGORIES, URL, attachments,
  alarms and every X- property go. The calendar's VTIMEZONEs stay (the kept times
  name them).
* ``hide``: private items are left out altogether (their time shows in free/busy
  only, as Sun's "Private" events did); confidential ones are redacted.
* ``show``: everything, as before this rule.

Both rows keep the same properties: an item can not show busy time without its date
and time, and anything more (a location, the organizer) is a detail Sun withheld from
both. They differ in their label (Lightning, given no SUMMARY, titled them "Private" /
"Confidential" itself; CalDAV clients would show an empty title) and in ``hide``.
An item takes the rule of its most restrictive component (an exception marked
private makes the whole series so), and a class this server does not know counts as
PRIVATE (RFC 5545 3.8.1.3). Free/busy is computed from the stored items in every mode.

A redacted item is a text of its own: doors that send an ETag send the hash of that
text (`View.item`), so a client never caches one view under the other's ETag, and the
WCAP output cache, keyed by that ETag, never answers one view with the other.

Writes: unless the mode is ``show``, only those who see everything change, move or
delete an item whose *stored* class is not PUBLIC (`View.may_change`): whoever sees a
shadow would otherwise overwrite what they can not see (a client PUTting back the
redacted copy erases the description). Creating items of any class, and changing
public ones, stays as the ACL allows. Refusals: CalDAV 403, WCAP errno 47
(`OwnerOnly`), JSON API 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Tuple

from radicale import item as radicale_item

from radicale_wcap.ical_text import fold
from radicale_wcap.wcap.errors import WcapErrno, WcapError

SETTING = ("rights", "private_events")
MODES = ("redact", "hide", "show")
REDACT, HIDE, SHOW = MODES
PUBLIC = "PUBLIC"

# What a redacted component keeps: identity, times and recurrence, and what free/busy
# shows of it. DTSTAMP and SEQUENCE let clients order versions.
DATE_AND_TIME: FrozenSet[str] = frozenset({
    "UID", "DTSTAMP", "SEQUENCE", "RECURRENCE-ID",
    "DTSTART", "DTEND", "DURATION", "DUE", "COMPLETED",
    "RRULE", "RDATE", "EXRULE", "EXDATE",
    "TRANSP", "STATUS",
})


@dataclass(frozen=True)
class ClassRule:
    """One row: a CLASS value and what a non-owner gets of an item of that class."""
    name: str
    shown_as: str                   # Sun's words for it
    keeps: FrozenSet[str]           # properties each component keeps
    summary: str                    # the SUMMARY that replaces the owner's
    rank: int                       # the most restrictive component decides the item
    hidden_in: Tuple[str, ...]      # modes in which non-owners do not get it at all


CLASS_RULES: Tuple[ClassRule, ...] = (
    ClassRule("CONFIDENTIAL", "date and time only", DATE_AND_TIME, "Confidential", 1, ()),
    ClassRule("PRIVATE", "busy time only", DATE_AND_TIME, "Busy", 2, (HIDE,)),
)
RULES = {rule.name: rule for rule in CLASS_RULES}
# RFC 5545 3.8.1.3: unrecognised x-name and iana-token classes are treated as PRIVATE.
UNRECOGNISED = RULES["PRIVATE"]

REDACTED_COMPONENTS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})
CALENDAR_KEEPS = frozenset({"VERSION", "PRODID", "CALSCALE"})
CALENDAR_COMPONENTS_KEPT = frozenset({"VTIMEZONE"})

_CLASS_LINE = re.compile(r"^CLASS[;:]", re.IGNORECASE | re.MULTILINE)
_FOLD = re.compile(r"\r?\n[ \t]")
_NEWLINE = re.compile(r"\r?\n")
_NAME = re.compile(r"[A-Za-z0-9-]*")


class OwnerOnly(WcapError):
    """A change to an item whose stored class hides it from the one making the change.

    A WcapError (47 MUSTBEOWNER_OPERATION) because WCAP handlers raise it from deep in
    the store; the CalDAV and JSON doors refuse before they get that far.
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__(WcapErrno.MUSTBEOWNER_OPERATION, detail)


# ---------------------------------------------------------------- reading the text

def _lines(text: str) -> List[str]:
    return [line for line in _NEWLINE.split(_FOLD.sub("", text)) if line]


def _name(line: str) -> str:
    return _NAME.match(line).group(0).upper()


def _value(line: str) -> str:
    """What follows the first ``:`` outside a quoted parameter value."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[i + 1:]
    return ""


def _rule_for(value: str) -> Optional[ClassRule]:
    value = value.strip().upper()
    if value in ("", PUBLIC):
        return None
    return RULES.get(value, UNRECOGNISED)


def rule_of(text: str) -> Optional[ClassRule]:
    """The rule of a stored item's most restrictive component; None when it is public."""
    if not _CLASS_LINE.search(text):
        return None
    found: Optional[ClassRule] = None
    stack: List[str] = []
    for line in _lines(text):
        name = _name(line)
        if name == "BEGIN":
            stack.append(_value(line).strip().upper())
        elif name == "END":
            if stack:
                stack.pop()
        elif name == "CLASS" and len(stack) == 2 and stack[1] in REDACTED_COMPONENTS:
            rule = _rule_for(_value(line))
            if rule is not None and (found is None or rule.rank > found.rank):
                found = rule
    return found


def _keeps_component(stack: List[str]) -> bool:
    if len(stack) == 1:
        return True
    if stack[1] in CALENDAR_COMPONENTS_KEPT:
        return True
    return len(stack) == 2 and stack[1] in REDACTED_COMPONENTS


def redact(text: str, rule: ClassRule) -> str:
    """The item as ``rule`` leaves it, as folded iCalendar text."""
    out: List[str] = []
    stack: List[str] = []
    for line in _lines(text):
        name = _name(line)
        if name == "BEGIN":
            stack.append(_value(line).strip().upper())
            if _keeps_component(stack):
                out.append(line)
            continue
        if name == "END":
            if not stack:
                continue
            if len(stack) == 2 and stack[1] in REDACTED_COMPONENTS:
                out += ["SUMMARY:" + rule.summary, "CLASS:" + rule.name]
            if _keeps_component(stack):
                out.append(line)
            stack.pop()
            continue
        if len(stack) == 1:
            keep = name in CALENDAR_KEEPS
        elif len(stack) >= 2 and stack[1] in CALENDAR_COMPONENTS_KEPT:
            keep = True
        else:
            keep = len(stack) == 2 and stack[1] in REDACTED_COMPONENTS and name in rule.keeps
        if keep:
            out.append(line)
    return "\r\n".join(fold(line) for line in out) + "\r\n"


# ---------------------------------------------------------------- one user's view

@dataclass(frozen=True)
class View:
    """What one user gets of one calendar's items."""
    mode: str
    sees_all: bool

    @property
    def whole(self) -> bool:
        """Every item as stored: the calendar's own people, or the ``show`` mode."""
        return self.sees_all or self.mode == SHOW

    def text(self, text: str) -> Optional[str]:
        """``text`` itself (the same object) when nothing is withheld, the redacted
        text, or None when the item is hidden."""
        if self.whole:
            return text
        rule = rule_of(text)
        if rule is None:
            return text
        if self.mode in rule.hidden_in:
            return None
        return redact(text, rule)

    def item(self, item):
        """A Radicale item as this view shows it: itself, a redacted copy with the
        ETag of its own text, or None."""
        if self.whole or item is None:
            return item
        text = item.serialize()
        shown = self.text(text)
        if shown is text:
            return item
        if shown is None:
            return None
        collection = item.collection
        return radicale_item.Item(
            collection=collection, collection_path=None if collection is not None else "",
            href=item.href, last_modified=item.last_modified, text=shown,
            etag=radicale_item.get_etag(shown), uid=item.uid, name=item.name,
            component_name=item.component_name, time_range=item.time_range)

    def may_change(self, stored_text: Optional[str]) -> bool:
        """Whether this user may overwrite, move or delete the item stored as
        ``stored_text`` (None: nothing is stored there)."""
        return self.whole or stored_text is None or rule_of(stored_text) is None


def sees_everything(access) -> bool:
    """An owner of the calendar, or an administrator the ACL does not bind."""
    return access.is_owner or (access.principal.admin and access.admin_overrides)


def view_for(settings, access) -> View:
    """``settings``: the project's `Settings`; ``access``: an `acl.evaluate.Access`."""
    return View(settings.get(*SETTING), sees_everything(access))
