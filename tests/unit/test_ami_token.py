"""The per-start token: set on the PBX at each connect, the previous run's accepted for a short while."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from acd.ami.control import AmiCallControl
from acd.ami.token import GRACE_SECONDS, EventToken
from acd.ami.wire import ActionValue, Message


class Pbx:
    """Globals as Asterisk keeps them, over the two actions the token needs."""

    def __init__(self, **globals_: str) -> None:
        self.globals = dict(globals_)
        self.actions: list[str] = []

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:  # noqa: ASYNC109
        assert "Channel" not in action  # a global, not a channel's variable
        name = str(action["Variable"])
        self.actions.append(f"{action['Action']} {name}")
        if action["Action"] == "Setvar":
            self.globals[name] = str(action["Value"])
            return {"Response": "Success"}
        return {"Response": "Success", "Variable": name, "Value": self.globals.get(name, "")}

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        return self.send(action, timeout)

    async def send_list(
        self,
        action: Mapping[str, ActionValue],
        complete_event: str,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[Message]:
        raise AssertionError("not used")


async def test_the_token_is_set_and_the_previous_runs_accepted_for_the_grace_only() -> None:
    pbx = Pbx(ACD_TOKEN="old-run-token")
    token = EventToken()
    await AmiCallControl(pbx).set_token(token, now=1000.0)
    # with the token, the numbers transfers and callbacks may dial (none here: the dialplan refuses every one)
    assert pbx.actions == [
        "Getvar ACD_TOKEN",
        "Setvar ACD_TOKEN",
        "Setvar ACD_TRANSFER_NUMBERS",
        "Setvar ACD_CALLBACK_NUMBERS",
    ]
    assert pbx.globals["ACD_TRANSFER_NUMBERS"] == "" and pbx.globals["ACD_CALLBACK_NUMBERS"] == ""
    assert pbx.globals["ACD_TOKEN"] == token.current and len(token.current) == 32
    assert token.accepts(token.current, 1000.0) and token.accepts(token.current, 1e12)
    assert token.accepts("old-run-token", 1000.0 + GRACE_SECONDS - 1)
    assert not token.accepts("old-run-token", 1000.0 + GRACE_SECONDS)
    assert not token.accepts("", 1000.0) and not token.accepts("forged", 1000.0)


async def test_the_allowed_transfer_numbers_go_to_the_pbx_as_one_regular_expression() -> None:
    pbx = Pbx()
    control = AmiCallControl(pbx, transfer_numbers=("_1555NXXXXXX", "911"))
    await control.set_token(EventToken(), now=1000.0)
    assert pbx.globals["ACD_TRANSFER_NUMBERS"] == "^1555[2-9][0-9][0-9][0-9][0-9][0-9][0-9]$|^911$"


async def test_the_numbers_a_callback_may_be_keyed_to_go_to_the_pbx_as_one_regular_expression() -> None:
    pbx = Pbx()
    control = AmiCallControl(pbx, callback_numbers=("_65XXXXXXXX",))
    await control.set_token(EventToken(), now=1000.0)
    await control.keep_token(EventToken())
    assert pbx.globals["ACD_CALLBACK_NUMBERS"] == "^65[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$"
    assert pbx.globals["ACD_TRANSFER_NUMBERS"] == ""


async def test_a_fresh_pbx_has_no_previous_token_to_accept() -> None:
    pbx = Pbx()
    token = EventToken()
    await AmiCallControl(pbx).set_token(token, now=1000.0)
    assert not token.accepts("", 1000.0)
    assert EventToken().current != EventToken().current  # drawn afresh at each start


async def test_a_wiped_token_is_written_again_and_nothing_else_is_adopted() -> None:
    """A dialplan reload with clearglobalvars=yes empties ACD_TOKEN; the heartbeat's keep_token puts
    this run's back, without reading the PBX (an empty or foreign value is never adopted)."""
    pbx = Pbx(ACD_TOKEN="old-run-token")
    token, control = EventToken(), AmiCallControl(pbx)
    await control.set_token(token, now=1000.0)
    pbx.globals.clear()  # dialplan reload
    pbx.globals["ACD_TOKEN"] = "planted"
    pbx.actions.clear()
    await control.keep_token(token)
    assert pbx.actions == ["Setvar ACD_TOKEN", "Setvar ACD_TRANSFER_NUMBERS", "Setvar ACD_CALLBACK_NUMBERS"]
    assert pbx.globals["ACD_TOKEN"] == token.current
    assert not token.accepts("planted", 1000.0)
