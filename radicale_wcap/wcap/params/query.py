"""A WCAP request's raw values: ``{key: [raw value, ...]}`` from the query and a form
POST body, still percent-encoded, and the splitting of list values.

* Values stay **percent-encoded**: lists are split on ``;`` (outside double quotes, for
  rrules) and attendee entries on ``^`` *before* decoding, because Lightning encodes
  each item by itself (``calid=a;b%3Ac``, ``rrules="FREQ%3DWEEKLY%3BCOUNT%3D5"``) and a
  decode-then-split parser would cut a rule at its ``%3B``. ``%22`` and ``%5E`` count
  as ``"`` and ``^`` too (Necko may encode them).
* ``+`` is a space and ``%2B`` a plus, in a GET query as in an
  ``application/x-www-form-urlencoded`` POST body: that is the form encoding every
  CGI-era server decoded, and clients that build queries with a form encoder (Java's
  ``URLEncoder``, PHP's ``urlencode``, Python's ``urlencode``) send
  ``summary=Team+meeting`` for "Team meeting". Lightning writes a space as ``%20`` and a
  plus as ``%2B`` (``encodeURIComponent``), so it reads the same either way.
* No length cap: the manual's 1,024-character note is a warning, and clients send long
  ``desc`` values in the query (docs/wcap-clients.md#long-queries).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_plus

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def split_pairs(text: str, plus_is_space: bool) -> list[tuple[str, str]]:
    """``a=1&b=%3B`` -> ``[("a", "1"), ("b", "%3B")]``: keys decoded, values raw."""
    pairs = []
    for chunk in text.split("&"):
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        key = (unquote_plus if plus_is_space else unquote)(key).strip()
        if plus_is_space:
            # '+' is a space in form encoding; turn it into %20 now so that the later
            # per-item decoding (which never treats '+' specially) sees a space.
            value = value.replace("+", "%20")
        if key:
            pairs.append((key, value))
    return pairs


def raw_request(query: str, body: bytes | str | None = None,
                content_type: str | None = None) -> dict[str, list[str]]:
    """All raw (still-encoded) values per key, from a GET query and a form POST body."""
    values: dict[str, list[str]] = {}
    for key, value in split_pairs(query or "", plus_is_space=True):
        values.setdefault(key, []).append(value)
    if body and (content_type or "").split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
        if isinstance(body, bytes):
            body = body.decode("latin-1")  # percent-escapes carry the UTF-8 bytes
        for key, value in split_pairs(body, plus_is_space=True):
            values.setdefault(key, []).append(value)
    return values


def decode(raw: str) -> str:
    """Percent-decode one raw item as UTF-8; invalid bytes are a bad value."""
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise ValueError("value is not UTF-8") from e


def canon_marks(raw: str) -> str:
    # %22 and %5E are the encoded forms of the WCAP list marks '"' and '^'.
    return re.sub(r"%(22|5[Ee])", lambda m: '"' if m.group(1) == "22" else "^", raw)


def split_list(raw: str, sep: str = ";", quotes: bool = False) -> list[str]:
    """Split a raw value on ``sep``, ignoring separators inside ``"..."`` if ``quotes``.

    The pieces stay raw (encoded); an empty value is an empty list.
    """
    if quotes:
        raw = canon_marks(raw)
    if raw == "":
        return []
    if not quotes:
        return raw.split(sep)
    pieces, current, inside = [], [], False
    for ch in raw:
        if ch == '"':
            inside = not inside
        if ch == sep and not inside:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    if inside:
        raise ValueError("unbalanced quote")
    pieces.append("".join(current))
    return pieces
