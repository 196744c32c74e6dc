"""Stored items read for a WCAP answer: through a store handle opened for the
requester (``backend.reading``), as that user's view of them (``privacy.py``).

Every read here (`read_calendar`, `read_selected`, `read_uids`) applies the view, so a
redacted item is a `Redacted` text with an ETag of its own before anything is shaped
or cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from radicale import item as radicale_item

from radicale_wcap import privacy, recurrence
from radicale_wcap.store import StoredText
from radicale_wcap.wcap.backend import reading

TS_MIN = recurrence.NEG_INFINITY_TS
TS_MAX = recurrence.INFINITY_TS

# An open end, passed to the index instead of INFINITY_TS: the index extends a recurring
# item's instances to a query's end plus its horizon (``storage/index_rows.instances``),
# which must stay within datetime's year 9999.
OPEN_END_TS = TS_MAX - 800 * 86400
KINDS = {"event": ("VEVENT",), "todo": ("VTODO",), "all": ("VEVENT", "VTODO")}


class LoadCounter:
    """Items read from the store by `read_calendar`, so tests and benchmarks can prove a
    range query reads what the index selects, not the whole calendar."""

    def __init__(self) -> None:
        self.items = 0

    def add(self, n: int) -> None:
        self.items += n


LOADS = LoadCounter()


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
