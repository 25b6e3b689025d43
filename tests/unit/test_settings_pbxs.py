"""acd.toml's PBXs: ``[ami]`` alone is one PBX named "pbx"; ``[[pbx]]`` tables name several, each checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.settings import SettingsError, load

SKILLS = 'skills = ["billing"]\n'
ROUTING = """
[queues.billing]
skills = { billing = 2 }
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
"""  # after the text: its top-level keys and tables come before these tables

TWO = """
[ami]
ping_interval = 1.5
[[pbx]]
name = "pbx1"
host = "10.0.0.11"
[[pbx]]
name = "pbx2"
host = "10.0.0.12"
port = 5039
user = "acd2"
secret_env = "ACD_AMI_SECRET_PBX2"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acd.toml"
    path.write_text(SKILLS + text + ROUTING)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load(write(tmp_path, text), env={})
    return [str(p) for p in info.value.problems]


def test_ami_alone_is_one_pbx_named_pbx(tmp_path: Path) -> None:
    settings = load(write(tmp_path, '[ami]\nhost = "10.0.0.5"\nport = 5040\n'), env={"ACD_AMI_SECRET": "s"})
    (pbx,) = settings.all_pbxs()
    assert (pbx.name, pbx.host, pbx.port, pbx.user, pbx.secret) == ("pbx", "10.0.0.5", 5040, "acd", "s")
    assert settings.pbxs == () and settings.ami.host == "10.0.0.5"


def test_pbx_tables_are_the_pbxs_in_order_and_the_first_is_ami(tmp_path: Path) -> None:
    env = {"ACD_AMI_SECRET": "one", "ACD_AMI_SECRET_PBX2": "two"}
    settings = load(write(tmp_path, TWO), env=env)
    first, second = settings.all_pbxs()
    assert (first.name, first.host, first.port, first.user, first.secret) == ("pbx1", "10.0.0.11", 5038, "acd", "one")
    assert (second.name, second.host, second.port, second.user) == ("pbx2", "10.0.0.12", 5039, "acd2")
    assert second.secret == "two" and "two" not in repr(second)
    # the code that knows one PBX talks to the first; the shared timings stay [ami]'s
    assert (settings.ami.host, settings.ami.port, settings.ami.secret) == ("10.0.0.11", 5038, "one")
    assert settings.ami.ping_interval == 1.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[pbx]]\nname = "PBX1"\n', "pbx[0].name: 'PBX1' must be 1 to 32 lowercase letters"),
        ('[[pbx]]\nname = "pbx one"\n', "pbx[0].name:"),
        ('[[pbx]]\nname = "1pbx"\n', "pbx[0].name:"),
        ('[[pbx]]\nname = "pbx;Set(x)"\n', "pbx[0].name:"),
        ('[[pbx]]\nname = "a123456789012345678901234567890123"\n', "pbx[0].name:"),
        ('[[pbx]]\nhost = "h"\n', "pbx[0].name: None must be"),
        (
            '[[pbx]]\nname = "a"\nhost = "h1"\n[[pbx]]\nname = "a"\nhost = "h2"\n',
            "pbx[1].name: PBX 'a' is already pbx[0]",
        ),
        (
            '[[pbx]]\nname = "a"\nhost = "h1"\n[[pbx]]\nname = "b"\nhost = "h1"\n',
            "pbx[1].host: h1:5038 is already the address of PBX 'a'",
        ),
        ('[[pbx]]\nname = "a"\nhost = "h;x"\n', "pbx[0].host:"),
        ('[[pbx]]\nname = "a"\nport = 0\n', "pbx[0].port: must be at least 1"),
        ('[[pbx]]\nname = "a"\nsecret = "pw"\n', "pbx[0].secret: secrets do not belong in the file"),
        ('[[pbx]]\nname = "a"\nsecret_env = "PATH"\n', "pbx[0].secret_env:"),
        ('[[pbx]]\nname = "a"\nping_interval = 1\n', "pbx[0].ping_interval: unknown key"),
        ('[ami]\nhost = "h"\n[[pbx]]\nname = "a"\n', "ami.host: with [[pbx]] tables each PBX says its own"),
        ("pbx = 3\n", "pbx: must be an array of tables"),
        ("pbx = []\n", "pbx: must be an array of tables"),
    ],
)
def test_bad_pbxs_are_explained(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_every_pbx_mistake_at_once(tmp_path: Path) -> None:
    text = '[[pbx]]\nname = "A"\n[[pbx]]\nname = "b"\nport = 70000\n'
    found = problems(tmp_path, text)
    assert any("pbx[0].name" in p for p in found) and any("pbx[1].port" in p for p in found)


def test_a_pbx_is_lost_after_its_link_stays_down_lost_after_past_the_heartbeat_fallback(tmp_path: Path) -> None:
    env = {"ACD_AMI_SECRET": "one", "ACD_AMI_SECRET_PBX2": "two"}
    assert load(write(tmp_path, TWO), env=env).ami.lost_after == 30.0
    longer = TWO.replace("ping_interval = 1.5", "ping_interval = 1.5\nlost_after = 45")
    assert load(write(tmp_path, longer), env=env).ami.lost_after == 45.0
    # within the dialplan's 15 s heartbeat fallback a link that only broke would lose callers who hold
    for value in ("15", "5", "-1", '"30"'):
        shorter = TWO.replace("ping_interval = 1.5", f"ping_interval = 1.5\nlost_after = {value}")
        found = problems(tmp_path, shorter)
        assert any("ami.lost_after: must be" in p for p in found), (value, found)


def test_claims_are_refused_with_several_pbxs_and_kept_with_one(tmp_path: Path) -> None:
    found = problems(tmp_path, "[routing]\nclaim_on_pbx = true\n" + TWO)
    assert any("routing.claim_on_pbx: claims work on one PBX" in p for p in found), found
    one = load(write(tmp_path, "[routing]\nclaim_on_pbx = true\n"), env={"ACD_AMI_SECRET": "s"})
    assert one.routing.policy.claim_on_pbx
