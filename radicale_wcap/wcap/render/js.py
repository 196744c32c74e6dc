"""text/js: the manual's JavaScript page (Calendar Express's format), always parseable.

Layout (manual version, ping and login examples; "Error Handling"; "maxResults Value";
"Output Format" for event/eventD; Table 7-8 for the brief field names)::

    <html><head><script>
    function color(s) { if (s) document.bgColor=s }
    var id='<session id or 0>'
    var userid='<user or empty>'
    var calid='<calid or empty>'
    var errno=<n>
    var wcapversion='3.0.0'                 (top-level props: `VARIABLES`, else props['NAME'])
    var guid=new Array('...', ...)          (get_guids)
    var delete_layer_errno=new Array(0,59)  (Result.layer_arrays, one var each)
    var maxResults=75                       (only when a cap was passed)
    var size=<events> / var todosize=<todos>
    var calprops=new Array(); calprops[0]={calid:'jdoe', errno:0, 'X-NSCP-CALPROPS-NAME':'...'}
    var event=new Array(); var eventD=new Array(); var todo=...; var todoD=...
    event[0]={uid:'...', rid:'...', summary:'...', dtstart:'...', isAllDay:0, calid:'jdoe', ...}
    var freebusy=new Array(); freebusy[0]={calid:'jdoe', fbtype:'BUSY', start:'...', end:'...'}
    function TZ(id,stdName,dstName,stdOffset,dstOffset,crossover){this.id=id;...}
    var timezoneList=new Array()            (get_all_timezones: Result.timezone_list,
    timezoneList[0]=new TZ('America/Los_Angeles','PST','PDT','-0800','-0700',new Array(
        '19981025T090000Z',...))            manual Table 7-26 Example 2; the page
                                            defines TZ so that it runs; the VTIMEZONEs
                                            are not also printed as ``var timezone``)
    parent.ceCB(window.name)
    </script></head></html>

Events longer than 24 hours or all-day go to ``eventD`` (todos: ``todoD``), as the manual
says. Field names are Table 7-8's (``lastMod``, ``desc``, ``rid``...) via `FIELDS`;
``brief=1`` keeps only Table 7-8's fields; otherwise the remaining properties follow
under their iCalendar names. ATTENDEE/ORGANIZER values use the WCAP input syntax
``PARAM=VALUE^...^address``.

Deviations from the manual, each because its example is not valid JavaScript or carries
no number: ``var wcapversion='3.0.0'`` is a string (the manual's ``=1.0.0`` is a syntax
error); ``var errno=0`` is a number, as in the manual's upload_file example (its
version/ping examples print an empty ``new Array()``, which tells a client nothing).
Strings are single-quoted with ``<``, ``>``, quotes, backslashes, line breaks and
U+2028/2029 escaped, so no value can close the ``<script>`` element.
"""

from __future__ import annotations

import datetime as dt
import re

from .base import Rendered, children, is_component, line_value
from ..result import CalendarLayer, Prop, Result, SessionInfo

# Top-level property -> JavaScript variable.
VARIABLES = {
    "X-NSCP-WCAPVERSION": "wcapversion",
    "X-NSCP-SERVERVERSION": "serverversion",
    "X-NSCP-WCAPTIME": "wcaptime",
    "X-NSCP-WCAP-CHECK-ID": "checkid",
    "X-NSCP-RECURRENCE-BOUND": "recurrencebound",
}
# These feed the id/userid/calid header instead.
HEADER_PROPS = {"X-NSCP-WCAP-SESSION-ID": "id", "X-NSCP-WCAP-USER-ID": "userid",
                "X-NSCP-WCAP-CALENDAR-ID": "calid"}

# iCalendar property -> field name (Table 7-8 and the store* parameter names).
FIELDS = {
    "UID": "uid", "RECURRENCE-ID": "rid", "SUMMARY": "summary", "DESCRIPTION": "desc",
    "DTSTART": "dtstart", "DTEND": "dtend", "DUE": "due", "CREATED": "created",
    "LAST-MODIFIED": "lastMod", "LOCATION": "location", "COMPLETED": "completed",
    "PERCENT-COMPLETE": "percent", "PRIORITY": "priority", "STATUS": "status",
    "CLASS": "icsClass", "URL": "icsUrl", "SEQUENCE": "seq", "CATEGORIES": "categories",
    "TRANSP": "transparent", "GEO": "geo", "ORGANIZER": "organizer", "ATTENDEE": "attendees",
    "RRULE": "rrules", "RDATE": "rdates", "EXRULE": "exrules", "EXDATE": "exdates",
    "RESOURCES": "resources", "CONTACT": "contacts", "RELATED-TO": "relatedTos",
    "ATTACH": "attachments", "DTSTAMP": "dtstamp", "REQUEST-STATUS": "rstatus",
    "X-NSCP-DTSTART-TZID": "tzid", "X-NSCP-TZIDOUT": "tzidout", "X-NSCP-LINK-CALID": "linkCalid",
}
LIST_FIELDS = {"attendees", "rrules", "rdates", "exrules", "exdates", "attachments",
               "relatedTos", "resources", "contacts"}
# Table 7-8 (brief output).
BRIEF_EVENT = {"calid", "created", "desc", "dtstart", "dtend", "isAllDay", "lastMod",
               "linkCalid", "location", "rid", "summary", "tzid", "tzidout", "uid"}
BRIEF_TODO = BRIEF_EVENT - {"dtend"} | {"completed", "due", "percent"}

_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "<": "\\x3c", ">": "\\x3e", "&": "\\x26", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def string(value: str) -> str:
    """A single-quoted JavaScript string literal that is safe inside <script>."""
    def one(ch: str) -> str:
        if ch in _ESCAPES:
            return _ESCAPES[ch]
        code = ord(ch)
        if code < 0x20 or code == 0x7f:
            return f"\\x{code:02x}"
        if 0xd800 <= code <= 0xdfff:
            return ""
        return ch
    return "'" + "".join(one(ch) for ch in str(value)) + "'"


def _literal(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        # ``new Array(5)`` is an empty array of length 5 in JavaScript, so a
        # one-element list is written as an array literal instead.
        if len(value) == 1:
            return "[" + _literal(value[0]) + "]"
        return "new Array(" + ",".join(_literal(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_key(k)}:{_literal(v)}" for k, v in value.items()) + "}"
    return string(value)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", name) else string(name)


def _wcap_attendee(value: str, params) -> str:
    return "^".join([f"{k}={v}" for k, v in params] + [value])


def _is_date_only(component, name: str) -> bool:
    line = getattr(component, name.lower().replace("-", "_"), None)
    if line is None:
        return False
    value = line.value
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _is_all_day(component) -> bool:
    """DATE-valued start (or, for a todo without a start, DATE-valued due)."""
    if getattr(component, "dtstart", None) is not None:
        return _is_date_only(component, "DTSTART")
    return _is_date_only(component, "DUE")


def _is_long(component, start: str, end: str) -> bool:
    """All-day, or more than 24 hours (manual: such events go to eventD)."""
    if _is_all_day(component):
        return True
    try:
        s = getattr(component, start.lower()).value
        e = getattr(component, end.lower()).value
        return isinstance(s, dt.datetime) and isinstance(e, dt.datetime) and \
            (e - s) > dt.timedelta(hours=24)
    except (AttributeError, TypeError):
        return False


def component_fields(component, calid: str | None, brief: bool) -> dict:
    kind = component.name.upper()
    fields: dict = {}
    for child in children(component):
        if is_component(child):
            if child.name.upper() == "VALARM" and not brief:
                for line in children(child):
                    if is_component(line):
                        continue
                    value, params = line_value(line, escaped=False)
                    if line.name.upper() == "TRIGGER":
                        fields.setdefault("alarmStart", value)
                    elif line.name.upper() == "ATTENDEE":
                        fields.setdefault("alarmEmails", []).append(value)
            continue
        name = child.name.upper()
        value, params = line_value(child, escaped=False)
        if name in ("ATTENDEE", "ORGANIZER"):
            value = _wcap_attendee(value, params)
        key = FIELDS.get(name, name)
        if key in LIST_FIELDS:
            fields.setdefault(key, []).append(value)
        elif key in fields:
            previous = fields[key]
            fields[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            fields[key] = value
    fields["isAllDay"] = 1 if _is_all_day(component) else 0
    if calid is not None:
        fields["calid"] = calid
    if brief:
        keep = BRIEF_TODO if kind == "VTODO" else BRIEF_EVENT
        fields = {k: v for k, v in fields.items() if k in keep}
    return fields


def component_entry(component, brief: bool) -> tuple[str, str]:
    """(array, fields) of one VEVENT/VTODO: the array it goes to (long and all-day
    ones to eventD/todoD) and its fields as ``name:value,...``, without braces and
    without ``calid``, which `_entry` adds last, where `component_fields` puts it."""
    if component.name.upper() == "VTODO":
        target = "todoD" if _is_long(component, "DTSTART", "DUE") else "todo"
    else:
        target = "eventD" if _is_long(component, "DTSTART", "DTEND") else "event"
    fields = component_fields(component, None, brief)
    return target, ",".join(f"{_key(k)}:{_literal(v)}" for k, v in fields.items())


def _entry(fields: str, calid: str | None) -> str:
    suffix = f",calid:{string(calid)}" if calid is not None else ""
    return "{" + fields + suffix + "}"


def _header(result: Result) -> list[str]:
    session = result.session or SessionInfo()
    header = {"id": session.id, "userid": session.userid, "calid": session.calid}
    for prop in result.props:
        if prop.name.upper() in HEADER_PROPS:
            header[HEADER_PROPS[prop.name.upper()]] = prop.value
    return [f"var {name}={string(value)}" for name, value in header.items()]


def _props(props: list[Prop]) -> list[str]:
    out, others = [], []
    for prop in props:
        name = prop.name.upper()
        if name in HEADER_PROPS:
            continue
        if name in VARIABLES:
            out.append(f"var {VARIABLES[name]}={string(prop.value)}")
        else:
            others.append(prop)
    if others:
        out.append("var props=new Object()")
        out += [f"props[{string(p.name)}]={string(p.value)}" for p in others]
    return out


def _calprops(layer: CalendarLayer, errno: int) -> dict:
    entry: dict = {"calid": layer.calid, "errno": errno}
    for prop in layer.props:
        if prop.name in entry:
            previous = entry[prop.name]
            entry[prop.name] = (previous if isinstance(previous, list) else [previous]) + [prop.value]
        else:
            entry[prop.name] = prop.value
    return entry


def render(result: Result) -> str:
    out = ["<html><head><script>",
           "function color(s) { if (s) document.bgColor=s }"]
    out += _header(result)
    out.append(f"var errno={int(result.errno)}")
    out += _props(result.props)
    if result.guids:
        out.append(f"var guid={_literal(list(result.guids))}")
    for name, values in result.layer_arrays.items():
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            out.append(f"var {name}={_literal([int(v) for v in values])}")
    arrays: dict[str, list] = {"event": [], "eventD": [], "todo": [], "todoD": [],
                               "freebusy": [], "timezone": []}
    for calid, component in result.all_components():
        kind = component.name.upper()
        if kind == "VFREEBUSY":
            arrays["freebusy"] += [_literal(e) for e in _freebusy_entries(component, calid)]
        elif kind == "VTIMEZONE" and calid is None and result.timezone_list is not None:
            continue  # timezoneList is their text/js form
        elif kind == "VTIMEZONE":
            arrays["timezone"].append(_literal(component_fields(component, None, brief=False)))
        else:
            if isinstance(component, Rendered):
                target, text = component.array, component.text
            else:
                target, text = component_entry(component, result.brief)
            arrays[target].append(_entry(text, calid))
    if result.max_results:
        out.append(f"var maxResults={int(result.max_results)}")
    if result.calendars or any(arrays.values()):
        out.append(f"var size={len(arrays['event']) + len(arrays['eventD'])}")
        out.append(f"var todosize={len(arrays['todo']) + len(arrays['todoD'])}")
    if result.calendars:
        out.append("var calprops=new Array()")
        for index, layer in enumerate(result.calendars):
            errno = layer.errno if layer.errno is not None else result.errno
            out.append(f"calprops[{index}]={_literal(_calprops(layer, int(errno)))}")
    for name, entries in arrays.items():
        if not entries and not (result.calendars and name in ("event", "eventD", "todo", "todoD")):
            continue
        out.append(f"var {name}=new Array()")
        out += [f"{name}[{i}]={entry}" for i, entry in enumerate(entries)]
    if result.timezone_list is not None:
        out += _timezone_list(result.timezone_list)
    out += ["parent.ceCB(window.name)", "</script></head></html>"]
    return "\n".join(out) + "\n"


# Defined on the page so that its ``new TZ(...)`` lines run (Calendar Express had its own).
TZ_FUNCTION = ("function TZ(id,stdName,dstName,stdOffset,dstOffset,crossover){this.id=id;"
               "this.stdName=stdName;this.dstName=dstName;this.stdOffset=stdOffset;"
               "this.dstOffset=dstOffset;this.crossover=crossover}")


def _timezone_list(zones) -> list[str]:
    """get_all_timezones' ``timezoneList`` (manual Table 7-26, Example 2): one
    ``new TZ(id, std name, dst name, std offset, dst offset, crossover dates)`` per
    `radicale_wcap.timezones.Crossovers`."""
    out = [TZ_FUNCTION, "var timezoneList=new Array()"]
    for index, zone in enumerate(zones):
        args = ",".join(string(v) for v in (zone.tzid, zone.std_name, zone.dst_name,
                                            zone.std_offset, zone.dst_offset))
        out.append(f"timezoneList[{index}]=new TZ({args},{_literal(list(zone.dates))})")
    return out


def _freebusy_entries(component, calid) -> list[dict]:
    entries = []
    for child in children(component):
        if is_component(child) or child.name.upper() != "FREEBUSY":
            continue
        value, params = line_value(child, escaped=False)
        fbtype = dict(params).get("FBTYPE", "BUSY")
        for period in value.split(","):
            start, _, end = period.strip().partition("/")
            entries.append({"calid": calid or "", "fbtype": fbtype, "start": start, "end": end})
    return entries
