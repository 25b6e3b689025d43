"""A holding caller who keyed a time still holds until the dialplan says whether they were told it is
kept (docs/dialplan.md, "Callbacks at a time"): ``AcdCallbackAtKept`` ends their stay (their Hangup is
then no abandon), ``AcdCallbackAtNotKept`` leaves them holding and closes the callback. Both are
believed only with the token in force, from the holding caller's own channel, and only once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acd.ami.callers import CallerLeg, Phase
from acd.ami.control import AmiCallControl
from acd.ami.identity import closed_callback_id
from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.ami.wire import ActionValue, Message
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallbackTimeKept, CallbackTimeNotKept, CallerHungUp

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("b1", "billing1", (("billing", 3),)),),
)
TOKEN = "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5"
UNIQUEID, CHANNEL = "1764943200.7", "PJSIP/trunk-00000007"


def _translator() -> tuple[Translator, list[str]]:
    refused: list[str] = []
    translator = Translator(CONFIG, token=EventToken(TOKEN), on_refused=refused.append)
    translator.book.add(CallerLeg("c1", UNIQUEID, CHANNEL, "billing", 5))
    return translator, refused


def _event(name: str, **fields: str) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": name,
        "Channel": CHANNEL,
        "Uniqueid": UNIQUEID,
        "AcdToken": TOKEN,
        **fields,
    }


def test_told_kept_ends_the_stay_once_and_the_hangup_is_no_abandon() -> None:
    translator, refused = _translator()
    assert translator.translate(_event("AcdCallbackAtKept")) == [CallbackTimeKept("c1", closed_callback_id("c1"))]
    assert translator.translate(_event("AcdCallbackAtKept")) == []  # a duplicate: no longer holding
    assert translator.translate(_event("AcdCallbackAtNotKept")) == []
    assert translator.translate({"Event": "Hangup", "Uniqueid": UNIQUEID, "Channel": CHANNEL}) == []
    assert refused == ["state", "state"]


def test_not_told_leaves_the_caller_holding_and_their_hangup_is_theirs() -> None:
    translator, refused = _translator()
    assert translator.translate(_event("AcdCallbackAtNotKept")) == [CallbackTimeNotKept("c1", closed_callback_id("c1"))]
    leg = translator.book.get(UNIQUEID)
    assert leg is not None and leg.phase is Phase.WAITING
    assert translator.translate({"Event": "Hangup", "Uniqueid": UNIQUEID, "Channel": CHANNEL}) == [CallerHungUp("c1")]
    assert refused == []


def test_hostile_answers_are_refused() -> None:
    for name in ("AcdCallbackAtKept", "AcdCallbackAtNotKept"):
        translator, refused = _translator()
        assert translator.translate(_event(name, Channel="PJSIP/trunk-00000009")) == []  # another channel
        assert translator.translate(_event(name, Uniqueid="1764943200.9")) == []  # no such caller
        assert translator.translate(_event(name, AcdToken="0" * 32)) == []  # not the token in force
        assert translator.translate({k: v for k, v in _event(name).items() if k != "AcdToken"}) == []
        leg = translator.book.get(UNIQUEID)
        assert leg is not None and leg.phase is Phase.WAITING  # still holding, nothing believed
        translator.book.leave(leg)  # a caller who met a closed treatment, or rung: not holding
        assert translator.translate(_event(name)) == []
        assert refused == ["channel", "state", "token", "token", "state"], name


class Link:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, ActionValue]] = []

    async def send(self, action: Mapping[str, ActionValue], timeout: Any = None) -> Message:  # noqa: ASYNC109
        self.sent.append(action)
        return Message({"Response": "Success"})


async def test_telling_the_caller_leaves_them_holding_until_the_dialplan_answers() -> None:
    """Setting ACD_CB_KEPT does not take the caller out of the book: the dialplan may still give up
    (its 5 s ran out), and then they hold on, their hangup an abandon like any caller's."""
    control = AmiCallControl(Link())  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", UNIQUEID, CHANNEL, "billing", 5))
    assert await control.callback_kept("c1", 1796626800.0, "UTC", "7c1c5a8e-1b0e-4a51-9f43-2b4d1f0e9a01")
    leg = control.book.get(UNIQUEID)
    assert leg is not None and leg.phase is Phase.WAITING
