"""RFC 5545 text form shared by every writer of iCalendar: line folding and TEXT escaping.

The WCAP renderer, the JSON door's ICS generator, the feed parser's serializer, the
privacy redaction and the WCAP import each build lines by hand; one rule each keeps
their output byte-for-byte alike (a difference shows up as a changed ETag).
"""

from __future__ import annotations

FOLD_OCTETS = 75


def fold(line: str) -> str:
    """One content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8
    character; the continuation's leading space counts. No line end after the last part."""
    if len(line.encode("utf-8")) <= FOLD_OCTETS:
        return line
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > FOLD_OCTETS:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts)


def escape_text(value: str, commas: bool = True) -> str:
    """RFC 5545 3.3.11 TEXT escaping; ``commas=False`` for a value whose commas separate
    a list (CATEGORIES, RESOURCES). Any line end becomes ``\\n``."""
    value = value.replace("\\", "\\\\").replace(";", "\\;")
    if commas:
        value = value.replace(",", "\\,")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
