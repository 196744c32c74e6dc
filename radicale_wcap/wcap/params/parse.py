"""A command's parameters parsed by its table: `Param` rows, `parse_params`, and the
`Params` handlers get (typed, defaulted, and which ones the client sent).

Repeated keys: list-typed parameters concatenate (``calid=a&calid=b`` == ``calid=a;b``),
``repeat=True`` parameters (``cal`` of set_calprops) keep one entry per occurrence,
scalars keep the last occurrence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from radicale_wcap.wcap.params.times import UTC, TzId, WcapTime, check_stored_day, zone
from radicale_wcap.wcap.params.values import SemicolonList, Text, ValueType


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
                check_stored_day(in_utc.date())
            return resolved
        return value.value
    if isinstance(value, list):
        return [_resolve_times(v, tz) for v in value]
    return value
