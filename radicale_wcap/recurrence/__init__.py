"""Bounded recurrence expansion and write-time rule validation (RFC 5545 3.3.10, 3.8.5).

Every door expands recurring items and every door writes them; stock Radicale 3.9
expands with dateutil without limits.  Here expansion is bounded by an occurrence cap
and a time budget (``expansion.py``, ``timebudget.py``), and writes are checked so that
hostile rules never reach the store (``rules.py``); ``series.py`` holds what a series
is made of (components, anchors, instance lengths, the frame values are expanded in).
This face is what the rest of the package imports.
"""

from radicale_wcap.recurrence.series import RECURRING_COMPONENTS, UTC
from radicale_wcap.recurrence.rules import (FREQ_ORDER, MAX_PERIOD_CANDIDATES,
                                            RecurrenceLimitError, rule_problem,
                                            validate_rules)
from radicale_wcap.recurrence.expansion import (INFINITY_TS, NEG_INFINITY_TS, Expansion,
                                                Occurrence, epoch, expand,
                                                instances_for_index, master_span)

__all__ = ["RECURRING_COMPONENTS", "UTC", "FREQ_ORDER", "MAX_PERIOD_CANDIDATES",
           "RecurrenceLimitError", "rule_problem", "validate_rules", "INFINITY_TS",
           "NEG_INFINITY_TS", "Expansion", "Occurrence", "epoch", "expand",
           "instances_for_index", "master_span"]
