"""A sorted set of keys with cheap insert, remove and in-order scan.

Routing must find the best READY agent for a call, and the best waiting call for an agent,
without scanning everyone. Each (queue, widening level) keeps one of these for its eligible
ready agents and one for its waiting calls; the first key that passes the few dynamic checks
(cool-down) wins. ``sortedcontainers`` is not a dependency, so this is the same idea in small:
a list of sorted buckets, so insert/remove cost O(log n + bucket size) instead of O(n).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=tuple[Any, ...])

_BUCKET = 256  # split a bucket above twice this; small enough that list memmoves stay trivial


class OrderedIndex(Generic[K]):
    """Distinct tuple keys kept in ascending order."""

    __slots__ = ("_buckets", "_len", "_maxes")

    def __init__(self) -> None:
        self._buckets: list[list[K]] = []
        self._maxes: list[K] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[K]:
        for bucket in self._buckets:
            yield from bucket

    def __contains__(self, key: K) -> bool:
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return False
        bucket = self._buckets[i]
        j = bisect_left(bucket, key)
        return j < len(bucket) and bucket[j] == key

    def add(self, key: K) -> None:
        if not self._buckets:
            self._buckets.append([key])
            self._maxes.append(key)
            self._len = 1
            return
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            i -= 1
        bucket = self._buckets[i]
        insort(bucket, key)
        self._maxes[i] = bucket[-1]
        self._len += 1
        if len(bucket) > 2 * _BUCKET:
            self._buckets[i : i + 1] = [bucket[:_BUCKET], bucket[_BUCKET:]]
            self._maxes[i : i + 1] = [bucket[_BUCKET - 1], bucket[-1]]

    def remove(self, key: K) -> None:
        """Remove ``key``; ``KeyError`` if absent."""
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            raise KeyError(key)
        bucket = self._buckets[i]
        j = bisect_left(bucket, key)
        if j == len(bucket) or bucket[j] != key:
            raise KeyError(key)
        del bucket[j]
        self._len -= 1
        if bucket:
            self._maxes[i] = bucket[-1]
        else:
            del self._buckets[i]
            del self._maxes[i]

    def discard(self, key: K) -> None:
        if key in self:
            self.remove(key)
