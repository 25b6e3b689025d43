"""A closed queue's overflow: call control sets ``ACD_CLOSED_PROMPT`` before the Redirect, and sends
nothing when the announcement is not plain sound names (docs/dialplan.md, "Closed queues")."""

from __future__ import annotations

import pytest
from test_ami_call_control import Link, control_with_caller

from acd.core.commands import OverflowCall
from acd.ports import NotCarriedOut


async def test_the_announcement_goes_before_the_redirect() -> None:
    link = Link()
    control = control_with_caller(link)
    await control.send(OverflowCall("c1", "fallback", "closed", "im-sorry&hours"))
    assert [(a["Action"], a.get("Variable"), a.get("Value"), a.get("Exten")) for a in link.sent] == [
        ("Setvar", "ACD_CLOSED_PROMPT", "im-sorry&hours", None),
        ("Redirect", None, None, "fallback"),
    ]
    await control.send(OverflowCall("c1", "voicemail"))  # no announcement: the Redirect only
    assert [a["Action"] for a in link.sent[2:]] == ["Redirect"]
    control.link_down()


@pytest.mark.parametrize("sounds", ["../../etc/passwd", "im-sorry,1", "a&b&c&d&e", "/tmp/x", "im sorry"])
async def test_an_announcement_that_is_not_sound_names_sends_nothing(sounds: str) -> None:
    link = Link()
    control = control_with_caller(link)
    with pytest.raises(NotCarriedOut):
        await control.send(OverflowCall("c1", "voicemail", "closed", sounds))
    assert link.sent == []
    control.link_down()
