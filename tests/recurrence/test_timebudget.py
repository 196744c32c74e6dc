"""radicale_wcap.timebudget: a bounded rule gives up at its deadline with an ordinary
exception, and leaves every other rule alone."""

import datetime as dt
import sys
import threading
import time

import pytest
from dateutil import rrule as du_rrule

from radicale_wcap.recurrence import expand
from radicale_wcap.timebudget import BudgetExceeded, bounded, deadline_in
from tests.recurrence import BUDGET, NEVER_MATCHING, SLACK, cal, event


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
