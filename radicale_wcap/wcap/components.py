"""Stored items -> the VEVENT/VTODO components a WCAP fetch answer carries.

Every command that reads components (fetch*, verify*, export, storeevents' ``fetch=1``)
goes through `read_calendar` (index-driven reads) and `output_components` (shaping), so
that each request parameter means the same thing everywhere:

* ``recurring=1`` ([Q4]/[63]): the master with its rule lines plus its RECURRENCE-ID
  exceptions, unexpanded. Lightning always sends it and folds exceptions into the master
  itself (docs/wcap-clients.md#recurring).
* ``recurring=0`` (the [Q4] default): one component per instance, each with its
  RECURRENCE-ID. ``compressed=0`` drops RRULE/RDATE/EXRULE/EXDATE from the instances
  (the Result contract); ``compressed=1`` keeps them, as the manual's compressed form.
  A rule without COUNT/UNTIL yields at most ``recurrence_bound`` instances (manual
  "Recurrence Handling": default 60) when the request has no end; the range bounds the
  rest, and `radicale_wcap.recurrence` caps both count and time.
* Times go out in UTC (manual "Time Zones"), or as local time with ``TZID=<tzidout>``
  (a zone get_all_timezones lists, which Lightning accepts, docs/wcap-clients.md#times);
  all-day values as ``VALUE=DATE``; floating values stay floating. The stored zone of
  DTSTART/DTEND/DUE is kept in ``X-NSCP-DTSTART-TZID`` / ``X-NSCP-DTEND-TZID`` /
  ``X-NSCP-DUE-TZID``, which is how Lightning shows UTC times in the event's own zone
  (docs/wcap-clients.md#component-answers).
* ``emailorcalid`` ([Q4]): 1 -> ``mailto:`` value plus ``X-S1CS-CALID``; 0 -> calid
  value plus ``X-S1CS-EMAIL``. Only addresses of known users get a calid; Lightning tells
  its own events from invitations by ``X-S1CS-CALID`` alone
  (docs/wcap-clients.md#component-answers).
* ``relativealarm=1``: TRIGGERs as durations from the start (Lightning); 0: absolute UTC
  ``VALUE=DATE-TIME`` triggers, as the manual's examples print them.
* ``compstate`` (Table 7-7): `COMPSTATE_RULES`, evaluated for the requesting user.
* Private and confidential items go out as the requesting user's view of them
  (``privacy.py``): every read here (`read_calendar`, `read_selected`, `read_uids`) and
  `output_components` (storeevents' ``fetch=1`` answer) apply it, so a redacted item is
  a `Redacted` text with an ETag of its own before anything is shaped or cached.

Components are written with text values (``isNative=False``) so that the renderers
print exactly these values; vobject 0.9.9 cannot name a zoneinfo zone itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import vobject
from radicale import item as radicale_item
from dateutil import tz as du_tz

from radicale_wcap import privacy, recurrence, timezones
from radicale_wcap.lru import LRU
from radicale_wcap.store import StoredText
from radicale_wcap.wcap.backend import reading
from radicale_wcap.wcap.output_cache import ItemOutput
from radicale_wcap.wcap.render import prerender

logger = logging.getLogger("radicale.wcap.wcap.components")

UTC = dt.timezone.utc
TS_MIN = recurrence.NEG_INFINITY_TS
TS_MAX = recurrence.INFINITY_TS
# The index extends a recurring item's instances to (query end + its 730-day horizon)
# and overflows datetime past year 9999 (storage/index.py ItemIndex._instances), so an
# open end is passed as this instead of INFINITY_TS.
OPEN_END_TS = TS_MAX - 800 * 86400
KINDS = {"event": ("VEVENT",), "todo": ("VTODO",), "all": ("VEVENT", "VTODO")}
RULE_LINES = ("rrule", "rdate", "exrule", "exdate")
TIME_LINES = (("dtstart", "X-NSCP-DTSTART-TZID"), ("dtend", "X-NSCP-DTEND-TZID"),
              ("due", "X-NSCP-DUE-TZID"), ("recurrence-id", None))
# Time lines without their own X-NSCP-*-TZID (shifted to tzidout like the start) and
# the stamps RFC 5545 requires in UTC.
OTHER_TIME_LINES = ("exdate", "rdate")
UTC_TIME_LINES = ("completed", "created", "last-modified", "dtstamp")
# vobject moves a TZID it resolved into this parameter.
VOBJ_TZID = "X-VOBJ-ORIGINAL-TZID"
# Cap on expanded instances per request when the range bounds the rule (never reached by
# sane calendars: a one-year range of a daily rule is 366).
MAX_INSTANCES = 5000
EXPANSION_BUDGET_S = 1.0


class LoadCounter:
    """Items read from the store by `read_calendar`, so tests and benchmarks can prove a
    range query reads what the index selects, not the whole calendar."""

    def __init__(self) -> None:
        self.items = 0

    def add(self, n: int) -> None:
        self.items += n


LOADS = LoadCounter()


# ---------------------------------------------------------------- reading

def timestamp(value) -> Optional[int]:
    """A request bound (aware datetime, date or None) -> POSIX seconds or None."""
    return None if value is None else recurrence.epoch(value)


def component_name(component_type: Optional[str]) -> Optional[str]:
    """``component-type`` -> the index's component name (None: both)."""
    kinds = KINDS.get(component_type or "all", KINDS["all"])
    return kinds[0] if len(kinds) == 1 else None


@dataclass(frozen=True)
class Redacted(StoredText):
    """An item as a user who is not an owner gets it (`privacy.View`); its ETag is that
    of its own text, which keys the output cache and the parsed memo apart from the
    stored item's."""


def viewer(instance, calendar) -> privacy.View:
    return privacy.view_for(instance.settings, calendar.access)


def shown(items, view: privacy.View) -> list:
    """``items`` as ``view`` shows them: stored, `Redacted`, or left out."""
    if view.whole:
        return items
    out = []
    for item in items:
        if isinstance(item, Redacted):
            out.append(item)
            continue
        text = item.serialize()
        seen = view.text(text)
        if seen is text:
            out.append(item)
        elif seen is not None:
            out.append(Redacted(getattr(item, "href", None), radicale_item.get_etag(seen),
                                seen))
    return out


def read_calendar(instance, calendar, *, start=None, end=None, component=None,
                  from_index: bool = False) -> list:
    """The items of ``calendar`` with something in [start, end) (None: unbounded),
    selected by the index; ``component`` is ``VEVENT``/``VTODO``/None.

    Radicale items, or with ``from_index`` `StoredText`s (no item file is read)."""
    with reading(instance, calendar) as handle:
        if start is None and end is None:
            items = handle.items(component, texts=from_index)
        else:
            lo = timestamp(start)
            hi = timestamp(end)
            items = handle.in_range(TS_MIN if lo is None else lo,
                                    OPEN_END_TS if hi is None else hi, component,
                                    texts=from_index)
        view = handle.view
    LOADS.add(len(items))
    return shown(items, view)


def read_selected(instance, calendar, select) -> list:
    """The items ``select(handle)`` picks (one of the store handle's queries)."""
    with reading(instance, calendar) as handle:
        items = select(handle)
        view = handle.view
    LOADS.add(len(items))
    return shown(items, view)


def read_uids(instance, calendar, uids: Iterable[str]) -> dict:
    """``{uid: item}`` for the UIDs found in ``calendar`` (by the index)."""
    with reading(instance, calendar) as handle:
        found = handle.by_uids(uids)
        view = handle.view
    LOADS.add(len(found))
    visible = {}
    for uid, item in found.items():
        for seen in shown([item], view):
            visible[uid] = seen
    return visible


# ---------------------------------------------------------------- compstate (Table 7-7)

def _address(line) -> str:
    value = str(line.value or "").strip()
    return value[7:].lower() if value.lower().startswith("mailto:") else value.lower()


def _param(line, name: str, default: str = "") -> str:
    values = line.params.get(name.upper()) or line.params.get(name)
    return str(values[0]).upper() if values else default


def _my_attendee(component, email: str):
    for line in component.contents.get("attendee", []):
        if email and _address(line) == email:
            return line
    return None


def _i_organize(component, email: str) -> bool:
    organizer = component.contents.get("organizer")
    return bool(email and organizer and _address(organizer[0]) == email
                and component.contents.get("attendee"))


def _others_partstats(component, email: str) -> list[str]:
    return [_param(a, "PARTSTAT", "NEEDS-ACTION") for a in component.contents.get("attendee", [])
            if _address(a) != email]


@dataclass(frozen=True)
class CompstateRule:
    state: str
    role: str  # Table 7-7 column "Organizer/Attendee"
    test: Callable[[Any, str], bool]


def _attendee_state(partstats: tuple, rsvp: Optional[bool] = None):
    def test(component, email):
        line = _my_attendee(component, email)
        if line is None or _param(line, "PARTSTAT", "NEEDS-ACTION") not in partstats:
            return False
        return rsvp is None or (_param(line, "RSVP", "FALSE") == "TRUE") == rsvp
    return test


COMPSTATE_RULES = (
    CompstateRule("REPLY-DECLINED", "attendee", _attendee_state(("DECLINED",))),
    CompstateRule("REPLY-ACCEPTED", "attendee", _attendee_state(("ACCEPTED", "TENTATIVE"))),
    CompstateRule("REQUEST-NEEDS-ACTION", "attendee",
                  _attendee_state(("NEEDS-ACTION",), rsvp=True)),
    CompstateRule("REQUEST-NEEDSNOACTION", "attendee",
                  _attendee_state(("NEEDS-ACTION",), rsvp=False)),
    CompstateRule("REQUEST-COMPLETED", "organizer", lambda c, e: _i_organize(c, e) and all(
        p != "NEEDS-ACTION" for p in _others_partstats(c, e))),
    CompstateRule("REQUEST-WAITFORREPLY", "organizer", lambda c, e: _i_organize(c, e) and any(
        p == "NEEDS-ACTION" for p in _others_partstats(c, e))),
    # Sent, but not yet processed by a group scheduling engine: this server delivers
    # nothing asynchronously, so no component is ever pending.
    CompstateRule("REQUEST-PENDING", "organizer", lambda c, e: False),
)
_RULES = {rule.state: rule for rule in COMPSTATE_RULES}


def matches_compstate(component, compstates, user_email: Optional[str]) -> bool:
    """Whether ``component`` is in one of ``compstates`` (None/empty/ALL: any) for the
    user with address ``user_email``."""
    if not compstates or "ALL" in compstates:
        return True
    email = (user_email or "").lower()
    return any(_RULES[s].test(component, email) for s in compstates if s in _RULES)


# ---------------------------------------------------------------- output shaping

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


class _ParsedMemo:
    """Parsed items by ETag (a hash of the text), shared and never changed.

    Parsing is most of a fetch's time when its answer is not in the output cache
    (vobject turns every date and VTIMEZONE into Python objects). Every reader of
    these trees only reads them; `shape_component`, the one place that changes a
    component, changes its own copy.
    """

    def __init__(self, size: int = 2000) -> None:
        self.entries = LRU(size)

    def get(self, item):
        etag = getattr(item, "etag", None)
        if not etag:
            return item.vobject_item
        parsed = self.entries.get(etag)
        if parsed is None:
            parsed = vobject.readOne(item.serialize())
            self.entries.put(etag, parsed)
        return parsed


PARSED = _ParsedMemo()


def _vcalendar(item):
    # Not hasattr(item, "vobject_item"): on a Radicale item that parses it.
    return PARSED.get(item) if isinstance(item, (radicale_item.Item, StoredText)) else item


def series_of(items, kinds) -> list[list]:
    """Components of the wanted kinds grouped by UID: [master-or-override, ...]."""
    groups: dict = {}
    for item in items:
        try:
            vcal = _vcalendar(item)
        except Exception as e:  # a broken file must not fail the whole answer
            logger.warning("cannot parse stored item %r: %s", getattr(item, "href", "?"), e)
            continue
        for comp in vcal.getChildren():
            if comp.name.upper() in kinds:
                groups.setdefault(_uid(comp), []).append(comp)
    for group in groups.values():
        group.sort(key=lambda c: "recurrence-id" in c.contents)  # master first
    return list(groups.values())


def is_infinite(component) -> bool:
    for rule in component.contents.get("rrule", []):
        text = str(rule.value).upper()
        if "COUNT=" not in text and "UNTIL=" not in text:
            return True
    return False


def output_components(ctx, params, calendar, items, *, range_start=None, range_end=None,
                      shape: Optional[Shape] = None) -> list:
    """The components to send for ``items`` (Radicale items, `StoredText`s or vobject
    VCALENDARs), in series start order: vobject components, or `Rendered` ones when
    the shape names a format; those come from the instance's `output_cache`."""
    shape = shape or Shape.of(ctx, params)
    directory = ctx.backend.instance.directory if ctx is not None else None
    if ctx is not None and calendar is not None:
        items = shown(items, viewer(ctx.backend.instance, calendar))
    cache = ctx.backend.instance.output_cache if ctx is not None and shape.fmt_out else None
    if cache is None or not cache.enabled or directory is None:
        return _output(series_of(items, shape.kinds), shape, directory, range_start, range_end)
    shape_key = (shape.key, directory.revision())
    outputs = []
    for item in items:
        # The ETag of the text this user may see (a `Redacted` one has its own): the
        # key holds the privacy view, and one view is never answered from another's.
        etag = getattr(item, "etag", None) if not hasattr(item, "getChildren") else None
        key = (etag, shape_key)
        entry = cache.get(key) if etag else None
        if entry is None:
            entry = _item_output(item, shape, directory, range_start, range_end)
            if etag:
                cache.put(key, entry)
        outputs.append(entry)
    uids = [uid for entry in outputs for uid in entry.uids]
    if len(set(uids)) != len(uids):
        # One UID in two stored items (written around Radicale's UID check): the
        # series must be merged, as the uncached path does.
        return _output(series_of(items, shape.kinds), shape, directory, range_start, range_end)
    series = sorted((s for entry in outputs for s in entry.series), key=lambda s: s[0])
    return [component for _, rendered in series for component in rendered]


def _item_output(item, shape: Shape, directory, range_start, range_end) -> ItemOutput:
    groups = series_of([item], shape.kinds)
    answered, cacheable = [], True
    for group in groups:
        found = _series(group, shape, directory, range_start, range_end)
        if found is None:
            continue
        sort_key, components, expanded = found
        cacheable = cacheable and not expanded
        answered.append((sort_key, tuple(prerender(c, shape.fmt_out, shape.brief)
                                         for c in components)))
    uids = tuple(_uid(group[0]) for group in groups)
    return ItemOutput(uids=uids, series=tuple(answered), cacheable=cacheable)


def _output(groups, shape: Shape, directory, range_start, range_end) -> list:
    out = []
    for group in sorted(groups, key=_group_key):
        found = _series(group, shape, directory, range_start, range_end)
        if found is not None:
            components = found[1]
            out += [prerender(c, shape.fmt_out, shape.brief) for c in components] \
                if shape.fmt_out else components
    return out


def _series(group, shape: Shape, directory, range_start, range_end):
    """(sort key, shaped components, expanded?) of one series, or None when its
    compstate is not asked for."""
    master = group[0] if "recurrence-id" not in group[0].contents else None
    if not matches_compstate(master or group[0], shape.compstates, shape.user_email):
        return None
    expanded = not shape.recurring and _recurs(group)
    chosen = _instances(group, master, shape, range_start, range_end) if expanded \
        else [(c, None) for c in group]
    return (_group_key(group), [shape_component(c, o, shape, directory) for c, o in chosen],
            expanded)


def _uid(component):
    return component.uid.value if "uid" in component.contents else id(component)


def _group_key(group):
    start = _native(group[0], "dtstart") or _native(group[0], "due")
    return _as_instant(start) if start is not None else dt.datetime.min.replace(tzinfo=UTC)


def _recurs(group) -> bool:
    return len(group) > 1 or any(k in group[0].contents for k in RULE_LINES)


def _instances(group, master, shape: Shape, range_start, range_end) -> list:
    limit = MAX_INSTANCES
    if range_end is None and master is not None and is_infinite(master):
        limit = shape.bound
    expansion = recurrence.expand(group, range_start, range_end, max_count=limit,
                                  budget_s=EXPANSION_BUDGET_S)
    if expansion.truncated:
        logger.info("expansion of %r stopped at %d instances",
                    group[0].uid.value if "uid" in group[0].contents else "?", limit)
    return [(o.component, o) for o in expansion.occurrences]


# ---------------------------------------------------------------- one component

def shape_component(source, occurrence, shape: Shape, directory=None):
    """A copy of ``source`` ready to send; ``occurrence`` (a recurrence.Occurrence) makes
    it that instance."""
    comp = vobject.base.Component.duplicate(source)
    start_value = _native(source, "dtstart")
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


def _native(comp, name):
    lines = comp.contents.get(name)
    if not lines:
        return None
    try:
        return _aware(lines[0].value, lines[0])
    except Exception:
        return None


def _aware(value, line=None):
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
    old_start = _native(master, "dtstart")
    if "dtstart" in comp.contents:
        _set(comp, "dtstart", start, _stored_tzid(master.dtstart))
    if "dtend" in comp.contents and end is not None:
        _set(comp, "dtend", end, _stored_tzid(master.dtend))
    if "due" in comp.contents and old_start is not None:
        due = _native(master, "due")
        try:
            _set(comp, "due", due + (_as_instant(start) - _as_instant(old_start)),
                 _stored_tzid(master.due))
        except TypeError:
            pass


def _as_instant(value):
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
    values = [_aware(v, line) for v in values]
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
    anchor = _as_instant(start)
    if isinstance(value, dt.timedelta):
        if relative:
            return
        if _param(line, "RELATED", "START") == "END":
            return  # keep END-relative triggers as they are
        text, params = (anchor + value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), \
            {"VALUE": ["DATE-TIME"]}
    elif isinstance(value, dt.datetime):
        if not relative:
            text, params = format_value(_aware(value, line), None)[0], {"VALUE": ["DATE-TIME"]}
        else:
            text, params = _duration_text(_as_instant(value) - anchor), {}
    else:
        return
    alarm.contents.pop("trigger", None)
    new = alarm.add("trigger")
    new.value = text
    new.params = params
    new.isNative = False
    new.encoded = True


def _shape_address(line, directory, emailorcalid: bool) -> None:
    address = _address(line)
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


# ---------------------------------------------------------------- by id, verify, alarms

ONE_SECOND = dt.timedelta(seconds=1)


def _rid_instant(comp):
    return _as_instant(_native(comp, "recurrence-id"))


def find_instance(group, rid):
    """(component, occurrence) of the instance whose RECURRENCE-ID is ``rid``, or None:
    an override if one exists, else the rule's instance (not EXDATE'd)."""
    target = _as_instant(rid)
    for comp in group:
        if "recurrence-id" in comp.contents and _rid_instant(comp) == target:
            return comp, None
    master = group[0] if "recurrence-id" not in group[0].contents else None
    if master is None:
        return None
    if not _recurs(group):
        start = _native(master, "dtstart")
        return (master, None) if start is not None and _as_instant(start) == target else None
    expansion = recurrence.expand([master], rid, target + ONE_SECOND, max_count=10,
                                  budget_s=EXPANSION_BUDGET_S)
    for o in expansion.occurrences:
        if o.recurrence_id is not None and _as_instant(o.recurrence_id) == target:
            return master, o
    return None


def select_instances(ctx, params, calendar, item, rid, mod: int, shape: Shape) -> list:
    """The components of one stored item that a by-id fetch asks for (rid + mod)."""
    groups = series_of([item], shape.kinds)
    if not groups:
        return []
    group = groups[0]
    directory = ctx.backend.instance.directory if ctx is not None else None
    if rid is None or mod == 4 or not _recurs(group):
        if rid is not None and not _recurs(group) and find_instance(group, rid) is None:
            return []
        return output_components(ctx, params, calendar, [item], shape=shape)
    if mod == 1:
        hit = find_instance(group, rid)
        return [] if hit is None else [shape_component(hit[0], hit[1], shape, directory)]
    if shape.recurring:
        return output_components(ctx, params, calendar, [item], shape=shape)
    target = _as_instant(rid)
    master = group[0] if "recurrence-id" not in group[0].contents else None
    lo, hi = (rid, None) if mod == 2 else (None, target + ONE_SECOND)

    def wanted(key):
        return key is None or (key >= target if mod == 2 else key <= target)
    picked, seen = [], set()
    for comp, o in _instances(group, master, shape, lo, hi):
        key = _as_instant(o.recurrence_id) if o.recurrence_id is not None else None
        if wanted(key):
            seen.add(key)
            picked.append(shape_component(comp, o, shape, directory))
    # An override moved across the rid is outside the expansion range but still
    # belongs to the instances asked for, which are chosen by RECURRENCE-ID.
    for comp in group[1:] if master is not None else group:
        key = _rid_instant(comp)
        if key not in seen and wanted(key):
            picked.append(shape_component(comp, None, shape, directory))
    return picked


def instance_exists(item, kind: str, rid) -> bool:
    """verify*: does ``item`` hold a ``kind`` component with that RECURRENCE-ID
    (None: the component itself)?"""
    groups = series_of([item], (kind,))
    if not groups:
        return False
    return rid is None or find_instance(groups[0], rid) is not None


def fires_between(comp, occurrence, lo: int, hi: int) -> bool:
    """Whether an alarm of ``comp`` (as the instance ``occurrence``) triggers in
    [lo, hi) (POSIX seconds)."""
    start = occurrence.start if occurrence is not None and occurrence.start is not None \
        else _native(comp, "dtstart")
    end = occurrence.end if occurrence is not None and occurrence.end is not None \
        else (_native(comp, "dtend") or _native(comp, "due"))
    for alarm in comp.contents.get("valarm", []):
        lines = alarm.contents.get("trigger")
        if not lines:
            continue
        try:
            value = lines[0].value
        except Exception:
            continue
        if isinstance(value, dt.timedelta):
            anchor = end if _param(lines[0], "RELATED", "START") == "END" else start
            if anchor is None:
                continue
            when = _as_instant(anchor) + value
        elif isinstance(value, dt.datetime):
            when = _as_instant(_aware(value, lines[0]))
        else:
            continue
        if lo <= when.timestamp() < hi:
            return True
    return False


# An alarm fires at most this long before or after its instance (the instances of an
# alarm-range fetch are looked for this much around the range).
ALARM_REACH = dt.timedelta(days=7)


def alarm_components(ctx, params, calendar, items, lo: int, hi: int, shape: Shape) -> list:
    """fetchcomponents_by_alarmrange's components: whole series (recurring=1) or the
    instances whose own alarm fires in [lo, hi)."""
    if shape.recurring:
        return output_components(ctx, params, calendar, items, shape=shape)
    directory = ctx.backend.instance.directory if ctx is not None else None
    start = dt.datetime.fromtimestamp(max(lo, TS_MIN + 10 ** 6), UTC) - ALARM_REACH \
        if lo > TS_MIN else None
    end = dt.datetime.fromtimestamp(min(hi, 253402214400), UTC) + ALARM_REACH \
        if hi < TS_MAX else None
    out = []
    for group in sorted(series_of(items, shape.kinds), key=_group_key):
        master = group[0] if "recurrence-id" not in group[0].contents else None
        if not matches_compstate(master or group[0], shape.compstates, shape.user_email):
            continue
        chosen = _instances(group, master, shape, start, end) if _recurs(group) \
            else [(c, None) for c in group]
        for comp, o in chosen:
            if fires_between(comp, o, lo, hi):
                out.append(shape_component(comp, o, shape, directory))
    return out
