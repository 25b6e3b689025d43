"""Debian's Prometheus for a test: the shipped scrape config and rule files, pointed at a test ACD.

The config is ``deploy/prometheus/prometheus.yml`` with four changes only: the ``acd`` job scrapes
the given target (every other job is dropped: it would point at hosts this test does not run), with
the ACD's scrape token when one is given (``authorization``, as docs/security.md tells an operator),
scrapes and rule evaluations happen every second, and the rule files are every rule file found in
``deploy/prometheus`` when the test runs (``promql.rule_files``), so a new rule file is checked without
touching the tests. A missing ``prometheus`` binary fails the test: it is a dependency, not an option.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import promql
import pytest
import yaml

from phonefarm.ports import free_port

SCRAPE_CONFIG = promql.PROMETHEUS_DIR / "prometheus.yml"
ACD_JOB = "acd"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed (Debian package prometheus; `make prometheus` or .ci/run installs it)",
            pytrace=False,
        )
    return path


def scrape_config_for(target: str, rule_files: Sequence[str], credentials_file: Path | None = None) -> dict[str, Any]:
    """The shipped scrape config, aimed at ``target``, with ``rule_files`` and one-second intervals;
    the scrape token is read from ``credentials_file`` when given."""
    config: dict[str, Any] = yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))
    jobs = [job for job in config.get("scrape_configs", []) if job.get("job_name") == ACD_JOB]
    if not jobs:
        pytest.fail(f'{SCRAPE_CONFIG.name} has no job {ACD_JOB!r}; the dashboards select job="{ACD_JOB}"')
    for job in jobs:
        job["static_configs"] = [{"targets": [target]}]
        job.pop("scrape_interval", None)
        if credentials_file is not None:
            job["authorization"] = {"type": "Bearer", "credentials_file": str(credentials_file)}
    config["global"] = {**config.get("global", {}), "scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = list(rule_files)
    config["scrape_configs"] = jobs
    return config


def _with_alerts_for(path: Path, alerts_for: Mapping[str, str]) -> str:
    """The rule file at ``path`` with the ``for:`` of the alerts named in ``alerts_for`` replaced."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in content.get("groups") or []:
        for rule in group.get("rules") or []:
            if rule.get("alert") in alerts_for:
                rule["for"] = alerts_for[rule["alert"]]
    return yaml.safe_dump(content, sort_keys=False)


class PrometheusServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.base = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(
        self,
        target: str,
        rule_files: Sequence[Path],
        scrape_token: str | None = None,
        alerts_for: Mapping[str, str] | None = None,
    ) -> str:
        """Start scraping ``target`` (host:port), with ``scrape_token`` if given; returns the API's base URL.

        ``alerts_for``: the ``for:`` of some shipped alerts, by name, for a test that cannot wait minutes
        (their expressions stay the shipped ones)."""
        binary_path = binary("prometheus")
        names = []
        for path in rule_files:
            if alerts_for:
                (self.workdir / path.name).write_text(_with_alerts_for(path, alerts_for), encoding="utf-8")
            else:
                shutil.copy(path, self.workdir / path.name)
            names.append(path.name)
        if alerts_for:
            shipped = {e.where.rsplit(" ", 1)[-1] for p in rule_files for e in promql.rule_expressions(p)}
            assert set(alerts_for) <= shipped, f"no shipped alert {sorted(set(alerts_for) - shipped)}"
        credentials = None
        if scrape_token is not None:
            credentials = self.workdir / "acd-metrics-token"
            credentials.write_text(scrape_token, encoding="utf-8")
            credentials.chmod(0o600)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(scrape_config_for(target, names, credentials), sort_keys=False), encoding="utf-8"
        )
        port = free_port()
        with (self.workdir / "prometheus.log").open("wb") as log:
            self._process = subprocess.Popen(
                [
                    binary_path,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    def log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(encoding="utf-8", errors="replace")[-4000:]

    def exited(self) -> bool:
        return self._process is not None and self._process.poll() is not None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(30)

    async def alerts(self, session: aiohttp.ClientSession, name: str) -> list[dict[str, Any]]:
        """The alerts named ``name`` Prometheus holds now (pending or firing), from /api/v1/alerts."""
        body = await self.get(session, "/api/v1/alerts")
        assert body.get("status") == "success", body
        return [a for a in body["data"]["alerts"] if a["labels"].get("alertname") == name]

    async def get(self, session: aiohttp.ClientSession, path: str, **params: str) -> dict[str, Any]:
        """One API call; the parsed body whatever its status (errors carry ``error``)."""
        async with session.get(f"{self.base}{path}", params=params) as response:
            body: dict[str, Any] = await response.json(content_type=None)
        return body


async def problems(
    session: aiohttp.ClientSession, prometheus: PrometheusServer, expressions: Iterable[promql.Expression]
) -> list[str]:
    """What is wrong with each expression now, as "where: what" lines (empty: all good)."""
    names = await prometheus.get(session, "/api/v1/label/__name__/values")
    known = set(names.get("data", []))
    found = []
    for expression in expressions:
        body = await prometheus.get(session, "/api/v1/query", query=expression.promql)
        if body.get("status") != "success":
            found.append(f"{expression.where}: Prometheus refuses it: {body.get('error')} [{expression.promql}]")
            continue
        if missing := promql.metric_names(expression.promql) - known:
            found.append(f"{expression.where}: no such series {sorted(missing)} [{expression.promql}]")
        result = body["data"]["result"]
        if expression.kind == "alert":
            continue
        if not result:
            found.append(f"{expression.where}: no data [{expression.promql}]")
        elif all(math.isnan(float(r["value"][1])) for r in result):
            found.append(f"{expression.where}: only NaN [{expression.promql}]")
        elif expression.label and not all(expression.label in r["metric"] for r in result):
            found.append(f"{expression.where}: results without the label {expression.label!r} [{expression.promql}]")
    return found


async def wait_for_scrapes(session: aiohttp.ClientSession, prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert not prometheus.exited(), prometheus.log()
        try:
            body = await prometheus.get(session, "/api/v1/query", query=f'up{{job="{ACD_JOB}"}} == 1')
            if body.get("data", {}).get("result"):
                return
        except aiohttp.ClientError:
            pass  # not listening yet
        await asyncio.sleep(0.5)
    raise AssertionError(f"Prometheus never scraped the ACD:\n{prometheus.log()}")
