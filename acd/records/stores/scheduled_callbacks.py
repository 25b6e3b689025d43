"""Scheduled callbacks in PostgreSQL: the rows that make them survive a restart (docs/api.md,
"Scheduled callbacks"; the core keeps them only in memory: ``acd.core.scheduled_callbacks``).

A row is written when the API takes the request, and marked cancelled when it is called off. It enters
its queue as the interaction of the same id, so its status is read, never written: ``pending`` (no
interaction yet), ``cancelled``, ``waiting`` (the interaction is open) or the interaction's outcome.
At start the pending rows are scheduled again (``pending``); a time already past enters at once. One
that can never enter (its queue removed from the config, its number no longer allowed) is closed
(``close``): ``closed_reason`` says why, and its status is that reason (``queue_removed``,
``number_not_allowed``) instead of ``pending`` for ever.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import CallbackScheduled

log = logging.getLogger(__name__)
MAX_LISTED = 500
# created_by of a callback a caller took (a closed queue's, or a time a holding caller keyed) to the number
# they called from; CALLER_KEYED: to a number they keyed in, checked against the patterns again when a start
# reads it back (the ones of people: their token)
CALLER = "caller"
CALLER_KEYED = "caller-keyed"

_COLUMNS = """
    s.id, s.queue, s.number, s.at, s.customer, s.note, s.created_at, s.created_by, s.cancelled_at,
    CASE WHEN s.cancelled_at IS NOT NULL AND s.closed_reason <> '' THEN s.closed_reason
         WHEN s.cancelled_at IS NOT NULL THEN 'cancelled'
         WHEN i.id IS NULL THEN 'pending'
         WHEN i.ended_at IS NULL THEN 'waiting'
         ELSE i.outcome END AS status
    FROM scheduled_callbacks s LEFT JOIN interactions i ON i.id = s.id
"""


@dataclass(frozen=True, slots=True)
class Scheduled:
    id: str
    queue: str
    number: str
    at: datetime
    customer: str
    note: str
    created_at: datetime
    created_by: str
    status: str

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queue": self.queue,
            "number": self.number,
            "at": self.at.isoformat(),
            "customer": self.customer,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
        }


def _row(row: Any) -> Scheduled:
    return Scheduled(
        str(row.id), row.queue, row.number, row.at, row.customer, row.note, row.created_at, row.created_by, row.status
    )


async def add(
    engine: AsyncEngine, callback_id: str, queue: str, number: str, at: datetime, customer: str, note: str, by: str
) -> Scheduled:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO scheduled_callbacks (id, queue, number, at, customer, note, created_by) "
                "VALUES (:id, :queue, :number, :at, :customer, :note, :by)"
            ),
            {
                "id": uuid.UUID(callback_id),
                "queue": queue,
                "number": number,
                "at": at,
                "customer": customer,
                "note": note,
                "by": by,
            },
        )
    found = await one(engine, callback_id)
    assert found is not None
    return found


async def add_quietly(engine: AsyncEngine, callback_id: str, queue: str, number: str, at: datetime, by: str) -> bool:
    """A callback the core scheduled itself (a closed queue's caller's): written once; False, logged,
    when it could not be (the caller is then not told it is kept)."""
    try:
        await add(engine, callback_id, queue, number, at, "", "", by)
    except Exception as exc:
        log.error("scheduled callback %s could not be kept in the records: %s", callback_id, exc)
        return False
    return True


async def remove(engine: AsyncEngine, callback_id: str) -> None:
    """A row the core refused: it never was a scheduled callback."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM scheduled_callbacks WHERE id = :id"), {"id": uuid.UUID(callback_id)})


async def cancel(engine: AsyncEngine, callback_id: str, at: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE scheduled_callbacks SET cancelled_at = :at WHERE id = :id AND cancelled_at IS NULL"),
            {"id": uuid.UUID(callback_id), "at": at},
        )


async def close(engine: AsyncEngine, callback_id: str, reason: str, at: datetime) -> None:
    """A callback that will never enter its queue: closed with ``reason`` (the core's
    ``CloseScheduledCallback``), unless it was called off or closed already."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE scheduled_callbacks SET cancelled_at = :at, closed_reason = :reason "
                "WHERE id = :id AND cancelled_at IS NULL"
            ),
            {"id": uuid.UUID(callback_id), "at": at, "reason": reason},
        )


async def one(engine: AsyncEngine, callback_id: str) -> Scheduled | None:
    try:
        key = uuid.UUID(callback_id)
    except ValueError:
        return None
    async with engine.connect() as conn:
        row = (await conn.execute(text(f"SELECT {_COLUMNS} WHERE s.id = :id"), {"id": key})).first()
    return None if row is None else _row(row)


async def listed(engine: AsyncEngine, queues: set[str] | None) -> list[Scheduled]:
    """The latest ``MAX_LISTED`` by time, of ``queues`` (None: all)."""
    where = "" if queues is None else "WHERE s.queue = ANY(:queues)"
    sql = f"SELECT {_COLUMNS} {where} ORDER BY s.at DESC LIMIT {MAX_LISTED}"
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"queues": sorted(queues or ())})).all()
    return [_row(r) for r in rows]


async def pending(engine: AsyncEngine) -> list[CallbackScheduled]:
    """Every scheduled callback not cancelled and not yet in its queue, as the core takes it."""
    sql = f"SELECT {_COLUMNS} WHERE s.cancelled_at IS NULL AND i.id IS NULL ORDER BY s.at"
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql))).all()
    # a caller's own number needs no pattern, as when it was taken; a number they keyed in does, again
    return [
        CallbackScheduled(str(r.id), r.queue, r.number, r.at.timestamp(), own=r.created_by == CALLER, restored=True)
        for r in rows
    ]
