"""What the store accepts, checked before any lock, and what it hands out.

`prepare_item` is every door's one check of a calendar object before a write: the size
limits on its text (``limits.py``), then its recurrence rules (Radicale computes
an item's time range by expanding them), then Radicale's own checks. The CalDAV guard
and the feed parser apply the same limits to text they screen themselves
(`item_limits`, `validate_item`).

`StoredText` is an item as the index holds it: reads that only render text (WCAP's
fetches, the fast calendar-query) take it instead of opening the item file.
"""

from __future__ import annotations

from dataclasses import dataclass

from radicale import item as radicale_item

from radicale_wcap.state import services
from radicale_wcap.storage import VALIDATED, item_limits, validate_item
from radicale_wcap.limits import ItemLimits, ItemOverLimits

from .access import StoreError

__all__ = ["ItemLimits", "ItemOverLimits", "ItemRefused", "StoredText", "item_limits",
           "lean", "prepare_item", "validate_item"]


class ItemRefused(StoreError):
    """The item is not valid iCalendar or is over a limit."""


@dataclass(frozen=True)
class StoredText:
    """An item as the index holds it (text as of the freshness check the read made):
    enough to render without opening the item's file."""

    href: str
    etag: str
    text: str

    def serialize(self) -> str:
        return self.text


def prepare_item(configuration, collection_path: str, vcalendar) -> radicale_item.Item:
    """Validate one calendar object (one UID) and make a Radicale item of it.

    Runs before any lock is taken. The size limits are checked first, on text before
    it is parsed; then the recurrence limits, because Radicale computes an item's time
    range by expanding its rules.
    """
    limits = item_limits(configuration)
    text = vcalendar if isinstance(vcalendar, str) else None
    try:
        if text is not None:
            limits.check_text(text)
            try:
                components = radicale_item.read_components(text)
            except Exception as e:
                raise ItemRefused("not valid iCalendar: %s" % e) from e
            if len(components) != 1:
                raise ItemRefused("expected one VCALENDAR, got %d" % len(components))
            vcalendar = components[0]
        validate_item(configuration, vcalendar)
    except ItemOverLimits as e:
        raise ItemRefused(str(e)) from e
    svc = services(configuration)
    try:
        radicale_item.check_and_sanitize_items(
            [vcalendar], is_collection=False, tag="VCALENDAR",
            max_vevent_rrule_occurrence=svc.settings.get("storage", "max_occurrences"))
        item = radicale_item.Item(collection_path=collection_path.strip("/"),
                                  vobject_item=vcalendar)
        item.prepare()
    except Exception as e:
        raise ItemRefused(str(e)) from e
    if text is None:
        try:
            # Built from a tree: its size is known once serialized.
            limits.check_text(item.serialize())
        except ItemOverLimits as e:
            raise ItemRefused(str(e)) from e
    setattr(item, VALIDATED, True)
    return item


def lean(item: radicale_item.Item, collection_path: str) -> radicale_item.Item:
    """A prepared item without its parsed tree (text and metadata only), still marked
    as checked: thousands of parsed trees waiting for a lock cost far more memory than
    parsing the recurring ones again, which the storage plugin and the index do."""
    text = item.serialize()
    kept = radicale_item.Item(collection_path=collection_path.strip("/"), text=text,
                              etag=item.etag, uid=item.uid, name=item.name,
                              component_name=item.component_name,
                              time_range=item.time_range)
    setattr(kept, VALIDATED, True)
    return kept
