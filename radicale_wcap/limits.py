"""Size limits of one calendar object, counted before the costly work.

vobject parses and serializes some 10,000 content lines a second (an event with
100,000 X- properties, 1.2 MB, took 7 to 20 s to store through each door, and
every later fetch that parsed it as long again), and Radicale and the index parse
each stored item more than once.  So every door refuses, before a write, an item
over any of ``[storage]``'s ``max_item_size``, ``max_item_lines``,
``max_item_components``, ``max_component_properties`` and ``max_line_size``
(``config.SETTINGS`` says why each default).  On text, the counts are ``str``
methods and one regular expression over the BEGIN/END lines, so a refusal of a
megabyte costs milliseconds; on a vobject tree (items built by WCAP and the JSON
API) they are a walk over its lines.  0 turns a limit off.

Content lines are counted unfolded (RFC 5545 3.1), BEGIN and END lines included;
properties are the lines directly inside a component; components are all those
inside the VCALENDAR (overrides, alarms, time zones and their observances).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

import vobject

from radicale_wcap.config import SETTINGS

# Not after a blank: that is a folded continuation, not a line of its own.
_BEGIN_END = re.compile(r"^(?:[A-Za-z0-9-]+\.)?(BEGIN|END)[ \t]*:[ \t]*([A-Za-z0-9-]*)",
                        re.MULTILINE | re.IGNORECASE)


class ItemOverLimits(ValueError):
    """An item over a configured limit, of its size or of its recurrence rules
    (Radicale answers a ValueError from the storage plugin with 400).  *line* is the
    physical line (1-based) where the offending component or line starts, if known."""

    def __init__(self, message: str, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ItemLimits:
    size: int
    lines: int
    components: int
    properties: int
    line_size: int

    @classmethod
    def from_settings(cls, get: Callable[[str, str], int]) -> "ItemLimits":
        """From a ``Settings.get``."""
        return cls(size=get("storage", "max_item_size"),
                   lines=get("storage", "max_item_lines"),
                   components=get("storage", "max_item_components"),
                   properties=get("storage", "max_component_properties"),
                   line_size=get("storage", "max_line_size"))

    @classmethod
    def defaults(cls) -> "ItemLimits":
        values = {(s.section, s.option): s.default for s in SETTINGS}
        return cls.from_settings(lambda section, option: values[section, option])

    # -- text
    def check_text(self, text: str, *, one_item: bool = True) -> None:
        """Refuse *text* over the limits.  ``one_item=False`` for a file of many
        calendar objects (a feed, an import, a whole-calendar PUT): then only the limits
        on one component and one line apply, the others wait for the split by UID."""
        if one_item and self.size and len(text) > self.size // 4 \
                and len(text.encode("utf-8", "surrogatepass")) > self.size:
            raise ItemOverLimits("the item is larger than %d bytes" % self.size)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if self.line_size and len(text) > self.line_size:
            self._check_line_sizes(text)
        lines = _logical_lines(text, 0, len(text)) + (0 if text.endswith("\n") else 1)
        if one_item and self.lines and lines > self.lines:
            raise ItemOverLimits("the item has more than %d content lines" % self.lines)
        if (self.properties and lines > self.properties) or (one_item and self.components):
            self._check_components(text, one_item)

    def _check_line_sizes(self, text: str) -> None:
        unfolded = text.replace("\n ", "").replace("\n\t", "")
        if max(map(len, unfolded.split("\n"))) > self.line_size:
            raise ItemOverLimits(
                "a content line is longer than %d characters" % self.line_size,
                line=_first_long_line(text, self.line_size))

    def _check_components(self, text: str, one_item: bool) -> None:
        stack: list = []  # [name, properties, start position]
        components = 0
        previous_end = 0
        for match in _BEGIN_END.finditer(text):
            if stack:
                stack[-1][1] += _logical_lines(text, previous_end, match.start())
                if self.properties and stack[-1][1] > self.properties:
                    raise ItemOverLimits(
                        "a %s has more than %d properties" % (stack[-1][0], self.properties),
                        line=_physical_line(text, stack[-1][2]))
            if match.group(1).upper() == "BEGIN":
                name = match.group(2).upper()
                stack.append([name, 0, match.start()])
                if name != "VCALENDAR":
                    components += 1
                    if one_item and self.components and components > self.components:
                        raise ItemOverLimits(
                            "the item has more than %d components" % self.components,
                            line=_physical_line(text, match.start()))
            elif stack:
                stack.pop()
            end = text.find("\n", match.end())
            previous_end = len(text) if end < 0 else end + 1

    # -- vobject trees
    def check_component(self, component) -> None:
        """The same limits on a parsed item (its size is checked on its text once it is
        serialized)."""
        lines = components = 0
        pending = [component]
        while pending:
            current = pending.pop()
            if current is not component or current.name.upper() != "VCALENDAR":
                components += 1
            properties = 0
            for children in current.contents.values():
                for child in children:
                    if isinstance(child, vobject.base.Component):
                        pending.append(child)
                        continue
                    properties += 1
                    if self.line_size and _line_size(child) > self.line_size:
                        raise ItemOverLimits("%s of a %s is longer than %d characters"
                                             % (child.name, current.name, self.line_size))
            if self.properties and properties > self.properties:
                raise ItemOverLimits("a %s has more than %d properties"
                                     % (current.name, self.properties))
            lines += properties + 2
        if self.components and components > self.components:
            raise ItemOverLimits("the item has more than %d components" % self.components)
        if self.lines and lines > self.lines:
            raise ItemOverLimits("the item has more than %d content lines" % self.lines)


def _logical_lines(text: str, start: int, end: int) -> int:
    """Unfolded lines ending in text[start:end] (continuation lines start with a blank)."""
    return (text.count("\n", start, end) - text.count("\n ", start, end)
            - text.count("\n\t", start, end))


def _physical_line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _first_long_line(text: str, limit: int) -> Optional[int]:
    """The physical line where the first unfolded line longer than *limit* starts."""
    start = size = 0
    for number, physical in enumerate(text.split("\n"), start=1):
        if physical[:1] in (" ", "\t") and number > 1:
            size += len(physical) - 1
            continue
        if size > limit:
            return start
        start, size = number, len(physical)
    return start if size > limit else None


def _line_size(line) -> int:
    size = len(line.name)
    value = line.value
    if isinstance(value, str):
        size += len(value)
    elif isinstance(value, list):
        size += sum(len(v) for v in value if isinstance(v, str))
    for values in line.params.values():
        size += sum(len(v) for v in values)
    return size
