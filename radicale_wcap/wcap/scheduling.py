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

The store decides (``store/access.py``): a delivery or removal goes through a handle
opened for the organizer with the ``SCHEDULE`` purpose, which needs ``s`` on the
attendee's calendar and changes only items whose ORGANIZER is the organizer; a reply
goes through a ``REPLY`` handle, which changes only the organizer's event that invites
the replier. Whether each attendee's calendar grants ``s`` is asked before anything is
written, and the deliveries and removals of one request are then one batch across the
attendees' calendars (all written or none), after the request's own write: a refusal
in one attendee's calendar leaves the organizer's store, and the other attendees'
copies, as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import List, Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap import store as store_mod
from radicale_wcap.addresses import (Address, address_key, address_of,  # noqa: F401
                                     organised_by, same_person)
from radicale_wcap.icalparse import clone
from radicale_wcap.store import (AccessDenied, CalendarNotFound, Changed, ForeignItem,
                                 ItemRefused, prepare_item)
from radicale_wcap.wcap import imip
from radicale_wcap.wcap.errors import WcapErrno

logger = logging.getLogger("radicale.wcap.wcap.scheduling")

REQUEST, PUBLISH, REPLY, CANCEL = 2, 1, 4, 8
COMPONENTS = ("VEVENT", "VTODO")
# Attempts to write a reply when the organizer's item changes between read and write.
RETRIES = 3
LABEL = "WCAP scheduling"
# RFC 2446 section 3.6 status, with the attendee as extra data, in the command's answer.
NO_AUTHORITY = "3.8;No authority;%s"


def wants_mail(params) -> bool:
    """Lightning sends smtp=0&smtpNotify=0&notify=0 when it does NOT want mail
    (docs/wcap-clients.md#lightning-store, item 14); otherwise the server (Sun's GSE)
    notifies."""
    if params.get("notify"):
        return True
    return params.get("smtp") is not False and params.get("smtpNotify") is not False


def _components(vcal):
    return [c for c in vcal.getChildren() if c.name in COMPONENTS]


def _organizer(directory, vcal) -> Optional[Address]:
    for comp in _components(vcal):
        if "organizer" in comp.contents:
            return address_of(directory, comp.organizer.value)
    return None


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
    external, targets = [], []
    for key, address in now.items():
        if key == organizer.key:
            continue
        if address.user is None:
            external.append(address.key)
        else:
            targets.append(_Target(address, remove=cancelled))
    for key, address in before.items():
        if key not in now and address.user is not None and key != organizer.key:
            targets.append(_Target(address, remove=True))
    _fan_out(ctx, vcal, targets, outcome)
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
    external, targets = [], []
    for key, address in _attendees(directory, vcal).items():
        if key == organizer.key:
            continue
        if address.user is None:
            external.append(address.key)
        else:
            targets.append(_Target(address, remove=True))
    _fan_out(ctx, vcal, targets, outcome)
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


# ---------------------------------------------------------------- the organizer's fan-out

@dataclass
class _Target:
    """One attendee's copy to write (``remove``: to remove), and how it went."""
    address: Address
    remove: bool
    item: object = None          # the prepared copy
    seen: Optional[str] = None   # the ETag of their item when the copy was made
    done: bool = False
    refusal: Optional[Refusal] = None

    @property
    def path(self) -> str:
        return calid_mod.to_path(self.address.user.default_calid)

    def refuse(self, errno: WcapErrno, why: str) -> None:
        logger.warning("scheduling: %s's calendar left as it was (errno %d): %s",
                       self.address.user.name, int(errno), why)
        self.refusal = Refusal(self.address.user.name, self.address.uri, errno)


def _fan_out(ctx, vcal, targets: List[_Target], outcome: Outcome) -> None:
    """Every attendee's copy written (or removed) in one batch of the store, as the
    organizer (``SCHEDULE``). Whether a calendar grants ``s`` is asked first and its
    refusal (28) keeps it out of the batch; a copy the store will not replace or
    remove, not being this organizer's event, is refused (45) before the batch writes."""
    instance = ctx.backend.instance
    store = instance.store
    uid = _uid(vcal)
    for target in targets:
        try:
            store.check(target.path, ctx.user, store_mod.SCHEDULE)
        except AccessDenied as e:
            target.refuse(WcapErrno.ACCESS_DENIED_TO_CALENDAR, str(e))
            continue
        if not target.remove:
            _plan_copy(ctx, target, vcal, uid)
    live = [t for t in targets if t.refusal is None and (t.remove or t.item is not None)]
    if live:
        with store.batch([t.path for t in live], ctx.user, store_mod.SCHEDULE,
                         label=LABEL) as batch:
            for target in live:
                try:
                    handle = batch.calendar(target.path)
                except CalendarNotFound:
                    continue
                try:
                    target.done = handle.delete(uid) if target.remove \
                        else _put_copy(ctx, handle, target, vcal, uid)
                except ForeignItem as e:
                    target.refuse(WcapErrno.NOT_ALLOWED_TO_REQUEST_PUBLISH, str(e))
    for target in targets:
        if target.refusal is not None:
            outcome.refused.append(target.refusal)
        elif target.done:
            (outcome.removed if target.remove else outcome.delivered).append(
                target.address.user.name)


def _plan_copy(ctx, target: _Target, vcal, uid: str) -> None:
    """The copy for ``target``, made and checked outside any write lock."""
    instance = ctx.backend.instance
    try:
        with instance.store.reading(target.path, ctx.user, store_mod.SCHEDULE) as handle:
            target.seen = handle.etag(uid)
            theirs = handle.by_uid(uid) if target.seen is not None else None
    except CalendarNotFound:
        return
    target.item = _prepared_copy(instance, target, vcal, theirs)


def _put_copy(ctx, handle, target: _Target, vcal, uid: str) -> bool:
    try:
        handle.put(target.item, if_etag=target.seen)
        return True
    except Changed:
        # Changed since the copy was made: make it again, under the lock now.
        item = _prepared_copy(ctx.backend.instance, target, vcal, handle.by_uid(uid))
        if item is None:
            return False
        handle.put(item)
        return True


def _prepared_copy(instance, target: _Target, vcal, theirs):
    """The organizer's event with the attendee's own PARTSTATs kept from ``theirs``."""
    directory = instance.directory
    theirs_vcal = theirs.vobject_item if theirs is not None else None
    kept = _partstats(directory, theirs_vcal, target.address) \
        if theirs_vcal is not None else {}
    copy_ = clone(vcal)
    for comp in _components(copy_):
        for line in comp.contents.get("attendee", []):
            if same_person(address_of(directory, line.value), target.address):
                rid = _rid_key(comp)
                line.params["PARTSTAT"] = [kept.get(rid, kept.get(None, "NEEDS-ACTION"))]
    try:
        return prepare_item(instance.configuration, target.path, copy_)
    except ItemRefused as e:
        logger.warning("scheduling: copy for %s refused: %s", target.path, e)
        return None


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


# ---------------------------------------------------------------- an attendee's reply

def _reply_to_organizer(ctx, organizer: Address, vcal, me) -> None:
    """The replier's PARTSTAT into the organizer's event; no other line is taken from
    the reply. The store lets a ``REPLY`` handle change only an event organised by the
    organizer that invites the replier."""
    instance = ctx.backend.instance
    directory = instance.directory
    path = calid_mod.to_path(organizer.user.default_calid)
    uid = _uid(vcal)
    replier = address_of(directory, me.name)
    if replier.uri is None:
        return
    replied = _partstats(directory, vcal, replier)

    def answered(theirs):
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

    store = instance.store
    owner = organizer.user.name
    try:
        for _round in range(RETRIES):
            with store.reading(path, ctx.user, store_mod.REPLY, organizer=owner) as handle:
                seen = handle.etag(uid)
                theirs = handle.by_uid(uid) if seen is not None else None
            if theirs is None:
                return
            new = answered(theirs.vobject_item)
            if new is None:
                return
            try:
                item = prepare_item(instance.configuration, path, new)
            except ItemRefused as e:
                logger.warning("scheduling: reply for %s refused: %s", path, e)
                return
            try:
                with store.writing(path, ctx.user, store_mod.REPLY, label=LABEL,
                                   organizer=owner) as handle:
                    handle.put(item, if_etag=seen)
                return
            except Changed:
                continue  # changed since it was read: answer the new version
        logger.warning("scheduling: %s in %s kept changing, reply not written", uid, path)
    except (ForeignItem, CalendarNotFound) as e:
        logger.warning("scheduling: reply of %s to %s ignored: %s", me.name, owner, e)
