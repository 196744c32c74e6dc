"""One JSON API request: method, path, query, headers and a capped body."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from typing import Optional


class BodyTooLarge(ValueError):
    pass


class NotJson(ValueError):
    """The Content-Type is not JSON: refused so that an HTML form (which can
    only send urlencoded, multipart or text/plain) cannot reach a write
    with the browser's cached Basic credentials."""


class BadJson(ValueError):
    pass


def read_body(environ, limit: int) -> bytes:
    """At most ``limit`` bytes of the body; BodyTooLarge beyond that.

    The middleware refuses a declared Content-Length over the door's limit
    before we get here; reading one byte more catches a body that lies.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    if length > limit:
        raise BodyTooLarge(length)
    stream = environ["wsgi.input"]
    body = stream.read(length)
    if len(body) > limit:
        raise BodyTooLarge(len(body))
    return body


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
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise BadJson(str(error)) from None
