"""A user's subscribed calendars and what he calls them, kept in his preferences.

The subscribed list is the ``icsSubscribed`` preference in the form get_userprefs
shows and Lightning parses (docs/wcap-clients.md#userprefs-answer): ``calid$name``
parts joined by ``,``; Lightning ignores a part without ``$``, so every part written
has one. Keeping it in the preference means set_userprefs, get_userprefs, the WCAP list
commands, the command line and the CalDAV home can never disagree.

What the subscriber sets on his view of a shared calendar (display name, colour,
order) is his, not the owner's: it is kept in his ``caldavSharedProps`` preference
(a JSON object, calid -> properties), which the directory stores with the others.
"""

from __future__ import annotations

import json
import logging
from typing import Callable, Dict, Iterable, List, Optional

logger = logging.getLogger("radicale.wcap.sharing")

PREF = "icsSubscribed"
PROPS_PREF = "caldavSharedProps"

#: The properties a subscriber may set on his view; everything else is the owner's.
OWN_PROPS = ("D:displayname", "ICAL:calendar-color", "ICAL:calendar-order")
MAX_PROP_LENGTH = 1024


def _prefs(directory, user: str) -> dict:
    found = directory.get(user) if user else None
    return (found.prefs or {}) if found is not None else {}


def parse(text) -> List[str]:
    """The calids of an ``icsSubscribed`` value, in order, without duplicates."""
    calids: List[str] = []
    for part in str(text or "").split(","):
        calid = part.split("$", 1)[0].strip()
        if calid and calid not in calids:
            calids.append(calid)
    return calids


def subscribed(directory, user: str) -> List[str]:
    return parse(_prefs(directory, user).get(PREF))


def stored_names(directory, user: str) -> Dict[str, str]:
    """calid -> the name its ``calid$name`` part carries."""
    names: Dict[str, str] = {}
    for part in str(_prefs(directory, user).get(PREF) or "").split(","):
        calid, _, name = part.partition("$")
        names.setdefault(calid.strip(), name)
    return names


def _entry(calid: str, name: str) -> str:
    # ',' and '$' are the list's own separators.
    return "%s$%s" % (calid, (name or "").replace(",", " ").replace("$", " "))


def _store(directory, user: str, calids: List[str], name_of: Callable[[str], str]) -> None:
    value = ",".join(_entry(c, name_of(c)) for c in calids)
    directory.set_prefs(user, {PREF: value or None})


def subscribe(directory, user: str, calids: Iterable[str],
              name_of: Callable[[str], str]) -> None:
    current = subscribed(directory, user)
    _store(directory, user, current + [c for c in calids if c not in current], name_of)


def unsubscribe(directory, user: str, calids: Iterable[str],
                name_of: Optional[Callable[[str], str]] = None) -> None:
    """Out of the list, and the subscriber's own properties of them with it. The
    names of the rest are ``name_of``'s, or as they were."""
    calids = list(calids)
    if name_of is None:
        name_of = stored_names(directory, user).get
    _store(directory, user, [c for c in subscribed(directory, user) if c not in calids],
           name_of)
    own = all_own_props(directory, user)
    if any(c in own for c in calids):
        for calid in calids:
            own.pop(calid, None)
        _store_own(directory, user, own)


def all_own_props(directory, user: str) -> Dict[str, Dict[str, str]]:
    text = _prefs(directory, user).get(PROPS_PREF)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        logger.warning("Preference %s of %r is not JSON; ignored", PROPS_PREF, user)
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(calid): {k: str(v) for k, v in props.items() if k in OWN_PROPS}
            for calid, props in value.items() if isinstance(props, dict)}


def own_props(directory, user: str, calid: str) -> Dict[str, str]:
    return all_own_props(directory, user).get(calid, {})


def _store_own(directory, user: str, own: Dict[str, Dict[str, str]]) -> None:
    own = {calid: props for calid, props in own.items() if props}
    directory.set_prefs(user, {PROPS_PREF: json.dumps(own, sort_keys=True) if own else None})


def set_own_props(directory, user: str, calid: str, changes: Dict[str, object]) -> None:
    """Apply ``changes`` (a value None removes it) to the user's own properties of
    ``calid``. Raises ValueError for a property that is not the subscriber's."""
    for name, value in changes.items():
        if name not in OWN_PROPS:
            raise ValueError("%s is the owner's property" % name)
        if value is not None and len(str(value)) > MAX_PROP_LENGTH:
            raise ValueError("%s is longer than %d characters" % (name, MAX_PROP_LENGTH))
    own = all_own_props(directory, user)
    props = dict(own.get(calid, {}))
    for name, value in changes.items():
        if value is None:
            props.pop(name, None)
        else:
            props[name] = str(value)
    own[calid] = props
    _store_own(directory, user, own)
