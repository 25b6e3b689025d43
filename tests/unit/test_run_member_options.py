"""``acd run --instance NAME --http-port N``: two members of a pair from one config file (docs/operations.md;
deploy/compose runs acd-a and acd-b so, deploy/systemd/acd@.service passes its instance)."""

from __future__ import annotations

from pathlib import Path

import pytest

import acd.service
from acd.cli import main
from acd.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def started_with(monkeypatch: pytest.MonkeyPatch, *argv: str) -> Settings:
    seen: list[Settings] = []

    def serve(settings: Settings) -> int:
        seen.append(settings)
        return 0

    monkeypatch.setattr(acd.service, "serve", serve)
    monkeypatch.setenv("ACD_AMI_SECRET", "secret")
    assert main(["run", "-c", str(REPO / "acd.toml"), *argv]) == 0
    (settings,) = seen
    return settings


def test_the_member_name_and_http_port_override_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = started_with(monkeypatch, "--instance", "acd-b", "--http-port", "8081")
    assert (settings.cluster.instance, settings.http.port) == ("acd-b", 8081)


def test_without_them_the_file_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = started_with(monkeypatch)
    named = started_with(monkeypatch, "--instance", "acd-a")
    assert (named.cluster.instance, named.http.port) == ("acd-a", plain.http.port)
    assert plain.cluster.instance == "" and plain.http.port == 8080
