"""The demo traffic logs in the phones of the configured agents only: no login the ACD must drop."""

from __future__ import annotations

from pathlib import Path

from acd.core.config import AgentConfig
from acd.settings import load
from phonefarm.demo import demo_phones

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_config_logs_in_its_six_agents_of_the_twenty_farm_phones() -> None:
    agents = load(REPO / "acd.toml", env={}).routing.agents
    phones, missing = demo_phones(agents, 20)
    assert phones == [a.endpoint for a in agents] == [f"agent{i}" for i in range(1, 7)]
    assert missing == []


def test_an_endpoint_with_its_technology_is_the_same_phone() -> None:
    agents = [
        AgentConfig("a", "PJSIP/agent2", ()),
        AgentConfig("b", "agent3", ()),
        AgentConfig("c", "pjsip/agent4", ()),
    ]
    assert demo_phones(agents, 20) == (["agent2", "agent3", "agent4"], [])


def test_endpoints_the_farm_has_no_phone_for_are_named() -> None:
    agents = [
        AgentConfig("a", "agent5", ()),
        AgentConfig("b", "agent21", ()),
        AgentConfig("c", "SIP/agent1", ()),
        AgentConfig("d", "desk-7", ()),
    ]
    assert demo_phones(agents, 20) == (["agent5"], ["agent21", "SIP/agent1", "desk-7"])
