"""The last offers the core closed, and how: kept compact, because it holds ten thousand of them.

A report on an offer already closed (an ``OfferAnswered`` that lost the race with the ring timeout, a
late ``AcdDialResult``) must be told from one the core never made (``OfferClosed`` against
``UnknownOffer``), so the last ``CLOSED_KEPT`` closed offers are remembered with their result. Every
offer the core makes is a UUID (``acd.core.ids``): kept as its 16 bytes, not its 36 characters, in a
plain dict (insertion order is its age), it costs about half of a ``str``-keyed ``OrderedDict``. An id
that is not a UUID (a test's) is kept as it is.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterator

from acd.core.record_types import OfferResult


def _key(offer_id: str) -> bytes | str:
    """The 16 bytes of a UUID in its canonical form; any other id as it is (never confused: bytes ≠ str)."""
    if len(offer_id) != 36:
        return offer_id
    try:
        parsed = uuid.UUID(offer_id)
    except ValueError:
        return offer_id
    return parsed.bytes if str(parsed) == offer_id else offer_id


class ClosedOffers:
    """At most ``kept`` closed offers, the oldest forgotten first; ``offer_id in``, ``[offer_id]``, ``add``."""

    __slots__ = ("_kept", "_results")

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._results: OrderedDict[bytes | str, OfferResult] = OrderedDict()

    def add(self, offer_id: str, result: OfferResult) -> None:
        self._results[_key(offer_id)] = result  # closed again: the new result, in its old place
        while len(self._results) > self._kept:
            self._results.popitem(last=False)

    def __contains__(self, offer_id: object) -> bool:
        return isinstance(offer_id, str) and _key(offer_id) in self._results

    def __getitem__(self, offer_id: str) -> OfferResult:
        return self._results[_key(offer_id)]

    def __len__(self) -> int:
        return len(self._results)

    def items(self) -> Iterator[tuple[str, OfferResult]]:
        """Oldest first, each id as the core made it."""
        for key, result in self._results.items():
            yield (str(uuid.UUID(bytes=key)) if isinstance(key, bytes) else key), result
