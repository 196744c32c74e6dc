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

The parameters are applied to each touched component in ``properties.py``; times take
the forms of ``times.py``.
"""

from __future__ import annotations

import datetime as dt

import vobject

from radicale_wcap import recurrence, timezones
from radicale_wcap.icalparse import clone
from radicale_wcap.wcap.compose.properties import apply_params
from radicale_wcap.wcap.compose.times import (as_date, delta_between, in_frame, native, plus,
                                              same_instant, set_time, utc, zone_of)
from radicale_wcap.wcap.errors import WcapErrno, WcapError

KIND_NAMES = {"event": "vevent", "todo": "vtodo"}
RULE_LINES = ("rrule", "rdate", "exrule", "exdate")

# mod values (manual "Deleting or Modifying Recurring Components").
THISINSTANCE, THISANDFUTURE, THISANDPRIOR, THISANDALL = 1, 2, 3, 4


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
            shift = delta_between(params["dtstart"], rid)
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
    (same instant), so `set_time` stores them with that TZID (``times.py``)."""
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
        exp = recurrence.expand([master], None, just_after(rid), max_count=10000, budget_s=1.0)
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


def just_after(value):
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
        set_time(comp, "dtend", plus(rid, delta_between(end, start)), tzids)
    if due is not None and start is not None:
        set_time(comp, "due", plus(rid, delta_between(due, start)), tzids)
    set_time(comp, "recurrence-id", rid, tzids)
    return comp


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
