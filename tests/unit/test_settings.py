"""acd.toml: a good file loads; every kind of mistake is reported as file: key: reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from acd.settings import SettingsError, load

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
skills = ["billing", "support"]
[ami]
port = 5038
[queues.billing]
skills = { billing = 2 }
sla_threshold = 20
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acd.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load(write(tmp_path, text), env={})
    return [str(p) for p in info.value.problems]


def test_the_shipped_example_loads() -> None:
    settings = load(ROOT / "acd.toml", env={"ACD_AMI_SECRET": "s3cret"})
    assert [q.name for q in settings.routing.queues] == ["billing", "sales", "support"]
    assert settings.ami.secret == "s3cret"
    assert settings.database.url is None


def test_good_file_and_database_url_from_environment(tmp_path: Path) -> None:
    settings = load(write(tmp_path, GOOD), env={"DATABASE_URL": "postgresql+asyncpg://x/y"})
    assert settings.database.url == "postgresql+asyncpg://x/y"
    assert settings.routing.agents[0].skills == (("billing", 3),)
    assert settings.routing.queues[0].skills[0].min_proficiency == 2


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("billing = 3", "billing = 7"), "agents.a1.skills.billing: must be at most 5, got 7"),
        (lambda t: t.replace("billing = 3", "billing = 0"), "agents.a1.skills.billing: must be at least 1, got 0"),
        (lambda t: t.replace("billing = 3", "biling = 3"), "agents.a1.skills.biling: unknown skill"),
        (lambda t: t.replace("port = 5038", 'port = "x"'), "ami.port: must be an integer, got 'x'"),
        (lambda t: t.replace("port = 5038", "port = 70000"), "ami.port: must be at most 65535"),
        (lambda t: t.replace("sla_threshold = 20", "sla_treshold = 20"), "queues.billing.sla_treshold: unknown key"),
        (lambda t: t.replace("sla_threshold = 20", "sla_target = 1.5"), "queues.billing.sla_target: must be at most 1"),
        (lambda t: t.replace("skills = { billing = 2 }\n", ""), "queues.billing.skills: missing"),
        (lambda t: t.replace("port = 5038", 'secret = "pw"'), "ami.secret: secrets do not belong in the file"),
        (lambda t: t.replace('skills = ["billing", "support"]', ""), "skills: declare at least one skill"),
        (lambda t: t.replace('["billing", "support"]', '"billing"'), "skills: must be an array of skill names"),
        (
            lambda t: t + '[agents.a2]\nendpoint = "agent1"\nskills = { billing = 1 }\n',
            "agents.a2.endpoint: endpoint 'agent1' is already used by agent 'a1'",
        ),
        (
            lambda t: t.replace("[queues.billing]", "[queues.billing]\nwidening = [{ min_proficiency_drop = 1 }]"),
            "queues.billing.widening[0].after: missing",
        ),
        (lambda t: t + "[bogus]\n", "bogus: unknown key"),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, edit: object, expected: str) -> None:
    assert callable(edit)
    found = problems(tmp_path, edit(GOOD))
    assert any(expected in p for p in found), found
    assert all(p.startswith(f"{tmp_path / 'acd.toml'}: ") for p in found)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("billing = 3", "billing = 9").replace("port = 5038", "port = -1")
    assert len(problems(tmp_path, text)) == 2


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in problems(tmp_path, "[queues\n")[0]
    with pytest.raises(SettingsError, match="file not found"):
        load(tmp_path / "nope.toml", env={})


def test_cli_check_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path, GOOD.replace("billing = 3", "billing = 9"))
    done = subprocess.run(
        [sys.executable, "-m", "acd", "check", "-c", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "agents.a1.skills.billing: must be at most 5, got 9" in done.stderr
    assert "Traceback" not in done.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "acd", "check", "-c", str(write(tmp_path, GOOD))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr


def test_cli_check_lists_each_queues_dispositions_with_the_phones_numbers(tmp_path: Path) -> None:
    config = GOOD.replace("[queues.billing]\n", '[queues.billing]\ndispositions = ["sale/new", "complaint/late"]\n')
    done = subprocess.run(
        [sys.executable, "-m", "acd", "check", "--dispositions", "-c", str(write(tmp_path, config))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("billing:")
    assert lines[at + 1 : at + 3] == ["  *551    sale/new", "  *552    complaint/late"]
    assert at + 3 == len(lines)
    default = subprocess.run(  # a queue with no catalogue of its own has the default one
        [sys.executable, "-m", "acd", "check", "--dispositions", "-c", str(write(tmp_path, GOOD))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "  *5512   support/callback" in default.stdout.splitlines()


def test_retention_defaults_to_the_shipped_90_days_and_keeps_customer_numbers(tmp_path: Path) -> None:
    """A file without the key gets what acd.toml promises, not "keep caller numbers for ever"."""
    database = load(write(tmp_path, GOOD), env={}).database
    assert (database.caller_retention_days, database.customer_numbers) == (90, "keep")
    assert load(ROOT / "acd.toml", env={"ACD_AMI_SECRET": "s"}).database.caller_retention_days == 90
    edited = GOOD + '[database]\ncaller_retention_days = 0\ncustomer_numbers = "mask"\n'
    database = load(write(tmp_path, edited), env={}).database
    assert (database.caller_retention_days, database.customer_numbers) == (0, "mask")
    assert any(
        "database.customer_numbers: must be 'keep' or 'mask'" in p
        for p in problems(tmp_path, GOOD + '[database]\ncustomer_numbers = "forget"\n')
    )


def test_http_allowed_hosts_streams_and_the_metrics_token(tmp_path: Path) -> None:
    settings = load(write(tmp_path, GOOD), env={})
    assert (settings.http.allowed_hosts, settings.http.streams_per_token, settings.http.metrics_token) == ((), 16, "")
    text = (
        GOOD + '[http]\nhost = "10.0.0.5"\nallowed_hosts = ["acd.example.com", "10.0.0.5", "[::1]"]\n'
        "streams_per_token = 40\n"
    )
    settings = load(write(tmp_path, text), env={"ACD_METRICS_TOKEN": "scrape-0123456789abcdef"})
    assert settings.http.allowed_hosts == ("acd.example.com", "10.0.0.5", "[::1]")
    assert settings.http.streams_per_token == 40
    assert settings.http.metrics_token == "scrape-0123456789abcdef"
    assert "scrape-0123456789abcdef" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('[http]\nallowed_hosts = "acd.example.com"\n', {}, "http.allowed_hosts: must be a list of host names"),
        ('[http]\nallowed_hosts = ["acd.example.com:8080"]\n', {}, "http.allowed_hosts: must be a list of host names"),
        ('[http]\nallowed_hosts = ["a b"]\n', {}, "http.allowed_hosts: must be a list of host names"),
        ("[http]\nstreams_per_token = 0\n", {}, "http.streams_per_token: must be at least 1"),
        ('[http]\nhost = "0.0.0.0"\n', {}, "http.allowed_hosts: http.host '0.0.0.0' listens on every address"),
        ('[http]\nmetrics_token = "x"\n', {}, "http.metrics_token: secrets do not belong in the file"),
        ("", {"ACD_METRICS_TOKEN": "short"}, "ACD_METRICS_TOKEN: must be at least 16 printable ASCII characters"),
        ("", {"ACD_METRICS_TOKEN": "sixteen chars with spaces"}, "ACD_METRICS_TOKEN: must be at least 16"),
    ],
)
def test_http_mistakes_are_named(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(write(tmp_path, GOOD + text), env=env)
    found = [str(p) for p in info.value.problems]
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    "endpoint",
    [
        "agent1&PJSIP/+19005550100@carrier",
        "agent1,1,L(1000)",
        "agent 1",
        "_X.",
        "agent1@carrier",
        "SIP/agent1",
    ],
)
def test_an_endpoint_that_would_dial_anything_else_is_refused(tmp_path: Path, endpoint: str) -> None:
    found = problems(tmp_path, GOOD.replace('endpoint = "agent1"', f'endpoint = "{endpoint}"'))
    assert any(
        p.endswith(
            f"agents.a1.endpoint: endpoint {endpoint!r} must be a PJSIP endpoint name: 2 to 64 "
            "letters, digits, '_', '.' or '-', starting with a letter or digit (written bare or as "
            "PJSIP/<name>)"
        )
        for p in found
    ), found


def test_an_endpoint_written_pjsip_slash_name_is_kept_bare(tmp_path: Path) -> None:
    settings = load(write(tmp_path, GOOD.replace('"agent1"', '"PJSIP/agent1"')), env={})
    assert settings.routing.agents[0].endpoint == "agent1"


def test_a_queue_overflows_only_to_a_declared_extension(tmp_path: Path) -> None:
    text = GOOD.replace("sla_threshold = 20", 'sla_threshold = 20\noverflow = "operator"')
    assert any(
        "queues.billing.overflow: 'operator' is not an overflow target (declared in [routing] "
        "overflow_targets: voicemail, fallback)" in p
        for p in problems(tmp_path, text)
    )
    declared = text + '[routing]\noverflow_targets = ["voicemail", "operator"]\n'
    settings = load(write(tmp_path, declared), env={})
    assert settings.routing.queues[0].overflow_target == "operator"
    assert settings.routing.policy.overflow_targets == ("voicemail", "operator")
    for bad in ('"_X."', '"i"', '"vm,1"', '"vm&PJSIP/x"'):
        found = problems(tmp_path, GOOD + f'[routing]\noverflow_targets = ["voicemail", {bad}]\n')
        assert any("routing.overflow_targets[1]: " in p and "must be a plain extension name" in p for p in found)


@pytest.mark.parametrize("name", ["Ada\\u0000", "Ada\\u001b[2J", "Ada\\u007f", "Ada\\u0085", "Ada\\u2028", "A\\nB"])
def test_a_control_character_in_a_label_is_refused(tmp_path: Path, name: str) -> None:
    text = GOOD.replace('endpoint = "agent1"', f'endpoint = "agent1"\nname = "{name}"')
    assert any(
        "agents.a1.name: must be a string of at most 128 characters without NUL or other control characters" in p
        for p in problems(tmp_path, text)
    )


@pytest.mark.parametrize(
    ("line", "key", "bound"),
    [
        ("max_wait = 1e9", "queues.billing.max_wait", "at most 86400"),
        ("wrapup = 2147483648", "queues.billing.wrapup", "at most 86400"),
        ("max_handle = 1e300", "queues.billing.max_handle", "at most 86400"),
        ("vip_priority_boost = 10", "queues.billing.vip_priority_boost", "at most 9"),
        ("vip_priority_boost = 2147483648", "queues.billing.vip_priority_boost", "at most 9"),
        ("widening = [{ after = 1e12 }]", "queues.billing.widening[0].after", "at most 86400"),
    ],
)
def test_a_queue_number_beyond_its_bounds_is_refused(tmp_path: Path, line: str, key: str, bound: str) -> None:
    found = problems(tmp_path, GOOD.replace("sla_threshold = 20", f"sla_threshold = 20\n{line}"))
    assert any(f"{key}: must be {bound}" in p for p in found), found


@pytest.mark.parametrize(
    ("table", "line", "key"),
    [
        ("routing", "max_consecutive_misses = 2147483648", "routing.max_consecutive_misses"),
        ("routing", "reoffer_cooldown = 1e10", "routing.reoffer_cooldown"),
        ("routing", "short_abandon = 1e10", "routing.short_abandon"),
        ("database", "caller_retention_days = 9223372036854775807", "database.caller_retention_days"),
        ("ami", "heartbeat_interval = 20", "ami.heartbeat_interval"),
    ],
)
def test_a_policy_number_beyond_its_bounds_is_refused(tmp_path: Path, table: str, line: str, key: str) -> None:
    text = (
        GOOD.replace("[ami]\nport = 5038", "[ami]\nport = 5038\n" + line)
        if table == "ami"
        else (GOOD + f"[{table}]\n{line}\n")
    )
    assert any(f"{key}: must be at most" in p for p in problems(tmp_path, text))


def test_cli_check_names_a_hostile_endpoint(tmp_path: Path) -> None:
    bad = write(tmp_path, GOOD.replace('endpoint = "agent1"', 'endpoint = "agent1&PJSIP/+19005550100@carrier"'))
    done = subprocess.run(
        [sys.executable, "-m", "acd", "check", "-c", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert (
        "agents.a1.endpoint: endpoint 'agent1&PJSIP/+19005550100@carrier' must be a PJSIP endpoint name" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_queue_says_the_wait_so_far_only_when_asked(tmp_path: Path) -> None:
    assert load(write(tmp_path, GOOD), env={}).routing.queues[0].announce_waited is False
    text = GOOD.replace("sla_threshold = 20", "sla_threshold = 20\nannounce_waited = true")
    assert load(write(tmp_path, text), env={}).routing.queues[0].announce_waited is True
    found = problems(tmp_path, GOOD.replace("sla_threshold = 20", 'sla_threshold = 20\nannounce_waited = "yes"'))
    assert any("queues.billing.announce_waited: must be true or false" in p for p in found), found


def test_the_cluster_section_names_the_instance_and_the_lease_figures(tmp_path: Path) -> None:
    """[cluster] (docs/standby.md): left out, a lone process with the default margins."""
    defaults = load(write(tmp_path, GOOD), env={}).cluster
    assert (defaults.lease, defaults.renew, defaults.margin) == (2.0, 0.25, 0.5)
    text = GOOD + '[cluster]\ninstance = "acd-a"\nlease = 6\nrenew = 1\nmargin = 2\n'
    cluster = load(write(tmp_path, text), env={}).cluster
    assert (cluster.instance, cluster.lease, cluster.renew, cluster.margin) == ("acd-a", 6.0, 1.0, 2.0)
    found = problems(tmp_path, GOOD + '[cluster]\ninstance = "a b"\nlease = 2\nrenew = 1\nmargin = 1\nx = 1\n')
    assert any("cluster.instance" in p for p in found)
    assert any("allow at least two renewals" in p for p in found)
    assert any("cluster" in p and "x" in p for p in found)
