"""Readiness, for ``/readyz``: whether this ACD can do its job right now.

``/healthz`` says how the process is doing; ``/readyz`` is the yes/no a load balancer, an orchestrator
or a standby check acts on. Ready means both links the ACD works through are up: the AMI link to
Asterisk (without it no call is routed) and PostgreSQL (without it records pile up in the outbox),
and this process leads (docs/standby.md): a standby keeps its read side up but answers 503 with
``"role": "standby"``, so a load balancer sends the REST API's changes to the leader alone.

The database check is a real round trip (``SELECT 1``) bounded by a timeout, so a dead or
firewalled server answers "not ready" quickly instead of hanging the probe. Its result is reused
for ``max_age`` seconds, so that a prober polling many times a second cannot load PostgreSQL.

``Status`` answers both from the running parts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Readiness:
    ami_connected: bool
    database_reachable: bool
    database_error: str | None = None  # why the last database probe failed (for the log: /readyz is public)
    role: str = "leader"  # "standby" while another process holds the lease

    @property
    def ready(self) -> bool:
        return self.ami_connected and self.database_reachable and self.role == "leader"

    def down(self) -> list[str]:
        """What is not ready, in words, for the error message."""
        out = []
        if self.role != "leader":
            out.append("this ACD is a standby: another instance leads")
        if not self.ami_connected:
            out.append("the AMI link to Asterisk is down")
        if not self.database_reachable:
            out.append("PostgreSQL is unreachable")
        return out


@dataclass(eq=False)
class DatabaseProbe:
    """``SELECT 1`` against PostgreSQL, at most once per ``max_age`` seconds."""

    engine: AsyncEngine
    _: KW_ONLY
    timeout: float = 2.0
    max_age: float = 2.0
    clock: Callable[[], float] = time.monotonic
    last_error: str | None = field(default=None, init=False)
    _last: tuple[float, bool] | None = field(default=None, init=False)  # (when, reachable)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)  # probes arriving together share a trip

    async def reachable(self) -> bool:
        async with self._lock:
            if self._last is not None and self.clock() - self._last[0] < self.max_age:
                return self._last[1]
            ok = await self._ping()
            self._last = (self.clock(), ok)
            return ok

    async def _ping(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not reachable"; the reason goes to the log, once
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if error != self.last_error:
                log.warning("readiness: PostgreSQL does not answer: %s", error)
            self.last_error = error
            return False
        self.last_error = None
        return True


class _Outbox(Protocol):
    @property
    def backlog(self) -> int: ...

    @property
    def quarantined(self) -> int: ...


class _Runtime(Protocol):
    @property
    def handled(self) -> int: ...


@dataclass(eq=False)
class Status:
    """What ``/healthz`` and ``/readyz`` say about the running parts.

    ``link_up`` tells whether the AMI link is up (a call control handed in by a test is always up);
    ``probe`` is None without a database. Both may be replaced (a test probes with ``max_age=0``).
    """

    runtime: _Runtime
    _: KW_ONLY
    link_up: Callable[[], bool]
    outbox: _Outbox | None = None
    probe: DatabaseProbe | None = None
    leading: Callable[[], bool] | None = None  # None: no lease (a lone process built by a test) leads

    def health(self) -> Mapping[str, Any]:
        connected = self.link_up()
        return {
            "ok": connected,
            "ami_connected": connected,
            "outbox_backlog": self.outbox.backlog if self.outbox else None,
            "records_quarantined": self.outbox.quarantined if self.outbox else None,
            "events_handled": self.runtime.handled,
        }

    async def readiness(self) -> Readiness:
        """For /readyz: the AMI link is up and PostgreSQL answers a query now."""
        probe = self.probe
        reachable = probe is not None and await probe.reachable()
        error = "not connected yet" if probe is None else probe.last_error
        role = "leader" if self.leading is None or self.leading() else "standby"
        return Readiness(self.link_up(), reachable, None if reachable else error, role)
