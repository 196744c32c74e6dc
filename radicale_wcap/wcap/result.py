"""What a WCAP handler returns: a `Result`, never text.

One model serves every command family; each family fills the sections it needs and the
three renderers (`render.ical`, `render.xml`, `render.js`) lay them out as the manual's
examples do. A new command touches no renderer unless it adds a new kind of section.

Sections, by family
-------------------

``errno``
    The answer's ``X-NSCP-WCAP-ERRNO`` (`WcapErrno`). 0 on success, -1 for logout.
    For a failure simply ``raise WcapError(errno, detail)``; the dispatcher builds the
    Result.

fetch* (fetchcomponents_by_range, fetchevents_by_id, fetch_deletedcomponents, ...)
    One `CalendarLayer` per requested calid, in request order::

        Result(calendars=[CalendarLayer(
            calid="jdoe",                       # as the client sent it (Lightning keys on it)
            props=calprops_for(...),            # [Prop("X-NSCP-CALPROPS-NAME", "John Doe"), ...]
            components=[vevent, vtodo, ...],    # vobject VEVENT/VTODO, ready to send
            errno=0)])                          # layer_errno for this calid

    Components are `vobject` components (``vobject.newFromBehavior("vevent")`` or the
    ``.vevent`` of a parsed calendar) that the handler has already prepared: times in
    UTC or ``tzidout``, ``X-NSCP-DTSTART-TZID`` etc. added, ``X-S1CS-CALID`` parameters
    for ``emailorcalid``, RRULE/EXDATE removed when ``compressed=0``. The renderers do not
    change them. A calendar that failed gets ``errno=28/29`` and no components; set
    ``Result.errno`` to the command's overall answer (0 if the others worked).
    ``max_results``: set to the ``maxResults`` parameter when > 0 (text/js prints
    ``var maxResults=``).

get_calprops / search_calprops
    ``calendars`` with ``props`` only. `Prop` names are the full iCalendar names
    (``X-NSCP-CALPROPS-RELATIVE-CALID``, ``X-NSCP-CALPROPS-ACCESS-CONTROL-ENTRY`` may
    repeat). text/xml gives each calendar its own ``<iCal>`` with its own errno
    element, which is how Lightning checks them (docs/wcap-clients.md#errno-handling).

get_freebusy
    ``calendars`` whose ``components`` hold one vobject ``VFREEBUSY`` each (DTSTART,
    DTEND and ``FREEBUSY;FBTYPE=...`` lines, UTC ``start/end`` periods). text/xml renders it
    as ``<FREEBUSY><START/><END/><FB FBTYPE="BUSY">start/end</FB></FREEBUSY>``.

get_userprefs, login, version, gettime, check_id, get_guids, ping
    Top-level ``props``: ``Prop("X-NSCP-WCAP-PREF-cn", "John Doe")``,
    ``Prop("X-NSCP-WCAP-SESSION-ID", sid)``, ``Prop("X-NSCP-WCAPVERSION", "3.0.0")``...
    ``guids`` for get_guids. ``session`` (`SessionInfo`) gives text/js its
    ``var id=/userid=/calid=`` header; the dispatcher fills it from the request when
    the handler leaves it None.

get_all_timezones, store*, delete*_by_id, verify*
    Top-level ``components``: VTIMEZONEs; the stored component(s) (with ``fetch=1``) or
    a status VEVENT/VTODO with UID and ``REQUEST-STATUS:2.0;Success. ...``; the
    unverified UID/RECURRENCE-ID pairs.

get_all_timezones' crossover dates (Table 7-26)
    ``timezone_list``: one `radicale_wcap.timezones.Crossovers` per zone (``tzid``,
    ``std_name``, ``dst_name``, ``std_offset``, ``dst_offset``, ``dates``), the same
    zones as the VTIMEZONE ``components``. text/js prints them as the manual's
    ``var timezoneList=new Array(); timezoneList[0]=new TZ(...)`` instead of a
    ``timezone`` array of the VTIMEZONEs; text/calendar and text/xml have no place
    for them in the manual (its iCalendar example has none) and omit them.

export (Table 7-19)
    ``components`` (the file's) and a ``Content-Disposition`` header in ``headers``;
    the dispatcher lays it out in the ``content-out`` format (``Command.format_param``).

Per-layer arrays (manual "Error Handling")
    ``layer_arrays={"delete_layer_errno": [0, 59], "delete_event_count": [1, 0]}``
    (also ``layer_errno``, ``store_layer_errno``, ``delete_todo_count``). text/js prints
    each as ``var <name>=new Array(...)``; the other formats have no place for them in
    the manual and omit them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import WcapErrno


@dataclass(frozen=True)
class Prop:
    """One property: iCalendar name, text value, iCalendar parameters (in order)."""

    name: str
    value: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class CalendarLayer:
    """One requested calendar: its calprops, its components and its layer errno."""

    calid: str
    props: list[Prop] = field(default_factory=list)
    components: list[Any] = field(default_factory=list)
    errno: int | None = None


@dataclass
class SessionInfo:
    """Who the answer is for; the text/js header ``var id/userid/calid``."""

    id: str = "0"
    userid: str = ""
    calid: str = ""


@dataclass
class Result:
    errno: int = WcapErrno.OK
    props: list[Prop] = field(default_factory=list)
    calendars: list[CalendarLayer] = field(default_factory=list)
    components: list[Any] = field(default_factory=list)
    guids: list[str] = field(default_factory=list)
    layer_arrays: dict[str, list[int]] = field(default_factory=dict)
    session: SessionInfo | None = None
    max_results: int | None = None
    method: str | None = "PUBLISH"
    brief: bool = False
    # get_all_timezones: Crossovers per zone, for text/js only (see above).
    timezone_list: list[Any] | None = None
    # Extra HTTP headers (export's Content-Disposition); never Content-Type.
    headers: list[tuple[str, str]] = field(default_factory=list)

    def all_components(self):
        """(calid or None, component) over layers first, then top-level components."""
        for layer in self.calendars:
            for component in layer.components:
                yield layer.calid, component
        for component in self.components:
            yield None, component


def error_result(errno: int) -> Result:
    """The answer to a failed command: nothing but the errno (as [MW] and Sun did)."""
    return Result(errno=errno)
