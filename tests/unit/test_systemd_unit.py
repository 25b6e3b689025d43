"""deploy/systemd/acd.service runs the ACD in a sandbox: no capability, a read-only system, one
writable folder that holds everything the shipped config writes, and only the sockets it needs.
deploy/systemd/acd@.service, the template for one member of a hot-standby pair (docs/operations.md),
runs the same ACD in the same sandbox, named after its instance, and is started again after a handover.

The unit file is parsed as systemd reads it (a key may repeat; an empty value resets the list).
tests/integration/test_systemd_unit_security.py has systemd's own verdict on it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from acd.settings import load

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "systemd" / "acd.service"
PAIR_UNIT = REPO / "deploy" / "systemd" / "acd@.service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> the values in order (comments and blank lines dropped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a setting outside any section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service() -> dict[str, list[str]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))["Service"]


def last(key: str) -> str:
    values = service().get(key)
    assert values, f"{key}= is not set in {UNIT.name}"
    return values[-1]


def test_the_sandbox_directives_are_set() -> None:
    expected = {
        "UMask": "0077",
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "PrivateDevices": "true",
        "ProtectKernelTunables": "true",
        "ProtectKernelModules": "true",
        "ProtectKernelLogs": "true",
        "ProtectControlGroups": "true",
        "RestrictNamespaces": "true",
        "RestrictSUIDSGID": "true",
        "LockPersonality": "true",
        "MemoryDenyWriteExecute": "true",
        "SystemCallArchitectures": "native",
    }
    assert {key: last(key) for key in expected} == expected


def test_no_capability_is_held_or_gained() -> None:
    assert last("CapabilityBoundingSet") == ""
    assert service().get("AmbientCapabilities", [""])[-1] == ""
    assert last("User") != "root"


def test_only_internet_and_unix_sockets() -> None:
    assert sorted(last("RestrictAddressFamilies").split()) == ["AF_INET", "AF_INET6", "AF_UNIX"]


def test_system_calls_are_those_of_an_ordinary_service() -> None:
    filters = service()["SystemCallFilter"]
    assert "" not in filters  # an empty value would reset the list
    assert filters[0] == "@system-service"
    denied = [f for f in filters[1:] if f.startswith("~")]
    assert any("@privileged" in f for f in denied)


def test_everything_the_shipped_config_writes_is_in_the_one_writable_folder() -> None:
    assert last("StateDirectory") == "acd"
    assert last("StateDirectoryMode") == "0700"
    state = PurePosixPath("/var/lib/acd")
    writable = [state, *(PurePosixPath(p.lstrip("-")) for p in service().get("ReadWritePaths", []))]
    workdir = PurePosixPath(last("WorkingDirectory"))
    database = load(REPO / "acd.toml", env={}).database
    for folder in (database.data_dir, database.journal_dir):
        where = workdir / str(folder)
        assert any(where.is_relative_to(w) for w in writable), f"{where} is not writable under the unit"


def test_a_member_of_a_pair_runs_the_same_acd_in_the_same_sandbox_named_after_its_instance() -> None:
    single = parse_unit(UNIT.read_text(encoding="utf-8"))
    pair = parse_unit(PAIR_UNIT.read_text(encoding="utf-8"))
    (start,) = pair["Service"]["ExecStart"]
    assert start == single["Service"]["ExecStart"][0] + " --instance %i"  # its name in the lease
    differ = {"ExecStart", "Description"}
    assert {k: v for k, v in pair["Service"].items() if k not in differ} == {
        k: v for k, v in single["Service"].items() if k not in differ
    }
    assert pair["Install"] == single["Install"] and pair["Unit"]["After"] == single["Unit"]["After"]


def test_a_member_that_handed_over_is_started_again_as_the_standby() -> None:
    """A handover (SIGUSR1, ``acd handover``) ends the leader with exit 0: only Restart=always starts it again."""
    pair = parse_unit(PAIR_UNIT.read_text(encoding="utf-8"))["Service"]
    assert pair["Restart"][-1] == "always"
    assert "SIGUSR1" not in pair.get("KillSignal", [""])[-1]  # a stop is a stop, not a handover


def test_a_member_refused_for_a_schema_newer_than_its_code_is_not_restarted_in_a_loop() -> None:
    """Exit 78 (``acd.service.SCHEMA_TOO_NEW``): the database was migrated by a newer ACD; only installing it helps."""
    from acd.service import SCHEMA_TOO_NEW

    for unit in (UNIT, PAIR_UNIT):
        service = parse_unit(unit.read_text(encoding="utf-8"))["Service"]
        assert service["RestartPreventExitStatus"][-1] == str(SCHEMA_TOO_NEW), unit.name
