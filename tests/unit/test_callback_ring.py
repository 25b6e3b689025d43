"""The Originate a callback is served with (``acd.ami.callback_ring``): every value checked before it is
written, and the whisper's queue and number passed to the dialplan (docs/dialplan.md, "Callbacks")."""

from __future__ import annotations

import pytest

from acd.ami.callback_ring import callback_action
from acd.dialling import NotDialable


def test_the_agent_hears_the_queue_and_the_number() -> None:
    action = callback_action("agent1", "6512345678", "offer-1", 8.0, "a-1", "billing")
    assert action["Channel"] == "Local/agent1@acd-callback-agent" and action["Exten"] == "6512345678"
    assert action["Variable"] == [
        "ACD_OFFER=offer-1",
        "ACD_RING_TIMEOUT=8",
        "ACD_CB_QUEUE=billing",
        "ACD_CB_SAY=6512345678",
    ]


def test_a_queue_name_the_whisper_cannot_say_is_left_out() -> None:
    for queue in ("", "a,b", "x" * 65, "bill ing", "../x"):
        action = callback_action("agent1", "6512345678", "offer-1", 8.0, "a-1", queue)
        assert not [v for v in action["Variable"] if v.startswith("ACD_CB_QUEUE=")]


@pytest.mark.parametrize(("endpoint", "number"), [("agent1&x", "1"), ("agent1", "65,1"), ("agent1", "1" * 33)])
def test_nothing_unchecked_is_written(endpoint: str, number: str) -> None:
    with pytest.raises(NotDialable):
        callback_action(endpoint, number, "offer-1", 8.0, "a-1", "billing")


def test_a_leader_s_ring_carries_its_epoch_for_the_dialplan_to_fence() -> None:
    """docs/dialplan.md, "Fencing": acd-callback-agent compares ACD_OFFER_EPOCH with ACD_EPOCH."""
    action = callback_action("agent1", "6512345678", "offer-1", 8.0, "a-1", "billing", epoch=7)
    assert action["Variable"][-1] == "ACD_OFFER_EPOCH=7"
    unleased = callback_action("agent1", "6512345678", "offer-1", 8.0, "a-1", "billing")
    assert not [v for v in unleased["Variable"] if v.startswith("ACD_OFFER_EPOCH=")]
