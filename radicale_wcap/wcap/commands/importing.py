"""import (Table 7-31; 2005Q4 Table 7-23) and the deprecated upload_file/write_file pair
(Tables 7-40, 7-44): a file of events and todos into one calendar.

The file arrives as ``multipart/form-data`` (the seed's example: one part named
``Upload`` with a filename) and is parsed with the maintained ``multipart`` package; a
body sent as ``text/calendar`` or ``text/xml`` itself is taken as the file too.
``content-in=text/xml`` is the iCalendar-in-XML that ``export`` and every text/xml answer
use (`render.xml`): ``<EVENT>``/``<TODO>`` elements with one child per property and the
parameters as attributes; it is parsed with defusedxml and turned back into iCalendar.

Everything is checked before anything is written: the calendar and its ``write``
access, the file, every calendar object (`store.prepare_item`, one per UID). Then one
handle of the store puts them all as one batch: whatever stops it part-way, a failed
import leaves the calendar as it was.

Errnos (the manual gives none for import): 77 BAD_IMPORT_ARGUMENTS for a missing or
malformed upload (the WCAP 3.x "Incorrect parameter received by import.wcap"), 35
WRITE_IMPORT_FAILED for a file that is not a calendar, an object the store refuses, or a
file over ``[wcap] max_import_size``; 28/29/30 for the calendar.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
from typing import Iterable

import multipart
import vobject
from defusedxml import ElementTree

from radicale_wcap import recurrence
from radicale_wcap.ical_text import escape_text
from radicale_wcap.limits import ItemLimits
from radicale_wcap.store import WRITE, ItemRefused, prepare_item
from radicale_wcap.timezones.lookup import is_valid_tzid
from radicale_wcap.timezones.vtimezones import vtimezone

from ..backend import require, resolve, writing
from ..errors import WcapErrno, WcapError
from ..render.xml import ELEMENT_NAMES
from ..result import Prop, Result
from ..spool import SpoolError, spool_of
from . import handler

logger = logging.getLogger("radicale.wcap.wcap.commands.importing")

IMPORTED_KINDS = ("VEVENT", "VTODO", "VJOURNAL")
MAX_PARTS = 16
# XML element name -> iCalendar name (the inverse of render.xml's renames).
PROPERTY_NAMES = {element: name for name, element in ELEMENT_NAMES.items()}
# Values the XML carries unescaped that iCalendar writes as TEXT (RFC 5545 3.3.11);
# list-valued ones keep their commas as separators.
TEXT_PROPERTIES = {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CONTACT", "TZNAME",
                   "X-NSCP-CALPROPS-NAME", "X-NSCP-CALPROPS-DESCRIPTION"}
LIST_TEXT_PROPERTIES = {"CATEGORIES", "RESOURCES"}
# VCALENDAR > VEVENT > VALARM and VCALENDAR > VTIMEZONE > STANDARD are 3 deep. vobject
# builds a component per BEGIN and then recurses per level (30,000 nested VALARMs took
# 5 s before its RecursionError), so deeper files are refused before it sees them.
MAX_DEPTH = 8
_FOLD = re.compile(r"\r?\n[ \t]")
_BEGIN_END = re.compile(r"^[ \t]*(?:[A-Za-z0-9-]+\.)?(BEGIN|END)[ \t]*[;:]",
                        re.IGNORECASE | re.MULTILINE)


# ---------------------------------------------------------------- the upload

def uploaded_file(ctx) -> bytes:
    """The file of an import/upload_file request body."""
    limit = ctx.backend.instance.settings.get("wcap", "max_import_size")
    body = ctx.body or b""
    if limit and len(body) > limit:
        raise WcapError(WcapErrno.WRITE_IMPORT_FAILED, "upload of %d bytes is over "
                        "max_import_size" % len(body))
    content_type, options = multipart.parse_options_header(ctx.content_type or "")
    if content_type in ("text/calendar", "text/xml", "application/xml"):
        return body
    if content_type != "multipart/form-data" or not options.get("boundary"):
        raise WcapError(WcapErrno.BAD_IMPORT_ARGUMENTS,
                        "no multipart/form-data upload (%r)" % content_type[:60])
    try:
        parser = multipart.MultipartParser(
            io.BytesIO(body), options["boundary"], content_length=len(body), strict=True,
            part_limit=MAX_PARTS, memory_limit=max(limit, 1) * 2,
            spool_limit=max(limit, 1) * 2)
        parts = list(parser)
    except multipart.MultipartError as e:
        raise WcapError(WcapErrno.BAD_IMPORT_ARGUMENTS, "malformed multipart: %s" % e) from e
    files = [p for p in parts if p.filename is not None] or parts
    if not files:
        raise WcapError(WcapErrno.BAD_IMPORT_ARGUMENTS, "multipart body has no file part")
    try:
        return files[0].raw
    finally:
        for part in parts:
            part.close()


# ---------------------------------------------------------------- the file

def _param_value(value: str) -> str:
    value = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    return '"%s"' % value if any(c in value for c in ";:,") else value


def _xml_component(element, out: list[str], depth: int = 2) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("components nested deeper than %d levels" % MAX_DEPTH)
    name = PROPERTY_NAMES.get(element.tag, element.tag)
    out.append("BEGIN:%s" % name)
    for child in element:
        if len(child):  # a sub-component (ALARM, STANDARD, DAYLIGHT)
            _xml_component(child, out, depth + 1)
            continue
        prop = PROPERTY_NAMES.get(child.tag, child.tag)
        value = child.text or ""
        value = value.strip() if prop not in TEXT_PROPERTIES else value
        if prop in TEXT_PROPERTIES or prop.startswith("X-") and "\n" in value:
            value = escape_text(value)
        elif prop in LIST_TEXT_PROPERTIES:
            value = escape_text(value, commas=False)
        params = "".join(";%s=%s" % (k, _param_value(v)) for k, v in child.attrib.items())
        out.append("%s%s:%s" % (prop, params, value))
    out.append("END:%s" % name)


def xml_to_ical(data: bytes) -> str:
    """The iCalendar text of a WCAP iCalendar-XML document (``<iCalendar><iCal>...``)."""
    root = ElementTree.fromstring(data)
    if root.tag not in ("iCalendar", "iCal"):
        raise ValueError("root element is <%s>, not <iCalendar>" % root.tag[:40])
    icals = [root] if root.tag == "iCal" else list(root.iter("iCal"))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//radicale_wcap//import//EN"]
    for ical in icals:
        for child in ical:
            if child.tag in ("EVENT", "TODO", "JOURNAL", "TIMEZONE"):
                _xml_component(child, lines)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def component_depth(text: str) -> int:
    """How deep BEGIN/END lines nest in iCalendar ``text``, counted before vobject's parse."""
    steps = (1 if m.group(1).upper() == "BEGIN" else -1
             for m in _BEGIN_END.finditer(_FOLD.sub("", text)))
    return max(itertools.accumulate(steps), default=0)


def calendar_objects(data: bytes, content_in: str, limits=None) -> list:
    """One VCALENDAR per UID (masters and their exceptions together, with the time zones
    they use), as ``prepare_item`` wants them. ``limits`` (`limits.ItemLimits`) are
    counted on the text before vobject reads it: a 1.2 MB event took 15 s to parse
    before it was refused."""
    try:
        text = xml_to_ical(data) if content_in == "text/xml" else data.decode("utf-8-sig")
        if component_depth(text) > MAX_DEPTH:
            raise ValueError("components nested deeper than %d levels" % MAX_DEPTH)
        if limits is not None:
            limits.check_text(text, one_item=False)
        calendars = list(vobject.readComponents(text))
    except Exception as e:  # vobject and expat raise many kinds for bad input
        raise WcapError(WcapErrno.WRITE_IMPORT_FAILED,
                        "not a %s file: %s" % (content_in, str(e)[:200])) from e
    zones, groups = {}, {}
    for calendar in calendars:
        if calendar.name.upper() != "VCALENDAR":
            raise WcapError(WcapErrno.WRITE_IMPORT_FAILED, "no VCALENDAR in the file")
        for component in calendar.getChildren():
            kind = component.name.upper()
            if kind == "VTIMEZONE" and "tzid" in component.contents:
                zones[component.tzid.value] = component
            elif kind in IMPORTED_KINDS:
                if "uid" not in component.contents or not component.uid.value.strip():
                    raise WcapError(WcapErrno.WRITE_IMPORT_FAILED, "%s without UID" % kind)
                groups.setdefault(component.uid.value, []).append(component)
    objects = []
    for components in groups.values():
        vcalendar = vobject.iCalendar()
        used = _zones_used(components)
        _add_missing_zones(used, zones)
        for tzid in sorted(used & set(zones)):
            vcalendar.add(zones[tzid])
        for component in components:
            vcalendar.add(component)
        objects.append(vcalendar)
    return objects


def _add_missing_zones(used: set[str], zones: dict) -> None:
    """A VTIMEZONE from the zone database for each IANA TZID the file uses without one.

    Without it vobject's serialize builds the VTIMEZONE itself for every object, by
    probing the pytz zone year by year: 0.45 s per event of a file that relies on the
    TZIDs alone (60 events took 30 s). One is made per TZID and import, from the cached
    text (``timezones/vtimezones.py``), and shared like the file's own zones."""
    for tzid in used:
        if tzid not in zones and is_valid_tzid(tzid):
            zones[tzid] = vtimezone(tzid)


def _zones_used(components: Iterable) -> set[str]:
    used = set()
    for component in components:
        for lines in component.contents.values():
            for line in lines:
                params = getattr(line, "params", {})
                # vobject moves TZID to this parameter when it makes the value native.
                used.update(params.get("TZID", ()), params.get("X-VOBJ-ORIGINAL-TZID", ()))
    return used


def _in_range(item, start, end) -> bool:
    """Table 7-31: only components that fall within dtstart..dtend (0 = open)."""
    first, last = item.time_range
    if start is not None and last <= recurrence.epoch(start):
        return False
    if end is not None and first >= recurrence.epoch(end):
        return False
    return True


# ---------------------------------------------------------------- writing

def import_files(ctx, calid_text: str, files: list[bytes], content_in: str, start, end
                 ) -> int:
    """Validate everything, then write it as one batch; the number imported."""
    instance = ctx.backend.instance
    calendar = resolve(ctx.backend, ctx.user, calid_text)
    require(calendar, "write")
    items = []
    limits = ItemLimits.from_settings(instance.settings.get)
    objects = [obj for data in files for obj in calendar_objects(data, content_in, limits)]
    for vcalendar in objects:
        try:
            item = prepare_item(instance.configuration, calendar.path, vcalendar)
        except ItemRefused as e:
            raise WcapError(WcapErrno.WRITE_IMPORT_FAILED, "refused: %s" % e) from e
        if _in_range(item, start, end):
            items.append(item)
    with writing(instance, calendar, WRITE, "WCAP import") as handle:
        for item in items:
            handle.put(item)
    logger.info("WCAP import user=%s calid=%s: %d objects", ctx.user, calendar.calid,
                len(items))
    return len(items)


@handler("import")
def import_(ctx, params):
    import_files(ctx, params["calid"], [uploaded_file(ctx)], params["content-in"],
                 params["dtstart"], params["dtend"])
    return Result()


@handler("upload_file")
def upload_file(ctx, params):
    data = uploaded_file(ctx)
    name = spool_of(ctx.backend.instance).put(ctx.user, data)
    # The manual's answer is a page with ``var uniquefilename=``; these props carry the
    # same three values in every fmt-out.
    return Result(props=[Prop("X-NSCP-WCAP-UNIQUEFILENAME", name),
                         Prop("X-NSCP-WCAP-FILE-SIZE", str(len(data)))])


@handler("write_file")
def write_file(ctx, params):
    spool = spool_of(ctx.backend.instance)
    names = params["uniquefilename"]
    try:
        files = [spool.get(ctx.user, name) for name in names]
    except SpoolError as e:
        raise WcapError(WcapErrno.BAD_IMPORT_ARGUMENTS, str(e)) from e
    import_files(ctx, params["calid"], files, params["content-in"], params["dtstart"],
                 params["dtend"])
    for name in names:
        spool.discard(ctx.user, name)
    return Result()
