"""radicale_wcap.recurrence.rules: hostile rules are refused when written, ordinary
ones accepted."""

import time

import pytest

from radicale_wcap.recurrence import RecurrenceLimitError, rule_problem, validate_rules
from tests.recurrence import BUDGET, NEVER_MATCHING, SLACK, cal, event


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
