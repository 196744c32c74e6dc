"""What the side index records of one item: its row, its instances and its alarms.

Kept apart from the SQL (``index.py``) and from reading the files
(``index_files.py``) because every way into the index computes rows the same way:
an upload hands over the item it has just written, a reconcile the items it has
read, an extension of the horizon a re-parse of one item. A row depends on the
item and the limits only, so two indexes built by different paths are equal.

Recurring items are indexed instance by instance up to a horizon (as Apple's
CalendarServer does); a query that reaches past an item's horizon treats it as a
candidate and extends the horizon for the next query.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from radicale.item import filter as radicale_filter

from radicale_wcap import icalparse
from radicale_wcap import recurrence

logger = logging.getLogger("radicale.wcap.index")

TS_MIN = radicale_filter.TIMESTAMP_MIN
TS_MAX = radicale_filter.TIMESTAMP_MAX
# Spans up to this long are "short" (see migration 2 in index.py).
SHORT_SPAN = 31 * 86400
# Instances of recurring events are nearly always shorter than this.
INSTANCE_SHORT_SPAN = 2 * 86400
# The latest instant an index horizon may reach (datetime stops at year 9999).
HORIZON_MAX = 253_000_000_000


@dataclass(frozen=True)
class IndexedItem:
    href: str
    uid: str
    component: str
    start: int
    end: int
    recurring: bool
    etag: str
    mtime_ns: int
    hostile: bool

    @property
    def last_modified(self) -> float:
        return self.mtime_ns / 1e9


@dataclass
class Limits:
    horizon_days: int = 730
    max_instances: int = 2000
    budget_s: float = 1.0


@dataclass
class ItemRows:
    """One item's rows: ``item`` in the column order of the items table's INSERT,
    ``instances`` as (start, end) spans (recurring items only), ``alarms`` as
    trigger times."""
    href: str
    item: tuple
    instances: List[Tuple[int, int]] = field(default_factory=list)
    alarms: List[int] = field(default_factory=list)


class RangeQueries:
    """The range query both indexes answer alike, on their own ``range_candidates``."""

    def hrefs_in_range(self, path: str, start: int, end: int,
                       component: Optional[str] = None, collection=None) -> List[str]:
        """Hrefs of items with something in [start, end); hostile items left out.

        With ``collection``, recurring items not indexed that far are indexed up to
        ``end`` first (`range_candidates`), and asked again, so that a series with no
        instance in the range (a yearly rule, years ahead) is not answered."""
        found = self.range_candidates(path, start, end, component, collection)
        if collection is not None and end < TS_MAX and not all(c for _, c in found):
            found = self.range_candidates(path, start, end, component, None)
        return [href for href, _ in found]


def is_recurring(text: str) -> bool:
    return ("\nRRULE" in text or "\nRDATE" in text or "\nRECURRENCE-ID" in text
            or "\nEXRULE" in text)


def alarm_triggers(vobject_item, spans: Sequence[Tuple[int, int]], limit: int = 5000
                   ) -> List[int]:
    """Absolute trigger times of every VALARM for the given instance spans."""
    triggers: List[int] = []
    for component in vobject_item.getChildren():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        for alarm in component.contents.get("valarm", []):
            trigger = getattr(alarm, "trigger", None)
            if trigger is None:
                continue
            try:
                value = trigger.value
            except Exception:
                continue
            if isinstance(value, datetime.timedelta):
                related = trigger.params.get("RELATED", ["START"])[0].upper()
                offset = int(value.total_seconds())
                for start, end in spans:
                    base = end if related == "END" else start
                    if TS_MIN < base < TS_MAX:
                        triggers.append(base + offset)
            else:
                try:
                    triggers.append(recurrence.epoch(value))
                except (ValueError, OverflowError, TypeError, AttributeError):
                    continue
            if len(triggers) >= limit:
                return triggers[:limit]
    return triggers


def instances(vobject_item, limits: Limits, path: str, href: str,
              horizon_from: Optional[int]):
    """(spans, complete, expanded_until, hostile) of a recurring item, expanded to
    the horizon past now (or past ``horizon_from``, a query's end)."""
    base = max(time.time(), horizon_from or 0) + limits.horizon_days * 86400
    horizon = datetime.datetime.fromtimestamp(min(base, HORIZON_MAX), datetime.timezone.utc)
    try:
        spans, complete, expanded_until = recurrence.instances_for_index(
            vobject_item, horizon, max_count=limits.max_instances,
            budget_s=limits.budget_s)
    except ValueError as e:
        logger.warning("Recurrence of item %r in %r is over the limits and is left "
                       "out of range queries: %s", href, path, e)
        return [], 1, TS_MIN, 1
    return ([(int(s), int(e)) for s, e in spans], int(bool(complete)),
            int(expanded_until), 0)


def rows_for(path: str, href: str, item, mtime_ns: int, size: int, limits: Limits,
             vobject_item=None, inode: int = 0) -> ItemRows:
    """The rows of a Radicale item as stored in ``href`` (its file's mtime, size and
    inode). ``vobject_item``: the item's parsed form if the caller has it; it is
    parsed here only for a recurring item or one with alarms."""
    text = item.serialize()
    recurring = is_recurring(text)
    start, end = item.time_range
    complete = 1
    expanded_until = end
    hostile = 0
    spans: List[Tuple[int, int]] = [(start, end)]
    has_alarm = "BEGIN:VALARM" in text
    if (recurring or has_alarm) and vobject_item is None:
        try:
            vobject_item = icalparse.read_one(text)
        except Exception as e:
            logger.warning("Item %r in %r can not be parsed for the index: %s",
                           href, path, e)
    if recurring and vobject_item is not None:
        spans, complete, expanded_until, hostile = instances(
            vobject_item, limits, path, href, horizon_from=None)
    alarms: List[int] = []
    if has_alarm and vobject_item is not None:
        alarms = alarm_triggers(vobject_item, spans)
    row = (path, href, item.uid or "", item.component_name or "", start, end,
           int(recurring), int(complete), expanded_until, hostile, item.etag,
           mtime_ns, size, int(has_alarm), int(end - start > SHORT_SPAN), text, inode)
    return ItemRows(href, row, spans if recurring else [], alarms)
