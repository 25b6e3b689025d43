"""The interactions a previous run left open: read back when the ACD starts, before it routes.

An ACD killed mid-call (or replaced by its standby) cannot hear the ends of the calls it was
serving. What it knew of them is its records: every interaction with no end yet. The restarted
ACD reads them here (after its journal has reached PostgreSQL) and hands them to the first resync,
which closes the ones whose callers are no longer on the PBX from the trace the PBX left
(``acd.ami.ended_unseen``). Only the last day's: the PBX keeps one end per agent, so an older
open record can no longer be matched to one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import InteractionRecord

OPEN = text(
    """
    SELECT id, seq, queue, priority, caller, arrived_at, uniqueid, linkedid, customer_id, answered_at,
           agent_id, wait_seconds, within_sla, sla_threshold_seconds, disposition, notes, end_reason,
           first_arrived_at
    FROM interactions
    WHERE ended_at IS NULL AND uniqueid <> '' AND arrived_at > now() - interval '1 day'
    ORDER BY arrived_at
    """
)


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def _record(row: Any) -> InteractionRecord:
    return InteractionRecord(
        interaction_id=str(row.id),
        seq=row.seq,
        queue=row.queue,
        priority=row.priority,
        caller=row.caller,
        arrived_at=row.arrived_at.timestamp(),
        uniqueid=row.uniqueid,
        linkedid=row.linkedid,
        customer_id=None if row.customer_id is None else str(row.customer_id),
        answered_at=_epoch(row.answered_at),
        agent_id=row.agent_id,
        wait_seconds=row.wait_seconds,
        within_sla=row.within_sla,
        sla_threshold_seconds=row.sla_threshold_seconds,
        disposition=row.disposition,
        notes=row.notes,
        end_reason=row.end_reason,  # "callback": a pending callback (acd.ami.ended_unseen)
        first_arrived_at=_epoch(row.first_arrived_at),
    )


async def left_open(engine: AsyncEngine) -> list[InteractionRecord]:
    """Every interaction with no end yet, oldest first, as the records hold it."""
    async with engine.connect() as conn:
        rows = (await conn.execute(OPEN)).all()
    return [_record(r) for r in rows]
