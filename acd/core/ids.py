"""Deterministic ids for offers, agent-state intervals and interactions.

The core draws no randomness, yet records need UUIDs that never collide, also across an ACD
restart (the outbox upserts by id). So every id is a UUIDv5 of inputs that are unique together:
an offer is (call id, attempt number, time offered); an interval is (agent id, time opened,
the core's interval counter). A restarted core restarts its counters but not the clock, so the
time component keeps ids apart; within one process the counter does.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would give every replayed event new record ids.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:acd:core")


def interaction_id(linkedid: str) -> str:
    """The call id (= interaction id) for an Asterisk call, stable across ACD restarts.

    For the runtime: derive ``CallArrived.call_id`` from the channel's linkedid (or uniqueid), so a
    resync after a restart announces the same call under the same id.
    """
    return str(uuid.uuid5(NAMESPACE, f"interaction/{linkedid}"))


def moved_leg_id(call_id: str, queue: str, now: float) -> str:
    """The record id of a moved call's stay in the queue it left; the call keeps its own id."""
    return str(uuid.uuid5(NAMESPACE, f"interaction/{call_id}/moved/{queue}/{now!r}"))


def transferred_leg_id(call_id: str, queue: str, now: float) -> str:
    """The record id of a transferred call's stay in the queue it was answered in (see ``moved_leg_id``)."""
    return str(uuid.uuid5(NAMESPACE, f"interaction/{call_id}/transferred/{queue}/{now!r}"))


def segment_id(call_id: str, stay_id: str, kind: str, agent_id: str, started_at: float) -> str:
    """The id of a call's segment: ``kind`` (talk or consult) by ``agent_id`` from ``started_at`` in
    the stay ``stay_id``. Made of the segment's own facts, which a restarted core reads back from the
    records, never of a count it would have to remember: no two segments of a call share an id, also
    across an ACD restart, and the same segment written again keeps its id."""
    return str(uuid.uuid5(NAMESPACE, f"segment/{call_id}/{stay_id}/{kind}/{agent_id}/{started_at!r}"))


def offer_id(call_id: str, attempt: int, now: float) -> str:
    return str(uuid.uuid5(NAMESPACE, f"offer/{call_id}/{attempt}/{now!r}"))


def interval_id(agent_id: str, now: float, counter: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"interval/{agent_id}/{now!r}/{counter}"))
