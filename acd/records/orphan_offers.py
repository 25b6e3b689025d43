"""Offers a stopped process left open, closed by the leader from their interaction.

A process killed (kill -9, a crash) as an agent answers may die before the answer reached its journal:
its ``offers`` row keeps the state it had when the agent was rung, without result or end, and nobody
writes that offer again (the next leader takes the call over from the PBX, but knows nothing of the old
process's offer ids). The leader closes such rows (docs/records.md, "Offers a stopped process left
open"), each from what the records know of its call:

- the interaction answered by the same agent at (or after) the offer, within the longest ring, and no
  later ring of that agent for the call before the answer (the next leader may have rung the same agent
  again: the answer is that ring's): ``answered``, at the answer;
- answered by another agent, or ended: ``cancelled``, at that moment (a ring cut short, nobody's miss:
  the process that could have seen a miss is gone);
- neither, once no ring can still last (the longest ring timeout plus a margin): ``cancelled`` at that
  deadline.

Only offers of an older term than the leader's: the leader's own are its own to close. The close is a
guarded UPDATE (``ended_at IS NULL``) that keeps the row's epoch and ``seq``: a guess made on the old
term's behalf, not a newer version. A replay of the ring's opening (same epoch and ``seq``) changes
nothing, so it never reopens the row; the old term's own close of the ring (its journal draining after
all: ``seq`` one up, ``acd.core.floor``) still overwrites the guess, as the upsert's guard
(``acd.records.pipeline.store``) lets any later version of that term do. Stamped with the leader's
epoch instead, the guess would beat the truth.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MARGIN_SECONDS = 30.0  # beyond the longest ring: the PBX's Dial, the AMI and a clock apart between hosts
SKEW_SECONDS = 1.0  # an answer this much before the offer (two hosts' clocks) is still the offer's answer
LIMIT = 500  # rows per run: a run stays short; the next one takes the rest

_CLOSE = text(
    """
WITH left_open AS (
    SELECT o.id, o.agent_id, o.offered_at, o.interaction_id,
           o.offered_at + make_interval(secs => :ring) AS deadline
      FROM offers o
     WHERE o.ended_at IS NULL AND o.epoch < :epoch
     ORDER BY o.offered_at
     LIMIT :limit
       FOR UPDATE OF o SKIP LOCKED
), settled AS (
    SELECT l.id,
           (i.agent_id = l.agent_id AND i.answered_at IS NOT NULL
            AND i.answered_at >= l.offered_at - make_interval(secs => :skew)
            AND i.answered_at <= l.deadline
            AND NOT EXISTS (  -- a later ring of the same agent for the call, before the answer: that one's
                SELECT 1 FROM offers later
                 WHERE later.interaction_id = l.interaction_id AND later.agent_id = l.agent_id
                   AND later.offered_at > l.offered_at AND later.offered_at <= i.answered_at)) AS answered,
           CASE
               WHEN i.answered_at >= l.offered_at - make_interval(secs => :skew)
                   THEN greatest(l.offered_at, least(i.answered_at, l.deadline))
               WHEN i.ended_at IS NOT NULL THEN greatest(l.offered_at, least(i.ended_at, l.deadline))
               ELSE l.deadline
           END AS ended_at
      FROM left_open l
      JOIN interactions i ON i.id = l.interaction_id
     WHERE i.answered_at >= l.offered_at - make_interval(secs => :skew)
        OR i.ended_at IS NOT NULL
        OR l.deadline < now()
)
UPDATE offers o
   SET result = CASE WHEN s.answered THEN 'answered' ELSE 'cancelled' END,
       ended_at = s.ended_at,
       ring_seconds = extract(epoch FROM s.ended_at - o.offered_at)
  FROM settled s
 WHERE o.id = s.id AND o.ended_at IS NULL
RETURNING o.result
"""
)


async def close_orphan_offers(
    engine: AsyncEngine, epoch: int, longest_ring: float, limit: int = LIMIT
) -> dict[str, int]:
    """Close up to ``limit`` offers of terms before ``epoch`` left open; how many per result."""
    async with engine.begin() as conn:
        found = await conn.execute(
            _CLOSE,
            {"epoch": epoch, "ring": longest_ring + MARGIN_SECONDS, "skew": SKEW_SECONDS, "limit": limit},
        )
        closed: dict[str, int] = {}
        for (result,) in found:
            closed[result] = closed.get(result, 0) + 1
    return closed
