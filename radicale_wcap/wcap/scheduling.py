"""Group scheduling between local users (manual "Group Scheduling", Table 7-38).

What Sun's Group Scheduling Engine did, done at store/delete time:

* invitation (``method`` 1 PUBLISH / 2 REQUEST, stored by the organizer): a copy goes into
  the default calendar of every attendee who is a user here, with ``PARTSTAT=NEEDS-ACTION``
  (so ``compstate=REQUEST-NEEDS-ACTION`` finds it), if the organizer has ``schedule`` (s)
  access to that calendar; attendees who are not users get iMIP mail (`imip`);
* reply (``method`` 4, stored by an attendee on their own copy): the organizer's copy gets
  the attendee's PARTSTAT;
* cancellation (the organizer deletes the event, sets status CANCELLED, or drops an
  attendee): the attendee copies are removed.

Each calendar is written in its own ``store.writing`` block, after the request's own
write: the storage lock is global and not re-entrant, so blocks are never nested. A
failure in one attendee's calendar is logged and does not undo the organizer's store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from radicale_wcap import calid as calid_mod
from radicale_wcap.rights import access_for
from radicale_wcap.store import ItemRefused, prepare_item
from radicale_wcap.wcap import imip
from radicale_wcap.wcap.compose import clone

logger = logging.getLogger("radicale.wcap.wcap.scheduling")

REQUEST, PUBLISH, REPLY, CANCEL = 2, 1, 4, 8
COMPONENTS = ("VEVENT", "VTODO")


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


@dataclass
class Outcome:
    """What scheduling did; ``mail_failed`` makes the store answer errno 33."""
    delivered: list
    removed: list
    mailed: list
    mail_failed: bool = False


def after_store(ctx, calendar, vcal, previous, method: int, notify: bool) -> Outcome:
    instance = ctx.backend.instance
    directory = instance.directory
    outcome = Outcome([], [], [])
    organizer = _organizer(directory, vcal)
    if organizer is None:
        return outcome
    me = directory.get(ctx.user or "")
    if method == REPLY:
        if organizer.user is not None and (me is None or organizer.user.name != me.name):
            _reply_to_organizer(ctx, organizer.user, vcal, me)
        return outcome
    if me is None or organizer.user is None or organizer.user.name != me.name:
        return outcome  # not the organizer: an attendee's own copy (UPDATE)
    now = _attendees(directory, vcal)
    before = _attendees(directory, previous) if previous is not None else {}
    cancelled = is_cancelled(vcal)
    external = []
    for key, address in now.items():
        if key == organizer.key:
            continue
        if address.user is None:
            external.append(address.key)
        elif cancelled:
            if _remove(ctx, address.user, _uid(vcal)):
                outcome.removed.append(address.user.name)
        elif _deliver(ctx, address, vcal):
            outcome.delivered.append(address.user.name)
    for key, address in before.items():
        if key not in now and address.user is not None and key != organizer.key:
            if _remove(ctx, address.user, _uid(vcal)):
                outcome.removed.append(address.user.name)
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
    external = []
    for key, address in _attendees(directory, vcal).items():
        if key == organizer.key:
            continue
        if address.user is None:
            external.append(address.key)
        elif _remove(ctx, address.user, _uid(vcal)):
            outcome.removed.append(address.user.name)
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


def _deliver(ctx, address: Address, vcal) -> bool:
    instance = ctx.backend.instance
    path = calid_mod.to_path(address.user.default_calid)
    if not access_for(instance.configuration, ctx.user, path).decide("schedule").allowed:
        logger.info("scheduling: %s may not schedule into %s", ctx.user, path)
        return False
    uid = _uid(vcal)
    with instance.store.reading(path) as collection:
        if collection is None:
            return False
        existing = collection.get_by_uid(uid)
        theirs = existing.vobject_item if existing is not None else None
    copy_ = clone(vcal)
    kept = _partstats(theirs, address.key) if theirs is not None else {}
    for comp in _components(copy_):
        for line in comp.contents.get("attendee", []):
            if address_key(line.value) == address.key:
                rid = _rid_key(comp)
                line.params["PARTSTAT"] = [kept.get(rid, kept.get(None, "NEEDS-ACTION"))]
    return _write(instance, path, copy_, ctx.user)


def _rid_key(comp):
    return str(comp.contents["recurrence-id"][0].value) if "recurrence-id" in comp.contents \
        else None


def _partstats(vcal, key) -> dict:
    out = {}
    for comp in _components(vcal):
        for line in comp.contents.get("attendee", []):
            if address_key(line.value) == key:
                out[_rid_key(comp)] = (line.params.get("PARTSTAT") or ["NEEDS-ACTION"])[0]
    return out


def _reply_to_organizer(ctx, organizer_user, vcal, me) -> None:
    instance = ctx.backend.instance
    path = calid_mod.to_path(organizer_user.default_calid)
    uid = _uid(vcal)
    with instance.store.reading(path) as collection:
        existing = collection.get_by_uid(uid) if collection is not None else None
        theirs = clone(existing.vobject_item) if existing is not None else None
    if theirs is None or me is None:
        return
    replied = _partstats(vcal, me.email.lower())
    changed = False
    for comp in _components(theirs):
        for line in comp.contents.get("attendee", []):
            if address_key(line.value) == me.email.lower():
                state = replied.get(_rid_key(comp), replied.get(None))
                if state and (line.params.get("PARTSTAT") or [None])[0] != state:
                    line.params["PARTSTAT"] = [state]
                    changed = True
    if changed:
        _write(instance, path, theirs, ctx.user)


def _remove(ctx, user, uid: str) -> bool:
    instance = ctx.backend.instance
    path = calid_mod.to_path(user.default_calid)
    with instance.store.writing(path, ctx.user or "", "WCAP scheduling") as collection:
        if collection is None:
            return False
        return instance.store.delete_uid(collection, uid)


def _write(instance, path: str, vcal, actor) -> bool:
    try:
        item = prepare_item(instance.configuration, path, vcal)
    except ItemRefused as e:
        logger.warning("scheduling: copy for %s refused: %s", path, e)
        return False
    with instance.store.writing(path, actor or "", "WCAP scheduling") as collection:
        if collection is None:
            return False
        instance.store.put(collection, item)
    return True
