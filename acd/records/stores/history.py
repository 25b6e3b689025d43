"""A customer's recent interactions, newest first: what an agent sees when the customer calls again.

Read from ``interactions`` by ``customer_id`` (index ``ix_interactions_customer_id_arrived_at``), so
it shows what the records hold: a disposition or notes an agent set after the call (a later
snapshot, higher ``seq``) are there as soon as the outbox has delivered them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.errors import DatabaseUnavailable

_HISTORY_SQL = text("""
SELECT id::text, arrived_at, queue, outcome, agent_id, wait_seconds, talk_seconds, disposition, notes
FROM interactions WHERE customer_id = :customer
ORDER BY arrived_at DESC, id LIMIT :limit
""")


@dataclass(frozen=True, slots=True)
class PastInteraction:
    interaction_id: str
    arrived_at: datetime
    queue: str
    outcome: str | None  # None while the call is still open
    agent_id: str | None
    wait_seconds: float | None
    talk_seconds: float | None
    disposition: str | None
    notes: str | None


async def customer_history(engine: AsyncEngine, customer_id: str, limit: int = 20) -> list[PastInteraction]:
    """The customer's ``limit`` most recent interactions. ValueError if ``customer_id`` is not a UUID;
    DatabaseUnavailable if Postgres cannot answer."""
    customer = uuid.UUID(customer_id)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(_HISTORY_SQL, {"customer": customer, "limit": limit})).all()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read the history of customer {customer_id}: {exc}") from exc
    return [PastInteraction(*row) for row in rows]
