"""The ACD as a real child process, for the e2e tests and the benchmark against app_queue.

Both need the same thing from outside the product: ``acd run -c <config>`` with its own embedded
PostgreSQL under a work folder, healthy (its AMI link up) before they go on, stopped for sure
afterwards, and reached the way operators reach it: its HTTP API (/api/v1, with an admin token made
by ``acd tokens add`` on first use), /metrics (with the scrape token the process is started with)
and its records in PostgreSQL. What the ACD is configured with is theirs to say.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from acd.records.errors import EmbeddedPostgresError
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm.ports import free_port

PYTHON_ACD = (sys.executable, "-m", "acd")


def grant_traverse(folder: Path) -> None:
    """Give others traverse (o+x) on ``folder`` and its parents again, where it is missing.

    As root, the embedded PostgreSQL runs as another user, and ``pg_ctl status``/``stop`` (run as that
    user) must reach its data folder under the work folder. But every pytest session that starts
    on this machine meanwhile resets ``/tmp/pytest-of-<user>`` to 0700; the ACD's shutdown and
    ``EmbeddedPostgres.stop()`` then take the server for stopped already, and it is left running.
    """
    if os.geteuid() != 0:
        return
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)


def agents_toml(agents: Mapping[str, str]) -> str:
    """The ``[agents.<id>]`` tables of a config file, by agent: its skills (a TOML inline table); its
    phone is the farm's endpoint of the same name."""
    return "".join(f'\n[agents.{agent}]\nendpoint = "{agent}"\nskills = {skills}\n' for agent, skills in agents.items())


def queue_toml(name: str, skills: str, **settings: int | str) -> str:
    """A ``[queues.<name>]`` table of a config file: its skills (a TOML inline table), then its settings."""
    lines = [f"[queues.{name}]", f"skills = {skills}", *(f"{key} = {json.dumps(v)}" for key, v in settings.items())]
    return "\n".join(lines) + "\n"


class AcdProcess:
    """``acd run`` in ``workdir`` (config ``acd.toml``, log ``acd.log``, PostgreSQL under ``pg``).

    ``config`` gives the config file's text for the HTTP port picked here; its ``[database]`` must keep
    the data under ``workdir/pg``. ``command`` runs the ACD (another build: another checkout's
    ``python -m acd``); ``token_label`` labels the admin token it makes; ``new_session`` starts the
    ACD in a session of its own (a Ctrl-C at the terminal does not reach it; its owner stops it).
    """

    def __init__(
        self,
        workdir: Path,
        config: Callable[[int], str],
        env: Mapping[str, str],
        *,
        command: Sequence[str] = PYTHON_ACD,
        token_label: str = "e2e",
        new_session: bool = False,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.command = list(command)
        self.token_label = token_label
        self.new_session = new_session
        self.http_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.config = workdir / "acd.toml"
        self.config.write_text(config(self.http_port))
        self.log = workdir / "acd.log"
        self.metrics_token = secrets.token_urlsafe(24)
        self.env = {**os.environ, **env, "ACD_METRICS_TOKEN": self.metrics_token}
        self.env.pop("DATABASE_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self._admin_token: str | None = None  # kept across restarts: same data folder, same PostgreSQL

    def start(self, timeout: float = 60.0, *, standby: bool = False) -> None:
        """Start ``acd run`` and wait until it is healthy (its AMI link up); with ``standby``, until it
        answers /readyz as a standby (another ACD on the same database leads: docs/standby.md)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.command, "run", "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.workdir,
                start_new_session=self.new_session,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"acd exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if standby and self.readiness().get("details", {}).get("role") == "standby":
                    return
                if not standby and self.get("/healthz").get("ami_connected"):
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
        grant_traverse(self.workdir)  # so that the ACD (and its owner after it) can stop PostgreSQL
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
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # -- HTTP ----------------------------------------------------------------------------------
    @property
    def admin_token(self) -> str:
        """An admin's bearer token for /api/v1, made the operator's way (``acd tokens add``) once."""
        if self._admin_token is None:
            url = self.database_url().replace("postgresql://", "postgresql+asyncpg://", 1)
            made = subprocess.run(
                [*self.command, "tokens", "add", "--role", "admin", "--label", self.token_label, "--database-url", url],
                capture_output=True,
                text=True,
                env=self.env,
                cwd=self.workdir,
                timeout=60,
                check=False,
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

    def readiness(self) -> dict[str, Any]:
        """/readyz's body, 200 or 503 (a standby's says ``"role": "standby"`` in its details)."""
        try:
            body = dict(self.get("/readyz"))
            return {**body, "details": {k: v for k, v in body.items() if k != "ready"}}
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read()))

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """POST a JSON body to a path of the ACD (an /api/v1 one with the admin's token); status and body."""
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", **self._headers(path)},
        )
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def metric(self, name: str, **labels: str) -> float:
        request = urllib.request.Request(
            self.base + "/metrics", headers={"Authorization": f"Bearer {self.metrics_token}"}
        )
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
