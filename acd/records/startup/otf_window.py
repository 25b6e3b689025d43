"""The interactions whose OTF verdict may still be pending when the ACD starts: read back for the live ledger.

A handled interaction's verdict settles once its queue's repeat-contact window has passed
(docs/kpis.md, "OTF and FCR"). The live ledger (``acd.core.otf.OtfLedger``) holds the ones it saw; a
restarted ACD saw none, so the ones answered before the restart would settle in the records only. At
start the service reads back every interaction that ended or arrived within the longest window (the
pending ones, and the arrivals that may be their repeat contacts) and seeds the ledger with them. The
scan is bounded by the indexed arrival time: a stay that ended in the window arrived at most
``LONGEST_STAY_SECONDS`` before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import InteractionRecord
from acd.records.report import LONGEST_STAY_SECONDS
from acd.records.startup.open_calls import interaction_record

RECENT = text(
    """
    SELECT id, seq, queue, priority, caller, arrived_at, uniqueid, linkedid, customer_id, answered_at, ended_at,
           outcome, agent_id, wait_seconds, talk_seconds, wrapup_seconds, within_sla, sla_threshold_seconds,
           disposition, end_reason, first_arrived_at
    FROM interactions
    WHERE arrived_at >= :reach AND (arrived_at >= :since OR ended_at >= :since)
    ORDER BY arrived_at
    """
)


async def recent_interactions(engine: AsyncEngine, since: datetime) -> list[InteractionRecord]:
    """The latest record of every interaction that arrived or ended at ``since`` or later (and arrived at
    most ``LONGEST_STAY_SECONDS`` before it), oldest first."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(RECENT, {"since": since, "reach": since - timedelta(seconds=LONGEST_STAY_SECONDS)})
        ).all()
    return [interaction_record(r) for r in rows]
