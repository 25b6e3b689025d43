"""The ACD service as a real process for e2e tests: ``acd run`` with its own embedded PostgreSQL.

Tests talk to it the way operators do: its HTTP API (/api/v1, with an admin token made by ``acd
tokens add`` on first use) and /metrics (with the scrape token the process is started with), its
records in PostgreSQL, and the AMI events of the PBX it controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, overload

import asyncpg

from acd.records.errors import EmbeddedPostgresError
from acd.records.startup.embedded import EmbeddedPostgres

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

[routing]
ring_timeout = 8
reoffer_cooldown = 60
max_consecutive_misses = 2
short_abandon = 2

[queues.billing]
skills = {{ billing = 2 }}
sla_threshold = 20
max_wait = 120
wrapup = 1

[queues.support]
skills = {{ support = 2 }}
sla_threshold = 30
max_wait = 120
wrapup = 1

[queues.sales]
skills = {{ sales = 1 }}
sla_threshold = 10
max_wait = 8
overflow = "voicemail"
"""

AGENTS = {
    # agent: skills; agents 1-4 serve billing, 5-6 support; nobody serves sales
    "agent1": "{ billing = 5 }",
    "agent2": "{ billing = 4 }",
    "agent3": "{ billing = 3 }",
    "agent4": "{ billing = 3 }",
    "agent5": "{ support = 4 }",
    "agent6": "{ support = 3 }",
}


def grant_traverse(folder: Path) -> None:
    """Give others traverse (o+x) on ``folder`` and its parents again, where it is missing.

    As root, the embedded PostgreSQL runs as another user, and ``pg_ctl status``/``stop`` (run as that
    user) must reach its data folder under the test's tmp dir. But every pytest session that starts
    on this machine meanwhile resets ``/tmp/pytest-of-<user>`` to 0700; the ACD's shutdown and
    ``EmbeddedPostgres.stop()`` then take the server for stopped already, and it is left running.
    """
    if os.geteuid() != 0:
        return
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AcdProcess:
    def __init__(self, workdir: Path, env: dict[str, str], ami_port: int, ami_user: str) -> None:
        self.workdir = workdir
        self.http_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        text = CONFIG.format(ami_port=ami_port, ami_user=ami_user, http_port=self.http_port, data_dir=workdir)
        for agent, skills in AGENTS.items():
            text += f'\n[agents.{agent}]\nendpoint = "{agent}"\nskills = {skills}\n'
        self.config = workdir / "acd.toml"
        self.config.write_text(text)
        self.log = workdir / "acd.log"
        self.metrics_token = secrets.token_urlsafe(24)
        self.env = {**os.environ, **env, "ACD_METRICS_TOKEN": self.metrics_token}
        self.env.pop("DATABASE_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self._admin_token: str | None = None  # kept across restarts: same data folder, same PostgreSQL

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "acd", "run", "-c", str(self.config)],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"acd exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if self.get("/healthz").get("ami_connected"):
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.2)
        # Callers of start() only stop what started: do not leave an unhealthy ACD (and its
        # embedded PostgreSQL) running behind a failed setup.
        with contextlib.suppress(RuntimeError):
            self.stop()
        with contextlib.suppress(EmbeddedPostgresError):
            EmbeddedPostgres(self.workdir / "pg").stop()  # in case the ACD had to be killed
        raise RuntimeError(f"acd did not become healthy in {timeout} s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        grant_traverse(self.workdir)  # so that the ACD (and the fixture after it) can stop PostgreSQL
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"acd did not stop within {timeout} s:\n{self.tail()}") from None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    # -- HTTP ----------------------------------------------------------------------------------
    @property
    def admin_token(self) -> str:
        """An admin's bearer token for /api/v1, made the operator's way (``acd tokens add``) once."""
        if self._admin_token is None:
            url = self.database_url().replace("postgresql://", "postgresql+asyncpg://", 1)
            made = subprocess.run(
                [sys.executable, "-m", "acd", "tokens", "add", "--role", "admin", "--label", "e2e",
                 "--database-url", url],
                capture_output=True, text=True, env=self.env, cwd=self.workdir, timeout=60, check=False,
            )
            if made.returncode != 0:
                raise RuntimeError(f"acd tokens add exited with {made.returncode}: {made.stderr}")
            self._admin_token = made.stdout.strip()
        return self._admin_token

    def _headers(self, path: str) -> dict[str, str]:
        """The admin's token on API paths; /healthz and /readyz need none (and work without PostgreSQL)."""
        return {"Authorization": f"Bearer {self.admin_token}"} if path.startswith("/api/") else {}

    def get(self, path: str) -> Any:
        """GET a path of the ACD (an /api/v1 one with the admin's token); its JSON body."""
        request = urllib.request.Request(self.base + path, headers=self._headers(path))
        with urllib.request.urlopen(request, timeout=3) as response:
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        """/healthz answers 503 while the AMI link is down; its body says why either way."""
        try:
            return dict(self.get("/healthz"))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read()))

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """POST a JSON body to a path of the ACD (an /api/v1 one with the admin's token); status and body."""
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **self._headers(path)})
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def metric(self, name: str, **labels: str) -> float:
        request = urllib.request.Request(self.base + "/metrics",
                                         headers={"Authorization": f"Bearer {self.metrics_token}"})
        with urllib.request.urlopen(request, timeout=3) as response:
            text = response.read().decode()
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        pattern = re.compile(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", re.MULTILINE)
        for found_labels, value in pattern.findall(text):
            if ",".join(sorted(found_labels.split(","))) == want or (not want and not found_labels):
                return float(value)
        raise KeyError(f"{name}{{{want}}} not in /metrics")

    def agent_state(self, agent: str) -> str:
        return str(self.get(f"/api/v1/agents/{agent}")["agent"]["state"])

    # -- PostgreSQL ----------------------------------------------------------------------------
    def database_url(self) -> str:
        pg = self.workdir / "pg"
        password = (pg / "password").read_text().strip()
        port = (pg / "port").read_text().strip()
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/acd"

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url(), timeout=10)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


def status(acd: AcdProcess) -> Any:
    """The live status (/api/v1/status), keyed for lookups: ``["queues"][name]``, ``["agents"][id]``."""
    body = acd.get("/api/v1/status")
    return {
        "at": body["at"],
        "queues": {q["name"]: {**q, "oldest_wait": q["oldest_wait_seconds"]} for q in body["queues"]},
        "agents": {a["id"]: {**a, "agent_id": a["id"]} for a in body["agents"]},
    }


@overload
async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float,  # noqa: ASYNC109
                     what: str, every: float = 0.25) -> T: ...
@overload  # the union as a second form keeps mypy's inference for lambdas with defaults
async def eventually(probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None], timeout: float,  # noqa: ASYNC109
                     what: str, every: float = 0.25) -> T: ...
async def eventually(probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None], timeout: float,  # noqa: ASYNC109
                     what: str, every: float = 0.25) -> T:
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
        sys.executable, "-m", "acd", *args, "--database-url", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=acd.workdir,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"acd {' '.join(args)} exited with {proc.returncode}: {err.decode()}"
    return out.decode().strip()


def api(acd: AcdProcess, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One /api/v1 request with a bearer token; the status and the JSON body."""
    request = urllib.request.Request(
        f"{acd.base}/api/v1{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
