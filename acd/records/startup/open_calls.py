"""The interactions a previous run left open: read back when the ACD starts, before it routes.

An ACD killed mid-call (or replaced by its standby) cannot hear the ends of the calls it was
serving. What it knew of them is its records: every interaction with no end yet. The restarted
ACD reads them here (after its journal has reached PostgreSQL) and hands them to the first resync,
which closes the ones whose callers are no longer on the PBX from the trace the PBX left
(``acd.ami.ended_unseen``). Only the last day's: the PBX keeps one end per agent, so an older
open record can no longer be matched to one; but a pending callback (its caller hung up keeping their
place, nobody has answered it yet) is read back however old: it has no channel to match, and waits
for an agent as long as it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import InteractionRecord

OPEN = text(
    """
    SELECT id, seq, queue, priority, caller, arrived_at, uniqueid, linkedid, customer_id, answered_at,
           agent_id, wait_seconds, within_sla, sla_threshold_seconds, disposition, notes, end_reason,
           callback_number, first_arrived_at
    FROM interactions
    WHERE ended_at IS NULL AND (
        ((uniqueid <> '' OR end_reason = 'callback') AND arrived_at > now() - interval '1 day')
        OR (end_reason = 'callback' AND answered_at IS NULL)
    )
    ORDER BY arrived_at
    """
)


# the segments of each call left open (a call transferred before the restart): the restarted core
# counts on from them, so the call's later talks are segments too (docs/records.md, "Segments")
SEGMENTS = text(
    """
    SELECT s.interaction_id AS id, count(*) AS segments
    FROM interaction_segments s JOIN interactions i ON i.id = s.interaction_id
    WHERE i.ended_at IS NULL AND i.uniqueid <> '' AND i.arrived_at > now() - interval '1 day'
    GROUP BY s.interaction_id
    """
)


@dataclass(frozen=True, slots=True)
class LeftOpen:
    """The previous run's open interactions, oldest first, and how many segments each call has."""

    records: tuple[InteractionRecord, ...] = ()
    segments: Mapping[str, int] = field(default_factory=dict)


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def interaction_record(row: Any) -> InteractionRecord:
    """An ``interactions`` row as the record the core knows. Columns a query did not select (an open
    call's end, an OTF read-back's notes) stay unset."""

    def column(name: str, unset: Any = None) -> Any:
        return getattr(row, name, unset)

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
        ended_at=_epoch(column("ended_at")),
        outcome=column("outcome"),
        agent_id=row.agent_id,
        wait_seconds=row.wait_seconds,
        talk_seconds=column("talk_seconds"),
        wrapup_seconds=column("wrapup_seconds"),
        within_sla=row.within_sla,
        sla_threshold_seconds=row.sla_threshold_seconds,
        disposition=row.disposition,
        notes=column("notes"),
        end_reason=row.end_reason,  # "callback": a pending callback (acd.ami.ended_unseen)
        callback_number=column("callback_number", ""),
        first_arrived_at=_epoch(row.first_arrived_at),
    )


async def left_open(engine: AsyncEngine) -> list[InteractionRecord]:
    """Every interaction with no end yet, oldest first, as the records hold it."""
    return list((await calls_left_open(engine)).records)


async def calls_left_open(engine: AsyncEngine) -> LeftOpen:
    """Every interaction with no end yet, oldest first, and the segments written for each."""
    async with engine.connect() as conn:
        rows = (await conn.execute(OPEN)).all()
        counted = (await conn.execute(SEGMENTS)).all()
    return LeftOpen(tuple(interaction_record(r) for r in rows), {str(c.id): int(c.segments) for c in counted})
