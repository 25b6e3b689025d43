"""The ACD's side: ``python -m acd run`` with its own embedded PostgreSQL, agents agent11..14 in queue ``bench``.

The process is ``phonefarm.acd_process.AcdProcess``, the one the e2e tests run; here is what the
benchmark gives it (its config, the command of the build to measure) and asks of it (its agents
logged in, ready and reachable before each ACD phase).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from acd.records.errors import EmbeddedPostgresError
from acd.records.startup.embedded import EmbeddedPostgres
from bench.vs_app_queue.plan import AGENTS
from phonefarm.acd_process import AcdProcess, agents_toml, queue_toml

ACD_CONFIG = """\
# written by bench/bench_vs_app_queue.py
skills = ["bench"]

[ami]
port = 5038
user = "acd"

[http]
port = {http_port}

[database]
data_dir = "{workdir}/pg"
journal_dir = "{workdir}/journal"

[routing]
ring_timeout = 15
claim_on_pbx = {claim}

"""
QUEUE = queue_toml("bench", "{ bench = 1 }", sla_threshold=20, max_wait=600, wrapup=0)

START_WITHIN = 90.0  # seconds for the ACD to become healthy: embedded PostgreSQL, migrations, AMI login


def acd_config(workdir: Path, claim: bool = False) -> Callable[[int], str]:
    """The ACD's config file (ACD_CONFIG, its queue and the four agents) by the HTTP port it gets;
    ``claim``: ``[routing] claim_on_pbx`` (docs/dialplan.md, "Claims")."""

    agents = agents_toml(dict.fromkeys(AGENTS, "{ bench = 1 }"))
    flag = "true" if claim else "false"
    return lambda http_port: ACD_CONFIG.format(http_port=http_port, workdir=workdir, claim=flag) + QUEUE + agents


def bench_acd(workdir: Path, ami_secret: str, command: Sequence[str], claim: bool = False) -> AcdProcess:
    """The ACD to start, in a session of its own, with ``command`` as the ACD (``start(START_WITHIN)``)."""
    return AcdProcess(
        workdir,
        acd_config(workdir, claim),
        {"ACD_AMI_SECRET": ami_secret},
        command=command,
        token_label="bench",
        new_session=True,
    )


def stop_acd(acd: AcdProcess) -> None:
    """SIGTERM (SIGKILL after 30 s), then its PostgreSQL stopped if the ACD left it running."""
    with contextlib.suppress(RuntimeError, OSError):
        acd.stop()
    with contextlib.suppress(EmbeddedPostgresError, OSError):
        EmbeddedPostgres(acd.workdir / "pg").stop()  # normally stopped by the ACD already


def _post(acd: AcdProcess, path: str) -> None:
    code, body = acd.post(path)
    if not 200 <= code < 300:
        raise RuntimeError(f"POST {path} answered {code}: {body}")


def ensure_ready(acd: AcdProcess, within: float = 20.0) -> None:
    """Every bench agent logged in (resumed if something paused it), ready and reachable."""
    deadline = time.monotonic() + within
    states: dict[str, Any] = {}
    while time.monotonic() < deadline:
        states = {a["id"]: a for a in acd.get("/api/v1/status")["agents"]}
        for agent in AGENTS:
            state = states[agent]["state"]
            if state == "logged_out":
                _post(acd, f"/api/v1/agents/{agent}/login")
            elif state == "paused":
                _post(acd, f"/api/v1/agents/{agent}/resume")
        if all(states[a]["state"] == "ready" and states[a]["reachable"] for a in AGENTS):
            return
        time.sleep(0.2)
    raise RuntimeError(f"ACD agents not ready within {within:.0f} s: {states}")
