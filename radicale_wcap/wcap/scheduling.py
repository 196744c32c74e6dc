"""Group scheduling between local users (manual "Group Scheduling", Table 7-38).

What Sun's Group Scheduling Engine did, done at store/delete time:

* invitation (``method`` 1 PUBLISH / 2 REQUEST, stored by the organizer): a copy goes into
  the default calendar of every attendee who is a user here, with ``PARTSTAT=NEEDS-ACTION``
  (so ``compstate=REQUEST-NEEDS-ACTION`` finds it), if the organizer has ``schedule`` (s)
  access to that calendar; attendees who are not users get iMIP mail (`imip`);
* reply (``method`` 4, stored by an attendee on their own copy): the organizer's event gets
  the attendee's PARTSTAT, and nothing else;
* cancellation (the organizer deletes the event, sets status CANCELLED, or drops an
  attendee): the attendee copies are removed.

The UID is chosen by whoever stores, so a UID names nobody's event: an attendee's item
with that UID is only replaced or removed when it is a copy of this organizer's event
(its ORGANIZER is the organizer) and the attendee's calendar grants the organizer ``s``;
a reply only touches the organizer's own event, and only where the replier is an
attendee of it. Anything else is refused, logged, and reported as a `Refusal`, which the
command answers with its errno: without that, any user could overwrite or delete any
event of anyone's by storing a "copy" with its UID.

Each calendar is written in its own ``store.writing`` block, after the request's own
write: the storage lock is global and not re-entrant, so blocks are never nested. An
attendee copy is written only if the item read for the checks is still the one there. A
failure in one attendee's calendar does not undo the organizer's store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap.rights import access_for
from radicale_wcap.store import ItemRefused, prepare_item
from radicale_wcap.wcap import imip
from radicale_wcap.wcap.compose import clone
from radicale_wcap.wcap.errors import WcapErrno

logger = logging.getLogger("radicale.wcap.wcap.scheduling")

REQUEST, PUBLISH, REPLY, CANCEL = 2, 1, 4, 8
COMPONENTS = ("VEVENT", "VTODO")
# Attempts to write a copy when the attendee's item changes between check and write.
RETRIES = 3
# RFC 2446 section 3.6 status, with the attendee as extra data, in the command's answer.
NO_AUTHORITY = "3.8;No authority;%s"


@dataclass(frozen=True)
class Address:
    uri: Optional[str]       # mailto:addr, or None when the value names nobody
    key: str                 # lower-cased address, for matching
    user: Optional[object]   # directory User when local
    cn: Optional[str] = None


def address_key(value) -> str:
    text = str(value or "").strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).lower()


def address_of(directory, value) -> Address:
    """An attendee/organizer value (``mailto:addr``, an address, a calid) -> Address."""
    text = str(value or "").strip()
    user = None
    if text.lower().startswith("mailto:"):
        email = text[7:]
        user = directory.by_email(email)
    elif "@" in text and ":" not in text:
        email = text
        user = directory.by_email(email)
    else:
        owner = calid_mod.owner_of(text) if calid_mod.is_valid_name(text.split(":")[0]) else None
        user = directory.get(owner) if owner else None
        email = user.email if user is not None else ""
    if not email:
        return Address(None, text.lower(), None)
    return Address("mailto:" + email, email.lower(), user, user.cn if user else None)


def write_address(line, address: Address) -> None:
    line.value = address.uri
    if address.cn and "CN" not in line.params:
        line.params["CN"] = [address.cn]


def same_person(a: Address, b: Address) -> bool:
    if a.user is not None and b.user is not None:
        return a.user.name == b.user.name
    return a.uri is not None and a.key == b.key


def _components(vcal):
    return [c for c in vcal.getChildren() if c.name in COMPONENTS]


def _organizer(directory, vcal) -> Optional[Address]:
    for comp in _components(vcal):
        if "organizer" in comp.contents:
            return address_of(directory, comp.organizer.value)
    return None


def organised_by(directory, vcal, organizer: Address) -> bool:
    """Whether ``vcal`` is ``organizer``'s event: its master (or only) component names
    them as ORGANIZER and no component names anyone else. An item without ORGANIZER is
    its calendar owner's own."""
    comps = _components(vcal)
    master = next((c for c in comps if "recurrence-id" not in c.contents),
                  comps[0] if comps else None)
    if master is None or "organizer" not in master.contents:
        return False
    return all(same_person(address_of(directory, c.organizer.value), organizer)
               for c in comps if "organizer" in c.contents)


def _attendees(directory, vcal) -> dict:
    found = {}
    for comp in _components(vcal):
        for line in comp.contents.get("attendee", []):
            address = address_of(directory, line.value)
            if address.uri:
                found.setdefault(address.key, address)
    return found


def _uid(vcal) -> str:
    return str(_components(vcal)[0].uid.value)


def is_cancelled(vcal) -> bool:
    comps = [c for c in _components(vcal) if "recurrence-id" not in c.contents]
    return bool(comps) and "status" in comps[0].contents and \
        str(comps[0].status.value).upper() == "CANCELLED"


@dataclass(frozen=True)
class Refusal:
    """An attendee's calendar left as it was, and the errno the command answers for it."""
    user: str
    address: str             # mailto: URI, named in the answer's REQUEST-STATUS
    errno: WcapErrno


class Refused(Exception):
    def __init__(self, errno: WcapErrno, why: str) -> None:
        super().__init__(why)
        self.errno, self.why = errno, why


@dataclass
class Outcome:
    """What scheduling did. A refusal makes the command answer its errno (the first
    one's), a mail failure errno 33; the organizer's own write stands either way."""
    delivered: list
    removed: list
    mailed: list
    mail_failed: bool = False
    refused: list = field(default_factory=list)

    @property
    def errno(self) -> WcapErrno:
        if self.refused:
            return self.refused[0].errno
        return WcapErrno.CANNOT_SENT_EMAIL if self.mail_failed else WcapErrno.OK

    def request_statuses(self) -> list:
        """REQUEST-STATUS values naming each attendee whose calendar was not written,
        for the answer's status component (the errno alone cannot say who)."""
        return [NO_AUTHORITY % r.address for r in self.refused]


def after_store(ctx, calendar, vcal, previous, method: int, notify: bool) -> Outcome:
    instance = ctx.backend.instance
    directory = instance.directory
    outcome = Outcome([], [], [])
    organizer = _organizer(directory, vcal)
    if organizer is None:
        return outcome
    me = directory.get(ctx.user or "")
    if method == REPLY:
        if organizer.user is not None and me is not None and organizer.user.name != me.name:
            _reply_to_organizer(ctx, organizer, vcal, me)
        return outcome
    if me is None or organizer.user is None or organizer.user.name != me.name:
        return outcome  # not the organizer: an attendee's own copy (UPDATE)
    now = _attendees(directory, vcal)
    before = _attendees(directory, previous) if previous is not None else {}
    cancelled = is_cancelled(vcal)
    uid = _uid(vcal)
    external = []
    for key, address in now.items():
        if key == organizer.key:
            continue
        if address.user is None:
            external.append(address.key)
        elif cancelled:
            _carry_out(outcome, outcome.removed, address,
                       lambda a=address: _remove(ctx, organizer, a, uid))
        else:
            _carry_out(outcome, outcome.delivered, address,
                       lambda a=address: _deliver(ctx, organizer, a, vcal))
    for key, address in before.items():
        if key not in now and address.user is not None and key != organizer.key:
            _carry_out(outcome, outcome.removed, address,
                       lambda a=address: _remove(ctx, organizer, a, uid))
    if external and notify and imip.configured(instance.settings):
        try:
            imip.send(instance.settings, "CANCEL" if cancelled else "REQUEST", vcal,
                      external, me.email)
            outcome.mailed = external
        except imip.MailError:
            outcome.mail_failed = True
    return outcome


def after_delete(ctx, vcal, notify: bool) -> Outcome:
    """The organizer deleted ``vcal``: remove the attendees' copies, mail the others."""
    instance = ctx.backend.instance
    directory = instance.directory
    outcome = Outcome([], [], [])
    organizer = _organizer(directory, vcal)
    me = directory.get(ctx.user or "")
    if organizer is None or me is None or organizer.user is None \
            or organizer.user.name != me.name:
        return outcome
    uid = _uid(vcal)
    external = []
    for key, address in _attendees(directory, vcal).items():
        if key == organizer.key:
            continue
        if address.user is None:
            external.append(address.key)
        else:
            _carry_out(outcome, outcome.removed, address,
                       lambda a=address: _remove(ctx, organizer, a, uid))
    if external and notify and imip.configured(instance.settings):
        cancel = clone(vcal)
        for comp in _components(cancel):
            comp.contents.pop("status", None)
            comp.add("status").value = "CANCELLED"
        try:
            imip.send(instance.settings, "CANCEL", cancel, external, me.email)
            outcome.mailed = external
        except imip.MailError:
            outcome.mail_failed = True
    return outcome


def _carry_out(outcome: Outcome, done: list, address: Address,
               action: Callable[[], bool]) -> None:
    try:
        if action():
            done.append(address.user.name)
    except Refused as e:
        logger.warning("scheduling: %s's calendar left as it was (errno %d): %s",
                       address.user.name, int(e.errno), e.why)
        outcome.refused.append(Refusal(address.user.name, address.uri, e.errno))


def _may_schedule(ctx, path: str) -> None:
    instance = ctx.backend.instance
    if not access_for(instance.configuration, ctx.user, path).decide("schedule").allowed:
        raise Refused(WcapErrno.ACCESS_DENIED_TO_CALENDAR,
                      "%s may not schedule into %s" % (ctx.user, path))


def _deliver(ctx, organizer: Address, address: Address, vcal) -> bool:
    instance = ctx.backend.instance
    path = calid_mod.to_path(address.user.default_calid)
    _may_schedule(ctx, path)
    uid = _uid(vcal)

    def copy_for(theirs):
        if theirs is not None and not organised_by(instance.directory, theirs, organizer):
            raise Refused(WcapErrno.NOT_ALLOWED_TO_REQUEST_PUBLISH,
                          "%s in %s is not an event organised by %s"
                          % (uid, path, ctx.user))
        copy_ = clone(vcal)
        kept = _partstats(instance.directory, theirs, address) if theirs is not None else {}
        for comp in _components(copy_):
            for line in comp.contents.get("attendee", []):
                if same_person(address_of(instance.directory, line.value), address):
                    rid = _rid_key(comp)
                    line.params["PARTSTAT"] = [kept.get(rid, kept.get(None, "NEEDS-ACTION"))]
        return copy_
    return _rewrite(instance, path, uid, copy_for, ctx.user)


def _rid_key(comp):
    return str(comp.contents["recurrence-id"][0].value) if "recurrence-id" in comp.contents \
        else None


def _partstats(directory, vcal, address: Address) -> dict:
    out = {}
    for comp in _components(vcal):
        for line in comp.contents.get("attendee", []):
            if same_person(address_of(directory, line.value), address):
                out[_rid_key(comp)] = (line.params.get("PARTSTAT") or ["NEEDS-ACTION"])[0]
    return out


def _reply_to_organizer(ctx, organizer: Address, vcal, me) -> None:
    """The replier's PARTSTAT into the organizer's event, if it is one (organised by
    them) and the replier is among its attendees; no other line is taken from the reply."""
    instance = ctx.backend.instance
    directory = instance.directory
    path = calid_mod.to_path(organizer.user.default_calid)
    uid = _uid(vcal)
    replier = address_of(directory, me.name)
    if replier.uri is None:
        return
    replied = _partstats(directory, vcal, replier)

    def answered(theirs):
        if theirs is None:
            return None
        if not organised_by(directory, theirs, organizer):
            logger.warning("scheduling: reply of %s to %s ignored: %s in %s is not an "
                           "event organised by %s", me.name, organizer.user.name, uid,
                           path, organizer.user.name)
            return None
        new = clone(theirs)
        invited = changed = False
        for comp in _components(new):
            for line in comp.contents.get("attendee", []):
                if same_person(address_of(directory, line.value), replier):
                    invited = True
                    state = replied.get(_rid_key(comp), replied.get(None))
                    if state and (line.params.get("PARTSTAT") or [None])[0] != state:
                        line.params["PARTSTAT"] = [state]
                        changed = True
        if not invited:
            logger.warning("scheduling: reply of %s to %s ignored: not an attendee of %s",
                           me.name, organizer.user.name, uid)
        return new if changed else None
    _rewrite(instance, path, uid, answered, ctx.user)


def _remove(ctx, organizer: Address, address: Address, uid: str) -> bool:
    instance = ctx.backend.instance
    path = calid_mod.to_path(address.user.default_calid)
    _may_schedule(ctx, path)
    with instance.store.writing(path, ctx.user or "", "WCAP scheduling") as collection:
        if collection is None:
            return False
        existing = collection.get_by_uid(uid)
        if existing is None:
            return False
        if not organised_by(instance.directory, existing.vobject_item, organizer):
            raise Refused(WcapErrno.NOT_ALLOWED_TO_REQUEST_PUBLISH,
                          "%s in %s, to be removed, is not an event organised by %s"
                          % (uid, path, ctx.user))
        return instance.store.delete_uid(collection, uid)


def _rewrite(instance, path: str, uid: str, change, actor) -> bool:
    """Write ``change(item there now or None)`` (None: leave it) as the item ``uid`` of
    ``path``, only over the very item ``change`` saw."""
    for _round in range(RETRIES):
        with instance.store.reading(path) as collection:
            if collection is None:
                return False
            row = collection.index().by_uid(collection.key, uid)
            existing = collection.get_by_uid(uid) if row is not None else None
        new = change(existing.vobject_item if existing is not None else None)
        if new is None:
            return False
        try:
            item = prepare_item(instance.configuration, path, new)
        except ItemRefused as e:
            logger.warning("scheduling: copy for %s refused: %s", path, e)
            return False
        with instance.store.writing(path, actor or "", "WCAP scheduling") as collection:
            if collection is None:
                return False
            now_row = collection.index().by_uid(collection.key, uid)
            if (now_row.etag if now_row else None) != (row.etag if row else None):
                continue  # changed since the checks: look again
            instance.store.put(collection, item)
            return True
    logger.warning("scheduling: %s in %s kept changing, not written", uid, path)
    return False
