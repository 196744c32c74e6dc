"""Compare a parsed feed with the calendar and apply the difference (1101/1102/1103).

``feed.py`` knows nothing of the store; this module decides, per UID, whether
the feed adds, modifies, leaves alone or deletes an event, and writes the
result as one batch of the store (``storage/batch.py``), so that the calendar is
either as before or as after the feed, whatever stops it.

Decisions (also in docs/trumba.md):

* Unchanged = same fingerprint as at the last import AND the item still has
  the ETag that import gave it (origins.py); anything else is rewritten.
* ``delta=false``: every VEVENT of the calendar not in the feed is deleted
  (only events earlier feeds created, when the calendar's
  ``feed_deletes_own_only`` is set).  Events the feed names but that were not
  imported (rejected, refused by the store) are never deleted: a broken line
  must not cost the stored event.
* Mass-delete guard: a full feed that would delete more than
  ``[feeds] max_delete_share`` of the calendar's events is refused as a whole
  (3101) unless the calendar's ``feed_allow_mass_delete`` is set; that is what
  keeps an empty or half-exported file from wiping a calendar.
* ``METHOD:CANCEL`` deletes the named UIDs (whole event, overrides included)
  and nothing else, whatever ``delta`` says; the guard does not apply because
  each deletion is explicit.
* UIDs are unique across a calendar tree (parent and sub-calendars, Trumba's
  rule): a feed event whose UID lives in another calendar of the tree is not
  imported (2102, "Event not imported: UID ... used in calendar ...").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Set

from radicale_wcap import calid as calid_mod
from radicale_wcap import store as store_mod
from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.feed import Feed, FeedEvent
from radicale_wcap.trumba.origins import Origin, Origins
from radicale_wcap.trumba.report import Message

logger = logging.getLogger("radicale.wcap.trumba.apply")

ADD, MODIFY, DELETE = "add", "modify", "delete"
MESSAGE_CODES = {ADD: Code.EVENT_ADDED, MODIFY: Code.EVENT_MODIFIED, DELETE: Code.EVENT_DELETED}

class FeedRefused(Exception):
    """The whole feed is refused after comparing with the calendar; nothing changed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.message = Message(Code.SINGLE_VCALENDAR, detail=detail)


@dataclass
class Change:
    action: str
    uid: str
    line: Optional[int] = None
    event: Optional[FeedEvent] = None
    item: object = None  # prepared radicale Item for ADD/MODIFY
    href: str = ""


@dataclass
class Policy:
    delta: bool
    deletes_own_only: bool
    max_delete_share: float
    allow_mass_delete: bool


@dataclass
class Plan:
    changes: List[Change] = field(default_factory=list)
    messages: List[Message] = field(default_factory=list)  # events not imported here


def needs_write(event: FeedEvent, rows: Dict[str, object], origins: Dict[str, Origin]) -> bool:
    row, origin = rows.get(event.uid), origins.get(event.uid)
    return not (row is not None and origin is not None
                and origin.fingerprint == event.fingerprint and origin.etag == row.etag)


def family_paths(registry, path: str) -> List[str]:
    """Every other calendar of the tree ``path`` belongs to (root and all descendants)."""
    root, seen = path, {path}
    while True:
        record = registry.get(root)
        if record is None or not record.parent or record.parent in seen:
            break
        root = record.parent
        seen.add(root)
    tree, todo = [], [root]
    visited: Set[str] = set()
    while todo:
        current = todo.pop()
        if current in visited:
            continue
        visited.add(current)
        tree.append(current)
        todo.extend(child.path for child in registry.children(current))
    return [p for p in tree if p != path]


def family_uids(store, registry, path: str) -> Dict[str, str]:
    """UID -> calendar path for the other calendars of the tree."""
    return store.uids_in(family_paths(registry, path))


def plan_feed(feed: Feed, *, rows: Dict[str, object], origins: Dict[str, Origin],
              family: Dict[str, str], policy: Policy,
              prepare: Callable[[FeedEvent], object]) -> Plan:
    """What the feed does to the calendar.  ``rows``: what the store knows of each of
    the calendar's items, by UID (``entries()`` of its handle).

    ``prepare(event)`` returns a Radicale item or raises ``ItemRefused``.
    Raises FeedRefused when the mass-delete guard trips.
    """
    plan = Plan()
    if feed.method == "CANCEL":
        for event in feed.events:
            if event.uid in rows:
                plan.changes.append(Change(DELETE, event.uid, event.line))
        return plan
    named = {m.uid for m in feed.rejected if m.uid}
    for event in feed.events:
        named.add(event.uid)
        if event.uid in family:
            plan.messages.append(Message(
                Code.CONTENT_LINE_INVALID, uid=event.uid, line=event.line,
                detail="Event not imported: UID %s is used in calendar %s of the same "
                       "calendar tree" % (event.uid, calid_mod.from_path(family[event.uid]))))
            continue
        if not needs_write(event, rows, origins):
            continue
        try:
            item = prepare(event)
        except store_mod.ItemRefused as e:
            plan.messages.append(Message(Code.CONTENT_LINE_INVALID, uid=event.uid,
                                         line=event.line,
                                         detail="Event not imported: refused by the store (%s)" % e))
            continue
        action = MODIFY if event.uid in rows else ADD
        plan.changes.append(Change(action, event.uid, event.line, event, item))
    if policy.delta:
        return plan
    events = [uid for uid, row in rows.items() if row.component == "VEVENT"]
    gone = [uid for uid in events if uid not in named
            and (not policy.deletes_own_only or uid in origins)]
    if gone and len(gone) > policy.max_delete_share * len(events) \
            and not policy.allow_mass_delete:
        raise FeedRefused(
            "Feed refused: as a full feed (delta=false) it would delete %d of the calendar's "
            "%d events, more than the allowed share of %g; nothing was changed. Send the "
            "complete feed, use delta=true, or set the calendar's feed_allow_mass_delete."
            % (len(gone), len(events), policy.max_delete_share))
    plan.changes.extend(Change(DELETE, uid) for uid in sorted(gone))
    return plan


def apply_plan(handle, plan: Plan, *, feed_name: str) -> List[Message]:
    """Write the plan through the caller's store handle, with the feed's origins; all
    or nothing. Returns the 110x messages."""
    if not plan.changes:
        return []
    writes = []
    for change in plan.changes:
        if change.action == DELETE:
            handle.delete(change.uid)
        else:
            write = handle.put(change.item)
            change.href = write.href
            writes.append(write)

    def record_origins(connection) -> None:
        events = {c.uid: c.event for c in plan.changes if c.action != DELETE}
        Origins.record(connection, handle.path, [
            Origin(w.uid, feed_name, events[w.uid].fingerprint, w.result.etag)
            for w in writes])
        Origins.forget(connection, handle.path,
                       [c.uid for c in plan.changes if c.action == DELETE])

    try:
        handle.commit(on_commit=record_origins)
    except Exception:
        logger.exception("Feed %s into %s failed part-way and was rolled back",
                         feed_name, handle.path)
        raise
    return [Message(MESSAGE_CODES[c.action], uid=c.uid, line=c.line) for c in plan.changes]


def messages_in_order(feed: Feed, plan: Plan, applied: Iterable[Message]) -> List[Message]:
    """File order: feed-level messages, then by line; deletions the file does not name last."""
    everything = [*feed.all_messages(), *plan.messages, *applied]
    return ([m for m in everything if m.line is None and m.uid is None]
            + sorted((m for m in everything if m.line is not None), key=lambda m: m.line)
            + [m for m in everything if m.line is None and m.uid is not None])
