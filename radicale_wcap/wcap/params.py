"""WCAP parameter values: raw request parsing and one parser per value type.

The manual (ch. 7, "Recurrence Handling", "Time Zones", each command's parameter table)
and real clients (docs/wcap-clients.md#list-parameters, docs/wcap-clients.md#mod-and-rid,
docs/wcap-clients.md#times) define the wire forms; this module turns them into Python
values so that handlers never see text:

* `raw_request(query, body, content_type)` -> ``{key: [raw value, ...]}``. Values stay
  **percent-encoded**: lists are split on ``;`` (outside double quotes, for rrules) and
  attendee entries on ``^`` *before* decoding, because Lightning encodes each item by
  itself (``calid=a;b%3Ac``, ``rrules="FREQ%3DWEEKLY%3BCOUNT%3D5"``) and a decode-then-
  split parser would cut a rule at its ``%3B``. ``%22`` and ``%5E`` count as ``"`` and
  ``^`` too (Necko may encode them).
* ``+`` is a space and ``%2B`` a plus, in a GET query as in an
  ``application/x-www-form-urlencoded`` POST body: that is the form encoding every
  CGI-era server decoded, and clients that build queries with a form
  encoder (Java's ``URLEncoder``, PHP's ``urlencode``, Python's ``urlencode``)
  send ``summary=Team+meeting`` for "Team meeting". Lightning writes a space as ``%20``
  and a plus as ``%2B`` (``encodeURIComponent``), so it reads the same either way.
* Repeated keys: list-typed parameters concatenate (``calid=a&calid=b`` == ``calid=a;b``),
  ``repeat=True`` parameters (``cal`` of set_calprops) keep one entry per occurrence,
  scalars keep the last occurrence.
* No length cap: the manual's 1,024-character note is a warning, and clients send long
  ``desc`` values in the query (docs/wcap-clients.md#long-queries).

Types (each a small class with ``parse(raw) -> value``; a bad value raises
``ValueError`` that `parse_params` turns into the command's bad-parameter errno):

=================  ==========================================================
`Text`             decoded string
`Int(lo, hi)`      integer in a range
`Bool`             ``0``/``1`` -> False/True
`Keyword(...)`     one of a fixed set (case-insensitive), optional fallback
`DateTime`         `WcapTime`: ``0`` (unbounded/none where allowed),
                   ``yyyymmddThhmmssZ`` (UTC), ``yyyymmddThhmmss`` (in ``tzid``),
                   ``yyyymmdd`` (DATE, all-day)
`Duration`         ISO 8601 / RFC 5545 duration, signed (``-PT15M``)
`AlarmTime`        a `DateTime` or a `Duration` (WCAP 3.x ``alarmStart``)
`Attendee`         ``PARAM=VAL^PARAM=VAL^value`` -> `AttendeeValue`
`RRule`            a quoted rule -> upper-cased RRULE text
`TzId`             an IANA zone name, checked with zoneinfo
`SemicolonList(t)` list of ``t``
`Geo`              ``lat;lon`` floats
=================  ==========================================================

Date-times that carry no ``Z`` are resolved after all parameters are parsed: they are
taken in the request's ``tzid`` (or the server default zone) and returned as aware
datetimes *in that zone* (so ``.astimezone(UTC)`` gives the Zulu time and the zone is
still known). ``Z`` values are never shifted by ``tzid`` (manual "Time Zones").
DATE values stay `datetime.date`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import unquote, unquote_plus
from zoneinfo import ZoneInfo

from radicale_wcap import timezones

UTC = dt.timezone.utc

# ---------------------------------------------------------------- raw requests

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


def _canon_marks(raw: str) -> str:
    # %22 and %5E are the encoded forms of the WCAP list marks '"' and '^'.
    return re.sub(r"%(22|5[Ee])", lambda m: '"' if m.group(1) == "22" else "^", raw)


def split_list(raw: str, sep: str = ";", quotes: bool = False) -> list[str]:
    """Split a raw value on ``sep``, ignoring separators inside ``"..."`` if ``quotes``.

    The pieces stay raw (encoded); an empty value is an empty list.
    """
    if quotes:
        raw = _canon_marks(raw)
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


# ---------------------------------------------------------------- value types


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
class WcapTime:
    """A parsed WCAP date-time before zone resolution.

    ``value`` is an aware UTC datetime (``Z`` form), a naive datetime (to be taken in
    ``tzid``) or a `datetime.date` (DATE form).
    """

    value: dt.datetime | dt.date
    stored: bool = False  # will be written into an item: see DateTime(stored=True)

    @property
    def floating(self) -> bool:
        return isinstance(self.value, dt.datetime) and self.value.tzinfo is None


_DT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?\Z")


def parse_datetime(text: str) -> WcapTime:
    """``yyyymmddThhmmssZ`` | ``yyyymmddThhmmss`` | ``yyyymmdd`` -> `WcapTime`."""
    m = _DT.match(text.strip().upper())
    if not m:
        raise ValueError("not an ISO 8601 basic date-time")
    y, mo, d, h, mi, s, z = m.groups()
    if h is None:
        return WcapTime(dt.date(int(y), int(mo), int(d)))
    value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    return WcapTime(value.replace(tzinfo=UTC) if z else value)


# Store values keep a day inside datetime's range at each end, in their own zone and in
# UTC: an all-day event's exclusive end and the time in any tzidout then exist (one at
# 99991231T230000Z made every fetch of its calendar with an eastern tzidout fail).
STORED_FIRST_DAY, STORED_LAST_DAY = dt.date(1, 1, 2), dt.date(9999, 12, 30)


# The widest UTC offsets in use (Pacific/Kiritimati, Etc/GMT+12): a floating time will be
# read in some zone, so it is checked in both.
_EXTREME_ZONES = (dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12)))


def _check_stored_day(day: dt.date) -> None:
    if not STORED_FIRST_DAY <= day <= STORED_LAST_DAY:
        raise ValueError("a stored date must lie between %s and %s"
                         % (STORED_FIRST_DAY, STORED_LAST_DAY))


def check_stored(value: dt.date | dt.datetime) -> None:
    """ValueError unless ``value`` (a DATE, a zoned or a floating DATE-TIME of an item
    from a client) keeps the stored margin, in its own zone and in UTC."""
    if not isinstance(value, dt.datetime):
        _check_stored_day(value)
        return
    _check_stored_day(value.date())
    try:
        for zoned in ([value] if value.tzinfo is not None
                      else [value.replace(tzinfo=zone) for zone in _EXTREME_ZONES]):
            _check_stored_day(zoned.astimezone(UTC).date())
    except OverflowError:
        raise ValueError("no UTC instant in years 1-9999") from None


class DateTime(ValueType):
    """A WCAP date-time; ``zero`` says what ``0`` means (None = not allowed).

    dtstart/dtend: ``0`` is unbounded (None); rid: ``0`` is "not an instance" (None);
    completed: ``0`` clears it (None). ``stored``: the value goes into an item (store*),
    not into a query, and must leave the margin of `STORED_FIRST_DAY`/`STORED_LAST_DAY`
    (a fetch may still ask up to 99991231T235959Z).
    """

    def __init__(self, zero_allowed: bool = True, stored: bool = False) -> None:
        self.zero_allowed = zero_allowed
        self.stored = stored

    def parse_text(self, text: str) -> WcapTime | None:
        if text.strip() == "0":
            if not self.zero_allowed:
                raise ValueError("0 is not allowed here")
            return None
        parsed = parse_datetime(text)
        if not self.stored:
            return parsed
        value = parsed.value
        _check_stored_day(value.date() if isinstance(value, dt.datetime) else value)
        return WcapTime(value, stored=True)


_DURATION = re.compile(
    r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\Z")
_BUGGY_MINUTES = re.compile(r"([+-])?P(\d+)([HMS])\Z")


def parse_duration(text: str, lenient: bool = False) -> dt.timedelta:
    """RFC 5545 duration (``-PT15M``, ``P1D``, ``P1W``) -> timedelta.

    ``lenient``: also accept Calendar Server's "missing T" bug ``P15M`` as 15 minutes
    (its own ``ceDefaultAlarmStart`` example; Lightning repairs it the same way with
    ``.replace(/(^P)(\\d+[HMS]$)/, "$1T$2")``). Only used where a month-long offset would
    make no sense (alarm offsets, prefs), never for event durations.
    """
    text = text.strip().upper()
    if lenient:
        bug = _BUGGY_MINUTES.match(text)
        if bug:
            text = f"{bug.group(1) or ''}PT{bug.group(2)}{bug.group(3)}"
    m = _DURATION.match(text)
    if not m or text.rstrip("T").endswith("P") or text.endswith("T"):
        raise ValueError("not an ISO 8601 duration")
    sign, w, d, h, mi, s = m.groups()
    if not any((w, d, h, mi, s)):
        raise ValueError("empty duration")
    try:
        delta = dt.timedelta(weeks=int(w or 0), days=int(d or 0), hours=int(h or 0),
                             minutes=int(mi or 0), seconds=int(s or 0))
    except OverflowError:  # P9999999999999D: beyond timedelta's 999,999,999 days
        raise ValueError("duration out of range") from None
    return -delta if sign == "-" else delta


class Duration(ValueType):
    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient

    def parse_text(self, text: str) -> dt.timedelta:
        return parse_duration(text, self.lenient)


class AlarmTime(ValueType):
    """``alarmStart``/``alarmPopup``...: a date-time ([MANUAL]) or a signed duration
    relative to the start ([Q4]/[63]; Lightning sends ``-PT15M`` with relativealarm=1)."""

    def parse_text(self, text: str) -> WcapTime | dt.timedelta:
        stripped = text.strip().upper()
        if stripped.lstrip("+-").startswith("P"):
            return parse_duration(stripped, lenient=True)
        return parse_datetime(stripped)


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
        raw = _canon_marks(raw).strip()
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


UTC_NAMES = ("Z", "UTC", "GMT", "ZULU")


def zone_name(tzid: str) -> str:
    """The server's name for ``tzid``, or ValueError: ``UTC`` for its aliases, else a
    zone `timezones.all_tzids` lists (a vendor prefix such as ``/mozilla.org/...``
    stripped). The same list get_all_timezones serves and the output code converts
    to, so a name accepted here can not fail later (zoneinfo alone also knows
    ``posixrules``, ``Factory``...)."""
    name = tzid.strip()
    if name.upper() in UTC_NAMES:
        return "UTC"
    name = timezones.normalize_tzid(name)
    if not timezones.is_valid_tzid(name):
        raise ValueError("unknown tzid")
    return name


def zone(tzid: str) -> ZoneInfo:
    """The zoneinfo zone for ``tzid`` (``GMT``/``UTC``/``Z`` included) or ValueError."""
    return ZoneInfo(zone_name(tzid))


class TzId(ValueType):
    def parse_text(self, text: str) -> str:
        return zone_name(text)


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


# ---------------------------------------------------------------- parameter table rows

@dataclass(frozen=True)
class Param:
    """One row of a command's parameter table.

    ``name``: the manual's spelling (``fmt-out``, ``component-type``, ``calid``).
    ``default``: value when the parameter is absent (already typed).
    ``required``: absent -> the command's bad-parameter errno (38 for ``calid``).
    ``repeat``: the key may occur several times, each a separate value (``cal``).
    ``aliases``: other spellings clients send for the same thing.
    ``note``: where the row comes from / why it deviates.
    """

    name: str
    type: ValueType = field(default_factory=Text)
    default: Any = None
    required: bool = False
    repeat: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""

    @property
    def is_list(self) -> bool:
        return isinstance(self.type, (SemicolonList,))


class Params(dict):
    """Typed parameter values by manual name; ``given`` holds the names the client sent.

    Store handlers need ``given`` for partial updates ("If a parameter is not specified,
    the event will retain the previous value"), and to tell ``attendees=`` (clear) from
    no ``attendees`` at all.
    """

    def __init__(self, values: Mapping[str, Any] = (), given: Iterable[str] = ()) -> None:
        super().__init__(values)
        self.given = frozenset(given)

    def sent(self, name: str) -> bool:
        return name in self.given


class BadParam(ValueError):
    """A parameter failed; ``name`` says which (for the errno choice and the log)."""

    def __init__(self, name: str, reason: str, missing: bool = False, tz: bool = False) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason, self.missing, self.tz = name, reason, missing, tz


def _raw_for(param: Param, raw: Mapping[str, Sequence[str]]) -> list[str] | None:
    for key in (param.name, *param.aliases):
        if key in raw:
            return list(raw[key])
    return None


def parse_params(table: Sequence[Param], raw: Mapping[str, Sequence[str]],
                 default_tzid: str = "UTC") -> Params:
    """Type-check and default every parameter of ``table``; unknown keys are ignored
    (clients send ``appid`` and other extras everywhere).

    Raises `BadParam`; the dispatcher maps it to the command's errno.
    """
    values: dict[str, Any] = {}
    given = []
    for param in table:
        occurrences = _raw_for(param, raw)
        if occurrences is None:
            if param.required:
                raise BadParam(param.name, "missing", missing=True)
            values[param.name] = param.default
            continue
        given.append(param.name)
        try:
            if param.repeat:
                values[param.name] = [param.type.parse(o) for o in occurrences]
            elif param.is_list:
                joined = ";".join(o for o in occurrences if o != "")
                values[param.name] = param.type.parse(joined)
            else:
                text = occurrences[-1]
                if text == "" and not isinstance(param.type, Text):
                    # Sent empty: "clear it" for store* (whose rows have no default);
                    # a row with a default keeps it (``guidCount=`` is 1, not None).
                    values[param.name] = param.default
                else:
                    values[param.name] = param.type.parse(text)
        except (ValueError, OverflowError) as e:  # OverflowError: no datetime holds it
            raise BadParam(param.name, str(e), tz=isinstance(param.type, TzId)) from e
    try:
        tz = zone(values.get("tzid") or default_tzid)
    except ValueError as e:
        raise BadParam("tzid", str(e), tz=True) from e
    for name, value in values.items():
        try:
            values[name] = _resolve_times(value, tz)
        except OverflowError as e:
            raise BadParam(name, "no UTC instant in years 1-9999") from e
        except ValueError as e:
            raise BadParam(name, str(e)) from e
    return Params(values, given)


def _resolve_times(value: Any, tz: dt.tzinfo) -> Any:
    if isinstance(value, WcapTime):
        if value.floating:
            resolved = value.value.replace(tzinfo=tz)
            # 99991231T230000 in Los Angeles is past datetime's last UTC instant: every
            # handler would fail on it later (a store in compose, the index after the write).
            in_utc = resolved.astimezone(UTC)
            if value.stored:
                _check_stored_day(in_utc.date())
            return resolved
        return value.value
    if isinstance(value, list):
        return [_resolve_times(v, tz) for v in value]
    return value


def format_utc(value: dt.datetime) -> str:
    """Aware datetime -> ``yyyymmddThhmmssZ`` (the year always four digits: glibc's
    strftime writes year 1 as ``1``)."""
    value = value.astimezone(UTC)
    return (f"{value.year:04d}{value.month:02d}{value.day:02d}"
            f"T{value.hour:02d}{value.minute:02d}{value.second:02d}Z")


