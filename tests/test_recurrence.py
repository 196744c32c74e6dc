"""radicale_wcap.recurrence: hostile rules are refused or cut short, normal ones expand right."""

import datetime as dt
import sys
import threading
import time

import pytest
import vobject
from dateutil import rrule as du_rrule

from radicale_wcap import recurrence
from radicale_wcap.recurrence import (INFINITY_TS, RecurrenceLimitError, expand,
                                      instances_for_index, master_span, rule_problem,
                                      validate_rules)
from radicale_wcap.timebudget import BudgetExceeded, bounded, deadline_in

UTC = dt.timezone.utc
BUDGET = 0.3
SLACK = 0.4  # scheduling noise on a loaded 2-core box

NEVER_MATCHING = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=5",
]


def cal(*components):
    return vobject.readOne("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
                           + "".join(components) + "END:VCALENDAR\r\n")


def event(*lines, uid="e1", kind="VEVENT"):
    return "BEGIN:%s\r\nUID:%s\r\n%sEND:%s\r\n" % (kind, uid, "".join(l + "\r\n" for l in lines), kind)


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def starts(expansion):
    return [o.start for o in expansion.occurrences]


# ---------------------------------------------------------------- time budget

def bounded_rule(rule, seconds):
    return bounded(du_rrule.rrulestr(rule, dtstart=dt.datetime(2024, 1, 1)), deadline_in(seconds))


@pytest.mark.parametrize("rule", NEVER_MATCHING + ["FREQ=SECONDLY;BYSETPOS=2",
                                                   "FREQ=DAILY;INTERVAL=7;BYDAY=TU"])
def test_bounded_rule_stops_never_matching_rule_with_an_ordinary_exception(rule):
    t0 = time.monotonic()
    with pytest.raises(BudgetExceeded) as info:
        list(bounded_rule(rule, BUDGET))
    assert time.monotonic() - t0 < BUDGET + SLACK
    assert isinstance(info.value, Exception) and isinstance(info.value, ValueError)


def test_bounded_rule_installs_no_tracer_and_keeps_others():
    calls = []

    def outer(frame, event, arg):
        calls.append(event)
        return None

    old = sys.gettrace()
    sys.settrace(outer)
    try:
        assert len(list(bounded_rule("FREQ=DAILY;COUNT=3", 5))) == 3
        with pytest.raises(BudgetExceeded):
            list(bounded_rule(NEVER_MATCHING[0], 0.05))
        assert sys.gettrace() is outer
        assert "call" in calls
    finally:
        sys.settrace(old)
    expand(cal(event("DTSTART:20240101T000000Z", "RRULE:" + NEVER_MATCHING[0])), None, None,
           max_count=10, budget_s=0.05)
    assert sys.gettrace() is old


def test_bounded_rule_equals_dateutil():
    for rule in ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1;COUNT=5",
                 "FREQ=WEEKLY;BYDAY=1MO,-1FR;COUNT=5", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;COUNT=3",
                 "FREQ=HOURLY;INTERVAL=5;COUNT=9"):
        plain = du_rrule.rrulestr(rule, dtstart=dt.datetime(2024, 1, 1))
        assert list(bounded(plain)) == list(plain)
        assert list(bounded(plain, count=2)) == list(plain.replace(count=2))


def test_budget_in_worker_thread_and_expansion_survives():
    result = {}

    def work():
        t0 = time.monotonic()
        item = cal(event("DTSTART:20240101T090000Z", "RRULE:" + NEVER_MATCHING[0]))
        result["expansion"] = expand(item, None, None, max_count=10, budget_s=BUDGET)
        result["elapsed"] = time.monotonic() - t0

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(10)
    assert result["elapsed"] < BUDGET + SLACK
    assert result["expansion"].truncated


# ---------------------------------------------------------------- validate_rules

def validate(*lines, kind="VEVENT", **kw):
    kw.setdefault("max_count", 1000)
    kw.setdefault("budget_s", BUDGET)
    validate_rules(cal(event(*lines, kind=kind)), **kw)


@pytest.mark.parametrize("rule", ["FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=5"])
def test_validate_refuses_infinite_fine_rules(rule):
    with pytest.raises(RecurrenceLimitError, match="COUNT or UNTIL"):
        validate("DTSTART:20240101T000000Z", "RRULE:" + rule)


@pytest.mark.parametrize("rule", NEVER_MATCHING)
@pytest.mark.parametrize("prop", ["RRULE", "EXRULE"])
def test_validate_refuses_never_matching_quickly(rule, prop):
    t0 = time.monotonic()
    with pytest.raises(RecurrenceLimitError, match="never match") as info:
        validate("DTSTART:20240101T090000Z", "RRULE:FREQ=WEEKLY", "%s:%s" % (prop, rule))
    assert rule in str(info.value)
    assert time.monotonic() - t0 < BUDGET + SLACK


@pytest.mark.parametrize("rule", ["FREQ=DAILY;COUNT=1000000000",
                                  "FREQ=HOURLY;UNTIL=20990101T000000Z",
                                  "FREQ=SECONDLY;COUNT=5000"])
def test_validate_refuses_too_many_occurrences(rule):
    t0 = time.monotonic()
    with pytest.raises(RecurrenceLimitError, match="more than 1000"):
        validate("DTSTART:20240101T000000Z", "RRULE:" + rule)
    assert time.monotonic() - t0 < BUDGET + SLACK


@pytest.mark.parametrize("rule", ["FREQ=DAILY;INTERVAL=0", "FREQ=FORTNIGHTLY", "FREQ=DAILY;COUNT=x",
                                  "FREQ=DAILY;BYSETPOS=400", "garbage", "FREQ=DAILY;COUNT=0"])
def test_validate_refuses_unparsable(rule):
    with pytest.raises(RecurrenceLimitError, match="cannot parse"):
        validate("DTSTART:20240101T000000Z", "RRULE:" + rule)


@pytest.mark.parametrize("lines", [
    ("DTSTART:20240101T000000Z", "RRULE:FREQ=HOURLY"),
    ("DTSTART;TZID=Europe/Berlin:20240101T090000", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"),
    ("DTSTART;VALUE=DATE:20240229", "RRULE:FREQ=YEARLY"),
    ("DTSTART:20240101T090000", "RRULE:FREQ=DAILY;COUNT=1000"),
    ("DTSTART:20240101T090000", "RRULE:FREQ=DAILY;UNTIL=20240301T000000Z"),
    ("DTSTART:20240101T090000Z", "RRULE:FREQ=DAILY;UNTIL=20200101T000000Z"),  # ends before start
    ("DTSTART;VALUE=DATE:20240101", "RRULE:FREQ=MONTHLY;UNTIL=20241231"),
    ("DTSTART:20240101T090000Z", "RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1"),
])
def test_validate_accepts_normal_rules(lines):
    validate(*lines)


def test_validate_covers_vtodo_and_configurable_frequency():
    with pytest.raises(RecurrenceLimitError):
        validate("DUE:20240101T000000Z", "RRULE:FREQ=MINUTELY", kind="VTODO")
    validate("DTSTART:20240101T000000Z", "RRULE:FREQ=MINUTELY", kind="VTODO",
             max_infinite_freq="SECONDLY")
    with pytest.raises(RecurrenceLimitError, match="DAILY"):
        validate("DTSTART:20240101T000000Z", "RRULE:FREQ=HOURLY", max_infinite_freq="DAILY")


def spelled(name, values):
    return "%s=%s" % (name, ",".join(map(str, values)))


#: Every second of every day of the year, lists spelled out: 32 million candidates a year.
EVERY_SECOND_YEARLY = ";".join(["FREQ=YEARLY", spelled("BYMONTH", range(1, 13)),
                                spelled("BYMONTHDAY", range(1, 32)), spelled("BYHOUR", range(24)),
                                spelled("BYMINUTE", range(60)), spelled("BYSECOND", range(60))])


@pytest.mark.parametrize("dtstart", ["20240101T000000Z", "20241231T235959Z"])
@pytest.mark.parametrize("suffix", ["", ";COUNT=5", ";UNTIL=20250101T000000Z"])
def test_validate_refuses_huge_periods_at_once(dtstart, suffix):
    t0 = time.monotonic()
    with pytest.raises(RecurrenceLimitError, match="candidate instances"):
        validate("DTSTART:" + dtstart, "RRULE:" + EVERY_SECOND_YEARLY + suffix)
    assert time.monotonic() - t0 < 0.1 + SLACK


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;" + spelled("BYHOUR", range(24)) + ";BYMINUTE=0,30",   # half-hourly
    "FREQ=WEEKLY;BYDAY=MO;" + spelled("BYMINUTE", range(0, 60, 2)),
    "FREQ=HOURLY;BYMINUTE=0,30",
])
def test_validate_refuses_infinite_rules_denser_than_the_limit_whatever_their_freq(rule):
    with pytest.raises(RecurrenceLimitError, match="COUNT or UNTIL"):
        validate("DTSTART:20240101T000000Z", "RRULE:" + rule)
    validate("DTSTART:20240101T000000Z", "RRULE:" + rule + ";COUNT=100")


@pytest.mark.parametrize("rule, reason", [
    ("FREQ=DAILY;BYMONTH=2,4;BYMONTHDAY=31", "never matches"),
    ("FREQ=MONTHLY;BYMONTHDAY=-31;BYMONTH=6", "never matches"),
    ("FREQ=YEARLY;BYYEARDAY=1;BYMONTH=3", "never matches"),
    ("FREQ=SECONDLY;BYSETPOS=2;COUNT=1", "never matches"),
    ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2;COUNT=3", "never matches"),
    ("FREQ=DAILY;BYMONTH=13", "cannot parse"),
    ("FREQ=DAILY;BYHOUR=24", "cannot parse"),
    ("FREQ=DAILY;BYMONTHDAY=0", "cannot parse"),
    ("FREQ=DAILY;BYDAY=XX", "cannot parse"),
    ("FREQ=DAILY;BYEASTER=0", "cannot parse"),
    ("FREQ=DAILY;COUNT=-5", "cannot parse"),
    ("FREQ=DAILY;UNTIL=tomorrow", "cannot parse"),
])
def test_structural_refusals_need_no_expansion(rule, reason):
    t0 = time.monotonic()
    with pytest.raises(RecurrenceLimitError, match=reason):
        validate("DTSTART:20240101T000000Z", "RRULE:" + rule)
    assert time.monotonic() - t0 < 0.1 + SLACK
    assert reason.split()[0] in rule_problem(rule)


@pytest.mark.parametrize("rule", [
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=YEARLY;BYYEARDAY=60;BYMONTH=2,3",
    "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR;" + spelled("BYHOUR", range(8, 18)),
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;WKST=SU",
    "FREQ=DAILY;BYSECOND=60;COUNT=1",   # a leap second is a valid value; dateutil refuses it later
])
def test_rule_problem_accepts_ordinary_rules(rule):
    assert rule_problem(rule) is None


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
