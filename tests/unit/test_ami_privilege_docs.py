"""Every place that tells an operator what the ACD's AMI user may do says what the shipped PBX grants:
the least the ACD needs, never write ``system`` (docs/dialplan.md, "Ports")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANAGER = ROOT / "dialplan" / "pbx" / "manager.conf.in"
TELLING = ["README.md", "acd.toml", "docs/dialplan.md"]


def granted(key: str) -> str:
    """``read``/``write`` of the ``[acd]`` user in the shipped manager.conf."""
    section = MANAGER.read_text().split("[acd]", 1)[1]
    found = re.search(rf"^{key}\s*=\s*(\S+)$", section, re.MULTILINE)
    assert found, f"{key} missing from [acd] in {MANAGER}"
    return found.group(1)


def test_the_shipped_user_has_no_system_write() -> None:
    assert "system" not in granted("write").split(",")


@pytest.mark.parametrize("name", TELLING)
def test_each_place_grants_what_the_shipped_user_has(name: str) -> None:
    text = (ROOT / name).read_text()
    assert granted("read") in text, f"{name} does not say read {granted('read')}"
    assert granted("write") in text, f"{name} does not say write {granted('write')}"
    grants = re.findall(r"write\s*(?:=\s*|`)([a-z]+(?:,[a-z]+)+)", text)
    assert grants and all(g == granted("write") for g in grants), f"{name} grants write {grants}"
