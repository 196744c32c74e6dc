"""text/xml: the manual's "iCalendar XML" layout, always well-formed.

Layout (manual version and verifyevents_by_ids/verifytodos_by_ids examples; [MW]
templates; docs/wcap-clients.md#xml-layout)::

    <?xml version="1.0" encoding="UTF-8"?>
    <iCalendar>
    <iCal version="2.0" prodid="..." method="PUBLISH">
    <X-NSCP-WCAPVERSION>3.0.0</X-NSCP-WCAPVERSION>      (one element per property)
    <EVENT>                                             (VEVENT; VTODO -> TODO, ...)
    <UID>...</UID>
    <RECURID>20021027T230000Z</RECURID>                 (element names: `ELEMENT_NAMES`)
    <ATTENDEE PARTSTAT="ACCEPTED" CN="...">mailto:...</ATTENDEE>   (parameters: attributes)
    </EVENT>
    <FREEBUSY><START>s</START><END>e</END><FB FBTYPE="BUSY">s/e</FB></FREEBUSY>
    <X-NSCP-WCAP-ERRNO>0</X-NSCP-WCAP-ERRNO>
    </iCal>
    </iCalendar>

One ``<iCal>`` per requested calendar, each with its own errno element: Lightning reads
get_calprops/search_calprops answers per ``<iCal>`` (docs/wcap-clients.md#errno-handling).
Answers without calendars have a single ``<iCal>``.

Deviations from the manual: the declaration is ``<?xml version="1.0" encoding="UTF-8"?>``
(the manual's version example lacks the closing ``?``, which makes the document
malformed and Lightning's DOMParser returns a ``<parsererror>``); ``version`` is 2.0.
Element names are property names except the renames in `ELEMENT_NAMES`: RECURID comes
from the manual's verify examples, START/END/FB from Lightning's and [MW]'s free/busy
layout, RSTATUS from [MW] and the Unicon client.

Oracle Calendar Server 7/8 changed these XML tags ("Design Changes Between Calendar
Server Versions"). Sun's are kept: Lightning reads ``<iCal>``/``X-NSCP-*`` by name, and
WCapCal and php-wcap-client read ``EVENT``, ``START``, ``END`` and ``RECURID``; Oracle's
own clients use text/json (`json`).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from .base import (ICAL_VERSION, PRODID, Rendered, children, is_component, layer_props,
                   line_value, strip_controls)
from ..result import Prop, Result

# iCalendar name -> element name.
ELEMENT_NAMES = {
    "VEVENT": "EVENT", "VTODO": "TODO", "VJOURNAL": "JOURNAL", "VFREEBUSY": "FREEBUSY",
    "VTIMEZONE": "TIMEZONE", "VALARM": "ALARM",
    "DTSTART": "START", "DTEND": "END", "RECURRENCE-ID": "RECURID",
    "REQUEST-STATUS": "RSTATUS",
}

_BAD_XML_CHARS = re.compile("[\ud800-\udfff\ufffe\uffff]")
_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")


def text(value: str) -> str:
    """Escape character data; ``]]>`` cannot survive because ``>`` becomes ``&gt;``."""
    return escape(_BAD_XML_CHARS.sub("", strip_controls(value)), {'"': "&quot;"})


def attr(value: str) -> str:
    value = _BAD_XML_CHARS.sub("", strip_controls(value))
    return quoteattr(value, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def element_name(name: str) -> str:
    name = ELEMENT_NAMES.get(name.upper(), name)
    if not _NAME_OK.match(name):
        name = "X-" + re.sub(r"[^A-Za-z0-9._-]", "-", name)
    return name


def element(name: str, value: str, params=()) -> str:
    tag = element_name(name)
    attrs = "".join(f" {element_name(k)}={attr(v)}" for k, v in params)
    return f"<{tag}{attrs}>{text(value)}</{tag}>\n"


def prop_element(prop: Prop) -> str:
    return element(prop.name, prop.value, prop.params)


def _freebusy(component) -> str:
    out = ["<FREEBUSY>\n"]
    for child in children(component):
        if is_component(child):
            continue
        name = child.name.upper()
        value, params = line_value(child, escaped=False)
        if name == "FREEBUSY":
            fbtype = dict(params).get("FBTYPE", "BUSY")  # Lightning requires the attribute
            for period in value.split(","):
                out.append(element("FB", period.strip(), [("FBTYPE", fbtype)]))
        elif name in ("DTSTART", "DTEND"):
            out.append(element(name, value))
        else:
            out.append(element(name, value, params))
    out.append("</FREEBUSY>\n")
    return "".join(out)


def component_xml(component) -> str:
    if isinstance(component, Rendered):
        return component.text
    if component.name.upper() == "VFREEBUSY":
        return _freebusy(component)
    tag = element_name(component.name)
    out = [f"<{tag}>\n"]
    for child in children(component):
        if is_component(child):
            out.append(component_xml(child))
        else:
            value, params = line_value(child, escaped=False)
            out.append(element(child.name, value, params))
    out.append(f"</{tag}>\n")
    return "".join(out)


def _ical_open(result: Result) -> str:
    method = f" method={attr(result.method)}" if result.method else ""
    return f"<iCal version={attr(ICAL_VERSION)} prodid={attr(PRODID)}{method}>\n"


def render(result: Result) -> str:
    head = [prop_element(p) for p in result.props]
    head += [element(f"X-NSCP-GUID{i}", g) for i, g in enumerate(result.guids)]
    head += [component_xml(c) for c in result.components]
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', "<iCalendar>\n"]
    if not result.calendars:
        out += [_ical_open(result), *head,
                element("X-NSCP-WCAP-ERRNO", str(int(result.errno))), "</iCal>\n"]
    for index, layer in enumerate(result.calendars):
        errno = layer.errno if layer.errno is not None else result.errno
        out.append(_ical_open(result))
        if index == 0:
            out += head
        out += [prop_element(p) for p in layer_props(layer)]
        out += [component_xml(c) for c in layer.components]
        out += [element("X-NSCP-WCAP-ERRNO", str(int(errno))), "</iCal>\n"]
    out.append("</iCalendar>\n")
    return "".join(out)
