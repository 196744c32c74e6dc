"""One JSON API request: method, path, query, headers and a capped body."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import urllib.parse
from typing import Optional

from radicale_wcap import http
from radicale_wcap.http import BodyTooLarge  # noqa: F401 (the door's name for it)

# An event is three levels deep; 64 leaves room for any client's extras.
MAX_JSON_DEPTH = 64
# A JSON string (the decoder's own grammar), so that brackets inside one are not counted.
# The closing quote is optional: an unterminated string then runs to the end in one
# match instead of failing and being retried from every later quote (quadratic).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class NotJson(ValueError):
    """The Content-Type is not JSON: refused so that an HTML form (which can
    only send urlencoded, multipart or text/plain) cannot reach a write
    with the browser's cached Basic credentials."""


class BadJson(ValueError):
    pass


def json_depth(text: str) -> int:
    """How deep the arrays and objects of ``text`` nest, without parsing it.

    ``json.loads`` recurses once per level, so a body of 30,000 ``[`` (30 KB) ends in a
    RecursionError after the stack is spent; this count is linear in time and memory.
    Wherever the text is not JSON the count may be off, but only after the point where
    the decoder would stop with an error anyway.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def loads(data: bytes, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` of a request body, BadJson for anything not JSON or nested deeper
    than ``max_depth``, so that no body reaches the decoder's recursion limit."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadJson(str(error)) from None
    # Fewer openers than the limit can not nest deeper: the usual body skips the scan.
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise BadJson("nested deeper than %d levels" % max_depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BadJson(str(error)) from None


def read_body(environ, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; BodyTooLarge beyond that."""
    return http.read_body(environ, limit=limit)


@dataclasses.dataclass
class ApiRequest:
    environ: dict
    method: str
    path: str
    query: dict
    body: bytes
    user: Optional[str] = None

    @classmethod
    def from_environ(cls, environ, body: bytes) -> "ApiRequest":
        return cls(environ=environ,
                   method=environ.get("REQUEST_METHOD", "GET").upper(),
                   path=environ.get("PATH_INFO", "") or "/",
                   query=urllib.parse.parse_qs(environ.get("QUERY_STRING", ""),
                                               keep_blank_values=True),
                   body=body)

    def header(self, name: str) -> Optional[str]:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return self.environ.get(key)
        return self.environ.get("HTTP_" + key)

    def param(self, name: str) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def content_type(self) -> Optional[str]:
        return self.header("Content-Type")

    def is_json_type(self) -> bool:
        mime = (self.content_type or "").split(";", 1)[0].strip().lower()
        return mime == "application/json" or (mime.startswith("application/")
                                              and mime.endswith("+json"))

    def json(self):
        """The body as JSON; the Content-Type must say JSON even if it is empty."""
        if not self.is_json_type():
            raise NotJson(self.content_type)
        if not self.body.strip():
            return None
        return loads(self.body)
