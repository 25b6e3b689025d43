"""``AcdMonitor`` from a supervisor's phone (``*56/*57/*58<n>``): believed only when raised on that
phone's own channel, from a configured supervisor's phone, naming exactly one agent; then it becomes
``MonitorRequested`` with the phone's queues and its waiting channel (docs/dialplan.md)."""

from __future__ import annotations

from acd.ami.translate import Translator
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import MonitorRequested

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 5),)),
        AgentConfig("a11", "agent11", (("billing", 5),)),
        AgentConfig("b1", "desk1", (("billing", 5),)),
        AgentConfig("c2", "team2-2", (("billing", 5),)),
    ),
)


def ask(number: str, supervisor: str = "supervisor1", channel: str = "PJSIP/supervisor1-0000000c") -> list[object]:
    t = Translator(CONFIG, supervisors={"supervisor1": ("billing",), "boss": None})
    msg = {
        "Event": "UserEvent",
        "UserEvent": "AcdMonitor",
        "Channel": channel,
        "Uniqueid": "1700001000.12",
        "AcdMode": "whisper",
        "AcdAgentNumber": number,
        "AcdSupervisor": supervisor,
    }
    return list(t.translate(msg))


def test_a_supervisors_phone_asks_for_agent_11() -> None:
    assert ask("11") == [
        MonitorRequested(
            "supervisor1",
            "whisper",
            agent_id="a11",
            queues=("billing",),
            supervisor_channel="PJSIP/supervisor1-0000000c",
        )
    ]


def test_what_is_not_believed() -> None:
    assert ask("1") == []  # agent1 and desk1 both end in 1: ambiguous
    assert [e.agent_id for e in ask("2") if isinstance(e, MonitorRequested)] == ["c2"]  # team2-2, not agent1x
    assert ask("7") == []  # nobody
    assert ask("11", channel="PJSIP/supervisor2-0000000c") == []  # raised on another phone
    assert ask("11", supervisor="agent1", channel="PJSIP/agent1-0000000c") == []  # not a supervisor's phone
    assert ask("11", channel="Local/supervisor1@acd-monitor-00000001;1") == []
