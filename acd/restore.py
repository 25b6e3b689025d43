"""What a restart carries over from the records: agents keep their login and pause, and the calls
the previous run left open are handed to the first resync, which closes those the PBX saw end;
scheduled callbacks not yet in their queue are scheduled again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.pipeline.outbox import Outbox
from acd.records.startup.last_presence import take_over
from acd.records.startup.open_calls import LeftOpen, calls_left_open
from acd.records.stores import scheduled_callbacks
from acd.runtime import Runtime

log = logging.getLogger("acd")


async def restore_presence(
    runtime: Runtime, outbox: Outbox, engine: AsyncEngine, configured: Collection[str]
) -> LeftOpen:
    """Agents keep their login and pause across an ACD restart (records first reach PostgreSQL).

    Returns the interactions the previous run left open and their calls' segments, for the first
    resync (``acd.ami.pump``).
    """
    try:
        flushed = await outbox.flush(timeout=5.0)
        presence = await take_over(engine, time.time())
    except Exception as exc:
        log.warning("agents start logged out: their last state could not be read (%s)", exc)
        return LeftOpen()
    found = LeftOpen()
    try:
        # Only when the journal has reached PostgreSQL: a call closed in the journal alone
        # would look open, and be closed a second time over its true record.
        found = await calls_left_open(engine) if flushed else LeftOpen()
        if not flushed:
            log.warning("the journal has not reached PostgreSQL yet: calls left open stay as they are")
    except Exception as exc:  # routing goes on; those calls stay open in the records
        log.warning("the calls left open by the previous run could not be read (%s)", exc)
    restored = 0
    for agent in presence:
        if agent.agent_id in configured and agent.events():
            restored += 1
            for event in agent.events():
                runtime.handle_now(event)
    log.info("restored the presence of %d agent(s) from the records", restored)
    if flushed:
        await _reschedule(runtime, engine)
    return found


async def _reschedule(runtime: Runtime, engine: AsyncEngine) -> None:
    """Scheduled callbacks not yet in their queue are scheduled again (a time past: they enter at once).
    Only once the journal has reached PostgreSQL: one that entered shows there as its interaction."""
    try:
        waiting = await scheduled_callbacks.pending(engine)
    except Exception as exc:  # they stay in PostgreSQL, for the next start
        log.warning("the scheduled callbacks could not be read (%s)", exc)
        return
    for event in waiting:
        runtime.handle_now(event)
    if waiting:
        log.info("scheduled %d callback(s) again from the records", len(waiting))
