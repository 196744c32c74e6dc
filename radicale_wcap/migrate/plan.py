"""What to do on this server for one user or one calendar read from a source.

Planning reads this server and decides; it writes nothing (``--dry-run`` stops after
it). Everything is compared with what is here already, which is what makes a second
run change nothing and a run after an interruption finish the job: a calendar whose
items are all here with the same content (``DTSTAMP`` aside, which 6.x servers stamp
anew on every answer) is "unchanged".

Items here that the source did not send are kept: a full read can not tell an item
deleted on the old server from one created here after a partial move. Deletions come
over with ``--since``, from the old server's own list of deleted components.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import vobject

from radicale_wcap import calid as calid_mod
from radicale_wcap import timezones
from radicale_wcap.acl.ace import InvalidACL, normalize_acl
from radicale_wcap.directory import DirectoryError, User, validate_email, validate_tz
from radicale_wcap.store import (READ, SYSTEM, ItemRefused, PROP_DESCRIPTION, PROP_NAME,
                                 lean, prepare_item)
from radicale_wcap.wcap.commands.prefs import USER_PREFS
from radicale_wcap.wcap.commands.userprefs import READ_ONLY

from .model import CalendarEntry, SourceCalendar, UserEntry
from .repair import CalendarObject, calendar_objects

_STAMP = re.compile(r"^(DTSTAMP|PRODID)[;:].*$\n?", re.MULTILINE | re.IGNORECASE)
# Preferences that are attributes of the user here, or the server's own.
NOT_STORED = {name.lower() for name in READ_ONLY} | {"icstimezone"}


@dataclass
class UserPlan:
    uid: str
    action: str = "unchanged"          # created | updated | unchanged | refused
    reason: str = ""
    attributes: Dict[str, str] = field(default_factory=dict)
    prefs: Dict[str, Optional[str]] = field(default_factory=dict)
    repairs: List[str] = field(default_factory=list)


@dataclass
class CalendarPlan:
    calid: str
    path: str = ""
    action: str = "unchanged"          # created | updated | unchanged | refused
    reason: str = ""
    entry: Optional[CalendarEntry] = None
    create: bool = False
    props: Dict[str, str] = field(default_factory=dict)
    acl: Optional[str] = None
    owner: Optional[str] = None
    owners: Optional[List[str]] = None
    settings: Dict[str, object] = field(default_factory=dict)
    puts: List[Tuple[str, object]] = field(default_factory=list)   # (created|updated, item)
    deletes: List[str] = field(default_factory=list)
    unchanged: int = 0
    kept: int = 0
    refused: List[Dict[str, str]] = field(default_factory=list)
    repaired: List[Dict[str, object]] = field(default_factory=list)
    read_seconds: float = 0.0

    @property
    def changes_calendar(self) -> bool:
        return bool(self.create or self.props or self.acl is not None or self.owner
                    or self.owners is not None or self.settings)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.puts if k == kind)


def fingerprint(text: str) -> str:
    return _STAMP.sub("", re.sub(r"\r?\n[ \t]", "", text).replace("\r\n", "\n"))


# ------------------------------------------------------------------ users

def plan_user(instance, source: UserEntry) -> UserPlan:
    plan = UserPlan(source.uid)
    if not calid_mod.is_valid_name(source.uid):
        plan.action, plan.reason = "refused", "user id %r can not be held here" % source.uid
        return plan
    tz = source.tz or "UTC"
    try:
        validate_tz(tz)
    except DirectoryError:
        plan.repairs.append("unknown time zone %r replaced by UTC" % tz)
        tz = "UTC"
    mail = source.mail
    try:
        validate_email(mail)
    except DirectoryError:
        plan.repairs.append("mail address %r dropped" % mail)
        mail = ""
    wanted = {"email": mail, "cn": source.cn or source.uid, "tz": tz}
    existing = instance.directory.get(source.uid)
    if mail:
        holder = instance.directory.by_email(mail)
        if holder is not None and holder.name != source.uid:
            plan.action = "refused"
            plan.reason = "mail address %s belongs to user %s here" % (mail, holder.name)
            return plan
    if existing is None:
        plan.action, plan.attributes = "created", wanted
        current = User(source.uid, mail, wanted["cn"], tz, False)
    else:
        plan.attributes = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
        current = existing
    computed = {name.lower(): compute for name, compute in USER_PREFS}
    for name, value in source.prefs.items():
        if name.lower() in NOT_STORED:
            continue
        stored = current.prefs.get(name)
        if stored is None and name.lower() in computed:
            as_computed = computed[name.lower()](instance, User(
                source.uid, mail, wanted["cn"], tz, False, {}))
            if str(as_computed) == value:
                continue   # what this server shows anyway: nothing to keep
        if stored != value:
            plan.prefs[name] = value
    if existing is not None and (plan.attributes or plan.prefs):
        plan.action = "updated"
    return plan


# ------------------------------------------------------------------ calendars

def _acl(entry: CalendarEntry, plan: CalendarPlan) -> Optional[str]:
    if entry.aces is None:
        return None
    try:
        return normalize_acl(";".join(entry.aces))
    except InvalidACL:
        pass
    kept = []
    for ace in entry.aces:
        try:
            normalize_acl(ace)
            kept.append(ace)
        except InvalidACL as e:
            plan.repaired.append({"uid": "", "repairs": ["ACE %r dropped: %s" % (ace, e)]})
    return normalize_acl(";".join(kept)) if kept else None


def _calendar_props(instance, plan: CalendarPlan, entry: CalendarEntry) -> None:
    meta = instance.store.calendar_props(plan.calid)
    record = instance.registry.get(plan.path)
    plan.create = meta is None
    tz = entry.tzid if entry.tzid and timezones.is_valid_tzid(entry.tzid) else ""
    if entry.tzid and not tz:
        plan.repaired.append({"uid": "", "repairs": ["unknown calendar time zone %r left out"
                                                     % entry.tzid]})
    wanted = {"name": entry.name or plan.calid, "description": entry.description, "tz": tz}
    if meta is None:
        plan.props = wanted
    elif not entry.props_known:
        plan.props = {}
        return
    else:
        have = {"name": meta.get(PROP_NAME, ""), "description": meta.get(PROP_DESCRIPTION, ""),
                "tz": record.setting("tzid") if record else ""}
        plan.props = {k: v for k, v in wanted.items() if v != have[k] and (v or have[k])}
    acl = _acl(entry, plan)
    if acl is not None and (record is None or record.acl != acl):
        plan.acl = acl
    owner = entry.owner if entry.owner and calid_mod.is_valid_name(entry.owner) else None
    if owner and (record is None or record.owner != owner):
        plan.owner = owner
    if entry.owners is not None:
        owners = [o for o in entry.owners if calid_mod.is_valid_name(o)]
        if sorted(set(owners)) != (record.owners if record else []):
            plan.owners = owners
    settings: Dict[str, object] = {}
    if entry.double_booking is not None:
        settings["allow_double_booking"] = entry.double_booking
    if entry.categories:
        settings["categories"] = entry.categories
    plan.settings = {k: v for k, v in settings.items()
                     if record is None or record.setting(k) != v}


def _merged(stored, obj: CalendarObject) -> str:
    """An item of which only changed instances came (a 6.x last-modified fetch):
    the stored series with those instances replaced."""
    vcal = vobject.readOne(stored.serialize())
    new = vobject.readOne(obj.text)
    for comp in new.getChildren():
        if comp.name.upper() == "VTIMEZONE" or "recurrence-id" not in comp.contents:
            continue
        rid = comp.recurrence_id.value
        for old in list(vcal.getChildren()):
            if old.name == comp.name and "recurrence-id" in old.contents \
                    and old.recurrence_id.value == rid:
                vcal.remove(old)
        vcal.add(comp)
    return vcal.serialize()


def plan_calendar(instance, source: SourceCalendar, emails: Dict[str, str]) -> CalendarPlan:
    entry = source.entry
    plan = CalendarPlan(entry.calid, entry=entry, read_seconds=source.read_seconds)
    try:
        plan.path = calid_mod.to_path(entry.calid)
    except calid_mod.InvalidCalid as e:
        plan.action, plan.reason = "refused", "calid %r can not be held here: %s" % (
            entry.calid, e)
        return plan
    if source.error:
        plan.action, plan.reason = "refused", source.error
        return plan
    _calendar_props(instance, plan, entry)
    objects, refusals = calendar_objects(source.text, emails)
    plan.refused += [{"uid": r.uid, "reason": r.reason} for r in refusals]
    stored: Dict[str, object] = {}
    if not plan.create:
        with instance.store.reading(plan.path, SYSTEM, READ) as calendar:
            stored = calendar.by_uids([o.uid for o in objects] + list(source.deleted))
            if source.complete:
                plan.kept = len(set(calendar.entries()) - {o.uid for o in objects})
    for obj in objects:
        text = obj.text
        if not obj.has_master and obj.uid in stored:
            text = _merged(stored[obj.uid], obj)
        try:
            item = prepare_item(instance.configuration, plan.path, text)
        except ItemRefused as e:
            plan.refused.append({"uid": obj.uid, "reason": str(e)[:300]})
            continue
        if obj.repairs:
            plan.repaired.append({"uid": obj.uid, "repairs": obj.repairs})
        old = stored.get(obj.uid)
        if old is not None and fingerprint(old.serialize()) == fingerprint(item.serialize()):
            plan.unchanged += 1
            continue
        plan.puts.append(("created" if old is None else "updated", lean(item, plan.path)))
    changed = {o.uid for o in objects}
    plan.deletes = [uid for uid in source.deleted if uid in stored and uid not in changed]
    if plan.refused and not plan.puts and not plan.unchanged and objects:
        plan.reason = "every item refused"
    if plan.create:
        plan.action = "created"
    elif plan.puts or plan.deletes or plan.changes_calendar:
        plan.action = "updated"
    return plan
