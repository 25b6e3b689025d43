"""Drive the phone farm (the second Asterisk of deploy/farm) over its AMI.

The farm plays the ACD's outside world for the e2e tests and the ``make run`` demo: callers dial the
PBX's numbers over the trunk, and the agents' SIP phones ring, answer, talk or refuse as told. All of
it is steered with plain AMI: ``Setvar`` of per-agent globals and ``Originate``. Every step on the farm
raises a ``Farm*`` UserEvent (see deploy/farm/extensions.conf), which ``wait_user_event`` watches:

    FarmAgentRinging / FarmAgentAnswered / FarmAgentHangup   FarmAgent, FarmCaller[, FarmMode, FarmCause]
    FarmCallerAnswered / FarmCallerTalking / FarmCallerAbandon / FarmCallerHangup   FarmCallId, FarmCaller
    (a caller placed with ``tone_hz`` plays that tone while talking: deploy/farm's farm-caller-tone)
    FarmAgentDialed                                         FarmAgent, FarmCode
    FarmAgentRecording                                      FarmAgent, FarmRecording
    FarmCallerRecording (a caller placed with ``record_seconds``) FarmCallId, FarmRecording
    FarmSupervisorRinging / FarmSupervisorAnswered / FarmSupervisorRecorded   FarmSupervisor[, FarmRecording]
    FarmOutsideRinging / FarmOutsideAnswered / FarmOutsideRecorded   FarmNumber[, FarmCaller, FarmRecording]
    (an outside line a transfer dialled: the PBX's trunk reaches the farm for 1555NXXXXXX)
    FarmOriginate (synthetic, from OriginateResponse)        FarmCallId, FarmResponse, FarmReason
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import uuid
from typing import Literal

from phonefarm.ami import AmiClient, AmiError, AmiEvent

log = logging.getLogger(__name__)

AgentMode = Literal["answer", "reject", "noanswer"]
_AGENT = re.compile(r"^agent[0-9]+$")
_SUPERVISOR = re.compile(r"^supervisor[0-9]+$")
_DIAL = re.compile(r"^[0-9*#]+$")
_DTMF = re.compile(r"[0-9*#wW]{1,32}")  # SendDTMF: digits, w (0.5 s) and W (1 s) pauses


def _agent_prefix(agent: str) -> str:
    if not _AGENT.match(agent):
        raise ValueError(f"agent must look like agentN, not {agent!r}")
    return agent.upper()


class Farm:
    """The phone farm's controller. ``await farm.connect()`` first; ``farm.close()`` at the end."""

    _numbers = itertools.count(1)

    def __init__(
        self, host: str = "127.0.0.1", port: int = 5039, user: str = "farm", secret: str = "", *, trunk: str = "acd"
    ) -> None:
        self.ami = AmiClient(host, port, user, secret, name="farm")
        self.trunk = trunk
        self._tasks: set[asyncio.Task[None]] = set()
        self._run = uuid.uuid4().int % 10000

    async def connect(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self.ami.connect(timeout)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.ami.close()

    async def set_agent(
        self,
        agent: str,
        mode: AgentMode = "answer",
        delay: float = 1.0,
        talk: float = 10.0,
        record: bool = False,
        tone: int | None = None,
    ) -> None:
        """How agent's phone treats the next calls: answer after ``delay`` s and talk ``talk`` s,
        reject (busy), or ring without answering. With ``record`` the phone records what the agent
        hears while talking (``FarmAgentRecording``: a WAV under /var/spool/asterisk-farm/supervisor);
        with ``tone`` (Hz) it plays that tone while talking, heard only when it does not record (a
        phone that records sends silence: the farm's ``transmit_silence``)."""
        if mode not in ("answer", "reject", "noanswer"):
            raise ValueError(f"mode must be answer, reject or noanswer, not {mode!r}")
        if tone is not None and not 20 <= tone <= 4000:
            raise ValueError(f"tone must be 20..4000 Hz, not {tone!r}")
        prefix = _agent_prefix(agent)
        settings = (
            ("MODE", mode),
            ("DELAY", f"{delay:g}"),
            ("TALK", f"{talk:g}"),
            ("RECORD", "1" if record else ""),
            ("TONE", "" if tone is None else str(int(tone))),
        )
        for name, value in settings:
            await self.ami.action({"Action": "Setvar", "Variable": f"{prefix}_{name}", "Value": value})

    async def set_agent_dtmf(self, agent: str, digits: str = "", after: float = 1.0) -> None:
        """agent's phone sends ``digits`` (DTMF, RFC 4733) ``after`` seconds into each answered call
        (a feature code such as ``#1WW300``: blind transfer to 300); empty: none."""
        prefix = _agent_prefix(agent)
        if digits and not _DTMF.fullmatch(digits):
            raise ValueError(f"bad DTMF {digits!r}")
        for name, value in (("DTMF", digits), ("DTMF_AFTER", f"{after:g}")):
            await self.ami.action({"Action": "Setvar", "Variable": f"{prefix}_{name}", "Value": value})

    async def caller_speaks(self, number: str, tone_hz: int) -> None:
        """The holding caller with ``number`` says something now: plays ``tone_hz`` for 2 s, once
        (``FarmCallerSpeaking``; deploy/farm's farm-caller-speak), e.g. their name when asked for it."""
        if not number.isdigit() or not 20 <= tone_hz <= 4000:
            raise ValueError(f"bad caller {number!r} or tone {tone_hz!r}")
        await self.ami.action({"Action": "Setvar", "Variable": f"FARM_SPEAK_{number}", "Value": str(tone_hz)})

    async def set_supervisor(
        self, supervisor: str, delay: float = 1.0, record: float = 6.0, tone: int | None = None, speak: bool = False
    ) -> None:
        """How a supervisor's phone treats the next calls: answer after ``delay`` s, then record what
        it hears for ``record`` s (``FarmRecording`` of ``FarmSupervisorAnswered``: a WAV under the
        farm's /var/spool/asterisk-farm/supervisor). With ``speak`` it plays ``tone`` (Hz) for those
        seconds instead and records nothing: a phone that records sends silence (the farm's
        ``transmit_silence``), so a tone is heard only from a phone that does not record."""
        if not _SUPERVISOR.match(supervisor):
            raise ValueError(f"supervisor must look like supervisorN, not {supervisor!r}")
        prefix = supervisor.upper()
        values = (
            ("DELAY", f"{delay:g}"),
            ("RECORD", f"{record:g}"),
            ("TONE", "" if tone is None else str(int(tone))),
            ("SPEAK", "1" if speak else ""),
        )
        for name, value in values:
            await self.ami.action({"Action": "Setvar", "Variable": f"{prefix}_{name}", "Value": value})

    async def supervisor_dial(self, supervisor: str, code: str) -> str:
        """supervisor's phone dials ``code`` (a feature code such as ``*561``) to the PBX."""
        if not _SUPERVISOR.match(supervisor) or not _DIAL.match(code):
            raise ValueError(f"bad supervisor or code: {supervisor!r} {code!r}")
        call_id = uuid.uuid4().hex[:12]
        self._originate(
            call_id,
            {
                "Channel": f"PJSIP/{code}@{supervisor}",
                "Context": "farm-agent-dial",
                "Exten": "s",
                "Priority": "1",
                "CallerID": f"<{supervisor}>",
                "Timeout": "15000",
            },
            [f"FARM_CALL_ID={call_id}", f"FARM_AGENT={supervisor}", f"FARM_CODE={code}"],
        )
        return call_id

    def _caller_number(self) -> str:
        # unique per call of this run: the farm's agent side links the call to its caller by number
        return f"7{self._run:04d}{next(self._numbers) % 100000:05d}"

    async def place_call(
        self,
        did: str,
        patience_seconds: float,
        dtmf: str | None = None,
        caller_id: str | None = None,
        tone_hz: int | None = None,
        record_seconds: int | None = None,
    ) -> str:
        """Call ``did`` over the trunk; send ``dtmf`` once answered; hang up after ``patience_seconds``
        unless a farm agent answered; with ``tone_hz``, play that steady tone to the agent while they
        talk; with ``record_seconds``, record what the caller hears for that long once talking
        (``FarmCallerRecording``), sending silence meanwhile instead of the tone (``transmit_silence``).
        Returns the call's id (``FarmCallId`` in the farm's events)."""
        if not _DIAL.match(did) or (dtmf and not _DIAL.match(dtmf)):
            raise ValueError(f"bad number or DTMF: {did!r} {dtmf!r}")
        if tone_hz is not None and not 20 <= tone_hz <= 4000:
            raise ValueError(f"tone must be 20..4000 Hz, not {tone_hz!r}")
        if record_seconds is not None and not 1 <= record_seconds <= 600:
            raise ValueError(f"record_seconds must be 1..600, not {record_seconds!r}")
        call_id = uuid.uuid4().hex[:12]
        number = caller_id or self._caller_number()
        variables = [
            f"FARM_CALL_ID={call_id}",
            f"FARM_PATIENCE={max(1, round(patience_seconds))}",
            f"FARM_DTMF={dtmf or ''}",
            f"FARM_TONE={tone_hz or ''}",
            f"FARM_RECORD={record_seconds or ''}",
        ]
        self._originate(
            call_id,
            {
                "Channel": f"PJSIP/{did}@{self.trunk}",
                "Context": "farm-caller",
                "Exten": "s",
                "Priority": "1",
                "CallerID": f'"Farm {call_id[:6]}" <{number}>',
                "Timeout": "30000",
            },
            variables,
        )
        return call_id

    async def agent_dial(self, agent: str, code: str) -> str:
        """agent's phone dials ``code`` (a feature code such as ``*50`` or ``*521``) to the PBX."""
        _agent_prefix(agent)
        if not _DIAL.match(code):
            raise ValueError(f"bad code {code!r}")
        call_id = uuid.uuid4().hex[:12]
        self._originate(
            call_id,
            {
                "Channel": f"PJSIP/{code}@{agent}",
                "Context": "farm-agent-dial",
                "Exten": "s",
                "Priority": "1",
                "CallerID": f"<{agent}>",
                "Timeout": "15000",
            },
            [f"FARM_CALL_ID={call_id}", f"FARM_AGENT={agent}", f"FARM_CODE={code}"],
        )
        return call_id

    async def send_dtmf(self, channel: str, digits: str) -> None:
        """Send ``digits`` (RFC 4733) on a farm channel, e.g. an agent's phone during a call
        (``Channel`` of its ``FarmAgentAnswered``): how a person presses a feature code mid-call."""
        if not _DIAL.match(digits):
            raise ValueError(f"bad DTMF {digits!r}")
        for digit in digits:
            # Async: false, or the AMI client takes the reply ("DTMF successfully queued") for an
            # Originate's and looks for the Async header the action lacks
            await self.ami.action(
                {"Action": "PlayDTMF", "Channel": channel, "Digit": digit, "Duration": "150", "Async": "false"}
            )
            await asyncio.sleep(0.25)

    def _originate(self, call_id: str, headers: dict[str, str], variables: list[str]) -> None:
        """Send an Originate (always Async) and report its result as a FarmOriginate event later."""

        async def run() -> None:
            response, reason = "Failure", ""
            try:
                replies = await self.ami.action(
                    {"Action": "Originate", "ActionID": f"farm-orig-{call_id}", "Variable": variables, **headers},
                    timeout=60.0,
                )
                final = replies[-1]
                response, reason = final.get("Response", "Failure"), final.get("Reason", "")
            except AmiError as exc:
                reason = str(exc)
            if response != "Success":
                log.warning("farm: originate %s on %s failed: %s", call_id, headers["Channel"], reason)
            self.ami.record(
                {
                    "Event": "UserEvent",
                    "UserEvent": "FarmOriginate",
                    "FarmCallId": call_id,
                    "FarmResponse": response,
                    "FarmReason": reason,
                }
            )

        task = asyncio.get_running_loop().create_task(run(), name=f"farm-originate-{call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def hangup_all(self) -> None:
        """Hang up every channel on the farm (callers and agents' phones)."""
        try:
            await self.ami.action({"Action": "Hangup", "Channel": "/.*/"})
        except AmiError as exc:
            if "no such channel" not in str(exc).lower():
                raise

    def mark(self) -> int:
        return self.ami.mark()

    async def wait_user_event(
        self,
        kind: str,
        timeout: float = 10.0,  # noqa: ASYNC109
        since: int = 0,
        **headers: str,
    ) -> AmiEvent:
        """Wait for ``UserEvent: kind`` whose headers equal ``headers`` (e.g. FarmAgent="agent1")."""

        def match(event: AmiEvent) -> bool:
            return (
                event.get("Event") == "UserEvent"
                and event.get("UserEvent") == kind
                and all(event.get(k) == v for k, v in headers.items())
            )

        return await self.ami.wait_event(match, timeout, since)
