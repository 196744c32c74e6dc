"""The XML answer to ``PUT /service/<webname>.ics``.

The Trumba help page only says: a root ``Response`` and one ``ResponseMessage``
per message, which may carry the event's UID and a line number.  The shape
chosen here (documented in docs/trumba.md) puts the machine-readable parts in
attributes and the free-text detail in the element text::

    <?xml version="1.0" encoding="UTF-8"?>
    <Response>
      <ResponseMessage Code="2103" Level="Warning" Description="DateTime is invalid"
                       UID="ev-1@example.org" Line="14">DTEND: ...</ResponseMessage>
    </Response>

The document is written by hand rather than with ElementTree because the text
comes from uploaded files: XML 1.0 can not carry most C0 control characters
even as character references, so they are replaced (U+FFFD) instead of
producing a document no client can parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from radicale_wcap.trumba.codes import Code, Level, row

CONTENT_TYPE = "application/xml; charset=utf-8"

# A whole-feed failure (3101) means nothing was imported: 400 tells HTTP-level
# connectors (curl --fail, .NET WebClient) that the upload failed.  Warnings and
# rejected single events do not fail the PUT: the rest of the feed was applied.
STATUS_OK = 200
STATUS_ERROR = 400

# Characters XML 1.0 allows (section 2.2); everything else becomes U+FFFD.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                      "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


@dataclass(frozen=True)
class Message:
    """One ``ResponseMessage``: a code from codes.TABLE, where it applies, and why."""

    code: Code
    uid: str | None = None
    line: int | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", Code(self.code))

    @property
    def level(self) -> Level:
        return row(self.code).level

    @property
    def description(self) -> str:
        return row(self.code).description


def http_status(messages: Iterable[Message]) -> int:
    """400 when any message is an Error (3101: nothing imported), else 200."""
    return STATUS_ERROR if any(m.level is Level.ERROR for m in messages) else STATUS_OK


def render_response(messages: Iterable[Message]) -> bytes:
    """The UTF-8 XML document for ``messages``, in their order."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n']
    for message in messages:
        attributes = [("Code", str(int(message.code))), ("Level", message.level.value),
                      ("Description", message.description)]
        if message.uid is not None:
            attributes.append(("UID", message.uid))
        if message.line is not None:
            attributes.append(("Line", str(int(message.line))))
        out.append("  <ResponseMessage")
        for name, value in attributes:
            out.append(f' {name}="{_escape(value, _ATTRIBUTE_ESCAPES)}"')
        if message.detail:
            out.append(f">{_escape(message.detail, _TEXT_ESCAPES)}</ResponseMessage>\n")
        else:
            out.append("/>\n")
    out.append("</Response>\n")
    return "".join(out).encode("utf-8")


def render_server_error(status: int, detail: str) -> bytes:
    """The answer when the server, not the file, failed (a full disk: 507; anything
    else: 500). Trumba's table has no code for that and 3101 would blame the file, so
    there is no ``ResponseMessage``: one ``ServerError`` element with the HTTP status."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <ServerError Status="%d">'
            '%s</ServerError>\n</Response>\n' % (int(status), _escape(detail, _TEXT_ESCAPES))
            ).encode("utf-8")


def _escape(text: str, escapes: dict[str, str]) -> str:
    # Lone surrogates (from surrogateescape decoding) are not XML chars either.
    text = _NOT_XML_CHAR.sub("\ufffd", str(text))
    return "".join(escapes.get(ch, ch) for ch in text)
