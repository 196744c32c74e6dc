"""text/json: the fourth layout of a `Result`, for Oracle Communications Calendar
Server's clients.

Oracle's WCAP developer's guides for Calendar Server 7 and 8 (E56603, E63138) list
``text/json`` beside text/calendar and text/xml for every command ("Web Calendar Access
Protocol Overview"), and their "Design Changes" chapter says the format was used by
Convergence since Calendar Server 6.3 (patch 121657-24) and documented from 7 on.
Their JSON examples could not be read where this was written, so the shape is the
text/xml answer's tree, which those guides present as the same data, written as JSON
with iCalendar's names::

    {"iCalendar": {"iCal": [
      {"version": "2.0", "prodid": "-//radicale_wcap//WCAP 3.0//EN", "method": "PUBLISH",
       "X-NSCP-WCAP-SESSION-ID": "...",             top-level properties (first iCal)
       "X-NSCP-CALPROPS-RELATIVE-CALID": "jdoe",    one iCal per requested calendar
       "X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY": ["@@o^a^r^g", "@^a^fs^g"],
       "VEVENT": [{"UID": "...", "DTSTART": "20240716T070000Z",
                   "X-NSCP-DTSTART-TZID": "Europe/Berlin",
                   "ATTENDEE": [{"value": "mailto:bob@example.com", "PARTSTAT": "ACCEPTED",
                                 "X-S1CS-CALID": "bob"}],
                   "VALARM": [{"ACTION": "EMAIL", "TRIGGER": "-PT15M"}]}],
       "VFREEBUSY": [{"DTSTART": "...", "DTEND": "...",
                      "FREEBUSY": [{"value": "20240716T070000Z/20240716T080000Z",
                                    "FBTYPE": "BUSY"}]}],
       "X-NSCP-WCAP-ERRNO": 0}]}}

Rules, so that a client needs no special cases:

* ``iCalendar.iCal`` is always a list: one object per requested calendar, each with its
  own ``X-NSCP-WCAP-ERRNO`` and ``X-NSCP-CALPROPS-RELATIVE-CALID`` (as text/xml gives
  each its ``<iCal>``); answers without calendars have one.
* Names are iCalendar's (``VEVENT``, ``DTSTART``, ``RECURRENCE-ID``), not the text/xml
  renames (EVENT, START, RECURID): the text/calendar names a JSON client meets in
  ``X-NSCP-DTSTART-TZID`` and in every other format's documentation. They keep their
  case, as text/xml's elements do (``X-NSCP-WCAP-PREF-icsCalendar``).
* Components are always lists. Properties are strings (iCalendar text, unescaped), or
  ``{"value": ..., "PARAM": ...}`` when they carry parameters (ATTENDEE and ORGANIZER
  always, `OBJECTS`); a property that may occur more than once (`REPEATING`) is always
  a list, and any other that does occur twice becomes one rather than lose a value.
* ``X-NSCP-WCAP-ERRNO`` is a number, as text/js's ``var errno``; every other value is a
  string.
* FREEBUSY lines give one entry per period (text/xml's ``<FB>`` elements).
* What only text/js prints (``layer_arrays``, ``maxResults``, ``timezoneList``) is left
  out, as in text/xml.
"""

from __future__ import annotations

import json
import re
from typing import Iterable

from .base import (ICAL_VERSION, PRODID, Rendered, children, is_component, layer_props,
                   line_value)
from ..result import Result

# Properties that RFC 5545 or the WCAP tables let occur more than once: always lists.
REPEATING = frozenset({
    "ATTACH", "ATTENDEE", "CATEGORIES", "COMMENT", "CONTACT", "EXDATE", "EXRULE", "RDATE",
    "RELATED-TO", "RESOURCES", "REQUEST-STATUS", "RRULE", "FREEBUSY",
    "X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY", "X-NSCP-CALPROPS-OWNERS",
    "X-NSCP-CALPROPS-CATEGORIES",
})
# Properties that are always objects ({"value": ...}): their parameters (CN, PARTSTAT,
# X-S1CS-CALID) are what a client reads them for.
OBJECTS = frozenset({"ATTENDEE", "ORGANIZER"})
ERRNO = "X-NSCP-WCAP-ERRNO"

_SURROGATES = re.compile("[\ud800-\udfff]")


def _text(value: str) -> str:
    # A lone surrogate would make the answer unencodable as UTF-8.
    return json.dumps(_SURROGATES.sub("", value), ensure_ascii=False)


def _value(value: str, params: Iterable[tuple[str, str]] = (), as_object: bool = False) -> str:
    params = list(params)
    if not params and not as_object:
        return _text(value)
    members = [f'"value":{_text(value)}'] + [f"{_text(k.upper())}:{_text(v)}"
                                            for k, v in params]
    return "{" + ",".join(members) + "}"


def _object(entries: Iterable[tuple[str, str, bool]]) -> str:
    """A JSON object from (name, JSON text, always a list) in order; a name that occurs
    again joins its first place."""
    grouped: dict[str, list[str]] = {}
    listed: dict[str, bool] = {}
    for name, text, as_list in entries:
        grouped.setdefault(name, []).append(text)
        listed[name] = listed.get(name, False) or as_list
    members = []
    for name, texts in grouped.items():
        body = texts[0] if len(texts) == 1 and not listed[name] else "[" + ",".join(texts) + "]"
        members.append(f"{_text(name)}:{body}")
    return "{" + ",".join(members) + "}"


def _prop_entry(name: str, value: str, params=()) -> tuple[str, str, bool]:
    # Names keep their case, as text/xml's elements do: clients look for
    # X-NSCP-WCAP-PREF-icsCalendar, not ...-ICSCALENDAR.
    upper = name.upper()
    return name, _value(value, params, upper in OBJECTS), upper in REPEATING


def _freebusy_entries(line) -> list[tuple[str, str, bool]]:
    value, params = line_value(line, escaped=False)
    fbtype = dict(params).get("FBTYPE", "BUSY")
    return [("FREEBUSY", _value(period.strip(), [("FBTYPE", fbtype)]), True)
            for period in value.split(",") if period.strip()]


def component_json(component) -> str:
    """One component as a JSON object (its sub-components as lists under their names)."""
    if isinstance(component, Rendered):
        return component.text
    entries = []
    for child in children(component):
        if is_component(child):
            entries.append((child.name.upper(), component_json(child), True))
        elif child.name.upper() == "FREEBUSY":
            entries += _freebusy_entries(child)
        else:
            value, params = line_value(child, escaped=False)
            entries.append(_prop_entry(child.name, value, params))
    return _object(entries)


def _component_entry(component) -> tuple[str, str, bool]:
    return component.name.upper(), component_json(component), True


def _head(result: Result) -> list[tuple[str, str, bool]]:
    entries = [("version", _text(ICAL_VERSION), False), ("prodid", _text(PRODID), False)]
    if result.method:
        entries.append(("method", _text(result.method), False))
    return entries


def _ical(head, entries, errno: int) -> str:
    return _object(head + entries + [(ERRNO, str(int(errno)), False)])


def render(result: Result) -> str:
    head = _head(result)
    top = [_prop_entry(p.name, p.value, p.params) for p in result.props]
    top += [_prop_entry(f"X-NSCP-GUID{i}", g) for i, g in enumerate(result.guids)]
    top += [_component_entry(c) for c in result.components]
    icals = []
    if not result.calendars:
        icals.append(_ical(head, top, result.errno))
    for index, layer in enumerate(result.calendars):
        errno = layer.errno if layer.errno is not None else result.errno
        entries = list(top) if index == 0 else []
        entries += [_prop_entry(p.name, p.value, p.params) for p in layer_props(layer)]
        entries += [_component_entry(c) for c in layer.components]
        icals.append(_ical(head, entries, errno))
    return '{"iCalendar":{"iCal":[' + ",".join(icals) + "]}}\n"

