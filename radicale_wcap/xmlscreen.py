"""WebDAV XML request bodies screened before Radicale parses them.

Radicale 3.9 parses PROPFIND, PROPPATCH, REPORT, MKCALENDAR and MKCOL bodies
with defusedxml, which refuses entity declarations by raising; the request
then ends as a 500 after ``[server] delay_on_error``. A body nested 20,000
elements deep parses, and then overflows the stack in Radicale's recursive
``xmlutils.pretty_xml`` (500 again). Neither is a server error: both are
refused here with a 400, by one streaming expat pass (no recursion, no tree
built, stopped at the first offence).

No WebDAV or CalDAV body needs a document type declaration (RFC 4918,
section 20.6, advises against them), and the deepest CalDAV filter nests
about ten elements, so ``MAX_DEPTH`` leaves ample room.
"""

from __future__ import annotations

from typing import Optional
from xml.parsers import expat

MAX_DEPTH = 100

# Methods whose body Radicale reads as XML (its _read_xml_request_body).
XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR", "MKCOL"})


class _Refused(Exception):
    pass


def refusal(text: str, max_depth: int = MAX_DEPTH) -> Optional[str]:
    """Why ``text`` is refused, or None.

    Malformed XML is not refused here: Radicale answers it with its own 400.
    ``text`` is the body as Radicale decodes it, so both parse the same thing.
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0

    def doctype(*_args) -> None:
        raise _Refused("a document type declaration is not accepted")

    def entity(*_args) -> None:
        raise _Refused("an entity declaration is not accepted")

    def start(*_args) -> None:
        nonlocal depth
        depth += 1
        if depth > max_depth:
            raise _Refused("elements nested deeper than %d are not accepted" % max_depth)

    def end(*_args) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)
    except _Refused as e:
        return str(e)
    except expat.ExpatError:
        return None
    return None
