"""The components a fetch answers for a list of stored items: grouped into series by
UID, chosen by compstate, expanded into instances unless ``recurring=1``, shaped, and
laid out in the request's format through the output cache where they may be kept."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Optional

import vobject
from radicale import item as radicale_item

from radicale_wcap import recurrence
from radicale_wcap.lru import LRU
from radicale_wcap.store import StoredText
from radicale_wcap.wcap.components.compstate import matches_compstate
from radicale_wcap.wcap.components.reads import shown, viewer
from radicale_wcap.wcap.components.shaping import (RULE_LINES, UTC, Shape, as_instant,
                                                   native_value, shape_component)
from radicale_wcap.wcap.output_cache import ItemOutput
from radicale_wcap.wcap.render import prerender

logger = logging.getLogger("radicale.wcap.wcap.components")

# Cap on expanded instances per request when the range bounds the rule (never reached by
# sane calendars: a one-year range of a daily rule is 366).
MAX_INSTANCES = 5000
EXPANSION_BUDGET_S = 1.0


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
                groups.setdefault(uid_of(comp), []).append(comp)
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
    uids = tuple(uid_of(group[0]) for group in groups)
    return ItemOutput(uids=uids, series=tuple(answered), cacheable=cacheable)


def _output(groups, shape: Shape, directory, range_start, range_end) -> list:
    out = []
    for group in sorted(groups, key=group_key):
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
    expanded = not shape.recurring and recurs(group)
    chosen = instances(group, master, shape, range_start, range_end) if expanded \
        else [(c, None) for c in group]
    return (group_key(group), [shape_component(c, o, shape, directory) for c, o in chosen],
            expanded)


def uid_of(component):
    return component.uid.value if "uid" in component.contents else id(component)


def group_key(group):
    start = native_value(group[0], "dtstart") or native_value(group[0], "due")
    return as_instant(start) if start is not None else dt.datetime.min.replace(tzinfo=UTC)


def recurs(group) -> bool:
    return len(group) > 1 or any(k in group[0].contents for k in RULE_LINES)


def instances(group, master, shape: Shape, range_start, range_end) -> list:
    limit = MAX_INSTANCES
    if range_end is None and master is not None and is_infinite(master):
        limit = shape.bound
    expansion = recurrence.expand(group, range_start, range_end, max_count=limit,
                                  budget_s=EXPANSION_BUDGET_S)
    if expansion.truncated:
        logger.info("expansion of %r stopped at %d instances",
                    group[0].uid.value if "uid" in group[0].contents else "?", limit)
    return [(o.component, o) for o in expansion.occurrences]
