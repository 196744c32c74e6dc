"""Parse an uploaded Trumba-style feed into storable events, with line-numbered warnings.

``PUT /service/<webname>.ics`` (Trumba help, "Programmatically upload iCal files").
This package part knows nothing of the store: it turns the body into one
:class:`FeedEvent` per UID and the messages of the "Response Values" table that can
be decided from the file alone (2101..2105, 3101).  ``apply.py`` compares with the
store and adds 1101/1102/1103.  Three passes, one module each (their decisions are
in their docstrings and in docs/trumba.md): ``lexer.py`` (bytes to components with
line numbers), ``checks.py`` (values, required properties, zones), ``events.py``
(grouped by UID, serialized, fingerprinted, vobject's final word).

* Other components (VTODO, VJOURNAL...): 2101 and dropped: the import is for events.
* The store's size limits (``limits.py``): a component with more properties than
  they allow is a 3101 naming its line, found by counting on the text before the
  line pass (one such event, 100,000 X- properties in 1.2 MB, cost 24 s before); a
  longer line is dropped with 2102.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Container

from radicale_wcap.limits import ItemLimits, ItemOverLimits
from radicale_wcap.trumba.checks import PROPERTIES, Zones, check_vtimezone, iana_zone
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.events import FeedEvent, collect_events, vobject_problem
from radicale_wcap.trumba.lexer import Component, FeedError, build_tree, decode_body
from radicale_wcap.trumba.report import Message

__all__ = ["Feed", "FeedError", "FeedEvent", "parse_feed"]


@dataclass
class Feed:
    method: str | None
    events: list[FeedEvent] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # not tied to a stored event
    rejected: list[Message] = field(default_factory=list)  # one per VEVENT not imported
    properties: dict[str, str] = field(default_factory=dict)  # VCALENDAR level, first of each

    def all_messages(self) -> list[Message]:
        """Every message, file order (feed-level messages without a line first)."""
        messages = [*self.messages, *self.rejected]
        for event in self.events:
            messages.extend(event.messages)
        return sorted(messages, key=lambda m: -1 if m.line is None else m.line)

def parse_feed(body: bytes, *, calendar_tzid: str, max_events: int,
               max_bytes: int | None = None,
               known_fingerprints: Container[str] = frozenset(),
               item_limits: ItemLimits | None = None) -> Feed:
    """Parse an uploaded feed; raise FeedError (3101) when nothing may be imported.

    ``max_events`` counts VEVENT components (overrides included), ``max_bytes``
    the body, ``item_limits`` each calendar object (default: the settings' defaults);
    all are limits of the server configuration.

    ``known_fingerprints``: fingerprints of events imported before (the origins
    table). vobject accepted an event of that canonical form then, so its parse, the
    last and costliest check (70% of re-importing an unchanged feed), is skipped.
    Whatever is written is still parsed by Radicale when it is prepared for storing.
    """
    if not iana_zone(calendar_tzid):
        raise ValueError(f"calendar time zone {calendar_tzid!r} is not an IANA zone")
    if max_bytes is not None and len(body) > max_bytes:
        raise FeedError(f"the body is larger than {max_bytes} bytes (limit of this server)")
    limits = item_limits or ItemLimits.defaults()
    body = decode_body(body)
    try:
        # Long lines cost only themselves (build_tree drops them).
        replace(limits, line_size=0).check_text(
            body.decode("utf-8", "replace"), one_item=False)
    except ItemOverLimits as e:
        raise FeedError(f"{e} (limit of this server)", line=e.line) from None
    calendar, outside = build_tree(body, max_events, limits.line_size)
    feed = Feed(method=None, messages=outside)
    for cl in calendar.lines:
        feed.properties.setdefault(cl.name, cl.value)
        if cl.name not in PROPERTIES and not cl.name.startswith("X-"):
            feed.messages.append(Message(Code.PROPERTY_NOT_RECOGNIZED, line=cl.line,
                                         detail=f"{cl.name}: calendar property ignored"))
    method = calendar.get("METHOD")
    feed.method = method.value.strip().upper() if method else None
    cancel = feed.method == "CANCEL"

    zones = Zones(calendar_tzid)
    vevents: list[Component] = []
    for comp in calendar.children:
        if comp.name == "VEVENT":
            vevents.append(comp)
        elif comp.name == "VTIMEZONE":
            problem = check_vtimezone(comp)
            feed.messages.extend(Message(code, line=line, detail=detail)
                                 for code, line, detail in comp.warnings)
            for observance in comp.children:
                feed.messages.extend(Message(c, line=ln, detail=d) for c, ln, d in observance.warnings)
            tzid = comp.get("TZID")
            if problem is None:
                reason = vobject_problem(comp.text_lines())
                if reason:
                    problem = (Code.CONTENT_LINE_INVALID, comp.line,
                               f"VTIMEZONE not usable ({reason}); VTIMEZONE ignored")
            if problem:
                feed.messages.append(Message(problem[0], line=problem[1], detail=problem[2]))
            elif tzid.value in zones.defined:
                feed.messages.append(Message(Code.CONTENT_LINE_INVALID, line=comp.line,
                                             detail=f"VTIMEZONE {tzid.value} defined twice; "
                                                    "the first one is used"))
            else:
                zones.defined[tzid.value] = comp
        else:
            feed.messages.append(Message(Code.PROPERTY_NOT_RECOGNIZED, line=comp.line,
                                         detail=f"{comp.name} component not imported"))

    events, untied, rejected = collect_events(vevents, zones, cancel, calendar,
                                              known_fingerprints, limits)
    feed.events.extend(events)
    feed.messages.extend(untied)
    feed.rejected.extend(rejected)
    return feed
