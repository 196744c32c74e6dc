"""What a stored item contributes to a fetch answer, kept across requests.

Why: Lightning asks for the same week again every few minutes. Each answer used to
parse, copy, shape and lay out every event in it again: 300 ms for a 500-event
week on a 10,000-event calendar, most of it vobject. What one stored item adds to
an answer depends only on

* its text (the key holds its ETag, a hash of the text),
* the request's shape (`components.Shape.key`: kinds, recurring, compressed,
  tzidout, emailorcalid, relativealarm, compstate and for whom, fmt-out, brief),
* the directory's mail -> calid map, which the ATTENDEE/ORGANIZER parameters
  carry: its revision (`Directory.revision`, bumped by triggers in any process) is
  part of the key,

and not on the requested range, except when a recurring item is expanded into its
instances (``recurring=0``). Such entries are never kept (`ItemOutput.cacheable`).

Entries are bounded by their size in bytes (``[wcap] output_cache_size``, MiB; 0
turns the cache off), least recently used out first. The cache is per process; a
write in another process changes the item's ETag, so nothing stale is served.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Hashable, Optional

from radicale_wcap.lru import LRU

# Bookkeeping per Rendered beyond its text (object headers, tuple slots).
ENTRY_OVERHEAD = 200


@dataclass(frozen=True)
class ItemOutput:
    """One stored item's part of an answer.

    ``uids``: every series UID in the item, also those compstate left out (two items
    with one UID must be merged, which only the uncached path does). ``series``: per
    series that is answered, its sort key and its `Rendered` components.
    """

    uids: tuple
    series: tuple
    cacheable: bool

    @property
    def size(self) -> int:
        return sum(len(r.text) + ENTRY_OVERHEAD for _, rendered in self.series
                   for r in rendered) + ENTRY_OVERHEAD


class OutputCache:
    def __init__(self, max_bytes: int) -> None:
        self._entries = LRU(max_bytes)
        self._counting = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def max_bytes(self) -> int:
        return self._entries.capacity

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        self._entries.capacity = value  # applies from the next put

    @property
    def bytes(self) -> int:
        return self._entries.weight

    def get(self, key: Hashable) -> Optional[ItemOutput]:
        found = self._entries.get(key)
        with self._counting:
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
        return found

    def put(self, key: Hashable, entry: ItemOutput) -> None:
        size = entry.size
        if not entry.cacheable or size > self.max_bytes // 4:
            return
        self._entries.put(key, entry, size)

    def __len__(self) -> int:
        return len(self._entries)
