"""Ring a supervisor's phone into ``acd-monitor``: the one AMI ``Originate`` the ACD ever sends.

Asterisk lets any AMI user with write class ``originate`` start a call from any channel into any
context; it cannot narrow that per user. So the ACD's everyday user (``acd``) is not given the
class, and this module logs in as a second user (``acd-monitor`` by default, its own secret
``ACD_AMI_ORIGINATE_SECRET``) that holds ``write = originate`` and nothing else, for the moment of
one request: connect, Login, Originate, Logoff. The action it writes is always the same shape:

    Channel: Local/<supervisor endpoint>@acd-monitor     Context: acd-monitor
    Exten: listen|whisper|barge                          Variable: ACD_SPY=<agent's channel>

and every value is checked here before it is written (the dialplan checks them again:
docs/dialplan.md, "Supervisor monitoring"; why this is no door to toll fraud: docs/security.md).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Literal

from acd.ami.errors import AmiActionError
from acd.ami.wire import FrameDecoder, Message, encode_action
from acd.dialling import NotDialable, is_endpoint

CONTEXT = "acd-monitor"
MODES = ("listen", "whisper", "barge")
Mode = Literal["listen", "whisper", "barge"]
AGENT_CHANNEL = re.compile(r"PJSIP/([A-Za-z0-9][A-Za-z0-9_.-]{1,63})-[0-9a-f]{8}")
"""An agent's leg as chan_pjsip names it: ``PJSIP/<endpoint>-<8 hex digits>``."""
RING_SECONDS = 30


def endpoint_channel(channel: str, endpoint: str) -> str:
    """``channel`` if it is a leg of endpoint ``endpoint`` (an agent's, a supervisor's), else ``NotDialable``."""
    match = AGENT_CHANNEL.fullmatch(channel)
    if match is None or match.group(1) != endpoint:
        raise NotDialable(f"{channel[:80]!r} is not a channel of the agent endpoint {endpoint[:64]!r}")
    return channel


def originate_action(supervisor: str, mode: str, spied: str, action_id: str) -> dict[str, str | list[str]]:
    """The Originate that rings ``supervisor`` and, once answered, spies on ``spied`` in ``mode``."""
    if not is_endpoint(supervisor) or supervisor in (*MODES, "failed"):
        raise NotDialable(f"supervisor endpoint {supervisor[:80]!r} is not a PJSIP endpoint name")
    if mode not in MODES:
        raise NotDialable(f"monitor mode {mode[:20]!r} is not one of {', '.join(MODES)}")
    if AGENT_CHANNEL.fullmatch(spied) is None:
        raise NotDialable(f"{spied[:80]!r} is not an agent's PJSIP channel")
    return {
        "Action": "Originate",
        "ActionID": action_id,
        "Channel": f"Local/{supervisor}@{CONTEXT}",
        "Context": CONTEXT,
        "Exten": mode,
        "Priority": "1",
        "Timeout": str(RING_SECONDS * 1000),
        "CallerID": f'"ACD {mode}" <{mode}>',
        "Async": "true",
        "Variable": [f"ACD_SPY={spied}"],
    }


class Originator:
    """One short AMI session per Originate, as the originate-only user."""

    def __init__(self, host: str, port: int, user: str, secret: str, *, timeout: float = 5.0) -> None:
        self._host, self._port, self._user, self._secret = host, port, user, secret
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._count = 0
        # whether this process leads now (None: no lease, as in the tests): an Originate is never sent
        # without a live lease (docs/standby.md, "Fencing")
        self.may_act: Callable[[], bool] | None = None

    async def originate(self, supervisor: str, mode: str, spied: str) -> None:
        """Ring ``supervisor`` to spy on ``spied``; raises ``AmiActionError`` when Asterisk refuses."""
        self._count += 1
        await self.send(originate_action(supervisor, mode, spied, f"acd-monitor-{self._count}"))

    async def send(self, action: dict[str, str | list[str]]) -> None:
        """Send one Originate already checked by its maker (``originate_action``, and
        ``acd.ami.callback_ring.callback_action`` for callbacks)."""
        if not self._secret:
            raise AmiActionError("Originate", {"Message": "no ACD_AMI_ORIGINATE_SECRET: monitoring is off"})
        if self.may_act is not None and not self.may_act():
            raise AmiActionError("Originate", {"Message": "fenced: this process no longer leads"})
        async with self._lock:
            await asyncio.wait_for(self._session(action), self._timeout)

    async def _session(self, action: dict[str, str | list[str]]) -> None:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        decoder = FrameDecoder()
        try:

            async def reply(action_id: str) -> Message:
                while True:
                    data = await reader.read(4096)
                    if not data:
                        raise AmiActionError("Originate", {"Message": "the PBX closed the connection"})
                    for msg in decoder.feed(data):
                        if msg.get("ActionID") == action_id:
                            return msg

            login = {
                "Action": "Login",
                "ActionID": "login",
                "Username": self._user,
                "Secret": self._secret,
                "Events": "off",
            }
            writer.write(encode_action(login))
            answer = await reply("login")
            if answer.get("Response") != "Success":
                raise AmiActionError("Login", answer)
            writer.write(encode_action(action))
            answer = await reply(str(action["ActionID"]))
            if answer.get("Response") != "Success":
                raise AmiActionError("Originate", answer)
            writer.write(encode_action({"Action": "Logoff", "ActionID": "logoff"}))
            await writer.drain()
        finally:
            writer.close()
