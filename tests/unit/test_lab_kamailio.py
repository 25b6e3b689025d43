"""``make run ACD_PBXS=2``'s pieces that need no PBX (phonefarm/kamailio.py, deploy/local/run.sh): the
shipped acd.toml turned into a config for both PBXs and Kamailio, which the ACD accepts, and an
ACD_PBXS the script does not know refused before anything starts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from acd.settings import load
from phonefarm.kamailio import farm_registrations, two_pbx_config

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_config_becomes_two_pbxs_behind_kamailio(tmp_path: Path) -> None:
    text = two_pbx_config((REPO / "acd.toml").read_text(), Path("/var/lib/acd/kamailio/rpc.sock"))
    path = tmp_path / "acd.toml"
    path.write_text(text)
    settings = load(path)
    assert [(p.name, p.host, p.port) for p in settings.all_pbxs()] == [
        ("pbx", "127.0.0.1", 5038),
        ("pbx2", "127.0.0.1", 5040),
    ]
    assert settings.kamailio is not None
    assert settings.kamailio.control == "/var/lib/acd/kamailio/rpc.sock"
    assert settings.routing == load(REPO / "acd.toml").routing  # the floor itself unchanged


@pytest.mark.parametrize("table", ['[[pbx]]\nname = "a"\n', '[kamailio]\ncontrol = "/run/k.sock"\n'])
def test_a_config_that_lists_pbxs_or_kamailio_already_is_refused(table: str) -> None:
    with pytest.raises(ValueError, match="writes \\[\\[pbx\\]\\] and \\[kamailio\\] itself"):
        two_pbx_config('[ami]\nhost = "127.0.0.1"\n\n' + table, Path("/run/k.sock"))


def test_the_farm_registers_each_agent_with_kamailio() -> None:
    text = farm_registrations(["agent1", "agent6"])
    assert "[agent1-kam]" in text
    assert "[agent6-kam]" in text
    assert "client_uri = sip:agent6@127.0.0.1:5080" in text


@pytest.mark.parametrize("value", ["3", "0", "two", "1 2"])
def test_run_refuses_an_unknown_number_of_pbxs(value: str, tmp_path: Path) -> None:
    env = {**os.environ, "ACD_PBXS": value, "ACD_STATE_DIR": str(tmp_path), "PY": "/bin/false"}
    done = subprocess.run(
        ["bash", str(REPO / "deploy" / "local" / "run.sh")], env=env, capture_output=True, text=True, timeout=10
    )
    assert done.returncode == 2
    assert "ACD_PBXS must be 1 (one PBX) or 2 (two PBXs behind Kamailio)" in done.stderr
    assert "stopping" not in done.stdout  # nothing was started, so nothing is stopped
    assert list(tmp_path.iterdir()) == []
