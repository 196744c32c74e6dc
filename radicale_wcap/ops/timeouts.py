"""The longest request the settings allow: what the server's and the proxy's timeouts
must fit, so that no import is killed by its own server.

The long requests are imports, written one item file at a time: a feed ``PUT`` of at
most ``[feeds] max_events`` events in ``[feeds] max_body_size`` bytes, and a WCAP
``import`` of ``[wcap] max_import_size`` bytes. Everything else (fetches, one event,
free/busy) is bounded by ``[storage] recurrence_budget_seconds`` and answers in well
under a second. A first import of 3,000 events (benchmarks/trumba_import.py's feed)
took 24 to 44 s on the production machines, 15 ms an event at worst, and 90 s of CPU
(261 s of wall time) on a machine shared with six test runs, 30 ms an event; an
unchanged re-import takes 4 s of that, so the first import is the bound.
``[http] request_timeout`` replaces the estimate where imports are known to be smaller
or the machine slower.
"""

from __future__ import annotations

import math
from typing import Optional

SECONDS_PER_EVENT = 0.03
# The smallest events real exports carry (UID, DTSTAMP, DTSTART, DTEND, SUMMARY);
# turns a byte limit into an event count where there is no count limit.
EVENT_BYTES = 250
# Reading and parsing the body and writing the answer come on top of the writes.
MARGIN = 1.5
# Below this a slow disk or a busy machine, not the import's size, decides.
FLOOR = 300


def _events(max_events: int, max_bytes: int) -> Optional[int]:
    """The most events one request can carry; None: no limit at all."""
    bounds = [n for n in (max_events, max_bytes // EVENT_BYTES if max_bytes else 0) if n]
    return min(bounds) if bounds else None


def longest_request(settings) -> int:
    """Seconds; 0 when the settings put no bound on an import (then no timeout)."""
    explicit = settings.get("http", "request_timeout")
    if explicit:
        return explicit
    counts = []
    if settings.get("feeds", "enabled"):
        counts.append(_events(settings.get("feeds", "max_events"),
                              settings.get("feeds", "max_body_size")))
    if settings.get("wcap", "enabled"):
        counts.append(_events(0, settings.get("wcap", "max_import_size")))
    if any(count is None for count in counts):
        return 0
    events = max(counts, default=0)
    return max(FLOOR, math.ceil(events * SECONDS_PER_EVENT * MARGIN))
