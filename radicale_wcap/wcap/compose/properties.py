"""The sent parameters of a storeevents/storetodos request applied to one component
(master or RECURRENCE-ID exception): dates, recurrence, text, scalars, people, alarms
(Tables 7-37, 7-38, 7-39)."""

from __future__ import annotations

import datetime as dt

import vobject
from dateutil import tz as du_tz

from radicale_wcap.addresses import address_key, address_of, write_address
from radicale_wcap.wcap.commands.param_rows import STATUS_CODES
from radicale_wcap.wcap.compose.times import (as_date, delta_between, in_frame, native, plus,
                                              set_time, set_time_list, utc)
from radicale_wcap.wcap.errors import WcapErrno, WcapError

# Parameter -> iCalendar TEXT property (one value each).
TEXT_PROPS = (("summary", "summary"), ("desc", "description"), ("location", "location"),
              ("icsUrl", "url"), ("comments", "comment"))

# Parameter -> property that repeats once per list item; ``replace=0`` appends.
LIST_PROPS = (("attachments", "attach"), ("contacts", "contact"),
              ("relatedTos", "related-to"), ("resources", "resources"))

# Recurrence lists "always function in replace mode" (manual, Recurrence Handling).
RULE_PARAMS = (("rrules", "rrule"), ("exrules", "exrule"))
DATE_LIST_PARAMS = (("rdates", "rdate"), ("exdates", "exdate"))

# Alarm parameter -> the VALARM ACTION it sets; X-WCAP-ALARM tells ours apart.
ALARMS = (("alarmStart", "EMAIL"), ("alarmPopup", "DISPLAY"), ("alarmAudio", "AUDIO"),
          ("alarmFlashing", "DISPLAY"))
ALARM_TAG = "x-wcap-alarm"


def apply_params(ctx, params, comp, kind, *, is_master, shift, tzids, only_text=False):
    """Apply the sent parameters to one component (master or exception).

    ``shift``: None (dates as sent), a timedelta (move by it), "exact" (the instance
    the request names: dates as sent), "shift" (another instance of a mod 2/3 request:
    moved by the sent start's distance from ``rid``).
    ``only_text``: exceptions of a whole-series change keep their own dates.
    """
    sent = params.sent
    if not only_text:
        if shift == "shift":
            delta = None
            if sent("dtstart") and params["dtstart"] is not None and params.get("rid"):
                delta = delta_between(params["dtstart"], params["rid"])
            _shift(comp, delta, tzids)
        elif isinstance(shift, dt.timedelta):
            _shift(comp, shift, tzids)
        else:
            _apply_dates(ctx, params, comp, kind, tzids)
        if is_master:
            _apply_recurrence(params, comp, tzids)
    _apply_text(params, comp)
    _apply_scalars(params, comp, kind)
    _apply_people(ctx, params, comp)
    _apply_alarms(ctx, params, comp)


def _shift(comp, delta, tzids) -> None:
    if not delta:
        return
    for key in ("dtstart", "dtend", "due"):
        value = native(comp, key)
        if value is not None:
            set_time(comp, key, plus(value, delta), tzids)


def _apply_dates(ctx, params, comp, kind, tzids) -> None:
    sent = params.sent
    failed = ctx.command.failed
    end_name = "dtend" if kind == "event" else "due"
    old_start, old_end = native(comp, "dtstart"), native(comp, end_name)
    start = params["dtstart"] if sent("dtstart") else old_start
    end = params[end_name] if sent(end_name) else None
    all_day = params.get("isAllDay") if sent("isAllDay") else None
    if all_day is None and sent("dtstart") and start is not None:
        all_day = not isinstance(start, dt.datetime)
    if all_day:
        start = _local_date(start)
        end = _local_date(end)
    elif all_day is False and start is not None and not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time(), tzinfo=dt.timezone.utc)
    if end is None and not sent(end_name):
        if sent("duration") and params["duration"] is not None and start is not None:
            end = plus(start, params["duration"])
        elif old_end is not None and old_start is not None and start is not None \
                and (sent("dtstart") or all_day is not None):
            end = plus(start, delta_between(_same_kind(old_end, old_start), old_start))
            if all_day:
                end = _local_date(end)
        elif old_end is not None and not sent("dtstart"):
            end = old_end
        elif all_day and kind == "event" and start is not None:
            end = start + dt.timedelta(days=1)
    if all_day and end is not None and end <= start and kind == "event":
        end = start + dt.timedelta(days=1)
    if start is not None and end is not None and _kind(start) == _kind(end) \
            and as_utc(end) < as_utc(start):
        raise WcapError(failed, "end before start")
    if sent("dtstart") or all_day is not None:
        set_time(comp, "dtstart", start, tzids)
    if sent(end_name) or sent("duration") or sent("dtstart") or all_day is not None:
        comp.contents.pop("duration", None)
        set_time(comp, end_name, end, tzids)
    if kind == "todo":
        if sent("completed"):
            value = params["completed"]
            set_time(comp, "completed", utc(value) if isinstance(value, dt.datetime)
                     else value, tzids)
        if sent("percent"):
            comp.contents.pop("percent-complete", None)
            if params["percent"] is not None:
                comp.add("percent-complete").value = str(params["percent"])


def _kind(value) -> bool:
    return isinstance(value, dt.datetime)


def _same_kind(value, like):
    if _kind(value) == _kind(like):
        return value
    return as_date(value) if not _kind(like) else dt.datetime.combine(
        value, dt.time(), tzinfo=like.tzinfo)


def as_utc(value):
    return value.astimezone(dt.timezone.utc) if isinstance(value, dt.datetime) else value


def _local_date(value):
    """An all-day date from a sent value: the date in the zone it was given in (a UTC
    midnight from Lightning stays that day)."""
    if value is None or not isinstance(value, dt.datetime):
        return value
    return value.date()


def _apply_recurrence(params, comp, tzids) -> None:
    for param, key in RULE_PARAMS:
        if params.sent(param):
            comp.contents.pop(key, None)
            for rule in params[param] or ():
                comp.add(key).value = rule
    start = native(comp, "dtstart")
    for param, key in DATE_LIST_PARAMS:
        if params.sent(param):
            values = [in_frame(v, start) for v in (params[param] or ())]
            set_time_list(comp, key, values, tzids)


def _apply_text(params, comp) -> None:
    for param, key in TEXT_PROPS:
        if params.sent(param):
            comp.contents.pop(key, None)
            if params[param]:
                comp.add(key).value = params[param]
                if key == "summary" and params.get("language"):
                    comp.summary.params["LANGUAGE"] = [params["language"]]
    replace = params.get("replace")
    if params.sent("categories"):
        old = [c for line in comp.contents.pop("categories", []) for c in line.value]
        new = list(params["categories"] or ())
        values = new if replace or not new else old + [c for c in new if c not in old]
        if values:
            comp.add("categories").value = values
    for param, key in LIST_PROPS:
        if params.sent(param):
            old = comp.contents.pop(key, [])
            values = list(params[param] or ())
            if not replace and values:
                kept = [line.value for line in old]
                values = kept + [v for v in values if v not in kept]
            for value in values:
                comp.add(key).value = value


def _apply_scalars(params, comp, kind) -> None:
    sent = params.sent
    if sent("priority"):
        comp.contents.pop("priority", None)
        if params["priority"] is not None:
            comp.add("priority").value = str(params["priority"])
    if sent("icsClass"):
        comp.contents.pop("class", None)
        if params["icsClass"]:
            comp.add("class").value = params["icsClass"]
    if sent("status"):
        comp.contents.pop("status", None)
        if params["status"] is not None:
            comp.add("status").value = STATUS_CODES[params["status"]]
    elif "status" not in comp.contents:
        # docs/wcap-clients.md#lightning-store: the default is 0 for events and 3 for todos.
        comp.add("status").value = "CONFIRMED" if kind == "event" else "NEEDS-ACTION"
    if sent("transparent") and kind == "event":
        comp.contents.pop("transp", None)
        if params["transparent"] is not None:
            comp.add("transp").value = "TRANSPARENT" if params["transparent"] else "OPAQUE"
    if sent("geo"):
        comp.contents.pop("geo", None)
        if params["geo"]:
            comp.add("geo").value = "%s;%s" % params["geo"]
    if sent("seq"):
        comp.contents.pop("sequence", None)
        if params["seq"] is not None:
            comp.add("sequence").value = str(params["seq"])


def _apply_people(ctx, params, comp) -> None:
    directory = ctx.backend.instance.directory
    org_sent = [n for n in ("orgCalid", "orgEmail", "orgUID") if params.sent(n)]
    if org_sent:
        if not (params.get("orgCalid") or params.get("orgEmail")):
            raise WcapError(WcapErrno.BAD_ORG_ARGUMENTS, "orgUID without orgCalid/orgEmail")
        who = params.get("orgCalid") or ("mailto:" + params["orgEmail"])
        comp.contents.pop("organizer", None)
        write_address(comp.add("organizer"), address_of(directory, who))
    if params.sent("attendees"):
        old = comp.contents.pop("attendee", [])
        lines = {} if params.get("replace") or not params["attendees"] else \
            {address_key(line.value): line for line in old}
        for entry in params["attendees"] or ():
            address = address_of(directory, entry.value)
            if address.uri is None:
                raise WcapError(WcapErrno.BAD_ARGUMENTS, "attendee without an address")
            line = lines.get(address.key)
            if line is None or params.get("method") != 4:
                line = vobject.base.ContentLine("ATTENDEE", {}, "")
            write_address(line, address)
            for name, value in entry.params:
                if name != "SENT-STATUS" or value:
                    line.params[name] = [value]
            line.params.setdefault("PARTSTAT", ["NEEDS-ACTION"])
            lines[address.key] = line
        if lines:
            comp.contents["attendee"] = list(lines.values())
        if lines and "organizer" not in comp.contents:
            owner = address_of(directory, ctx.user)
            if owner.uri:
                write_address(comp.add("organizer"), owner)


def _apply_alarms(ctx, params, comp) -> None:
    sent = params.sent
    touched = [(p, action) for p, action in ALARMS if sent(p)]
    for param, action in touched:
        for alarm in list(comp.contents.get("valarm", [])):
            tag = str(alarm.contents[ALARM_TAG][0].value) if ALARM_TAG in alarm.contents \
                else None
            mine = tag == param or (tag is None and param != "alarmFlashing"
                                    and str(getattr(alarm, "action").value).upper() == action)
            if mine:
                comp.contents["valarm"].remove(alarm)
        if not comp.contents.get("valarm"):
            comp.contents.pop("valarm", None)
        value = params[param]
        if value is None:
            continue
        alarm = comp.add("valarm")
        alarm.add("action").value = action
        alarm.add(ALARM_TAG).value = param
        trigger = alarm.add("trigger")
        if isinstance(value, dt.timedelta):
            trigger.value = value
        else:
            trigger.value = utc(value) if isinstance(value, dt.datetime) else \
                dt.datetime.combine(value, dt.time(), tzinfo=du_tz.UTC)
            trigger.params["VALUE"] = ["DATE-TIME"]
    for alarm in comp.contents.get("valarm", []):
        action = str(alarm.action.value).upper()
        if sent("alarmDescription") or "description" not in alarm.contents:
            alarm.contents.pop("description", None)
            text = params.get("alarmDescription") or (
                str(comp.summary.value) if "summary" in comp.contents else "Reminder")
            alarm.add("description").value = text
        if action == "EMAIL":
            if "summary" not in alarm.contents:
                alarm.add("summary").value = str(comp.summary.value) \
                    if "summary" in comp.contents else "Reminder"
            if sent("alarmEmails") or "attendee" not in alarm.contents:
                emails = list(params.get("alarmEmails") or ())
                if not emails:
                    user = ctx.backend.instance.directory.get(ctx.user or "")
                    emails = [user.email] if user and user.email else []
                alarm.contents.pop("attendee", None)
                for email in emails:
                    alarm.add("attendee").value = email if email.lower().startswith(
                        "mailto:") else "mailto:" + email
