"""The closed offers the core remembers: bounded, oldest forgotten first, each id given back as made."""

from __future__ import annotations

import sys
import uuid

from acd.core.closed_offers import ClosedOffers


def test_the_last_offers_are_kept_with_their_result_and_the_oldest_forgotten() -> None:
    kept = ClosedOffers(3)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    for offer_id in ids[:3]:
        kept.add(offer_id, "unanswered")
    kept.add(ids[0], "cancelled")  # closed again: its result is the new one, its place the old one
    kept.add(ids[3], "answered")
    assert ids[0] not in kept and len(kept) == 3
    assert (kept[ids[1]], kept[ids[3]]) == ("unanswered", "answered")
    assert list(kept.items()) == [(ids[1], "unanswered"), (ids[2], "unanswered"), (ids[3], "answered")]


def test_a_closed_offer_read_again_keeps_its_place_and_its_new_result() -> None:
    kept = ClosedOffers(3)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for offer_id in ids:
        kept.add(offer_id, "unanswered")
    kept.add(ids[0], "answered")
    assert list(kept.items()) == [(ids[0], "answered"), (ids[1], "unanswered"), (ids[2], "unanswered")]


def test_an_id_that_is_not_a_canonical_uuid_is_kept_as_it_is_and_never_taken_for_one() -> None:
    kept = ClosedOffers(10)
    made = str(uuid.uuid4())
    kept.add("o1", "rejected")
    kept.add(made.upper(), "failed")  # the same UUID written otherwise: another id
    assert ("o1" in kept, made.upper() in kept, made in kept) == (True, True, False)
    kept.add(made, "answered")
    assert (kept[made], kept[made.upper()]) == ("answered", "failed")
    assert 42 not in kept
    assert {k for k, _ in kept.items()} == {"o1", made, made.upper()}


def test_a_kept_uuid_costs_its_16_bytes_not_its_36_characters() -> None:
    made = str(uuid.uuid4())
    kept = ClosedOffers(1)
    kept.add(made, "answered")
    (key,) = kept._results
    assert isinstance(key, bytes) and sys.getsizeof(key) < sys.getsizeof(made)
