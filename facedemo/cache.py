"""The one small cache helper: a thread-safe map that keeps the most recently used values.

Streamlit runs each session in a thread of one process, so a cache that sessions share
takes a lock for every look-up and change. A value is made outside the lock, so a slow
one (a gallery being embedded) never holds up the look-ups of other keys; two threads
that miss the same key at once both make it, and the later one is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most ``max_size`` values by key; keeping one more forgets the least recently used.

    ``None`` stands for "not kept", so it is never a value.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, not {max_size}")
        self.max_size = max_size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, now the most recently used; None if none is kept."""
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` as the most recently used, forgetting the oldest beyond
        ``max_size``; returns ``value``."""
        if value is None:
            raise ValueError("None cannot be kept: it means 'not kept'")
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.max_size:
                self._values.popitem(last=False)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, or else ``make()``'s, kept from now on."""
        value = self.get(key)
        return value if value is not None else self.put(key, make())

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
