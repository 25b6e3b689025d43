"""The shipped Grafana dashboards are well-formed and read only series that exist.

No Grafana and no Prometheus here: the JSON must parse, uids must be unique, every panel must use
the provisioned data source, every template variable a panel uses must be defined, panels must not
overlap, and every series name in a query must be one the ACD exports (acd/metrics.py), a recorded
series of deploy/prometheus, or one Prometheus makes itself. tests/integration/test_dashboards.py
evaluates the same queries against a real Prometheus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql
import pytest
import yaml

from acd.core.config import QueueConfig, SkillRequirement
from acd.metrics import Metrics

DATASOURCES = promql.ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
DASHBOARDS = promql.dashboard_files()
SAMPLE_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def provisioned_datasources() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(DATASOURCES.glob("*.yml")):
        found.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"])
    return found


def the_datasource() -> dict[str, str]:
    (source,) = provisioned_datasources()
    return {"type": source["type"], "uid": source["uid"]}


def exported_names() -> set[str]:
    """Every sample name the ACD's /metrics can carry, labelled series that have not moved yet included."""
    metrics = Metrics((QueueConfig("q", (SkillRequirement("s", 1),)),))
    return {family.name + suffix for family in metrics.registry.collect() for suffix in SAMPLE_SUFFIXES[family.type]}


def recorded_names() -> set[str]:
    return {
        e.where.rsplit(" ", 1)[1]
        for path in promql.rule_files()
        for e in promql.rule_expressions(path)
        if e.kind == "record"
    }


def defined_variables(dashboard: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: "x" for v in dashboard.get("templating", {}).get("list", [])}


def test_there_are_dashboards_and_one_provisioned_prometheus() -> None:
    assert len(DASHBOARDS) >= 3, DASHBOARDS
    source = the_datasource()
    assert source["type"] == "prometheus" and source["uid"]


def test_every_dashboard_parses_and_has_a_unique_uid_and_title() -> None:
    dashboards = [promql.load_dashboard(path) for path in DASHBOARDS]
    uids = [str(d.get("uid") or "") for d in dashboards]
    titles = [str(d.get("title") or "") for d in dashboards]
    assert all(uids) and len(set(uids)) == len(uids), uids
    assert all(titles) and len(set(titles)) == len(titles), titles
    assert all(len(uid) <= 40 for uid in uids), "Grafana refuses uids longer than 40 characters"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_and_variable_uses_the_provisioned_datasource(path: Path) -> None:
    dashboard = promql.load_dashboard(path)
    source = the_datasource()
    wrong = []
    for panel in promql.panels(dashboard):
        if panel.get("type") == "row":
            continue
        if panel.get("datasource") != source:
            wrong.append(f"panel {panel.get('title')!r}: {panel.get('datasource')}")
        wrong += [
            f"panel {panel.get('title')!r} target {t.get('refId')}: {t['datasource']}"
            for t in panel.get("targets", [])
            if "datasource" in t and t["datasource"] != source
        ]
        if not panel.get("targets"):
            wrong.append(f"panel {panel.get('title')!r} has no query")
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query" and variable.get("datasource") != source:
            wrong.append(f"variable {variable.get('name')!r}: {variable.get('datasource')}")
    assert not wrong, wrong


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_panels_have_unique_ids_and_do_not_overlap(path: Path) -> None:
    dashboard = promql.load_dashboard(path)
    all_panels = list(promql.panels(dashboard))
    ids = [p.get("id") for p in all_panels]
    assert len(set(ids)) == len(ids), ids
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, (panel["title"], g)
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_reads_series_that_exist(path: Path) -> None:
    # KeyError here: a panel uses a template variable the dashboard does not define.
    expressions = promql.dashboard_expressions(path, defined_variables(promql.load_dashboard(path)))
    assert expressions
    known = exported_names() | recorded_names() | PROMETHEUS_OWN
    unknown = {f"{e.where}: {name}" for e in expressions for name in promql.metric_names(e.promql) - known}
    assert not unknown, sorted(unknown)
    assert all(promql.metric_names(e.promql) for e in expressions), "a query that reads no series"


def test_an_undefined_variable_or_an_unknown_name_is_caught() -> None:
    """The checks above can fail: a typo in a series name or a variable is seen."""
    with pytest.raises(KeyError, match=r"\$agent"):
        promql.substitute('acd_agents{agent="$agent"}', {"queue": "q"})
    assert promql.metric_names('sum by (queue) (rate(acd_calls_ofered_total{queue="$queue"}[5m]))') == {
        "acd_calls_ofered_total"
    }
    assert "acd_calls_ofered_total" not in exported_names()


def test_variables_are_substituted_in_every_form() -> None:
    values = {"queue": "billing"}
    assert promql.substitute('x{queue="$queue"}[$__rate_interval]', values) == 'x{queue="billing"}[1m]'
    assert (
        promql.substitute('x{queue=~"${queue:regex}"} [[queue]] ${queue}', values)
        == 'x{queue=~"billing"} billing billing'
    )
    assert promql.substitute("increase(x[$__range])", {"__range": "2h"}) == "increase(x[2h])"


def test_metric_names_skip_functions_keywords_labels_and_numbers() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (le) (rate(acd_queue_wait_seconds_bucket{outcome="answered"}[5m])))'
        " / on (queue) group_left queue:acd_asa_seconds:5m offset 1m > bool 1e-9 or vector(0)"
    )
    assert promql.metric_names(expr) == {"acd_queue_wait_seconds_bucket", "queue:acd_asa_seconds:5m"}


def test_template_variables_are_checkable_queries() -> None:
    variable = promql.variable_expression("v", "label_values(acd_sla_target_ratio, queue)")
    assert (variable.promql, variable.label) == ("acd_sla_target_ratio", "queue")
    with pytest.raises(ValueError, match="label_values"):
        promql.variable_expression("v", "label_values(queue)")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_a_series_per_pbx_is_told_apart_in_its_legend(path: Path) -> None:
    # several PBXs (docs/pbxs.md): a query keeping the AMI series' pbx label draws one line per PBX,
    # and a legend without {{pbx}} would name them all alike
    for panel in promql.panels(promql.load_dashboard(path)):
        for target in panel.get("targets", []):
            expr, legend = target.get("expr", ""), target.get("legendFormat", "")
            kept = "acd_ami_" in expr and not any(f in expr for f in ("sum(", "sum by", "count(", "max("))
            assert not kept or "{{pbx}}" in legend, (panel.get("title"), expr, legend)
