"""Records reconciled by epoch: which of two versions of a row is kept, and which rings were fenced.

Two ACD processes may write the same rows (docs/standby.md, "Records reconciled by epoch"): an old
leader cut off from PostgreSQL (or frozen) journals on until it steps down, the new leader takes the
same calls over, and the old leader's journal drains when it comes back. ``seq`` alone cannot order
their versions: each process counts its own (from its own clock, ``acd.core.interaction.first_seq``),
and the hosts' clocks differ. So every version carries the **epoch** of the term whose process
journaled it, and:

1. **A newer term wins** (``(epoch, seq)``, compared in that order): what an old leader journaled about a
   call never overwrites what a newer leader wrote about it, whatever their ``seq``; within one term
   ``seq`` orders as before.
2. **Except a close seen over a close guessed.** A new leader closes at its start the calls it finds
   gone from the PBX ("ended unseen", ``acd.ami.ended_unseen``): from the PBX's trace, or, with no trace,
   at the moment it learns of it (end reason ``end_not_traced``). The old leader that served the call saw
   its end happen, with its wrap-up and disposition: when both versions close the row, in different
   terms, and exactly one of them is *unseen*, the other one wins. A close is unseen when its end
   reason is ``end_not_traced``, or when it ended before its own term began (its writer cannot have
   seen it). Both closed: nobody reopens the call, so keeping the truth is safe.
3. **A ring of an old term after a newer one began is fenced**: the PBX refused it (docs/dialplan.md,
   "Fencing"), so it rang nobody; its old leader, whose event token was stale, never heard the refusal
   and journaled a miss. Such an offer (result unanswered, rejected or failed, offered at or after the
   next term's start) is written with result ``fenced``: nobody's miss.
4. **An old term's agent states end where the next term began**: from then on the new leader holds the
   agents (it read their states from the records at its start and writes their intervals); what the old
   leader journaled of them after that (a reservation for a fenced ring, the auto-pause after its
   "misses") never happened to the agent. Its interval is cut at the next term's start (one opened
   after it keeps no time at all), as a restart closes the intervals its predecessor left open.

The same rule is the upsert's SQL guard (``acd.records.pipeline.store``); these functions state it
for the unit tests and for the batch's own choice of one version per id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

LEASE = "routing"  # acd.leadership.NAME: the lease whose terms order the records
NOT_TRACED = "end_not_traced"  # acd.ami.ended_unseen.NOT_TRACED: a close at the moment learned, a guess
MISSES = frozenset({"unanswered", "rejected", "failed"})
FENCED = "fenced"


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a row, as far as the rule needs it."""

    epoch: int
    seq: int
    closed: bool = False  # an interaction with its end
    unseen: bool = False  # ... closed by a term that did not see the end (``ended_unseen``)


def replaces(stored: Version, incoming: Version) -> bool:
    """Whether ``incoming`` overwrites ``stored`` (rules 1 and 2 above)."""
    if stored.epoch != incoming.epoch and stored.closed and incoming.closed and stored.unseen != incoming.unseen:
        return stored.unseen
    return (stored.epoch, stored.seq) < (incoming.epoch, incoming.seq)


def ended_unseen(ended_at: datetime | None, end_reason: str, term_began: datetime | None) -> bool:
    """A close its writer did not see: no trace (``end_not_traced``), or an end before its term began."""
    if ended_at is None:
        return False
    return end_reason == NOT_TRACED or (term_began is not None and ended_at < term_began)


def fenced(result: str | None, offered_at: datetime, newer_term_began: datetime | None) -> bool:
    """Rule 3: a miss an old term journaled for a ring made once a newer term had begun."""
    return newer_term_began is not None and result in MISSES and offered_at >= newer_term_began


def newer_term(epoch: int, terms: list[tuple[int, datetime]]) -> datetime | None:
    """When the first term after ``epoch`` began (``terms``: epoch and start, any order); None: none yet,
    or ``epoch`` 0 (a version journaled before records had epochs: its term is unknown)."""
    if epoch <= 0:
        return None
    later = [(e, began) for e, began in terms if e > epoch]
    return min(later)[1] if later else None


def clipped_end(started_at: datetime, ended_at: datetime | None, newer_term_began: datetime | None) -> datetime | None:
    """Rule 4: an old term's agent-state interval ends at the latest when the next term began (never before
    it started); unchanged when no newer term began."""
    if newer_term_began is None:
        return ended_at
    end = newer_term_began if ended_at is None else min(ended_at, newer_term_began)
    return max(started_at, end)
