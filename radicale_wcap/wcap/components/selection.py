"""Instances picked by something other than a time range: by RECURRENCE-ID and ``mod``
(fetch by id, verify), and by when their alarms fire (fetchcomponents_by_alarmrange)."""

from __future__ import annotations

import datetime as dt

from radicale_wcap import recurrence
from radicale_wcap.wcap.components.compstate import line_param, matches_compstate
from radicale_wcap.wcap.components.output import (EXPANSION_BUDGET_S, group_key, instances,
                                                  output_components, recurs, series_of)
from radicale_wcap.wcap.components.reads import TS_MAX, TS_MIN
from radicale_wcap.wcap.components.shaping import (UTC, Shape, as_instant, aware,
                                                   native_value, shape_component)

ONE_SECOND = dt.timedelta(seconds=1)


def _rid_instant(comp):
    return as_instant(native_value(comp, "recurrence-id"))


def find_instance(group, rid):
    """(component, occurrence) of the instance whose RECURRENCE-ID is ``rid``, or None:
    an override if one exists, else the rule's instance (not EXDATE'd)."""
    target = as_instant(rid)
    for comp in group:
        if "recurrence-id" in comp.contents and _rid_instant(comp) == target:
            return comp, None
    master = group[0] if "recurrence-id" not in group[0].contents else None
    if master is None:
        return None
    if not recurs(group):
        start = native_value(master, "dtstart")
        return (master, None) if start is not None and as_instant(start) == target else None
    expansion = recurrence.expand([master], rid, target + ONE_SECOND, max_count=10,
                                  budget_s=EXPANSION_BUDGET_S)
    for o in expansion.occurrences:
        if o.recurrence_id is not None and as_instant(o.recurrence_id) == target:
            return master, o
    return None


def select_instances(ctx, params, calendar, item, rid, mod: int, shape: Shape) -> list:
    """The components of one stored item that a by-id fetch asks for (rid + mod)."""
    groups = series_of([item], shape.kinds)
    if not groups:
        return []
    group = groups[0]
    directory = ctx.backend.instance.directory if ctx is not None else None
    if rid is None or mod == 4 or not recurs(group):
        if rid is not None and not recurs(group) and find_instance(group, rid) is None:
            return []
        return output_components(ctx, params, calendar, [item], shape=shape)
    if mod == 1:
        hit = find_instance(group, rid)
        return [] if hit is None else [shape_component(hit[0], hit[1], shape, directory)]
    if shape.recurring:
        return output_components(ctx, params, calendar, [item], shape=shape)
    target = as_instant(rid)
    master = group[0] if "recurrence-id" not in group[0].contents else None
    lo, hi = (rid, None) if mod == 2 else (None, target + ONE_SECOND)

    def wanted(key):
        return key is None or (key >= target if mod == 2 else key <= target)
    picked, seen = [], set()
    for comp, o in instances(group, master, shape, lo, hi):
        key = as_instant(o.recurrence_id) if o.recurrence_id is not None else None
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
        else native_value(comp, "dtstart")
    end = occurrence.end if occurrence is not None and occurrence.end is not None \
        else (native_value(comp, "dtend") or native_value(comp, "due"))
    for alarm in comp.contents.get("valarm", []):
        lines = alarm.contents.get("trigger")
        if not lines:
            continue
        try:
            value = lines[0].value
        except Exception:
            continue
        if isinstance(value, dt.timedelta):
            anchor = end if line_param(lines[0], "RELATED", "START") == "END" else start
            if anchor is None:
                continue
            when = as_instant(anchor) + value
        elif isinstance(value, dt.datetime):
            when = as_instant(aware(value, lines[0]))
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
    for group in sorted(series_of(items, shape.kinds), key=group_key):
        master = group[0] if "recurrence-id" not in group[0].contents else None
        if not matches_compstate(master or group[0], shape.compstates, shape.user_email):
            continue
        chosen = instances(group, master, shape, start, end) if recurs(group) \
            else [(c, None) for c in group]
        for comp, o in chosen:
            if fires_between(comp, o, lo, hi):
                out.append(shape_component(comp, o, shape, directory))
    return out
