"""text/calendar: the manual's iCalendar layout, as one valid VCALENDAR.

Layout (manual fetchcomponents_by_range / get_calprops examples)::

    BEGIN:VCALENDAR
    PRODID:... / METHOD:PUBLISH / VERSION:2.0
    <top-level props>, X-NSCP-GUID<n>
    per calendar: its X-NSCP-CALPROPS-* lines, then its components
    <top-level components>
    X-NSCP-WCAP-ERRNO:<n>
    END:VCALENDAR

Deviations from the manual, each for a client:

* ``VERSION:2.0``, not the manual's ``VERSION:5.1.1`` (that is the server version;
  RFC 2445/5545 parsers such as libical and ical.js reject any other VERSION).
* One VCALENDAR even for several calendars, where the manual prints one per calid:
  Lightning parses several into an ``XROOT`` on which it finds no errno at all
  (docs/wcap-clients.md#response-parsing). Each calendar's calprops precede its components,
  so the ``X-NSCP-CALPROPS-RELATIVE-CALID`` line still starts each calendar's block.
* ``X-NSCP-WCAP-ERRNO`` in every answer (the manual's version/get_guids examples omit it).
* Every calendar's block begins with its ``X-NSCP-CALPROPS-RELATIVE-CALID``, a failed
  one's with the layer's errno as a parameter (the manual's per-calid VCALENDARs each
  had their own errno line; `base.layer_props`).

Lines end in CRLF and fold at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import re

from radicale_wcap import ical_text
from radicale_wcap.ical_text import escape_text

from .base import (ICAL_VERSION, PRODID, RELATIVE_CALID, Rendered, children, is_component,
                   layer_props, line_value, strip_controls)
from ..result import Prop, Result


def _param_value(value: str) -> str:
    # RFC 5545 forbids DQUOTE in parameter values and any control character; RFC 6868
    # caret-encodes them. Quote when the value has ':' ';' or ','.
    value = strip_controls(value.replace("^", "^^").replace("\r\n", "^n")
                           .replace("\n", "^n").replace("\r", "^n").replace('"', "^'"))
    if re.search(r"[:;,]", value):
        return f'"{value}"'
    return value


def fold(line: str) -> str:
    """One content line, folded, with its line end."""
    return ical_text.fold(line) + "\r\n"


def content_line(name: str, value: str, params=()) -> str:
    head = name.upper() + "".join(f";{key}={_param_value(val)}" for key, val in params)
    # A raw newline in an already-escaped value would end the line early.
    value = strip_controls(re.sub(r"\r\n|\r|\n", r"\\n", value))
    return fold(f"{head}:{value}")


def prop_line(prop: Prop) -> str:
    return content_line(prop.name, escape_text(prop.value), prop.params)


def _layer_prop_line(prop: Prop, layer) -> str:
    """A layer's calprop; its calid line carries the layer's errno when that is not 0
    (``X-NSCP-CALPROPS-RELATIVE-CALID;X-NSCP-WCAP-ERRNO=28:jsmith``): the one VCALENDAR
    has a single ``X-NSCP-WCAP-ERRNO``, the command's, and a parameter is where a
    text/calendar client can see which calendar failed and why."""
    if prop.name.upper() == RELATIVE_CALID and layer.errno:
        prop = Prop(prop.name, prop.value, (("X-NSCP-WCAP-ERRNO", str(int(layer.errno))),)
                    + tuple(prop.params))
    return prop_line(prop)


def component_text(component) -> str:
    if isinstance(component, Rendered):
        return component.text
    parts = [fold(f"BEGIN:{component.name.upper()}")]
    for child in children(component):
        if is_component(child):
            parts.append(component_text(child))
        else:
            value, params = line_value(child, escaped=True)
            parts.append(content_line(child.name, value, params))
    parts.append(fold(f"END:{component.name.upper()}"))
    return "".join(parts)


def render(result: Result) -> str:
    out = [fold("BEGIN:VCALENDAR"), fold(f"PRODID:{PRODID}")]
    if result.method:
        out.append(fold(f"METHOD:{result.method}"))
    out.append(fold(f"VERSION:{ICAL_VERSION}"))
    out += [prop_line(p) for p in result.props]
    out += [content_line(f"X-NSCP-GUID{i}", escape_text(g)) for i, g in enumerate(result.guids)]
    for layer in result.calendars:
        out += [_layer_prop_line(p, layer) for p in layer_props(layer)]
        out += [component_text(c) for c in layer.components]
    out += [component_text(c) for c in result.components]
    out.append(fold(f"X-NSCP-WCAP-ERRNO:{int(result.errno)}"))
    out.append(fold("END:VCALENDAR"))
    return "".join(out)
