"""storeevents/storetodos parameters -> the VCALENDAR to store (Table 7-37, 7-39, 7-38).

`compose_component` applies one request to a stored calendar object (or to nothing, for
a create) and returns the whole new object: master, RECURRENCE-ID exceptions and the
VTIMEZONEs of every TZID it names. Only parameters the client sent are applied
(`Params.sent`): "If a parameter is not specified, the event will retain the previous
value of the property" (manual, storeevents "Required Parameters").

Which components a request touches is the manual's "Recurrence Handling" ``rid``/``mod``:

* no ``rid`` (or ``rid=0``), or ``mod=4`` THISANDALL: the master;
* ``mod=1`` THISINSTANCE: the RECURRENCE-ID exception of that instance (made from the
  master when missing);
* ``mod=2`` THISANDFUTURE: one exception with ``RANGE=THISANDFUTURE`` (RFC 5545
  3.8.4.4), which `radicale_wcap.recurrence` applies to every later instance; exceptions
  after it get the same changes;
* ``mod=3`` THISANDPRIOR: an exception for every instance up to ``rid``, each shifted by
  the same start delta (there is no RANGE=THISANDPRIOR in iCalendar).

The manual's mod numbers (2 future, 3 prior) are used, as in every table of the manual.

Times: DTSTART/DTEND/DUE are stored in the request's ``tzid`` zone (``TZID=`` plus its
VTIMEZONE), whether the client sent them with ``Z`` or without (the parameter parser
takes a value without ``Z`` in ``tzid``); RECURRENCE-ID, RDATE and EXDATE follow the
master's DTSTART. Thunderbird sends ``dtstart=20240116T080000Z&tzid=Europe/Berlin``:
stored in UTC, a weekly 09:00 meeting made in January would be at 10:00 in July, and
CalDAV clients would see a UTC event. The instant is never moved (the manual: ``tzid``
does not shift Zulu input); only its zone is kept. Without ``tzid`` (or with a UTC one)
``Z`` values stay UTC; DATE values (isAllDay) are ``VALUE=DATE``, and an all-day
request's date-times are not re-zoned (a UTC midnight west of Greenwich would become
the previous day).
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import vobject
from dateutil import tz as du_tz

from radicale_wcap import recurrence, timezones
from radicale_wcap.addresses import address_key, address_of, write_address
from radicale_wcap.icalparse import clone
from radicale_wcap.wcap.commands.table import STATUS_CODES
from radicale_wcap.wcap.errors import WcapErrno, WcapError

logger = logging.getLogger("radicale.wcap.wcap.compose")

KIND_NAMES = {"event": "vevent", "todo": "vtodo"}

# Parameter -> iCalendar TEXT property (one value each).
TEXT_PROPS = (("summary", "summary"), ("desc", "description"), ("location", "location"),
              ("icsUrl", "url"), ("comments", "comment"))
# Parameter -> property that repeats once per list item; ``replace=0`` appends.
LIST_PROPS = (("attachments", "attach"), ("contacts", "contact"),
              ("relatedTos", "related-to"), ("resources", "resources"))
# Recurrence lists "always function in replace mode" (manual, Recurrence Handling).
RULE_PARAMS = (("rrules", "rrule"), ("exrules", "exrule"))
DATE_LIST_PARAMS = (("rdates", "rdate"), ("exdates", "exdate"))
RULE_LINES = ("rrule", "rdate", "exrule", "exdate")
# Alarm parameter -> the VALARM ACTION it sets; X-WCAP-ALARM tells ours apart.
ALARMS = (("alarmStart", "EMAIL"), ("alarmPopup", "DISPLAY"), ("alarmAudio", "AUDIO"),
          ("alarmFlashing", "DISPLAY"))
ALARM_TAG = "x-wcap-alarm"
# mod values (manual "Deleting or Modifying Recurring Components").
THISINSTANCE, THISANDFUTURE, THISANDPRIOR, THISANDALL = 1, 2, 3, 4


# ---------------------------------------------------------------- times

def utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in vobject's UTC (vobject 0.9.9 writes ``Z`` only for it)."""
    return value.astimezone(du_tz.UTC)


def zone_of(value) -> str | None:
    """The IANA zone a parsed non-Z request value was given in (None: UTC or DATE)."""
    if isinstance(value, dt.datetime) and isinstance(value.tzinfo, ZoneInfo) \
            and value.tzinfo.key not in ("UTC", "Etc/UTC"):
        return value.tzinfo.key
    return None


def set_time(comp, name: str, value, tzids: set) -> None:
    """Replace ``name`` by one time value, in the form described in the module doc."""
    comp.contents.pop(name, None)
    if value is None:
        return
    line = comp.add(name)
    if not isinstance(value, dt.datetime):
        line.value = value
        line.params["VALUE"] = ["DATE"]
        return
    tzid = zone_of(value)
    if tzid:
        line.value = value.replace(tzinfo=None)
        line.params["TZID"] = [tzid]
        tzids.add(tzid)
    else:
        line.value = utc(value)


def set_time_list(comp, name: str, values, tzids: set) -> None:
    """Replace ``name`` (EXDATE, RDATE) by one line per value, each in `set_time`'s form."""
    comp.contents.pop(name, None)
    lines = []
    for value in values:
        set_time(comp, "x-tmp", value, tzids)
        tmp = comp.contents.pop("x-tmp")[0]
        line = comp.add(name)
        comp.contents[name].remove(line)
        line.value = [tmp.value]
        line.params.update(tmp.params)
        lines.append(line)
    if lines:
        comp.contents[name] = lines


def native(comp, name):
    """The value of a time line as a date or an aware datetime (TZID resolved)."""
    line = comp.contents.get(name, [None])[0]
    if line is None:
        return None
    value = line.value
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dt.datetime):
        return value
    tzid = (line.params.get("TZID") or line.params.get("X-VOBJ-ORIGINAL-TZID") or [None])[0]
    zone = timezones.get_zone(tzid) if tzid and timezones.is_valid_tzid(tzid) else None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone or dt.timezone.utc)
    if zone is not None:
        # vobject resolved the TZID with its own tzinfo; as a zoneinfo zone, `zone_of`
        # knows it, so a RECURRENCE-ID or EXDATE made from it keeps the master's zone.
        return value.astimezone(zone)
    return value


def same_instant(a, b) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        a = a.date() if isinstance(a, dt.datetime) else a
        b = b.date() if isinstance(b, dt.datetime) else b
        return a == b
    return a == b


def in_frame(value, master_start):
    """``value`` (a rid) in the form of the master's DTSTART: DATE, zone or UTC."""
    if master_start is None or value is None:
        return value
    if not isinstance(master_start, dt.datetime):
        return value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, master_start.timetz())
    if zone_of(master_start):
        return value.astimezone(master_start.tzinfo)
    return value.astimezone(dt.timezone.utc)


def as_date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    return value


# ---------------------------------------------------------------- entry point

def compose_component(ctx, params, existing, kind: str):
    """The VCALENDAR to store for one storeevents/storetodos request.

    ``existing``: the stored VCALENDAR (a copy is changed, never the original) or None.
    Raises WcapError with the command's errno for a request that cannot be applied.
    """
    failed = ctx.command.failed
    name = KIND_NAMES[kind]
    params = in_request_zone(params, kind)
    vcal = clone(existing) if existing is not None else vobject.iCalendar()
    comps = [c for c in vcal.getChildren() if c.name.lower() == name]
    master = next((c for c in comps if "recurrence-id" not in c.contents), None)
    tzids: set = set()
    rid = params.get("rid")
    mod = params.get("mod") or THISANDALL
    now = utc(ctx.now())
    if master is None and existing is None:
        master = vcal.add(name)
        master.add("uid").value = params["uid"]
        master.add("created").value = now
        if not params.sent("dtstart") and kind == "event":
            raise WcapError(failed, "a new event needs dtstart")
    if rid is None or mod == THISANDALL:
        if master is None:
            raise WcapError(WcapErrno.RECURRING_COMPONENT_NOT_FOUND, "no master to modify")
        shift = None
        if rid is not None and params.sent("dtstart") and params["dtstart"] is not None:
            shift = _delta(params["dtstart"], rid)
        targets = [(master, True, shift)]
        if shift is None:
            targets += [(c, False, None) for c in comps if c is not master]
    else:
        targets = _instance_targets(vcal, name, master, comps, rid, mod, failed, tzids)
    for comp, is_master, shift in targets:
        apply_params(ctx, params, comp, kind, is_master=is_master, shift=shift, tzids=tzids,
                     only_text=not is_master and rid is None)
        _stamp(comp, now)
    _add_timezones(vcal, tzids)
    return vcal


ZONED_PARAMS = {"event": ("dtstart", "dtend"), "todo": ("dtstart", "due")}


def in_request_zone(params, kind: str):
    """``params`` with its UTC DTSTART/DTEND/DUE moved into the request's ``tzid`` zone
    (same instant), so `set_time` stores them with that TZID (module doc)."""
    tzid = params.get("tzid") if params.sent("tzid") else None
    if not tzid or tzid == "UTC" or (params.sent("isAllDay") and params.get("isAllDay")):
        return params
    zone = timezones.get_zone(tzid)
    changed = {}
    for key in ZONED_PARAMS[kind]:
        value = params.get(key)
        if params.sent(key) and isinstance(value, dt.datetime) and value.tzinfo is not None \
                and zone_of(value) is None:
            changed[key] = value.astimezone(zone)
    if not changed:
        return params
    return type(params)({**params, **changed}, params.given)


def _delta(new, old):
    if isinstance(new, dt.datetime) and isinstance(old, dt.datetime):
        return new - old
    return as_date(new) - as_date(old)


def _instance_targets(vcal, name, master, comps, rid, mod, failed, tzids):
    """The exceptions a ``rid`` request changes (created from the master as needed)."""
    if master is None:
        found = [c for c in comps if same_instant(native(c, "recurrence-id"), rid)]
        if not found:
            raise WcapError(WcapErrno.RECURRING_COMPONENT_NOT_FOUND, "no such instance")
        return [(found[0], False, None)]
    if not any(k in master.contents for k in RULE_LINES):
        # A single event: rid names the event itself.
        if not same_instant(native(master, "dtstart"), rid):
            raise WcapError(WcapErrno.RECURRING_COMPONENT_NOT_FOUND, "rid is not an instance")
        return [(master, True, None)]
    start = native(master, "dtstart")
    if mod == THISINSTANCE or mod == THISANDFUTURE:
        rids = [in_frame(rid, start)]
    else:  # THISANDPRIOR: every instance up to and including rid
        exp = recurrence.expand([master], None, _after(rid), max_count=10000, budget_s=1.0)
        rids = [in_frame(o.recurrence_id, start) for o in exp.occurrences
                if o.recurrence_id is not None]
        if not any(same_instant(r, in_frame(rid, start)) for r in rids):
            rids.append(in_frame(rid, start))
    out = []
    for r in rids:
        comp = next((c for c in comps if same_instant(native(c, "recurrence-id"), r)), None)
        if comp is None:
            comp = _exception_from(vcal, name, master, r, tzids)
        if mod == THISANDFUTURE:
            comp.contents["recurrence-id"][0].params["RANGE"] = ["THISANDFUTURE"]
        exact = same_instant(r, in_frame(rid, start))
        out.append((comp, False, "exact" if exact else "shift"))
    if mod == THISANDFUTURE:
        later = [c for c in comps if "recurrence-id" in c.contents
                 and _after_instant(native(c, "recurrence-id"), rid)]
        out += [(c, False, "shift") for c in later if all(c is not o[0] for o in out)]
    return out


def _after(value):
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(seconds=1)
    return value + dt.timedelta(days=1)


def _after_instant(value, rid) -> bool:
    if value is None:
        return False
    if isinstance(value, dt.datetime) and isinstance(rid, dt.datetime):
        return value > rid
    return as_date(value) > as_date(rid)


def _exception_from(vcal, name, master, rid, tzids):
    comp = vcal.add(name)
    for key, lines in master.contents.items():
        if key in RULE_LINES or key == "recurrence-id":
            continue
        comp.contents[key] = [line.duplicate(line) for line in lines]
    start, end = native(master, "dtstart"), native(master, "dtend")
    due = native(master, "due")
    set_time(comp, "dtstart", rid, tzids)
    if end is not None and start is not None:
        set_time(comp, "dtend", _plus(rid, _delta(end, start)), tzids)
    if due is not None and start is not None:
        set_time(comp, "due", _plus(rid, _delta(due, start)), tzids)
    set_time(comp, "recurrence-id", rid, tzids)
    return comp


def _plus(value, delta):
    if not isinstance(value, dt.datetime) and delta.seconds:
        return dt.datetime.combine(value, dt.time(tzinfo=dt.timezone.utc)) + delta
    return value + delta


def _stamp(comp, now) -> None:
    for key in ("dtstamp", "last-modified"):
        comp.contents.pop(key, None)
        comp.add(key).value = now


def _add_timezones(vcal, tzids: set) -> None:
    for line in (ln for c in vcal.getChildren() for lines in getattr(c, "contents", {}).values()
                 for ln in lines if hasattr(ln, "params")):
        tzid = (line.params.get("TZID") or [None])[0]
        if tzid:
            tzids.add(tzid)
    have = {str(v.tzid.value) for v in vcal.contents.get("vtimezone", [])}
    for tzid in sorted(tzids - have):
        if not timezones.is_valid_tzid(tzid):
            raise WcapError(WcapErrno.BAD_ARGUMENTS, "unknown tzid %r" % tzid)
        vcal.add(timezones.vtimezone(tzid))


# ---------------------------------------------------------------- one component

def apply_params(ctx, params, comp, kind, *, is_master, shift, tzids, only_text=False):
    """Apply the sent parameters to one component (master or exception).

    ``shift``: None (dates as sent), a timedelta (move by it), "exact" (the instance
    the request names: dates as sent), "shift" (another instance of a mod 2/3 request:
    moved by the sent start's distance from ``rid``).
    ``only_text``: exceptions of a whole-series change keep their own dates.
    """
    sent = params.sent
    if not only_text:
        if shift == "shift":
            delta = None
            if sent("dtstart") and params["dtstart"] is not None and params.get("rid"):
                delta = _delta(params["dtstart"], params["rid"])
            _shift(comp, delta, tzids)
        elif isinstance(shift, dt.timedelta):
            _shift(comp, shift, tzids)
        else:
            _apply_dates(ctx, params, comp, kind, tzids)
        if is_master:
            _apply_recurrence(params, comp, tzids)
    _apply_text(params, comp)
    _apply_scalars(params, comp, kind)
    _apply_people(ctx, params, comp)
    _apply_alarms(ctx, params, comp)


def _shift(comp, delta, tzids) -> None:
    if not delta:
        return
    for key in ("dtstart", "dtend", "due"):
        value = native(comp, key)
        if value is not None:
            set_time(comp, key, _plus(value, delta), tzids)


def _apply_dates(ctx, params, comp, kind, tzids) -> None:
    sent = params.sent
    failed = ctx.command.failed
    end_name = "dtend" if kind == "event" else "due"
    old_start, old_end = native(comp, "dtstart"), native(comp, end_name)
    start = params["dtstart"] if sent("dtstart") else old_start
    end = params[end_name] if sent(end_name) else None
    all_day = params.get("isAllDay") if sent("isAllDay") else None
    if all_day is None and sent("dtstart") and start is not None:
        all_day = not isinstance(start, dt.datetime)
    if all_day:
        start = _local_date(start)
        end = _local_date(end)
    elif all_day is False and start is not None and not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time(), tzinfo=dt.timezone.utc)
    if end is None and not sent(end_name):
        if sent("duration") and params["duration"] is not None and start is not None:
            end = _plus(start, params["duration"])
        elif old_end is not None and old_start is not None and start is not None \
                and (sent("dtstart") or all_day is not None):
            end = _plus(start, _delta(_same_kind(old_end, old_start), old_start))
            if all_day:
                end = _local_date(end)
        elif old_end is not None and not sent("dtstart"):
            end = old_end
        elif all_day and kind == "event" and start is not None:
            end = start + dt.timedelta(days=1)
    if all_day and end is not None and end <= start and kind == "event":
        end = start + dt.timedelta(days=1)
    if start is not None and end is not None and _kind(start) == _kind(end) \
            and _as_utc(end) < _as_utc(start):
        raise WcapError(failed, "end before start")
    if sent("dtstart") or all_day is not None:
        set_time(comp, "dtstart", start, tzids)
    if sent(end_name) or sent("duration") or sent("dtstart") or all_day is not None:
        comp.contents.pop("duration", None)
        set_time(comp, end_name, end, tzids)
    if kind == "todo":
        if sent("completed"):
            value = params["completed"]
            set_time(comp, "completed", utc(value) if isinstance(value, dt.datetime)
                     else value, tzids)
        if sent("percent"):
            comp.contents.pop("percent-complete", None)
            if params["percent"] is not None:
                comp.add("percent-complete").value = str(params["percent"])


def _kind(value) -> bool:
    return isinstance(value, dt.datetime)


def _same_kind(value, like):
    if _kind(value) == _kind(like):
        return value
    return as_date(value) if not _kind(like) else dt.datetime.combine(
        value, dt.time(), tzinfo=like.tzinfo)


def _as_utc(value):
    return value.astimezone(dt.timezone.utc) if isinstance(value, dt.datetime) else value


def _local_date(value):
    """An all-day date from a sent value: the date in the zone it was given in (a UTC
    midnight from Lightning stays that day)."""
    if value is None or not isinstance(value, dt.datetime):
        return value
    return value.date()


def _apply_recurrence(params, comp, tzids) -> None:
    for param, key in RULE_PARAMS:
        if params.sent(param):
            comp.contents.pop(key, None)
            for rule in params[param] or ():
                comp.add(key).value = rule
    start = native(comp, "dtstart")
    for param, key in DATE_LIST_PARAMS:
        if params.sent(param):
            values = [in_frame(v, start) for v in (params[param] or ())]
            set_time_list(comp, key, values, tzids)


def _apply_text(params, comp) -> None:
    for param, key in TEXT_PROPS:
        if params.sent(param):
            comp.contents.pop(key, None)
            if params[param]:
                comp.add(key).value = params[param]
                if key == "summary" and params.get("language"):
                    comp.summary.params["LANGUAGE"] = [params["language"]]
    replace = params.get("replace")
    if params.sent("categories"):
        old = [c for line in comp.contents.pop("categories", []) for c in line.value]
        new = list(params["categories"] or ())
        values = new if replace or not new else old + [c for c in new if c not in old]
        if values:
            comp.add("categories").value = values
    for param, key in LIST_PROPS:
        if params.sent(param):
            old = comp.contents.pop(key, [])
            values = list(params[param] or ())
            if not replace and values:
                kept = [line.value for line in old]
                values = kept + [v for v in values if v not in kept]
            for value in values:
                comp.add(key).value = value


def _apply_scalars(params, comp, kind) -> None:
    sent = params.sent
    if sent("priority"):
        comp.contents.pop("priority", None)
        if params["priority"] is not None:
            comp.add("priority").value = str(params["priority"])
    if sent("icsClass"):
        comp.contents.pop("class", None)
        if params["icsClass"]:
            comp.add("class").value = params["icsClass"]
    if sent("status"):
        comp.contents.pop("status", None)
        if params["status"] is not None:
            comp.add("status").value = STATUS_CODES[params["status"]]
    elif "status" not in comp.contents:
        # docs/wcap-clients.md#lightning-store: the default is 0 for events and 3 for todos.
        comp.add("status").value = "CONFIRMED" if kind == "event" else "NEEDS-ACTION"
    if sent("transparent") and kind == "event":
        comp.contents.pop("transp", None)
        if params["transparent"] is not None:
            comp.add("transp").value = "TRANSPARENT" if params["transparent"] else "OPAQUE"
    if sent("geo"):
        comp.contents.pop("geo", None)
        if params["geo"]:
            comp.add("geo").value = "%s;%s" % params["geo"]
    if sent("seq"):
        comp.contents.pop("sequence", None)
        if params["seq"] is not None:
            comp.add("sequence").value = str(params["seq"])


def _apply_people(ctx, params, comp) -> None:
    directory = ctx.backend.instance.directory
    org_sent = [n for n in ("orgCalid", "orgEmail", "orgUID") if params.sent(n)]
    if org_sent:
        if not (params.get("orgCalid") or params.get("orgEmail")):
            raise WcapError(WcapErrno.BAD_ORG_ARGUMENTS, "orgUID without orgCalid/orgEmail")
        who = params.get("orgCalid") or ("mailto:" + params["orgEmail"])
        comp.contents.pop("organizer", None)
        write_address(comp.add("organizer"), address_of(directory, who))
    if params.sent("attendees"):
        old = comp.contents.pop("attendee", [])
        lines = {} if params.get("replace") or not params["attendees"] else \
            {address_key(line.value): line for line in old}
        for entry in params["attendees"] or ():
            address = address_of(directory, entry.value)
            if address.uri is None:
                raise WcapError(WcapErrno.BAD_ARGUMENTS, "attendee without an address")
            line = lines.get(address.key)
            if line is None or params.get("method") != 4:
                line = vobject.base.ContentLine("ATTENDEE", {}, "")
            write_address(line, address)
            for name, value in entry.params:
                if name != "SENT-STATUS" or value:
                    line.params[name] = [value]
            line.params.setdefault("PARTSTAT", ["NEEDS-ACTION"])
            lines[address.key] = line
        if lines:
            comp.contents["attendee"] = list(lines.values())
        if lines and "organizer" not in comp.contents:
            owner = address_of(directory, ctx.user)
            if owner.uri:
                write_address(comp.add("organizer"), owner)


def _apply_alarms(ctx, params, comp) -> None:
    sent = params.sent
    touched = [(p, action) for p, action in ALARMS if sent(p)]
    for param, action in touched:
        for alarm in list(comp.contents.get("valarm", [])):
            tag = str(alarm.contents[ALARM_TAG][0].value) if ALARM_TAG in alarm.contents \
                else None
            mine = tag == param or (tag is None and param != "alarmFlashing"
                                    and str(getattr(alarm, "action").value).upper() == action)
            if mine:
                comp.contents["valarm"].remove(alarm)
        if not comp.contents.get("valarm"):
            comp.contents.pop("valarm", None)
        value = params[param]
        if value is None:
            continue
        alarm = comp.add("valarm")
        alarm.add("action").value = action
        alarm.add(ALARM_TAG).value = param
        trigger = alarm.add("trigger")
        if isinstance(value, dt.timedelta):
            trigger.value = value
        else:
            trigger.value = utc(value) if isinstance(value, dt.datetime) else \
                dt.datetime.combine(value, dt.time(), tzinfo=du_tz.UTC)
            trigger.params["VALUE"] = ["DATE-TIME"]
    for alarm in comp.contents.get("valarm", []):
        action = str(alarm.action.value).upper()
        if sent("alarmDescription") or "description" not in alarm.contents:
            alarm.contents.pop("description", None)
            text = params.get("alarmDescription") or (
                str(comp.summary.value) if "summary" in comp.contents else "Reminder")
            alarm.add("description").value = text
        if action == "EMAIL":
            if "summary" not in alarm.contents:
                alarm.add("summary").value = str(comp.summary.value) \
                    if "summary" in comp.contents else "Reminder"
            if sent("alarmEmails") or "attendee" not in alarm.contents:
                emails = list(params.get("alarmEmails") or ())
                if not emails:
                    user = ctx.backend.instance.directory.get(ctx.user or "")
                    emails = [user.email] if user and user.email else []
                alarm.contents.pop("attendee", None)
                for email in emails:
                    alarm.add("attendee").value = email if email.lower().startswith(
                        "mailto:") else "mailto:" + email
