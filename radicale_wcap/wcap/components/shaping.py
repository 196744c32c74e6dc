"""One stored component shaped for a WCAP answer: the request's `Shape` (time zone of
the output, alarms relative or absolute, addresses as calids or emails), applied to a
copy of the component, as one instance of its series where it is one.

Components are written with text values (``isNative=False``) so that the renderers
print exactly these values; vobject 0.9.9 cannot name a zoneinfo zone itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

import vobject
from dateutil import tz as du_tz

from radicale_wcap import timezones
from radicale_wcap.wcap.components.compstate import line_address, line_param
from radicale_wcap.wcap.components.reads import KINDS

UTC = dt.timezone.utc
RULE_LINES = ("rrule", "rdate", "exrule", "exdate")
TIME_LINES = (("dtstart", "X-NSCP-DTSTART-TZID"), ("dtend", "X-NSCP-DTEND-TZID"),
              ("due", "X-NSCP-DUE-TZID"), ("recurrence-id", None))

# Time lines without their own X-NSCP-*-TZID (shifted to tzidout like the start) and
# the stamps RFC 5545 requires in UTC.
OTHER_TIME_LINES = ("exdate", "rdate")
UTC_TIME_LINES = ("completed", "created", "last-modified", "dtstamp")

# vobject moves a TZID it resolved into this parameter.
VOBJ_TZID = "X-VOBJ-ORIGINAL-TZID"


@dataclass
class Shape:
    """What the request asks of each component (from `Params` and the settings)."""

    kinds: tuple = KINDS["all"]
    recurring: bool = False
    compressed: bool = False
    tzidout: Optional[str] = None
    emailorcalid: bool = False
    relativealarm: bool = False
    compstates: Optional[list] = None
    bound: int = 60
    user_email: Optional[str] = None
    # Set for answers kept in `output_cache`: components come out as `Rendered`.
    fmt_out: Optional[str] = None
    brief: bool = False

    @property
    def key(self) -> tuple:
        """Everything of the shape that changes an item's output."""
        compstates = tuple(self.compstates or ())
        return (self.kinds, self.recurring, self.compressed, self.tzidout, self.emailorcalid,
                self.relativealarm, compstates, self.user_email if compstates else None,
                None if self.recurring else self.bound, self.fmt_out, self.brief)

    @classmethod
    def of(cls, ctx, params, default_kinds=KINDS["all"], rendered: bool = False) -> "Shape":
        """``rendered``: the caller puts the components straight into its Result, so
        they may come out laid out in the request's fmt-out (and be kept)."""
        ctype = params.get("component-type")
        kinds = KINDS.get(ctype, default_kinds) if ctype else default_kinds
        email = None
        if ctx is not None and ctx.user:
            user = ctx.backend.instance.directory.get(str(ctx.user))
            email = user.email if user is not None else None
        settings = getattr(ctx, "settings", None) or {}
        bound = settings.get("recurrence_bound") or 60
        return cls(kinds=kinds, recurring=bool(params.get("recurring")),
                   compressed=bool(params.get("compressed")),
                   tzidout=params.get("tzidout"), emailorcalid=bool(params.get("emailorcalid")),
                   relativealarm=bool(params.get("relativealarm")),
                   compstates=params.get("compstate"), bound=int(bound), user_email=email,
                   fmt_out=getattr(ctx, "fmt_out", None) if rendered else None,
                   brief=bool(params.get("brief")) and rendered)


def shape_component(source, occurrence, shape: Shape, directory=None):
    """A copy of ``source`` ready to send; ``occurrence`` (a recurrence.Occurrence) makes
    it that instance."""
    comp = vobject.base.Component.duplicate(source)
    start_value = native_value(source, "dtstart")
    if occurrence is not None and occurrence.recurrence_id is not None:
        is_override = "recurrence-id" in source.contents
        if not is_override:
            _retime_instance(comp, source, occurrence)
            if not shape.compressed:
                for name in RULE_LINES:
                    comp.contents.pop(name, None)
            _set(comp, "recurrence-id", occurrence.recurrence_id, None)
        start_value = occurrence.start if occurrence.start is not None else start_value
    for name, tz_name in TIME_LINES:
        for line in comp.contents.get(name, []):
            zone_name = _zone_name(line)
            _write_time(line, shape.tzidout)
            if tz_name and zone_name and timezones.is_valid_tzid(zone_name):
                comp.contents.pop(tz_name.lower(), None)
                comp.add(tz_name).value = zone_name
    for name in OTHER_TIME_LINES:
        for line in comp.contents.get(name, []):
            _write_time(line, shape.tzidout)
    for name in UTC_TIME_LINES:
        for line in comp.contents.get(name, []):
            _write_time(line, None)
    for alarm in comp.contents.get("valarm", []):
        _shape_alarm(alarm, comp, start_value, shape.relativealarm)
    if directory is not None:
        for name in ("attendee", "organizer"):
            for line in comp.contents.get(name, []):
                _shape_address(line, directory, shape.emailorcalid)
    return comp


def native_value(comp, name):
    lines = comp.contents.get(name)
    if not lines:
        return None
    try:
        return aware(lines[0].value, lines[0])
    except Exception:
        return None


def aware(value, line=None):
    """Resolve a naive DATE-TIME that has a TZID vobject did not know (no VTIMEZONE)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None and line is not None:
        tzid = _stored_tzid(line)
        if tzid and timezones.is_valid_tzid(tzid):
            return value.replace(tzinfo=timezones.get_zone(tzid))
    return value


def _param_raw(line, name):
    values = line.params.get(name)
    return str(values[0]) if values else None


def _stored_tzid(line) -> Optional[str]:
    return _param_raw(line, "TZID") or _param_raw(line, VOBJ_TZID)


def _zone_name(line) -> Optional[str]:
    tzid = _stored_tzid(line)
    if tzid:
        return tzid
    value = line.value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        key = getattr(value.tzinfo, "key", None)
        if key and key != "UTC":
            return key
    return None


def _retime_instance(comp, master, occurrence) -> None:
    start = occurrence.start
    if start is None:
        return
    end = occurrence.end
    old_start = native_value(master, "dtstart")
    if "dtstart" in comp.contents:
        _set(comp, "dtstart", start, _stored_tzid(master.dtstart))
    if "dtend" in comp.contents and end is not None:
        _set(comp, "dtend", end, _stored_tzid(master.dtend))
    if "due" in comp.contents and old_start is not None:
        due = native_value(master, "due")
        try:
            _set(comp, "due", due + (as_instant(start) - as_instant(old_start)),
                 _stored_tzid(master.due))
        except TypeError:
            pass


def as_instant(value):
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)


def _set(comp, name, value, tzid):
    """Replace line ``name`` by a native value; ``tzid`` only names the stored zone."""
    comp.contents.pop(name, None)
    line = comp.add(name)
    line.value = value
    if tzid:
        line.params["TZID"] = [tzid]


def format_value(value, tzidout: Optional[str]) -> tuple[str, dict]:
    """One date or date-time -> (text, params) in UTC or ``tzidout``."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y%m%dT%H%M%S"), {}
        if tzidout and tzidout.upper() not in ("UTC", "GMT", "Z"):
            local = value.astimezone(timezones.get_zone(tzidout))
            return local.strftime("%Y%m%dT%H%M%S"), {"TZID": [tzidout]}
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), {}
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d"), {"VALUE": ["DATE"]}
    raise TypeError("not a date")


def _write_time(line, tzidout) -> None:
    """Rewrite a time line in UTC/tzidout; lists (EXDATE/RDATE) item by item.

    UTC, DATE and floating values stay native (the text/js renderer reads them to sort
    all-day and long events into eventD); only ``tzidout`` local times become text.
    """
    try:
        value = line.value
    except Exception:
        return
    values = value if isinstance(value, list) else [value]
    if any(not isinstance(v, (dt.date, dt.datetime)) for v in values):
        return  # RDATE periods and the unparseable: keep as stored
    values = [aware(v, line) for v in values]
    kept = {k: v for k, v in line.params.items() if k not in ("TZID", "VALUE", VOBJ_TZID)}
    local = tzidout and tzidout.upper() not in ("UTC", "GMT", "Z")
    if local and any(isinstance(v, dt.datetime) and v.tzinfo is not None for v in values):
        texts, params = [], {}
        for v in values:
            text, params = format_value(v, tzidout)
            texts.append(text)
        kept.update(params)
        line.params = kept
        line.value = ",".join(texts)
        line.isNative = False
        line.encoded = True
        return
    native = [v.astimezone(du_tz.UTC) if isinstance(v, dt.datetime) and v.tzinfo else v
              for v in values]
    line.params = kept
    line.value = native if isinstance(value, list) else native[0]


def _duration_text(delta: dt.timedelta) -> str:
    sign = "-" if delta < dt.timedelta(0) else ""
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + \
        (f"{secs}S" if secs else "")
    if clock or not days:
        text += "T" + (clock or "0S")
    return text


def _shape_alarm(alarm, comp, start, relative: bool) -> None:
    lines = alarm.contents.get("trigger")
    if not lines:
        return
    line = lines[0]
    try:
        value = line.value
    except Exception:
        return
    if start is None:
        return
    anchor = as_instant(start)
    if isinstance(value, dt.timedelta):
        if relative:
            return
        if line_param(line, "RELATED", "START") == "END":
            return  # keep END-relative triggers as they are
        text, params = (anchor + value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), \
            {"VALUE": ["DATE-TIME"]}
    elif isinstance(value, dt.datetime):
        if not relative:
            text, params = format_value(aware(value, line), None)[0], {"VALUE": ["DATE-TIME"]}
        else:
            text, params = _duration_text(as_instant(value) - anchor), {}
    else:
        return
    alarm.contents.pop("trigger", None)
    new = alarm.add("trigger")
    new.value = text
    new.params = params
    new.isNative = False
    new.encoded = True


def _shape_address(line, directory, emailorcalid: bool) -> None:
    address = line_address(line)
    if "@" not in address:
        return
    user = directory.by_email(address)
    if user is None:
        return
    for key in ("X-S1CS-CALID", "X-S1CS-EMAIL"):
        line.params.pop(key, None)
    if emailorcalid:
        line.params["X-S1CS-CALID"] = [user.default_calid]
    else:
        line.params["X-S1CS-EMAIL"] = [address]
        line.value = user.default_calid
