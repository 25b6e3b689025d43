"""acd.toml's ``[kamailio]``: absent, the feature is off; present, its control socket is a unix socket's
absolute path and its interval bounded; every mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.settings import KAMAILIO_CONTROL, KamailioSettings, SettingsError, load

ROUTING = """
[queues.billing]
skills = { billing = 2 }
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
"""
ENV = {"ACD_AMI_SECRET": "s"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acd.toml"
    path.write_text('skills = ["billing"]\n' + ROUTING + text)  # the table last: its keys stay its own
    return path


def test_absent_is_off(tmp_path: Path) -> None:
    assert load(write(tmp_path, ""), env=ENV).kamailio is None


def test_an_empty_table_takes_the_defaults(tmp_path: Path) -> None:
    settings = load(write(tmp_path, "[kamailio]\n"), env=ENV)
    assert settings.kamailio == KamailioSettings(KAMAILIO_CONTROL, 2.0)


def test_a_table_with_its_values(tmp_path: Path) -> None:
    text = '[kamailio]\ncontrol = "/var/run/kamailio/rpc.sock"\ninterval = 0.5\n'
    assert load(write(tmp_path, text), env=ENV).kamailio == KamailioSettings("/var/run/kamailio/rpc.sock", 0.5)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('control = "127.0.0.1:5081"', "kamailio.control"),  # a network address: never
        ('control = "udp:10.0.0.5:8090"', "kamailio.control"),
        ('control = "kamailio_rpc.sock"', "kamailio.control"),  # relative
        (f'control = "/{"x" * 120}"', "kamailio.control"),  # longer than a unix socket's path
        ('control = ""', "kamailio.control"),
        ("control = 5", "kamailio.control"),
        ("interval = 0.1", "kamailio.interval"),
        ("interval = 600", "kamailio.interval"),
        ('interval = "2"', "kamailio.interval"),
        ('host = "127.0.0.1"', "kamailio.host"),
    ],
)
def test_mistakes_are_reported(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(SettingsError) as found:
        load(write(tmp_path, f"[kamailio]\n{text}\n"), env=ENV)
    assert key in str(found.value)


def test_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="kamailio"):
        (tmp_path / "acd.toml").write_text('kamailio = "on"\nskills = ["billing"]\n' + ROUTING)
        load(tmp_path / "acd.toml", env=ENV)
