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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable, Optional

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
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: "OrderedDict[Hashable, tuple[ItemOutput, int]]" = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: Hashable) -> Optional[ItemOutput]:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: Hashable, entry: ItemOutput) -> None:
        size = entry.size
        if not entry.cacheable or size > self.max_bytes // 4:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.bytes -= previous[1]
            self._entries[key] = (entry, size)
            self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)
