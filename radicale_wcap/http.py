"""HTTP pieces every door shares, below the doors and the middleware.

The doors answer through `respond`; the middleware imports the doors, so what
they share lives here rather than in ``middleware.py`` (which would make a cycle).
Reading the body and Basic credentials had a copy in each door that needed them;
their small differences (what a bad Content-Length means) stay with the callers.
"""

from __future__ import annotations

import base64
import binascii
import http
import io
from typing import List, Optional, Tuple


class BodyTooLarge(ValueError):
    def __init__(self, length: int) -> None:
        super().__init__("body of %d bytes" % length)
        self.length = length


def respond(start_response, status: str, headers: list, body: bytes) -> List[bytes]:
    # The length is always the body's own, whatever a door put in its headers.
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    return [body]


def status_line(status: int) -> str:
    """The WSGI status line for a code, with its standard reason phrase."""
    try:
        return "%d %s" % (status, http.HTTPStatus(status).phrase)
    except ValueError:
        return "%d Unknown" % status


def content_length(environ) -> Optional[int]:
    """The declared body length (0 when none), None when it is not a number."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return max(length, 0)


def read_body(environ, limit: Optional[int] = None, keep: bool = False) -> bytes:
    """The body as declared (empty when the length is missing or not a number).

    ``limit``: BodyTooLarge beyond it; the middleware refuses a declared length over the
    door's limit first, and the check after reading catches a body that lies.
    ``keep``: put the body back for Radicale, which reads it again.
    """
    length = content_length(environ) or 0
    if limit is not None and length > limit:
        raise BodyTooLarge(length)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if limit is not None and len(body) > limit:
        raise BodyTooLarge(len(body))
    if keep:
        environ["wsgi.input"] = io.BytesIO(body)
    return body


def basic_credentials(environ) -> Optional[Tuple[str, str]]:
    """(login, password) from a well-formed ``Authorization: Basic``, else None."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip().encode("ascii"), validate=True)
        login, _, password = decoded.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not login or not _:
        return None
    return login, password
