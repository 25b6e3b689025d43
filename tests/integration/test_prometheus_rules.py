"""``promtool test rules`` runs the unit tests of deploy/prometheus/rules.yml, and they cover every rule.

The test files live in deploy/prometheus/tests/. promtool is Debian's (package prometheus); without
it these tests fail, they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules.yml"
TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed (Debian package prometheus; `make prometheus` installs it)", pytrace=False
        )
    return path


def run_tests(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), "test", "rules", *map(str, files)], capture_output=True, text=True, timeout=120)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules(kind: str) -> set[str]:
    return {rule[kind] for group in load(RULES)["groups"] for rule in group["rules"] if kind in rule}


def test_the_rule_unit_tests_pass() -> None:
    assert TESTS, "no promtool test files in deploy/prometheus/tests"
    result = run_tests(*TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TESTS), result.stdout


def test_every_alert_and_recording_rule_is_unit_tested() -> None:
    alerts_tested: set[str] = set()
    exprs_tested: set[str] = set()
    for path in TESTS:
        content = load(path)
        assert [(path.parent / f).resolve() for f in content["rule_files"]] == [RULES], path.name
        for case in content["tests"]:
            alerts_tested |= {t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
            exprs_tested |= {t["expr"].strip() for t in case.get("promql_expr_test", []) if t.get("exp_samples")}
    assert rules("alert") - alerts_tested == set(), "alerts never seen firing in a test"
    assert rules("record") - exprs_tested == set(), "recording rules without an expected value"


def test_the_recording_rules_have_the_agreed_names() -> None:
    """Dashboards and docs/kpis.md use these names."""
    assert rules("record") == {
        f"queue:acd_{kpi}:{kind}{window}"
        for kpi, kind in (("service_level", "ratio_"), ("asa_seconds", ""), ("abandon_rate", "ratio_"))
        for window in ("5m", "1h", "1d")
    } | {f"queue:acd_callback_rate:ratio_{window}" for window in ("1h", "1d")} | {
        "queue:acd_otf:ratio_1h",
        "queue:acd_otf:ratio_1d",
        "queue:acd_fcr:ratio_1d",
        "agent:acd_otf:ratio_1d",
        "queue_kind:acd_otf:ratio_1d",
    }


def test_the_shipped_config_loads_rules_yml_and_nothing_else() -> None:
    assert load(PROMETHEUS / "prometheus.yml")["rule_files"] == ["rules.yml"]
    assert not (PROMETHEUS / "alerts.yml").exists()


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The harness can fail: the same recording test, expecting a service level the rules do not give."""
    content = load(PROMETHEUS / "tests" / "recording_rules_test.yml")
    content["rule_files"] = [str(RULES)]
    for case in content["tests"]:
        for expr_test in case["promql_expr_test"]:
            for sample in expr_test["exp_samples"]:
                sample["value"] += 0.01
    wrong = tmp_path / "wrong_test.yml"
    wrong.write_text(yaml.safe_dump(content), encoding="utf-8")
    result = run_tests(wrong)
    assert result.returncode != 0
    assert "queue:acd_service_level:ratio_1h" in result.stdout + result.stderr
