"""The letters of ACE strings (manual: Access Control Entries, Table 7-2).

One table each for the parts of ``who^flags^how^grant``; the parser, the
formatter and the tests all read these, so a letter is defined once.
"""

from types import MappingProxyType

# Table 7-2: access control characters (the "how" part). ``z`` is not in the
# table but the manual's own examples use it ("self-admin"), so it is accepted.
HOW = MappingProxyType({
    "c": "act-on-behalf-of cancel",
    "d": "delete",
    "e": "act-on-behalf-of reply",
    "f": "free-busy",
    "i": "act-on-behalf-of invite",
    "r": "read",
    "s": "schedule",
    "w": "write",
    "z": "self-administration (used in the manual's examples)",
})

# What an ACE applies to (the "flags" part).
FLAGS = MappingProxyType({
    "a": "the entire calendar: components and calendar properties",
    "c": "components (events and todos) only",
    "p": "calendar properties only",
})

# Which flags cover which scope of a check.
SCOPES_OF_FLAG = MappingProxyType({"a": frozenset("cp"), "c": frozenset("c"),
                                   "p": frozenset("p")})

GRANT = MappingProxyType({"g": True, "d": False})

# Classes of users (the "who" part); anything else is a user id or @domain.
WHO_CLASSES = MappingProxyType({
    "@": "all users, including anonymous requests",
    "@@p": "the primary owner of the calendar",
    "@@o": "the owners of the calendar (primary owner and owner list)",
    "@@n": "everyone who is not an owner of the calendar",
})
