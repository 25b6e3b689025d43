"""An offer's Redirect target (acd.ami.offer_target): what the ACD writes, and what it reads back."""

from __future__ import annotations

import uuid

import pytest

from acd.ami.offer_target import MAX_EXTEN, OfferTarget, offer_target, parse_offer_target

OFFER = str(uuid.uuid5(uuid.NAMESPACE_URL, "offer"))
HEX = OFFER.replace("-", "")


def test_the_target_carries_the_whole_offer_and_reads_back_as_it() -> None:
    assert offer_target("agent1", OFFER, 15, 4, True) == f"~agent1~{HEX}~15~4~1"
    assert offer_target("agent1", OFFER, 15, None, False) == f"~agent1~{HEX}~15~~0"
    for epoch, record in ((4, True), (None, False), (10**19, False), (0, True)):
        exten = offer_target("a.b-c_9", OFFER, 9999, epoch, record)
        assert exten is not None
        assert parse_offer_target(exten) == OfferTarget("a.b-c_9", OFFER, 9999, epoch, record)


@pytest.mark.parametrize(
    ("endpoint", "offer_id", "ring", "epoch"),
    [
        ("a", OFFER, 15, 4),  # one character: not an extension acd-connect can go on at
        ("agent-" + "x" * 40, OFFER, 15, 4),  # longer than Asterisk keeps of an extension
        ("agent1", "offer-1", 15, 4),  # not a UUID: its dashes could not be put back
        ("agent1", OFFER.upper(), 15, 4),
        ("agent1", OFFER, 0, 4),
        ("agent1", OFFER, 10000, 4),
        ("agent1", OFFER, 15, -1),
        ("agent1", OFFER, 15, 10**20),  # more digits than the fence reads
    ],
)
def test_what_the_target_cannot_carry_goes_the_old_way(endpoint: str, offer_id: str, ring: int, epoch: int) -> None:
    assert offer_target(endpoint, offer_id, ring, epoch, False) is None


def test_the_longest_endpoint_that_fits_still_fits() -> None:
    room = MAX_EXTEN - len(f"~~{HEX}~15~12~0")
    assert offer_target("a" * room, OFFER, 15, 12, False) is not None
    assert offer_target("a" * (room + 1), OFFER, 15, 12, False) is None


@pytest.mark.parametrize(
    "exten",
    [
        "agent1",  # the old form: an endpoint
        f"agent1~{HEX}~15~4~0",  # no leading mark
        f"~agent1~{HEX}~15~4",  # four fields
        f"~agent1~{HEX}~15~4~0~x",  # six
        f"~agent1&PJSIP/x~{HEX}~15~4~0",
        f"~agent1,1,L(1)~{HEX}~15~4~0",
        f"~-agent1~{HEX}~15~4~0",  # an endpoint starts with a letter or digit
        f"~agent1~{HEX.upper()}~15~4~0",
        f"~agent1~{HEX[:-1]}~15~4~0",
        f"~agent1~{HEX}~015~4~0",
        f"~agent1~{HEX}~~4~0",
        f"~agent1~{HEX}~15~x4~0",
        f"~agent1~{HEX}~15~{'1' * 21}~0",
        f"~agent1~{HEX}~15~4~2",
        f"~agent1~{HEX}~15~4~",
        f"~{'a' * 70}~{HEX}~15~4~0",  # longer than an extension can be
    ],
)
def test_a_malformed_target_reads_as_no_offer(exten: str) -> None:
    assert parse_offer_target(exten) is None
