"""The lexer of an uploaded feed: bytes to a tree of components whose every content
line knows its line number.

Why a hand-written line pass before vobject: the response must name the line of each
problem, and one bad line must cost only that line.  vobject reports neither line
numbers nor partial results, so lines are unfolded and matched against RFC 5545
section 3.1 here; ``checks.py`` then judges the values.

* Body encoding: UTF-8 (a BOM is skipped; a UTF-16 BOM decodes as UTF-16).  A line
  that is not UTF-8 is decoded as Windows-1252 (Latin-1 for its 5 unused bytes) with
  a 2102 warning on that line - Outlook-era connectors still emit it.
* A truncated file (no END:VCALENDAR) is a 3101: with ``delta=false`` a cut feed
  would otherwise delete every event after the cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.report import Message

MAX_DEPTH = 8  # VCALENDAR > VEVENT > VALARM is 3; deeper nesting is an attack, not a feed.


class FeedError(Exception):
    """The whole body is refused (3101): nothing in it may be imported."""

    def __init__(self, detail: str, *, line: int | None = None,
                 code: Code = Code.SINGLE_VCALENDAR) -> None:
        super().__init__(detail)
        self.code = Code(code)
        self.detail = detail
        self.line = line

    @property
    def message(self) -> Message:
        return Message(self.code, line=self.line, detail=self.detail)


# RFC 5545 3.1 content line grammar.  CTL excludes HTAB, which WSP allows.
_NAME = r"[A-Za-z0-9-]+"
_PARAM_VALUE = r'(?:"[^\x00-\x08\x0a-\x1f\x7f"]*"|[^\x00-\x08\x0a-\x1f\x7f";:,]*)'
_PARAM = rf"({_NAME})=({_PARAM_VALUE}(?:,{_PARAM_VALUE})*)"
_CONTENT_LINE = re.compile(rf"({_NAME})((?:;{_NAME}={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*)"
                           r":([^\x00-\x08\x0a-\x1f\x7f]*)", re.DOTALL)
_PARAM_RE = re.compile(rf";{_PARAM}")
_PARAM_ITEM = re.compile(_PARAM_VALUE)
_PHYSICAL_LINE_END = re.compile(rb"\r\n|\n|\r")
_SINGLE_TEXT = frozenset({"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CONTACT"})
_BARE_COMMA = re.compile(r"(\\.)|,")


@dataclass
class ContentLine:
    name: str                            # upper case
    params: list[tuple[str, str]]        # (NAME, raw value text as written, quotes kept)
    value: str
    line: int

    def param(self, name: str) -> str | None:
        for pname, raw in self.params:
            if pname == name:
                return _unquote(raw)
        return None

    def set_param(self, name: str, value: str) -> None:
        raw = f'"{value}"' if re.search(r'[;:,]', value) else value
        self.params = [(n, v) for n, v in self.params if n != name] + [(name, raw)]

    def text(self, without: tuple[str, ...] = ()) -> str:
        return (self.name + "".join(f";{n}={v}" for n, v in self.params if n not in without)
                + ":" + self.stored_value())

    def stored_value(self) -> str:
        """The value with bare commas escaped in single-valued text.

        Connectors often write ``SUMMARY:Lunch, then talk`` without escaping
        the comma; vobject 0.9.9 (and so Radicale) then keeps only ``Lunch``.
        Escaping the comma keeps the text the sender meant.
        """
        value_type = (self.param("VALUE") or "TEXT").upper()
        if value_type == "TEXT" and (self.name in _SINGLE_TEXT or self.name.startswith("X-")):
            return _BARE_COMMA.sub(lambda m: m.group(1) or "\\,", self.value)
        return self.value

    def canonical(self) -> str:
        params = sorted((n, ",".join(_unquote(v) for v in _split_param(raw)))
                        for n, raw in self.params)
        return self.name + "".join(f";{n}={v}" for n, v in params) + ":" + self.value


@dataclass
class Component:
    name: str
    line: int
    lines: list[ContentLine] = field(default_factory=list)
    children: list["Component"] = field(default_factory=list)
    # (code, line, detail) found before the UID is known
    warnings: list[tuple[Code, int | None, str]] = field(default_factory=list)
    terminated: bool = False

    def get(self, name: str) -> ContentLine | None:
        return next((cl for cl in self.lines if cl.name == name), None)

    def warn(self, code: Code, line: int | None, detail: str) -> None:
        self.warnings.append((code, line, detail))

    def text_lines(self, without: tuple[str, ...] = ()) -> Iterator[str]:
        yield f"BEGIN:{self.name}"
        for cl in self.lines:
            yield cl.text(without)
        for child in self.children:
            yield from child.text_lines(without)
        yield f"END:{self.name}"

    def canonical(self, skip: frozenset[str] = frozenset()) -> str:
        body = sorted(cl.canonical() for cl in self.lines if cl.name not in skip)
        body += sorted(child.canonical() for child in self.children)
        return "\n".join([f"BEGIN:{self.name}", *body, f"END:{self.name}"])


def _unquote(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


def _split_param(raw: str) -> list[str]:
    items, pos = [], 0
    while True:
        m = _PARAM_ITEM.match(raw, pos)
        items.append(m.group(0))
        pos = m.end() + 1
        if m.end() >= len(raw):
            return items


# --- pass 1: bytes -> logical lines -----------------------------------------

def decode_body(body: bytes) -> bytes:
    """UTF-8 bytes of ``body``, BOM removed (a UTF-16 BOM means UTF-16)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace").encode("utf-8")
    return body[3:] if body.startswith(b"\xef\xbb\xbf") else body


def _logical_lines(body: bytes) -> Iterator[tuple[int, str, str | None]]:
    """(first physical line number, unfolded text, warning or None).

    Unfolding happens on bytes: producers that fold by octet count split
    multi-byte UTF-8 characters across the fold.
    """
    current: list[bytes] | None = None
    start = 0
    for number, physical in enumerate(_PHYSICAL_LINE_END.split(body), start=1):
        if physical[:1] in (b" ", b"\t") and current is not None:
            current.append(physical[1:])
            continue
        if current is not None:
            yield _decoded(start, b"".join(current))
        current, start = [physical], number
    if current is not None:
        yield _decoded(start, b"".join(current))


def _decoded(number: int, raw: bytes) -> tuple[int, str, str | None]:
    try:
        return number, raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return number, text, "line is not UTF-8; decoded as Windows-1252"


def _parse_line(number: int, text: str) -> ContentLine | None:
    m = _CONTENT_LINE.fullmatch(text)
    if m is None:
        return None
    params = [(pm.group(1).upper(), pm.group(2)) for pm in _PARAM_RE.finditer(m.group(2))]
    return ContentLine(m.group(1).upper(), params, m.group(3), number)


# --- pass 2: logical lines -> component tree -------------------------------

def build_tree(body: bytes, max_events: int, max_line: int = 0
                ) -> tuple[Component, list[Message]]:
    """The single VCALENDAR of the (decoded) body, and messages about lines outside it.
    Lines longer than *max_line* characters (0: any) are dropped with a 2102."""
    outside: list[Message] = []
    calendar: Component | None = None
    stack: list[Component] = []
    vevents = 0
    for number, text, charset_warning in _logical_lines(body):
        if not text.strip():
            continue  # blank lines (often trailing) carry nothing
        owner = stack[-1] if stack else None
        if max_line and len(text) > max_line:
            _warn(owner, outside, Code.CONTENT_LINE_INVALID, number,
                  f"line longer than {max_line} characters (limit of this server), "
                  f"ignored: {excerpt(text)}")
            continue
        cl = _parse_line(number, text)
        if charset_warning:
            _warn(owner, outside, Code.CONTENT_LINE_INVALID, number, charset_warning)
        if cl is None:
            _warn(owner, outside, Code.CONTENT_LINE_INVALID, number,
                  f"not a content line, ignored: {excerpt(text)}")
            continue
        if cl.name == "BEGIN":
            name = cl.value.strip().upper()
            if name == "VCALENDAR" and (calendar is not None or stack):
                raise FeedError("a second VCALENDAR begins here", line=number)
            if name != "VCALENDAR" and not stack:
                raise FeedError(f"BEGIN:{name} outside of a VCALENDAR", line=number)
            if any(c.name == name for c in stack):
                _close_until(stack, name, number, inclusive=True)
            if name == "VEVENT":
                vevents += 1
                if vevents > max_events:
                    raise FeedError(f"more than {max_events} events in one feed "
                                    "(limit of this server)", line=number)
            if len(stack) >= MAX_DEPTH:
                raise FeedError("components nested too deeply", line=number)
            component = Component(name, number)
            if stack:
                stack[-1].children.append(component)
            else:
                calendar = component
            stack.append(component)
        elif cl.name == "END":
            name = cl.value.strip().upper()
            if not any(c.name == name for c in stack):
                _warn(owner, outside, Code.CONTENT_LINE_INVALID, number,
                      f"END:{name} without BEGIN:{name}, ignored")
                continue
            if stack[-1].name != name:
                _close_until(stack, name, number)
            stack.pop().terminated = True
        elif owner is None:
            _warn(None, outside, Code.CONTENT_LINE_INVALID, number,
                  f"outside of the VCALENDAR, ignored: {excerpt(text)}")
        else:
            owner.lines.append(cl)
    if calendar is None:
        raise FeedError("no VCALENDAR in the body")
    if not calendar.terminated:
        raise FeedError("the VCALENDAR has no END:VCALENDAR (truncated upload?)",
                        line=calendar.line)
    return calendar, outside


def _close_until(stack: list[Component], name: str, number: int, *,
                 inclusive: bool = False) -> None:
    """Close the components left open above ``name`` (their END line is missing).

    ``inclusive`` also closes ``name`` itself: a BEGIN:VEVENT inside an open
    VEVENT means the previous one lacked its END:VEVENT.
    """
    while stack[-1].name != name or inclusive:
        inner = stack.pop()
        inner.terminated = True
        inner.warn(Code.CONTENT_LINE_INVALID, number,
                   f"END:{inner.name} missing; {inner.name} closed before line {number}")
        if inner.name == name:
            return


def _warn(owner: Component | None, outside: list[Message], code: Code, line: int,
          detail: str) -> None:
    if owner is None or owner.name == "VCALENDAR":
        outside.append(Message(code, line=line, detail=detail))
    else:
        owner.warn(code, line, detail)


def excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
