"""Record snapshots → table rows: which table, which key, which columns, which identity.

The *identity* of a row is what a later snapshot of the same id may not change. Two records that share
an id but differ in identity are a clash (two different things claim one key), not a newer version:
the later one is quarantined rather than allowed to rewrite history.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from acd.core.record_types import (
    AgentStateRecord,
    InteractionRecord,
    OfferRecord,
    Record,
    RecordingPauseRecord,
    RecordingRecord,
    SegmentRecord,
)
from acd.records.models import AgentState, Interaction, Offer, Recording, RecordingPause, Segment
from acd.records.retention import matches_masked


@dataclass(frozen=True, slots=True)
class Row:
    table: Table
    id: uuid.UUID
    seq: int
    values: dict[str, Any]
    identity: tuple[str, ...]  # column names that must not change for an id
    epoch: int = 0  # the term that journaled it (acd.records.pipeline.epochs)

    @property
    def identity_values(self) -> tuple[Any, ...]:
        return tuple(self.values[c] for c in self.identity)

    def same_identity(self, stored: tuple[Any, ...]) -> bool:
        """``stored`` (from Postgres or earlier in the batch) is this row's identity; a masked caller
        (``acd.records.retention``) still matches the number it was masked from."""
        return all(
            matches_masked(held, mine) if column == "caller" else held == mine
            for column, held, mine in zip(self.identity, stored, self.identity_values, strict=True)
        )


INTERACTIONS: Table = Interaction.__table__  # type: ignore[assignment]
OFFERS: Table = Offer.__table__  # type: ignore[assignment]
AGENT_STATES: Table = AgentState.__table__  # type: ignore[assignment]
RECORDINGS: Table = Recording.__table__  # type: ignore[assignment]
RECORDING_PAUSES: Table = RecordingPause.__table__  # type: ignore[assignment]
SEGMENTS: Table = Segment.__table__  # type: ignore[assignment]
# offers, recordings and segments reference interactions
WRITE_ORDER: tuple[Table, ...] = (INTERACTIONS, OFFERS, AGENT_STATES, RECORDINGS, RECORDING_PAUSES, SEGMENTS)


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def to_row(record: Record, epoch: int = 0) -> Row:
    """The row of ``record``, journaled under the term ``epoch`` (0: unknown, a line from before epochs)."""
    row = _row(record)
    row.values["epoch"] = epoch
    return dataclasses.replace(row, epoch=epoch)


def _row(record: Record) -> Row:
    if isinstance(record, InteractionRecord):
        rid = uuid.UUID(record.interaction_id)
        return Row(
            INTERACTIONS,
            rid,
            record.seq,
            {
                "id": rid,
                "seq": record.seq,
                "uniqueid": record.uniqueid,
                "linkedid": record.linkedid,
                "caller": record.caller,
                "queue": record.queue,
                "priority": record.priority,
                "customer_id": uuid.UUID(record.customer_id) if record.customer_id else None,
                "arrived_at": _at(record.arrived_at),
                "first_arrived_at": _at(record.first_arrived_at),
                "answered_at": _at(record.answered_at),
                "ended_at": _at(record.ended_at),
                "outcome": record.outcome,
                "agent_id": record.agent_id,
                "wait_seconds": record.wait_seconds,
                "talk_seconds": record.talk_seconds,
                "wrapup_seconds": record.wrapup_seconds,
                "within_sla": record.within_sla,
                "sla_threshold_seconds": record.sla_threshold_seconds,
                "end_reason": record.end_reason,
                "disposition": record.disposition,
                "notes": record.notes,
                "callback_number": record.callback_number,
                "pbx": record.pbx,
            },
            identity=("caller",),
        )
    if isinstance(record, OfferRecord):
        rid = uuid.UUID(record.offer_id)
        return Row(
            OFFERS,
            rid,
            record.seq,
            {
                "id": rid,
                "seq": record.seq,
                "interaction_id": uuid.UUID(record.interaction_id),
                "agent_id": record.agent_id,
                "offered_at": _at(record.offered_at),
                "ended_at": _at(record.ended_at),
                "result": record.result,
                "ring_seconds": record.ring_seconds,
            },
            identity=("interaction_id", "agent_id"),
        )
    if isinstance(record, RecordingRecord):
        rid = uuid.UUID(record.interaction_id)
        return Row(
            RECORDINGS,
            rid,
            record.seq,
            {
                "id": rid,
                "seq": record.seq,
                "file": record.file,
                "started_at": _at(record.started_at),
                "seconds": record.seconds,
                "sha256": record.sha256,
                "deleted_at": None,
            },
            identity=("file",),
        )
    if isinstance(record, RecordingPauseRecord):
        rid = uuid.UUID(record.pause_id)
        return Row(
            RECORDING_PAUSES,
            rid,
            record.seq,
            {
                "id": rid,
                "seq": record.seq,
                "interaction_id": uuid.UUID(record.interaction_id),
                "start_offset": record.start_offset,
                "end_offset": record.end_offset,
            },
            identity=("interaction_id",),
        )
    if isinstance(record, SegmentRecord):
        rid = uuid.UUID(record.segment_id)
        return Row(
            SEGMENTS,
            rid,
            record.seq,
            {
                "id": rid,
                "seq": record.seq,
                "interaction_id": uuid.UUID(record.interaction_id),
                "stay_id": uuid.UUID(record.stay_id),
                "kind": record.kind,
                "agent_id": record.agent_id,
                "queue": record.queue,
                "started_at": _at(record.started_at),
                "ended_at": _at(record.ended_at),
                "transfer_kind": record.transfer_kind,
                "transfer_target": record.transfer_target,
            },
            identity=("interaction_id", "agent_id"),
        )
    rid = uuid.UUID(record.interval_id)
    return Row(
        AGENT_STATES,
        rid,
        record.seq,
        {
            "id": rid,
            "seq": record.seq,
            "agent_id": record.agent_id,
            "state": record.state,
            "reason": record.reason,
            "started_at": _at(record.started_at),
            "ended_at": _at(record.ended_at),
        },
        identity=("agent_id",),
    )


def referenced_queues(records: list[Record]) -> set[str]:
    return {r.queue for r in records if isinstance(r, InteractionRecord | SegmentRecord)}


def referenced_agents(records: list[Record]) -> set[str]:
    agents = {r.agent_id for r in records if isinstance(r, OfferRecord | AgentStateRecord | SegmentRecord)}
    agents |= {r.agent_id for r in records if isinstance(r, InteractionRecord) and r.agent_id}
    return {a for a in agents if a}
