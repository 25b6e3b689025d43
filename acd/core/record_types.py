"""Records: what the core asks to be written to Postgres, as frozen data.

Each record is a full snapshot keyed by a UUID; a later snapshot of the same key carries a higher
``seq`` and replaces the earlier one (idempotent upsert: a replayed or reordered older snapshot
never overwrites a newer one). Times are seconds since the epoch (floats).
See docs/kpis.md for how wait, talk and wrap-up are measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["answered", "abandoned", "overflowed", "failed", "moved"]  # moved: left for another queue
OfferResult = Literal["answered", "rejected", "unanswered", "failed", "cancelled"]
AgentStateName = Literal["logged_out", "ready", "reserved", "on_call", "wrap_up", "paused"]


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    interaction_id: str
    seq: int
    queue: str
    priority: int
    caller: str
    arrived_at: float
    uniqueid: str = ""
    linkedid: str = ""
    customer_id: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None  # caller left the ACD (hung up, overflowed, talk ended)
    outcome: Outcome | None = None  # None while the call is still open
    agent_id: str | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    wrapup_seconds: float | None = None
    within_sla: bool | None = None
    sla_threshold_seconds: float = 20.0
    end_reason: str = ""
    disposition: str | None = None
    notes: str | None = None
    # a callback to another number than the caller's own, keyed in by the caller (acd.core.callbacks;
    # docs/records.md, "Callbacks"); empty: the number they called from
    callback_number: str = ""
    # when the caller first entered the ACD: ``arrived_at`` of the call's first stay, kept by every
    # later one (a transfer, an overflow into a queue, a move); None in records of older versions
    first_arrived_at: float | None = None
    # the PBX the caller's channel is on (docs/pbxs.md; "pbx" with one PBX); None in older records
    pbx: str | None = None


@dataclass(frozen=True, slots=True)
class OfferRecord:
    offer_id: str
    interaction_id: str
    agent_id: str
    offered_at: float
    seq: int = 0
    ended_at: float | None = None
    result: OfferResult | None = None
    ring_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class AgentStateRecord:
    interval_id: str
    agent_id: str
    state: AgentStateName
    started_at: float
    seq: int = 0
    reason: str = ""
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    """A call's recording, once the PBX has closed its file (docs/records.md, "Recordings"): the file's
    name in the recordings directory, when it started (the answer), its length from the WAV header and
    its SHA-256. Written by the recorder beside the core, not by the core: the file is I/O."""

    interaction_id: str
    file: str
    started_at: float
    seconds: float
    sha256: str
    seq: int = 1


@dataclass(frozen=True, slots=True)
class RecordingPauseRecord:
    """One stretch of a recording that was paused (silence in the file): offsets in seconds from the
    recording's start."""

    pause_id: str
    interaction_id: str
    start_offset: float
    end_offset: float
    seq: int = 1


SegmentKind = Literal["talk", "consult"]
TransferKind = Literal["blind", "attended"]


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One agent's part of a transferred interaction: who talked to the caller, from when to when,
    and how that part ended (docs/records.md, "Segments").

    ``interaction_id`` is the call's lasting id; ``stay_id`` the interaction record of the queue stay
    the talk belonged to (a transferred caller's earlier stays are kept under their own ids).
    ``transfer_target``: ``queue:<name>``, ``agent:<id>`` or ``number:<digits>``; empty for a talk the
    caller or the agent ended by hanging up.
    """

    segment_id: str
    interaction_id: str
    stay_id: str
    kind: SegmentKind
    agent_id: str
    queue: str
    started_at: float
    seq: int = 0
    ended_at: float | None = None
    transfer_kind: TransferKind | None = None
    transfer_target: str = ""


Record = InteractionRecord | OfferRecord | AgentStateRecord | RecordingRecord | RecordingPauseRecord | SegmentRecord
