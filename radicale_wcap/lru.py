"""One least-recently-used memo for the project's in-memory caches.

The parsed-item memo (``wcap/components/output.py``), the rendered-output cache
(``wcap/output_cache.py``) and the loaded-item memo (``radicale_compat.py``) each kept
their own OrderedDict, lock and eviction loop; they differ only in what an entry
weighs (one, or its bytes), which the caller says.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable, Optional


class LRU:
    """At most ``capacity`` in total weight; the least recently used go first. Thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.weight = 0
        self._entries: "OrderedDict[Hashable, tuple[Any, int]]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Optional[Any]:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.weight -= previous[1]
            self._entries[key] = (value, weight)
            self.weight += weight
            while self.weight > self.capacity and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.weight -= dropped

    def __len__(self) -> int:
        return len(self._entries)
