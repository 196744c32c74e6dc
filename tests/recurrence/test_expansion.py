"""radicale_wcap.recurrence.expansion: stored hostile rules are cut short, normal ones
expand right, and the index gets its spans."""

import datetime as dt
import time

import pytest

from radicale_wcap import recurrence
from radicale_wcap.recurrence import INFINITY_TS, expand, instances_for_index, master_span
from tests.recurrence import BUDGET, NEVER_MATCHING, SLACK, cal, event, starts, utc

# ---------------------------------------------------------------- expand: hostile

def test_expand_secondly_over_a_century_truncates_within_budget():
    item = cal(event("DTSTART:20240101T000000Z", "RRULE:FREQ=SECONDLY"))
    t0 = time.monotonic()
    result = expand(item, utc(2024, 1, 1), utc(2124, 1, 1), max_count=10 ** 9, budget_s=BUDGET)
    assert time.monotonic() - t0 < BUDGET + SLACK
    assert result.truncated and not result.complete
    assert len(result.occurrences) > 100
    assert result.expanded_until is not None and result.expanded_until < utc(2124, 1, 1)
    small = expand(item, None, None, max_count=50, budget_s=BUDGET)
    assert small.truncated and len(small.occurrences) == 50
    assert starts(small)[:2] == [utc(2024, 1, 1), utc(2024, 1, 1, 0, 0, 1)]


@pytest.mark.parametrize("rule", NEVER_MATCHING + ["FREQ=DAILY;COUNT=1000000000"])
def test_expand_hostile_stored_rules_never_hang(rule):
    item = cal(event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:" + rule))
    t0 = time.monotonic()
    result = expand(item, None, None, max_count=500, budget_s=BUDGET)
    assert time.monotonic() - t0 < BUDGET + SLACK
    assert result.truncated


# ---------------------------------------------------------------- expand: normal

WEEKLY = cal(
    event("DTSTART;TZID=America/New_York:20240301T090000",
          "DTEND;TZID=America/New_York:20240301T100000",
          "RRULE:FREQ=WEEKLY;COUNT=6",
          "EXDATE;TZID=America/New_York:20240315T090000",
          "RDATE;TZID=America/New_York:20240320T120000",
          "SUMMARY:weekly"),
    # the 2024-04-05 instance moved into early March
    event("RECURRENCE-ID;TZID=America/New_York:20240405T090000",
          "DTSTART;TZID=America/New_York:20240302T140000",
          "DTEND;TZID=America/New_York:20240302T150000", "SUMMARY:moved in"),
    # the 2024-03-08 instance moved out to May
    event("RECURRENCE-ID;TZID=America/New_York:20240308T090000",
          "DTSTART;TZID=America/New_York:20240510T090000",
          "DTEND;TZID=America/New_York:20240510T100000", "SUMMARY:moved out"),
)


def test_weekly_with_exdate_rdate_and_moved_overrides():
    result = expand(WEEKLY, utc(2024, 3, 1), utc(2024, 4, 1), max_count=100, budget_s=1)
    assert not result.truncated
    got = [(o.start, o.component.summary.value) for o in result.occurrences]
    assert got == [
        (utc(2024, 3, 1, 14), "weekly"),
        (utc(2024, 3, 2, 19), "moved in"),
        # 03-08 moved out; 03-15 excluded; DST starts 03-10: 09:00 EDT == 13:00Z
        (utc(2024, 3, 20, 16), "weekly"),  # RDATE
        (utc(2024, 3, 22, 13), "weekly"),
        (utc(2024, 3, 29, 13), "weekly"),
    ]
    moved = result.occurrences[1]
    assert moved.recurrence_id == utc(2024, 4, 5, 13)
    assert moved.end - moved.start == dt.timedelta(hours=1)
    whole = expand(WEEKLY, None, None, max_count=100, budget_s=1)
    assert whole.complete and len(whole.occurrences) == 6  # COUNT 6 + RDATE - EXDATE
    assert whole.occurrences[-1].component.summary.value == "moved out"


def test_all_day_yearly_keeps_dates():
    item = cal(event("DTSTART;VALUE=DATE:20200229", "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"))
    result = expand(item, dt.date(2021, 1, 1), dt.date(2025, 1, 1), max_count=100, budget_s=1)
    assert starts(result) == [dt.date(2021, 2, 28), dt.date(2022, 2, 28),
                              dt.date(2023, 2, 28), dt.date(2024, 2, 29)]
    assert all(o.is_all_day and o.end == o.start + dt.timedelta(days=1)
               for o in result.occurrences)
    assert result.occurrences[0].recurrence_id == dt.date(2021, 2, 28)


def test_floating_daily_in_default_tz():
    item = cal(event("DTSTART:20240101T090000", "DURATION:PT30M", "RRULE:FREQ=DAILY;COUNT=3"))
    berlin = expand(item, None, None, max_count=10, budget_s=1, default_tz="Europe/Berlin")
    assert starts(berlin) == [utc(2024, 1, d, 8) for d in (1, 2, 3)]
    assert berlin.occurrences[0].end == utc(2024, 1, 1, 8, 30)
    floating = expand(item, None, None, max_count=10, budget_s=1)
    assert starts(floating)[0] == dt.datetime(2024, 1, 1, 9)  # stays floating
    # a range in Berlin wall time selects the second day only
    one = expand(item, dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3), max_count=10,
                 budget_s=1, default_tz="Europe/Berlin")
    assert starts(one) == [utc(2024, 1, 2, 8)]


def test_tzid_across_dst_keeps_local_wall_time():
    item = cal(event("DTSTART;TZID=Europe/Berlin:20240330T090000", "RRULE:FREQ=DAILY;COUNT=3"))
    result = expand(item, None, None, max_count=10, budget_s=1)
    assert starts(result) == [utc(2024, 3, 30, 8), utc(2024, 3, 31, 7), utc(2024, 4, 1, 7)]


def test_tzid_with_vtimezone_in_calendar():
    from radicale_wcap.timezones import vtimezone_text
    item = cal(vtimezone_text("Europe/Berlin"),
               event("DTSTART;TZID=Europe/Berlin:20241026T090000", "RRULE:FREQ=DAILY;COUNT=2"))
    assert starts(expand(item, None, None, max_count=10, budget_s=1)) == \
        [utc(2024, 10, 26, 7), utc(2024, 10, 27, 8)]


def test_non_recurring_and_undated_components():
    single = cal(event("DTSTART:20240101T100000Z", "DTEND:20240101T110000Z"))
    result = expand(single, utc(2024, 1, 1, 10, 30), utc(2024, 1, 2), max_count=10, budget_s=1)
    assert [(o.recurrence_id, o.start, o.end) for o in result.occurrences] == \
        [(None, utc(2024, 1, 1, 10), utc(2024, 1, 1, 11))]
    assert expand(single, utc(2024, 1, 1, 11), None, max_count=10, budget_s=1).occurrences == []
    todo = cal(event("SUMMARY:someday", kind="VTODO"))
    assert [o.start for o in expand(todo, utc(2030, 1, 1), utc(2030, 2, 1), max_count=10,
                                    budget_s=1).occurrences] == [None]


def test_this_and_future_override_shifts_later_instances():
    item = cal(
        event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5",
              "SUMMARY:old"),
        event("RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T090000Z",
              "DTSTART:20240103T150000Z", "DURATION:PT2H", "SUMMARY:new"))
    result = expand(item, None, None, max_count=10, budget_s=1)
    got = [(o.start, o.end - o.start, o.component.summary.value) for o in result.occurrences]
    assert got == [(utc(2024, 1, 1, 9), dt.timedelta(hours=1), "old"),
                   (utc(2024, 1, 2, 9), dt.timedelta(hours=1), "old"),
                   (utc(2024, 1, 3, 15), dt.timedelta(hours=2), "new"),
                   (utc(2024, 1, 4, 15), dt.timedelta(hours=2), "new"),
                   (utc(2024, 1, 5, 15), dt.timedelta(hours=2), "new")]


def test_dtstart_counts_as_first_occurrence():
    # DTSTART is a Tuesday, the rule wants Mondays: Radicale (vobject addRDate) lists
    # DTSTART plus COUNT-1 rule dates.
    item = cal(event("DTSTART:20240102T090000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3"))
    assert starts(expand(item, None, None, max_count=10, budget_s=1)) == \
        [utc(2024, 1, 2, 9), utc(2024, 1, 8, 9), utc(2024, 1, 15, 9)]


# ---------------------------------------------------------------- index and span

def test_instances_for_index_finite_and_infinite():
    finite = cal(event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"))
    spans, complete, until = instances_for_index(finite, utc(2030, 1, 1), max_count=100,
                                                 budget_s=1)
    base = int(utc(2024, 1, 1, 9).timestamp())
    assert spans == [(base + d * 86400, base + d * 86400 + 3600) for d in range(3)]
    assert complete and until == INFINITY_TS

    infinite = cal(event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY"))
    spans, complete, until = instances_for_index(infinite, utc(2024, 1, 11), max_count=100,
                                                 budget_s=1)
    assert len(spans) == 10 and not complete
    assert until == int(utc(2024, 1, 11).timestamp())

    spans, complete, until = instances_for_index(infinite, utc(2030, 1, 1), max_count=5,
                                                 budget_s=1)
    assert not complete and len(spans) <= 5
    assert until <= int(utc(2024, 1, 6, 9).timestamp())
    assert all(s < until for s, _ in spans)


def test_master_span():
    finite = cal(event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"))
    assert master_span(finite, max_count=100, budget_s=1) == \
        (int(utc(2024, 1, 1, 9).timestamp()), int(utc(2024, 1, 3, 10).timestamp()))
    infinite = cal(event("DTSTART:20240101T090000Z", "RRULE:FREQ=WEEKLY"))
    assert master_span(infinite, max_count=100, budget_s=1) == \
        (int(utc(2024, 1, 1, 9).timestamp()), INFINITY_TS)
    single = cal(event("DTSTART;VALUE=DATE:20240101"))
    assert master_span(single, max_count=100, budget_s=1) == \
        (int(utc(2024, 1, 1).timestamp()), int(utc(2024, 1, 2).timestamp()))


def test_accepts_text_and_component_lists():
    text = WEEKLY.serialize()
    assert len(expand(text, None, None, max_count=100, budget_s=1).occurrences) == 6
    assert len(expand(list(WEEKLY.vevent_list), None, None, max_count=100,
                      budget_s=1).occurrences) == 6
    assert recurrence.Occurrence.__dataclass_fields__.keys() >= {
        "recurrence_id", "start", "end", "component"}
