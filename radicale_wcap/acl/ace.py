"""Parsing and formatting of ACE strings: ``who^flags^how^grant``.

The manual spells the letters in lower case in its tables and in upper case in
some examples (``@@o^c^WDEIC^g``); both are accepted and stored in lower case.
An invalid ACL is refused as a whole, with a message naming the ACE and the
reason, before anything is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Tuple

from radicale_wcap.acl.letters import FLAGS, GRANT, HOW, WHO_CLASSES

MAX_ACES = 1000
_WHO_NAME = re.compile(r"@?[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}\Z")


class InvalidACL(ValueError):
    pass


@dataclass(frozen=True)
class ACE:
    who: str
    flags: str
    how: frozenset
    grant: bool

    def __str__(self) -> str:
        return "%s^%s^%s^%s" % (self.who, self.flags, "".join(sorted(self.how)),
                                "g" if self.grant else "d")


def parse_ace(text: str) -> ACE:
    parts = text.strip().split("^")
    if len(parts) != 4:
        raise InvalidACL("ACE %r: expected who^flags^how^grant (4 parts), got %d"
                         % (text, len(parts)))
    who, flags, how, grant = (p.strip() for p in parts)
    if not who:
        raise InvalidACL("ACE %r: empty 'who'" % text)
    if who not in WHO_CLASSES and not _WHO_NAME.match(who):
        raise InvalidACL("ACE %r: 'who' %r is not a user id, @domain or one of %s"
                         % (text, who, ", ".join(WHO_CLASSES)))
    flags = flags.lower()
    if flags not in FLAGS:
        raise InvalidACL("ACE %r: flags %r must be one of %s"
                         % (text, flags, ", ".join(FLAGS)))
    how = how.lower()
    unknown = sorted(set(how) - set(HOW))
    if unknown:
        raise InvalidACL("ACE %r: unknown access character(s) %s (allowed: %s)"
                         % (text, ", ".join(unknown), "".join(HOW)))
    grant = grant.lower()
    if grant not in GRANT:
        raise InvalidACL("ACE %r: grant %r must be g or d" % (text, grant))
    return ACE(who, flags, frozenset(how), GRANT[grant])


@lru_cache(maxsize=4096)
def parse_acl(text: str) -> Tuple[ACE, ...]:
    """Parse a semicolon-separated ACL; cached because rights checks are hot."""
    if text is None:
        raise InvalidACL("no ACL")
    entries = [e for e in text.split(";") if e.strip()]
    if len(entries) > MAX_ACES:
        raise InvalidACL("ACL has %d ACEs; at most %d are allowed"
                         % (len(entries), MAX_ACES))
    return tuple(parse_ace(e) for e in entries)


def format_acl(aces) -> str:
    return ";".join(str(a) for a in aces)


def normalize_acl(text: str) -> str:
    return format_acl(parse_acl(text))
