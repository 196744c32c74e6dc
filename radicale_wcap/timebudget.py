"""Recurrence rules whose iteration gives up at a deadline, without a tracer.

dateutil's ``rrule._iter`` is one pure-Python loop over periods (a year, a month,
a day... of the rule's FREQ).  A rule that can never match, or matches once in
centuries, makes that loop run to the year 9999 without yielding anything, so a
deadline checked between yielded occurrences never fires.  The loop asks its
``_iterinfo`` for the days of every period (``ydayset``, ``mdayset``, ``wdayset``,
``ddayset``) at the top of each pass; :class:`BoundedRule` runs dateutil's own
``_iter`` code with an ``_iterinfo`` whose day-set methods check the rule's
deadline first, and raise :class:`BudgetExceeded`, an ordinary exception, out of
the generator when it has passed.

This replaces a ``sys.settrace`` tracer that raised a ``BaseException`` at the next
function call: that one could strike inside any code running in the budget (a lock
held by logging, a ``finally`` of the storage), escaped the middleware's catch-alls,
and left requests unanswered.

dateutil itself is untouched: only rules made by :func:`bounded` check a deadline,
so vobject's and Radicale's own rules behave as before.  Between two periods a rule
makes at most one period's candidates (bounded by the write-time check
``recurrence.rule_problem``), so the deadline is noticed promptly; callers that
consume many occurrences check :func:`expired` between them as well.
"""

from __future__ import annotations

import math
import time
import types

from dateutil import rrule as du_rrule


class BudgetExceeded(ValueError):
    """A bounded rule was still iterating when its deadline passed."""


def deadline_in(seconds: float) -> float:
    """The ``time.monotonic()`` value *seconds* from now."""
    return time.monotonic() + seconds


def expired(deadline: float) -> bool:
    return time.monotonic() > deadline


class _DeadlineIterinfo(du_rrule._iterinfo):
    # No __slots__ of its own: _iterinfo.__init__ sets every name in self.__slots__.

    def _check(self) -> None:
        deadline = getattr(self.rrule, "deadline", math.inf)
        if time.monotonic() > deadline:
            raise BudgetExceeded("recurrence expansion ran out of its time budget")

    def ydayset(self, year, month, day):
        self._check()
        return super().ydayset(year, month, day)

    def mdayset(self, year, month, day):
        self._check()
        return super().mdayset(year, month, day)

    def wdayset(self, year, month, day):
        self._check()
        return super().wdayset(year, month, day)

    def ddayset(self, year, month, day):
        self._check()
        return super().ddayset(year, month, day)


def _with_deadline_iterinfo(function: types.FunctionType) -> types.FunctionType:
    """*function* with its module globals, except ``_iterinfo``."""
    if "_iterinfo" not in function.__code__.co_names:
        raise ImportError("dateutil's rrule._iter no longer builds an _iterinfo; "
                          "radicale_wcap.timebudget needs updating")
    namespace = dict(function.__globals__, _iterinfo=_DeadlineIterinfo)
    return types.FunctionType(function.__code__, namespace, function.__name__,
                              function.__defaults__, function.__closure__)


class BoundedRule(du_rrule.rrule):
    """A dateutil ``rrule`` whose iteration raises :class:`BudgetExceeded` once
    ``time.monotonic()`` passes ``deadline`` (set by :func:`bounded`)."""

    deadline = math.inf
    _iter = _with_deadline_iterinfo(du_rrule.rrule._iter)


def bounded(rule: du_rrule.rrule, deadline: float = math.inf, **changes) -> BoundedRule:
    """*rule* as a :class:`BoundedRule` with *deadline*; *changes* as ``rrule.replace``.

    ``rrule.replace`` always builds a plain ``rrule``, so the arguments are gathered the
    way it gathers them.
    """
    arguments = {"freq": rule._freq, "dtstart": rule._dtstart, "interval": rule._interval,
                 "wkst": rule._wkst, "count": rule._count, "until": rule._until,
                 "cache": rule._cache is not None}
    arguments.update(rule._original_rule)
    arguments.update(changes)
    result = BoundedRule(**arguments)
    result.deadline = deadline
    return result
