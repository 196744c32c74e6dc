"""The WCAP output formats of one `Result`: the manual's three ("Output Format") and
Oracle Calendar Server's text/json.

``render(result, fmt_out) -> (content_type, body_bytes)``; ``fmt_out`` is one of
`FORMATS`. Each module (`ical`, `xml`, `js`, `json`) lays the same Result out as the
examples of that format do, always well-formed: one VCALENDAR with CRLF and folded
lines; XML with the declaration at byte 0 and un-namespaced ``<iCalendar><iCal>``;
JavaScript whose ``<script>`` body parses and never contains ``</script>``; one JSON
document. What they share is in `base`, so that they never import this module back.
"""

from __future__ import annotations

from typing import Any

from . import ical, js, json, xml
from .base import Rendered
from ..result import Result

FORMATS = ("text/calendar", "text/xml", "text/js", "text/json")
CONTENT_TYPES = {
    "text/calendar": "text/calendar; charset=utf-8",
    "text/xml": "text/xml; charset=utf-8",
    "text/js": "text/js; charset=utf-8",
    "text/json": "text/json; charset=utf-8",
}
RENDERERS = {"text/calendar": ical.render, "text/xml": xml.render, "text/js": js.render,
             "text/json": json.render}


def prerender(component: Any, fmt_out: str, brief: bool) -> Rendered:
    """``component`` laid out exactly as `render` would lay it out in ``fmt_out``."""
    name = component.name.upper()
    if fmt_out == "text/calendar":
        return Rendered(name, fmt_out, ical.component_text(component))
    if fmt_out == "text/xml":
        return Rendered(name, fmt_out, xml.component_xml(component))
    if fmt_out == "text/json":
        return Rendered(name, fmt_out, json.component_json(component))
    array, text = js.component_entry(component, brief)
    return Rendered(name, fmt_out, text, array)


def render(result: Result, fmt_out: str) -> tuple[str, bytes]:
    return CONTENT_TYPES[fmt_out], RENDERERS[fmt_out](result).encode("utf-8")
