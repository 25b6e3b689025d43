"""The audit log: who changed what through the REST API, when, and with what result.

Written straight to PostgreSQL with a bounded wait, not through the records outbox. The outbox is
built for the core's records (journal codec, idempotent upserts by id and ``seq``); an audit entry
is none of those, and its writer is the HTTP request, never the routing writer, so routing cannot
wait on it whatever PostgreSQL does. The request waits at most ``timeout`` for the insert; when it
times out or fails, the entry is logged at WARNING in full (the log is then the audit trail) and
counted in ``failures``. An insert that timed out is left to finish in the background rather than
cancelled (cancelling SQLAlchemy mid-checkout can strand a pooled connection); at most
``max_in_flight`` run at once, beyond that an entry goes to the log only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_INSERT_SQL = text("""
INSERT INTO audit_log (at, token_id, role, actor_agent_id, action, target, details, status)
VALUES (:at, :token_id, :role, :actor_agent_id, :action, :target, CAST(:details AS jsonb), :status)
""")


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    token_id: str
    role: str
    actor_agent_id: str | None
    action: str  # e.g. "agent.pause"
    target: str  # e.g. the agent id
    status: int  # the HTTP status answered
    details: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    def __init__(self, engine: AsyncEngine, *, timeout: float = 1.0, max_in_flight: int = 16) -> None:
        self._engine = engine
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._running: set[asyncio.Task[None]] = set()
        self.failures = 0

    async def write(self, change: Change) -> bool:
        """Store the entry within ``timeout``; False (and the entry in the log) if it could not."""
        if len(self._running) >= self._max_in_flight:
            self._lost(change, f"{len(self._running)} audit writes still running")
            return False
        task = asyncio.create_task(self._insert(change), name="audit-write")
        self._running.add(task)
        task.add_done_callback(self._finished)
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(task)
        except TimeoutError:
            self._lost(change, f"no answer within {self._timeout:.1f}s")
            return False
        except Exception as exc:
            self._lost(change, f"{type(exc).__name__}: {next(iter(str(exc).splitlines()), '')}")
            return False
        return True

    async def close(self) -> None:
        """Give unfinished writes a moment to land."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=2.0)

    async def _insert(self, change: Change) -> None:
        row = asdict(change)
        row["details"] = json.dumps(change.details)
        async with self._engine.begin() as conn:
            await conn.execute(_INSERT_SQL, row)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("audit write failed: %s", task.exception())

    def _lost(self, change: Change, reason: str) -> None:
        self.failures += 1
        entry = {**asdict(change), "at": change.at.isoformat()}
        log.warning("audit entry not stored in PostgreSQL (%s): %s", reason, json.dumps(entry, sort_keys=True))
