"""One access line per request, whatever the door.

The wrapper (``wrapper.py``) knows the method, path, status, duration and bytes; only
a door knows the WCAP command's user, calendar and errno, so doors add them with
`note` into the request's record (``environ[ACCESS_KEY]``). Nothing from the query
string or a header value is ever written: WCAP passwords and session ids travel in the
query, Basic credentials and API keys in headers. The user is the door's verified user,
or else the login name of a Basic header (as Apache's ``%u``), never its password.

Lines go to the server log (logger ``radicale.wcap.access``, shown at ``[logging] level
= info``) or are appended to a file of their own, opened per line with ``O_APPEND``: one
``write`` per line, so several worker processes never interleave, and logrotate can
move the file without a signal. ``json`` writes one object per line for log shippers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from typing import Any, Dict, Mapping, MutableMapping, Optional

logger = logging.getLogger("radicale.wcap.access")

ACCESS_KEY = "radicale_wcap.access"
FORMATS = ("text", "json")
# The order of the text line's fields; the first three stand bare.
FIELDS = ("door", "method", "command", "user", "calid", "path", "status", "errno",
          "ms", "bytes", "remote", "forwarded")
MAX_VALUE = 200
_WARN_INTERVAL = 60.0


def note(environ: Optional[Mapping[str, Any]], **fields: Any) -> None:
    """What a door knows about the request: ``user``, ``calid``, ``errno``, ..."""
    record = environ.get(ACCESS_KEY) if environ else None
    if record is not None:
        record.update(fields)


def new_record(environ: MutableMapping[str, Any]) -> Dict[str, Any]:
    record: Dict[str, Any] = {
        "method": environ.get("REQUEST_METHOD", ""),
        "path": environ.get("PATH_INFO", "") or "/",
        "remote": environ.get("REMOTE_ADDR", ""),
    }
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        # The last hop is the one the proxy in front of us added.
        record["forwarded"] = forwarded.rsplit(",", 1)[-1].strip()
    environ[ACCESS_KEY] = record
    return record


def _text_value(value: Any) -> str:
    """Bare when it can not be mistaken for a separator, else a JSON string, so that a
    user name with a space or a newline can not forge a field or a line."""
    text = str(value)[:MAX_VALUE]
    if not text:
        return "-"
    if any(c in text for c in ' "=\\') or not text.isprintable():
        return "".join(c if c.isprintable() else "\\u%04x" % ord(c)
                       for c in json.dumps(text, ensure_ascii=False))
    return text


def format_text(record: Mapping[str, Any]) -> str:
    parts = [_text_value(record.get(name, "")) for name in FIELDS[:3]]
    for name in FIELDS[3:]:
        if name in record and record[name] is not None and record[name] != "":
            parts.append("%s=%s" % (name, _text_value(record[name])))
    return " ".join(parts)


def format_json(record: Mapping[str, Any]) -> str:
    out: Dict[str, Any] = {"time": record.get("time", "")}
    for name in FIELDS:
        value = record.get(name)
        if value is None or value == "":
            continue
        out[name] = value if isinstance(value, (int, float)) else str(value)[:MAX_VALUE]
    out["pid"] = os.getpid()
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def timestamp(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


class AccessLog:
    """``destination``: "" (the server log), ``off``, or a file path."""

    def __init__(self, destination: str, fmt: str = "text") -> None:
        if fmt not in FORMATS:
            raise ValueError("access log format must be one of %s, not %r" % (
                ", ".join(FORMATS), fmt))
        self.destination = destination.strip()
        self.format = format_json if fmt == "json" else format_text
        self._warned = 0.0

    @classmethod
    def from_settings(cls, settings) -> "AccessLog":
        return cls(settings.get("http", "access_log"), settings.get("http", "access_log_format"))

    def write(self, record: Mapping[str, Any]) -> None:
        if self.destination.lower() == "off":
            return
        line = self.format(record)
        if not self.destination:
            logger.info("%s", line)
            return
        if self.format is format_text:
            line = "%s %s" % (record.get("time", ""), line)
        try:
            fd = os.open(self.destination, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (line + "\n").encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError as e:
            now = time.monotonic()
            if now - self._warned > _WARN_INTERVAL or not self._warned:
                self._warned = now
                logger.warning("Can not write the access log %s: %s", self.destination, e)
