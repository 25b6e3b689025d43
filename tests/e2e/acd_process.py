"""What the e2e tests run the ACD with, and how they talk to it.

The process itself is ``phonefarm.acd_process.AcdProcess`` (the benchmark against app_queue runs
it too); here are the e2e tests' config of it (three queues, six agents) and their helpers: the live
status keyed for lookups, polling until something holds, logins, ``acd`` commands and API calls.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, overload

from e2e_stack import RECORDINGS_DIR

from phonefarm.acd_process import AcdProcess, agents_toml, queue_toml

T = TypeVar("T")

CONFIG = """
skills = ["billing", "support", "sales"]

[ami]
port = {ami_port}
user = "{ami_user}"
ping_interval = 1.0
ping_timeout = 2.0
heartbeat_interval = 1.0

[http]
port = {http_port}

[database]
data_dir = "{data_dir}/pg"
journal_dir = "{data_dir}/journal"

[transfers]
allowed_numbers = ["_1555NXXXXXX"]

[recordings]
directory = "{recordings}"

[routing]
ring_timeout = 8
reoffer_cooldown = 60
max_consecutive_misses = 2
short_abandon = 2
"""
QUEUES = "\n".join(
    (
        queue_toml("billing", "{ billing = 2 }", sla_threshold=20, max_wait=120, wrapup=1, record=True, max_handle=9),
        # OTF (docs/kpis.md): a repeat caller counts within 20 s of a call's end, so verdicts settle in a test
        "[queues.billing.otf]\nrepeat_window = 20\ntarget = 0.5\n",
        queue_toml("support", "{ support = 2 }", sla_threshold=30, max_wait=120, wrapup=1, announce_waited=True),
        queue_toml("sales", "{ sales = 1 }", sla_threshold=10, max_wait=8, overflow="voicemail"),
    )
)

AGENTS = {
    # agent: skills; agents 1-4 serve billing, 5-6 support; nobody serves sales
    "agent1": "{ billing = 5 }",
    "agent2": "{ billing = 4 }",
    "agent3": "{ billing = 3 }",
    "agent4": "{ billing = 3 }",
    "agent5": "{ support = 4 }",
    "agent6": "{ support = 3 }",
}

# Objectives (docs/kpis.md, "Objectives (KPOs)"): one per kind of target (a ratio, seconds, a count), so
# the shipped board and alert of objectives have series to run on (test_acd_prometheus); and the
# abandonment rate, a ratio with no forecast in its projection, which one abandon in two turns at risk
# (test_objective_alert). Refreshed every 2 s, so a test sees a status turn.
OBJECTIVES = """
[objectives]
refresh = 2

[objectives.billing-abandonment]
metric = "abandonment"
comparison = "<="
target = 0.3
queue = "billing"
owner = "e2e"

[objectives.billing-sl]
metric = "service_level"
comparison = ">="
target = 0.8
queue = "billing"
owner = "e2e"

[objectives.billing-aht]
metric = "aht"
comparison = "<="
target = 60
queue = "billing"
owner = "e2e"

[objectives.billing-handle-breaches]
metric = "handle_breaches"
comparison = "<="
target = 5
queue = "billing"
owner = "e2e"
"""


def e2e_acd(workdir: Path, env: dict[str, str], ami_port: int, ami_user: str, claim: bool = False) -> AcdProcess:
    """The e2e tests' ACD (CONFIG, AGENTS, OBJECTIVES) in ``workdir``, for the PBX's AMI; not started yet;
    ``claim``: with ``[routing] claim_on_pbx = true`` (docs/dialplan.md, "Claims")."""

    def config(http_port: int) -> str:
        text = CONFIG.format(
            ami_port=ami_port, ami_user=ami_user, http_port=http_port, data_dir=workdir, recordings=RECORDINGS_DIR
        )
        return text + ("claim_on_pbx = true\n" if claim else "") + "\n" + QUEUES + agents_toml(AGENTS) + OBJECTIVES

    return AcdProcess(workdir, config, env)


def status(acd: AcdProcess) -> Any:
    """The live status (/api/v1/status), keyed for lookups: ``["queues"][name]``, ``["agents"][id]``."""
    body = acd.get("/api/v1/status")
    return {
        "at": body["at"],
        "queues": {q["name"]: {**q, "oldest_wait": q["oldest_wait_seconds"]} for q in body["queues"]},
        "agents": {a["id"]: {**a, "agent_id": a["id"]} for a in body["agents"]},
    }


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    timeout: float,  # noqa: ASYNC109
    what: str,
    every: float = 0.25,
) -> T: ...
@overload  # the union as a second form keeps mypy's inference for lambdas with defaults
async def eventually(
    probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    timeout: float,  # noqa: ASYNC109
    what: str,
    every: float = 0.25,
) -> T: ...
async def eventually(
    probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    timeout: float,  # noqa: ASYNC109
    what: str,
    every: float = 0.25,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


async def login(acd: AcdProcess, *agents: str) -> None:
    """Log agents in through the HTTP API and wait until the ACD says they are ready."""
    for agent in agents:
        code, body = acd.post(f"/api/v1/agents/{agent}/login")
        assert code == 200, body
    for agent in agents:
        await eventually(lambda a=agent: acd.agent_state(a) == "ready", 10, f"{agent} ready after login")


async def acd_command(acd: AcdProcess, *args: str) -> str:
    """Run ``acd <args> --database-url <the running ACD's PostgreSQL>``; its standard output.

    How an operator makes tokens and customers (``acd tokens add``, ``acd customers add``).
    """
    url = acd.database_url().replace("postgresql://", "postgresql+asyncpg://", 1)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "acd",
        *args,
        "--database-url",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=acd.workdir,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"acd {' '.join(args)} exited with {proc.returncode}: {err.decode()}"
    return out.decode().strip()


def api(acd: AcdProcess, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One /api/v1 request with a bearer token; the status and the JSON body."""
    request = urllib.request.Request(
        f"{acd.base}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
