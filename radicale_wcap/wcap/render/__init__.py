"""The three WCAP output formats of one `Result` (manual "Output Format").

``render(result, fmt_out) -> (content_type, body_bytes)``; ``fmt_out`` is one of
`FORMATS`. Each module (`ical`, `xml`, `js`) lays the same Result out as the manual's
examples of that format do, always well-formed: one VCALENDAR with CRLF and folded
lines; XML with the declaration at byte 0 and un-namespaced ``<iCalendar><iCal>``;
JavaScript whose ``<script>`` body parses and never contains ``</script>``. What they
share is in `base`, so that they never import this module back.
"""

from __future__ import annotations

from typing import Any

from . import ical, js, xml
from .base import Rendered
from ..result import Result

FORMATS = ("text/calendar", "text/xml", "text/js")
CONTENT_TYPES = {
    "text/calendar": "text/calendar; charset=utf-8",
    "text/xml": "text/xml; charset=utf-8",
    "text/js": "text/js; charset=utf-8",
}
RENDERERS = {"text/calendar": ical.render, "text/xml": xml.render, "text/js": js.render}


def prerender(component: Any, fmt_out: str, brief: bool) -> Rendered:
    """``component`` laid out exactly as `render` would lay it out in ``fmt_out``."""
    name = component.name.upper()
    if fmt_out == "text/calendar":
        return Rendered(name, fmt_out, ical.component_text(component))
    if fmt_out == "text/xml":
        return Rendered(name, fmt_out, xml.component_xml(component))
    array, text = js.component_entry(component, brief)
    return Rendered(name, fmt_out, text, array)


def render(result: Result, fmt_out: str) -> tuple[str, bytes]:
    return CONTENT_TYPES[fmt_out], RENDERERS[fmt_out](result).encode("utf-8")
