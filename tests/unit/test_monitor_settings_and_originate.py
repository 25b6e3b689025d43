"""Supervisor monitoring's two guards on the ACD side: ``[[supervisors]]`` in acd.toml admits only
plain endpoint names and known queues, and the one Originate the ACD sends can only ever ring a
plain endpoint through ``Local/...@acd-monitor`` into ``acd-monitor``'s three mode extensions, with
``ACD_SPY`` an agent's PJSIP channel (docs/security.md, "Supervisor monitoring")."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.ami.originate import endpoint_channel, originate_action
from acd.dialling import NotDialable
from acd.settings import SettingsError, SupervisorPhone, load

BASE = """
skills = ["billing"]
[queues.billing]
skills = { billing = 2 }
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
"""


def test_supervisors_phones_load_with_their_queues(tmp_path: Path) -> None:
    path = tmp_path / "acd.toml"
    path.write_text(
        BASE + '[[supervisors]]\nendpoint = "PJSIP/supervisor1"\nqueues = ["billing"]\n'
        '[[supervisors]]\nendpoint = "supervisor2"\n'
    )
    settings = load(path, env={"ACD_AMI_ORIGINATE_SECRET": "x" * 20})
    assert settings.supervisors == (SupervisorPhone("supervisor1", ("billing",)), SupervisorPhone("supervisor2", ()))
    assert settings.ami.originate_user == "acd-monitor" and settings.ami.originate_secret == "x" * 20
    assert "x" * 20 not in repr(settings)
    phone = settings.supervisor_phone("supervisor2")
    assert phone is not None and phone.may_monitor("billing")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('endpoint = "sup&PJSIP/+1900@carrier"', "supervisors[0].endpoint"),
        ('endpoint = "listen"', "supervisors[0].endpoint"),
        ('endpoint = "sup1"\nqueues = ["nowhere"]', "no such queue"),
        ('endpoint = "sup1"\nphone = 1', "supervisors[0].phone"),
    ],
)
def test_bad_supervisors_are_named(tmp_path: Path, table: str, expected: str) -> None:
    path = tmp_path / "acd.toml"
    path.write_text(BASE + "[[supervisors]]\n" + table + "\n")
    with pytest.raises(SettingsError) as refused:
        load(path, env={})
    assert expected in str(refused.value)


def test_the_originate_has_one_shape() -> None:
    action = originate_action("supervisor1", "whisper", "PJSIP/agent1-0000002a", "id-1")
    assert action["Channel"] == "Local/supervisor1@acd-monitor"
    assert (action["Context"], action["Exten"], action["Priority"]) == ("acd-monitor", "whisper", "1")
    assert action["Variable"] == ["ACD_SPY=PJSIP/agent1-0000002a"]
    assert "Application" not in action and "Data" not in action


@pytest.mark.parametrize(
    ("supervisor", "mode", "spied"),
    [
        ("PJSIP/+19005550100@trunk", "listen", "PJSIP/agent1-0000002a"),
        ("sup1&PJSIP/agent2", "listen", "PJSIP/agent1-0000002a"),
        ("listen", "listen", "PJSIP/agent1-0000002a"),
        ("supervisor1", "spy", "PJSIP/agent1-0000002a"),
        ("supervisor1", "listen", "PJSIP/agent1"),
        ("supervisor1", "listen", "Local/x@acd-monitor-00000001;1"),
        ("supervisor1", "listen", "PJSIP/agent1-0000002a,r(/tmp/x)"),
    ],
)
def test_nothing_else_is_originated(supervisor: str, mode: str, spied: str) -> None:
    with pytest.raises(NotDialable):
        originate_action(supervisor, mode, spied, "id-1")


def test_a_channel_must_be_a_leg_of_the_endpoint() -> None:
    assert endpoint_channel("PJSIP/agent1-0000002a", "agent1") == "PJSIP/agent1-0000002a"
    for channel in ("PJSIP/agent10-0000002a", "PJSIP/agent1-0000002a;1", "PJSIP/trunk-00000001", ""):
        with pytest.raises(NotDialable):
            endpoint_channel(channel, "agent1")
