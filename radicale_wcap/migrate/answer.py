"""A WCAP answer read back: its errno, its top-level properties and its components.

The migration reads old servers in the two formats every generation of them speaks:
``text/calendar`` (Calendar Server 6.x's default, and Oracle's) and ``text/xml`` (the
manual's iCalendar-in-XML). Which one came is decided by the answer itself, not by
what was asked, because 6.x servers answer some commands in a format of their own
(``export`` in the file ``content-out`` names, errors as an HTML comment).

Properties keep their spelling as sent: text/calendar answers may upper-case names
(``X-NSCP-WCAP-PREF-ICSSUBSCRIBED``), so preferences are read as text/xml, which keeps
``icsSubscribed`` as the manual spells it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from defusedxml import ElementTree

from radicale_wcap.wcap.commands.importing import xml_to_ical

__all__ = ["Answer", "NotWcap", "parse", "calendar_groups", "unescape"]

_FOLD = re.compile(r"\r?\n[ \t]")
_ERRNO_COMMENT = re.compile(r"errno\D{0,20}?(-?\d+)", re.IGNORECASE)
_COMPONENTS = ("EVENT", "TODO", "JOURNAL", "TIMEZONE")
# Calendar properties a calendar lists more than once; any other one seen again
# starts the next calendar of a flat multi-calendar answer (this server's
# search_calprops and list put them in one VCALENDAR, 6.x one VCALENDAR each).
REPEATED = {"X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY", "X-NSCP-CALPROPS-OWNERS",
            "X-NSCP-CALPROPS-CATEGORIES"}
CALPROPS_PREFIXES = ("X-NSCP-CALPROPS-", "X-S1CS-CALPROPS-", "X-S1CS-DEFAULTCALENDAR")


class NotWcap(ValueError):
    """The answer is neither WCAP's iCalendar nor its XML (a web page, a proxy's error)."""


@dataclass
class Answer:
    errno: Optional[int]
    props: List[Tuple[str, str]] = field(default_factory=list)
    components: str = ""   # iCalendar text of the components (BEGIN:VEVENT ... lines)

    def first(self, name: str, default: str = "") -> str:
        for key, value in self.props:
            if key.upper() == name.upper():
                return value
        return default


def unescape(value: str) -> str:
    """RFC 5545 TEXT unescaped (``\\,`` ``\\;`` ``\\n`` ``\\\\``)."""
    if "\\" not in value:
        return value
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append("\n" if following in "nN" and following else following)
        else:
            out.append(char)
    return "".join(out)


def split_line(line: str) -> Tuple[str, str, str]:
    """(name, parameters, value) of a content line; the value starts after the
    first colon that is not inside a quoted parameter value."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:index], line[index + 1:]
            name, _, params = head.partition(";")
            return name.strip(), params, value
    name, _, params = line.partition(";")
    return name.strip(), params, ""


def _parse_ical(text: str) -> Answer:
    lines = _FOLD.sub("", text).replace("\r\n", "\n").split("\n")
    depth, props, components, errno = 0, [], [], None
    for line in lines:
        if not line.strip():
            continue
        name, _, value = split_line(line)
        upper = name.upper()
        if upper == "BEGIN":
            depth += 1
            if depth >= 2:
                components.append(line)
            continue
        if upper == "END":
            if depth >= 2:
                components.append(line)
            depth -= 1
            continue
        if depth >= 2:
            components.append(line)
        elif upper == "X-NSCP-WCAP-ERRNO":
            try:
                errno = int(value.strip())
            except ValueError:
                pass
        elif depth == 1:
            props.append((name, unescape(value)))
    return Answer(errno, props, "\r\n".join(components) + ("\r\n" if components else ""))


def _parse_xml(data: bytes) -> Answer:
    try:
        root = ElementTree.fromstring(data)
    except Exception as e:  # expat's and defusedxml's errors have no common base
        raise NotWcap("malformed XML: %s" % str(e)[:120]) from e
    if root.tag not in ("iCalendar", "iCal"):
        raise NotWcap("XML root <%s> is not <iCalendar>" % root.tag[:40])
    icals = [root] if root.tag == "iCal" else list(root.iter("iCal"))
    props, errno, has_components = [], None, False
    for ical in icals:
        for child in ical:
            if child.tag in _COMPONENTS:
                has_components = True
            elif child.tag == "X-NSCP-WCAP-ERRNO":
                try:
                    errno = int((child.text or "").strip())
                except ValueError:
                    pass
            elif not len(child):
                props.append((child.tag, child.text or ""))
    components = ""
    if has_components:
        components = _inner(xml_to_ical(data))
    return Answer(errno, props, components)


def _inner(text: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    kept = [line for line in lines[1:] if line and not line.startswith(("VERSION:", "PRODID:"))]
    if kept and kept[-1] == "END:VCALENDAR":
        kept.pop()
    return "\r\n".join(kept) + ("\r\n" if kept else "")


def parse(body: bytes, content_type: str = "", header_errno: Optional[str] = None) -> Answer:
    """The answer in whichever of the two formats it came; `NotWcap` for anything else."""
    text = body.decode("utf-8", "replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or stripped.startswith("<iCalendar"):
        answer = _parse_xml(body.lstrip().lstrip(b"\xef\xbb\xbf"))
    elif stripped.upper().startswith("BEGIN:VCALENDAR"):
        answer = _parse_ical(text)
    elif stripped.startswith("<!--") and _ERRNO_COMMENT.search(stripped[:200]):
        # The manual: "the command returns only the error value in an HTML comment".
        answer = Answer(int(_ERRNO_COMMENT.search(stripped[:200]).group(1)))
    else:
        raise NotWcap("answer is %s, not WCAP" % (content_type or "of unknown type"))
    if answer.errno is None and header_errno is not None:
        try:
            answer.errno = int(header_errno)
        except ValueError:
            pass
    return answer


def calendar_groups(props: List[Tuple[str, str]]) -> List[Dict[str, List[str]]]:
    """The calendar properties of a multi-calendar answer, one dict per calendar
    (property name upper-cased -> its values in order)."""
    groups: List[Dict[str, List[str]]] = []
    current: Dict[str, List[str]] = {}
    for name, value in props:
        upper = name.upper()
        if not upper.startswith(CALPROPS_PREFIXES):
            continue
        if upper in current and upper not in REPEATED:
            groups.append(current)
            current = {}
        current.setdefault(upper, []).append(value)
    if current:
        groups.append(current)
    return groups
