"""Every PromQL expression the project ships, ready to send to a real Prometheus.

Grafana shows "No data" for a misspelt metric and Prometheus never fires an alert on one: neither
complains. So the tests pull each expression out of where it lives and evaluate it against a real
Prometheus scraping a real ACD (tests/integration/test_dashboards.py):

- every target of every panel of every dashboard in ``deploy/grafana/dashboards/`` (rows included);
- every query template variable (``label_values(<selector>, <label>)``: the selector is evaluated and
  must carry the label);
- every recording and alerting rule of every rule file in ``deploy/prometheus/`` (a YAML file with
  ``groups``), whatever files are there when the tests run.

Grafana's template variables are replaced first: ``$queue``, ``${queue}``, ``${queue:regex}`` and
``[[queue]]`` by the values given, Grafana's own (``$__rate_interval``, ``$__interval``, ``$__range``…)
by ``GRAFANA_BUILTINS`` unless given. A variable nobody gave is an error, never left in the query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS_DIR = ROOT / "deploy" / "grafana" / "dashboards"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"

# Grafana's built-in variables, with values that suit a Prometheus scraping every second or so.
GRAFANA_BUILTINS: Mapping[str, str] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

Kind = Literal["panel", "variable", "record", "alert"]


@dataclass(frozen=True, slots=True)
class Expression:
    """One PromQL expression and where it came from (for the failure message)."""

    where: str
    kind: Kind
    promql: str
    label: str | None = None  # a template variable's label: every result must carry it


_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w-]+)?\}|\$(\w+)|\[\[(\w+)(?::[\w-]+)?\]\]")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace Grafana's template variables; ``KeyError`` for one that has no value."""
    known = {**GRAFANA_BUILTINS, **values}

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in known:
            raise KeyError(f"Grafana variable ${name} has no value (known: {', '.join(sorted(known))})")
        return known[name]

    return _VARIABLE.sub(value, text)


# -- dashboards -----------------------------------------------------------------------------------
def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def load_dashboard(path: Path) -> dict[str, Any]:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(dashboard, dict):
        raise ValueError(f"{path.name}: not a JSON object")
    return dashboard


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panels(panel)


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.+)\s*,\s*(\w+)\s*\)\s*$", re.DOTALL)
_QUERY_RESULT = re.compile(r"^\s*query_result\(\s*(.+)\s*\)\s*$", re.DOTALL)


def variable_expression(where: str, query: str) -> Expression:
    """A query variable as PromQL. Only the forms that name a selector can be checked; others are refused."""
    if match := _LABEL_VALUES.match(query):
        return Expression(where, "variable", match.group(1), label=match.group(2))
    if match := _QUERY_RESULT.match(query):
        return Expression(where, "variable", match.group(1))
    raise ValueError(f"{where}: use label_values(<selector>, <label>) or query_result(<promql>), not {query!r}")


def dashboard_expressions(path: Path, values: Mapping[str, str]) -> list[Expression]:
    dashboard = load_dashboard(path)
    found: list[Expression] = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query", "")
        if isinstance(query, dict):
            query = query.get("query", "")
        where = f"{path.name}: variable {variable.get('name')!r}"
        found.append(variable_expression(where, substitute(str(query), values)))
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            where = f"{path.name}: panel {panel.get('title')!r} target {target.get('refId')}"
            found.append(Expression(where, "panel", substitute(str(expr), values)))
    return found


# -- rules ----------------------------------------------------------------------------------------
def rule_files() -> list[Path]:
    """The YAML files in deploy/prometheus that hold rule groups (not the scrape config)."""
    files = []
    for path in sorted([*PROMETHEUS_DIR.glob("*.yml"), *PROMETHEUS_DIR.glob("*.yaml")]):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(content, dict) and "groups" in content:
            files.append(path)
    return files


def rule_expressions(path: Path) -> list[Expression]:
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[Expression] = []
    for group in content.get("groups") or []:
        for rule in group.get("rules") or []:
            kind: Kind = "record" if "record" in rule else "alert"
            name = rule.get("record") or rule.get("alert")
            found.append(Expression(f"{path.name}: group {group.get('name')!r} {kind} {name}", kind, str(rule["expr"])))
    return found


def every_expression(values: Mapping[str, str]) -> list[Expression]:
    """All the shipped expressions: dashboards first, then rules."""
    found = [e for path in dashboard_files() for e in dashboard_expressions(path, values)]
    return found + [e for path in rule_files() for e in rule_expressions(path)]


# -- metric names ---------------------------------------------------------------------------------
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NAME = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_WORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
        "inf",
        "nan",
        "atan2",
        "start",
        "end",
    }
)


def metric_names(promql: str) -> set[str]:
    """The metric (and recorded series) names an expression reads.

    Good enough for our own expressions, not a PromQL parser: strings, label matchers, ranges and
    grouping lists are cut out, then every identifier not called as a function and not a keyword or
    aggregation is a name.
    """
    text = _STRING.sub('""', promql)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    return {name for name in _NAME.findall(text) if name.lower() not in _WORDS}
