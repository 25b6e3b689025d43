"""The caller behind an agent's call: number, customer record and last interactions, from PostgreSQL.

The routing core keeps a call's caller number and customer only in its records, so the desk reads
them where the records land: the ``interactions`` row (written by the outbox a few milliseconds
after the call arrived), the ``customers`` row it points to, and that customer's latest other
interactions. Lookups run in their own tasks, at most ``max_in_flight`` at once on the API's pool,
never on the routing path; a row not written yet is asked for again every ``retry`` seconds for up
to ``give_up`` seconds. Each call is looked up once and kept while an agent still has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.records.models import Customer, Interaction, Recording

log = logging.getLogger(__name__)

HISTORY = 5  # the customer's latest other interactions shown with a call
Status = Literal["found", "unknown", "unavailable"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class CallDetails:
    """What PostgreSQL says of a call: ``unknown`` when no row came, ``unavailable`` when it failed."""

    status: Status
    caller: str = ""
    queue: str = ""
    priority: int | None = None
    arrived_at: str | None = None
    wait_seconds: float | None = None
    customer: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


async def _read(conn: AsyncConnection, call: uuid.UUID, history: int) -> CallDetails | None:
    row = (
        await conn.execute(
            select(
                Interaction.caller,
                Interaction.queue,
                Interaction.priority,
                Interaction.customer_id,
                Interaction.arrived_at,
                Interaction.wait_seconds,
            ).where(Interaction.id == call)
        )
    ).first()
    if row is None:
        return None
    customer: dict[str, Any] | None = None
    past: list[dict[str, Any]] = []
    if row.customer_id is not None:
        found = (
            await conn.execute(
                select(
                    Customer.id,
                    Customer.name,
                    Customer.tier,
                    Customer.phone_number,
                    Customer.created_at,
                    Customer.notes,
                ).where(Customer.id == row.customer_id)
            )
        ).first()
        if found is not None:
            customer = {
                "id": str(found.id),
                "name": found.name,
                "tier": found.tier,
                "phone_number": found.phone_number,
                "since": _iso(found.created_at),
                "notes": found.notes,
            }
            rows = await conn.execute(
                select(
                    Interaction.id,
                    Interaction.arrived_at,
                    Interaction.queue,
                    Interaction.outcome,
                    Interaction.agent_id,
                    Interaction.disposition,
                    Interaction.notes,
                    Interaction.wait_seconds,
                    Interaction.talk_seconds,
                    # a recording whose file retention has not deleted: the desk offers to play it
                    exists().where(Recording.id == Interaction.id, Recording.deleted_at.is_(None)).label("recorded"),
                )
                .where(Interaction.customer_id == row.customer_id, Interaction.id != call)
                .order_by(Interaction.arrived_at.desc())
                .limit(history)
            )
            past = [
                {
                    "id": str(r.id),
                    "arrived_at": _iso(r.arrived_at),
                    "queue": r.queue,
                    "outcome": r.outcome,
                    "agent_id": r.agent_id,
                    "disposition": r.disposition,
                    "notes": r.notes,
                    "wait_seconds": r.wait_seconds,
                    "talk_seconds": r.talk_seconds,
                    "recorded": bool(r.recorded),
                }
                for r in rows
            ]
    return CallDetails(
        "found", row.caller, row.queue, row.priority, _iso(row.arrived_at), row.wait_seconds, customer, past
    )


class CallLookups:
    def __init__(
        self,
        engine: AsyncEngine,
        on_found: Callable[[], None],
        *,
        history: int = HISTORY,
        retry: float = 0.2,
        give_up: float = 10.0,
        max_in_flight: int = 4,
    ) -> None:
        self._engine = engine
        self._on_found = on_found
        self._history = history
        self._retry = retry
        self._give_up = give_up
        self._slots = asyncio.Semaphore(max_in_flight)
        self._found: dict[str, CallDetails] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self.queries = 0

    def get(self, call_id: str) -> CallDetails | None:
        """The call's details, or None while they are being looked up (the first ask starts it)."""
        known = self._found.get(call_id)
        if known is not None:
            return known
        try:
            key = uuid.UUID(call_id)
        except ValueError:  # not an id the records could hold
            known = self._found[call_id] = CallDetails("unknown")
            return known
        if call_id not in self._running:
            self._running[call_id] = asyncio.create_task(self._look(call_id, key), name="desk-call-lookup")
        return None

    def refresh(self, call_id: str, customer_id: str) -> None:
        """Read the call again: its row will name ``customer_id`` once the records pipeline wrote it.
        What was found stays shown meanwhile."""
        try:
            key = uuid.UUID(call_id)
        except ValueError:
            return
        running = self._running.pop(call_id, None)
        if running is not None:
            running.cancel()
        task = asyncio.create_task(self._look(call_id, key, customer_id), name="desk-call-lookup")
        self._running[call_id] = task

    def keep_only(self, call_ids: Iterable[str]) -> None:
        """Forget every call but these (no agent has the others any more)."""
        keep = set(call_ids)
        for call_id in [c for c in self._found if c not in keep]:
            del self._found[call_id]
        for call_id in [c for c in self._running if c not in keep]:
            self._running.pop(call_id).cancel()

    async def close(self) -> None:
        tasks = list(self._running.values())
        self._running.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _look(self, call_id: str, key: uuid.UUID, customer_id: str | None = None) -> None:
        deadline = time.monotonic() + self._give_up
        result = CallDetails("unknown")
        while True:
            try:
                async with self._slots, self._engine.connect() as conn:
                    self.queries += 1
                    found = await _read(conn, key, self._history)
                if found is not None:
                    result = found
                    if customer_id is None or (found.customer is not None and found.customer["id"] == customer_id):
                        break
                else:
                    result = CallDetails("unknown")
            except Exception as exc:  # the desk shows the call without its caller; routing is untouched
                log.warning("desk: could not read call %s: %s", call_id, next(iter(str(exc).splitlines()), ""))
                result = CallDetails("unavailable")
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(self._retry)
        if self._running.get(call_id) is asyncio.current_task():
            del self._running[call_id]
            if customer_id is None or result.status == "found" or call_id not in self._found:
                self._found[call_id] = result  # a refresh that could not read keeps what was shown
            self._on_found()
