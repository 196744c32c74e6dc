"""One occurrence split off a recurring series (seed 003 "Fork Instance of Recurring
Event"): the series and the new event are written as one batch by the endpoint."""

from __future__ import annotations

import datetime as dt

import vobject

from radicale_wcap.api.julian import parse_api_date
from radicale_wcap.api.representation import (
    UTC, NoOccurrence, ValidationError, event_end, in_date_range, master_vevent, touch,
    value_of)

_RECURRENCE_PROPS = ("rrule", "rdate", "exrule", "exdate", "recurrence-id")


@in_date_range
def fork_occurrence(vcalendar, starting_date, *, new_uid: str):
    """Returns ``(series, clone)``: the series with an EXDATE for the
    occurrence, and a new one-time event on that date with the series'
    times and fields (taken from the occurrence's override when the series
    has one, which is then dropped from the series).  ``vcalendar`` is not
    modified.
    """
    if not isinstance(starting_date, dt.date):
        try:
            starting_date = parse_api_date(starting_date)
        except ValueError as error:
            raise ValidationError(f"starting_date: {error}") from None
    series = vcalendar.duplicate(vcalendar)
    master = master_vevent(series)
    occurrence = _occurrence_on(master, starting_date)

    source = master
    for vevent in list(series.vevent_list):
        rid = value_of(vevent, "recurrence-id")
        if vevent is not master and rid is not None and _same_instant(rid, occurrence):
            source = vevent
            series.remove(vevent)
    clone_vevent = source.duplicate(source)
    for name in _RECURRENCE_PROPS + ("sequence", "dtstamp", "last-modified", "uid"):
        clone_vevent.contents.pop(name, None)
    clone_vevent.add("uid").value = new_uid
    clone_vevent.add("dtstamp").value = dt.datetime.now(UTC).replace(microsecond=0)
    if source is master:
        start = master.dtstart.value
        end = event_end(master, start)
        for name in ("dtstart", "dtend"):
            clone_vevent.contents.pop(name, None)
        clone_vevent.add("dtstart").value = occurrence
        if "duration" not in clone_vevent.contents:
            clone_vevent.add("dtend").value = occurrence + (end - start)

    master.add("exdate").value = [occurrence]
    touch(master)

    clone = vobject.iCalendar()
    for vtimezone in getattr(series, "vtimezone_list", []):
        clone.add(vtimezone.duplicate(vtimezone))
    clone.add(clone_vevent)
    return series, clone


def _occurrence_on(master, day: dt.date):
    """The series' occurrence starting on ``day`` (wall time of DTSTART's zone)."""
    if not any(name in master.contents for name in ("rrule", "rdate")):
        raise NoOccurrence("the event is not recurring")
    start = master.dtstart.value
    rruleset = master.getrruleset(addRDate=True)
    if isinstance(start, dt.datetime):
        low = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), start.tzinfo)
    else:
        low = dt.datetime.combine(day - dt.timedelta(days=1), dt.time())
    for occurrence in rruleset.xafter(low, inc=True):
        if occurrence.date() > day:
            break
        if occurrence.date() == day:
            return occurrence if isinstance(start, dt.datetime) else occurrence.date()
    raise NoOccurrence(f"the series has no occurrence on {day.isoformat()}")


def _same_instant(a, b) -> bool:
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        return False
    if isinstance(a, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b
