"""WCAP parameter value types other than times: each a small class whose
``parse(raw)`` gets one raw (encoded) item and returns a Python value, or raises
``ValueError`` (the command's bad-parameter errno)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from radicale_wcap.wcap.params.query import canon_marks, decode, split_list


class ValueType:
    """Base: ``parse(raw)`` gets one raw (encoded) item."""

    list_sep: str | None = None  # set by SemicolonList

    def parse(self, raw: str) -> Any:
        return self.parse_text(decode(raw))

    def parse_text(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Text(ValueType):
    def parse_text(self, text: str) -> str:
        if "\x00" in text:
            raise ValueError("NUL in value")
        return text


class Int(ValueType):
    def __init__(self, lo: int | None = None, hi: int | None = None,
                 allowed: Iterable[int] | None = None) -> None:
        self.lo, self.hi = lo, hi
        self.allowed = frozenset(allowed) if allowed is not None else None

    def parse_text(self, text: str) -> int:
        if not re.fullmatch(r"[+-]?\d{1,18}", text.strip()):
            raise ValueError("not an integer")
        value = int(text)
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            raise ValueError("integer out of range")
        if self.allowed is not None and value not in self.allowed:
            raise ValueError("integer not allowed")
        return value


class Bool(ValueType):
    def parse_text(self, text: str) -> bool:
        text = text.strip()
        if text not in ("0", "1"):
            raise ValueError("boolean must be 0 or 1")
        return text == "1"


class Keyword(ValueType):
    """One of ``values`` (case-insensitive, returned in the table's spelling).

    ``fallback``: the value for anything unknown, where the manual says so
    (component-type: "If an invalid value is passed in, the system assumes all").
    ``aliases`` maps extra spellings onto table values.
    """

    def __init__(self, *values: str, fallback: str | None = None,
                 aliases: Mapping[str, str] | None = None) -> None:
        self.values = values
        self.fallback = fallback
        self._lookup = {v.lower(): v for v in values}
        for alias, target in (aliases or {}).items():
            self._lookup[alias.lower()] = target

    def parse_text(self, text: str) -> str:
        found = self._lookup.get(text.strip().lower())
        if found is not None:
            return found
        if self.fallback is not None:
            return self.fallback
        raise ValueError("unknown keyword")


@dataclass(frozen=True)
class AttendeeValue:
    """One WCAP attendee entry: ``value`` (calid, or ``mailto:`` address) plus
    iCalendar ATTENDEE parameters (Table 7-38), names upper-cased."""

    value: str
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, val in self.params:
            if key == name.upper():
                return val
        return default


_PARAM_THEN_VALUE = re.compile(r"([A-Za-z][A-Za-z0-9-]*)=([^:]*):(.+)\Z")


class Attendee(ValueType):
    """``PARTSTAT=ACCEPTED^RSVP=TRUE^attA`` (manual "Group Scheduling").

    The pieces are split on ``^`` before decoding, so ``CN=Jane%5ESmith`` is not cut.
    The manual's own example ``PARTSTAT=NEEDS-ACTION^RSVP=FALSE:mailto:jdoe@xyz.com`` ends
    the last parameter with ``:`` instead of ``^``; that form is accepted too.
    """

    def parse(self, raw: str) -> AttendeeValue:
        pieces = re.split(r"\^|%5[Ee]", raw)
        decoded = [decode(p) for p in pieces]
        *param_texts, value = decoded
        last = _PARAM_THEN_VALUE.match(value)
        if last and ":" in last.group(3) or last and not param_texts:
            param_texts.append(f"{last.group(1)}={last.group(2)}")
            value = last.group(3)
        params = []
        for text in param_texts:
            name, eq, val = text.partition("=")
            if not eq or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name.strip()):
                raise ValueError("bad attendee parameter")
            params.append((name.strip().upper(), val.strip().strip('"')))
        value = value.strip()
        if not value or "\x00" in value:
            raise ValueError("attendee without a value")
        return AttendeeValue(value, tuple(params))


class RRule(ValueType):
    """A quoted recurrence rule (``"count%3D10%3Bfreq%3Ddaily"``) -> ``COUNT=10;FREQ=DAILY``.

    Only the syntax is checked here (NAME=VALUE parts, a FREQ); `radicale_wcap.recurrence`
    validates the meaning. RRULE text is case-insensitive, so it is upper-cased.
    """

    def parse(self, raw: str) -> str:
        raw = canon_marks(raw).strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        text = decode(raw).strip().strip('"').upper()
        if text.startswith("RRULE:") or text.startswith("EXRULE:"):
            text = text.split(":", 1)[1]
        parts = [p for p in text.split(";") if p]
        if not parts or any(not re.fullmatch(r"[A-Z-]+=[A-Z0-9,+\-:]+", p) for p in parts):
            raise ValueError("bad recurrence rule")
        if not any(p.startswith("FREQ=") for p in parts):
            raise ValueError("recurrence rule without FREQ")
        return ";".join(parts)


class Geo(ValueType):
    """``37.31;-123.2`` (two semicolon-separated floats)."""

    def parse(self, raw: str) -> tuple[float, float]:
        parts = [decode(p) for p in split_list(raw)]
        if len(parts) != 2:
            raise ValueError("geo needs two floats")
        lat, lon = (float(p) for p in parts)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("geo out of range")
        return lat, lon


class SemicolonList(ValueType):
    """A ``;``-separated list of ``item``; quoted items (rrules) keep their ``;``."""

    def __init__(self, item: ValueType, quotes: bool = False) -> None:
        self.item = item
        self.quotes = quotes

    def parse(self, raw: str) -> list:
        # Empty pieces (``rdates=a;`` or ``attendees=``) carry nothing and are dropped.
        return [self.item.parse(piece) for piece in split_list(raw, ";", self.quotes)
                if piece.strip() != ""]
