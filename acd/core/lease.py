"""Who may route: the leader's lease, decided from the times handed in (docs/standby.md).

Any number of ACD processes share one PostgreSQL; exactly one leads (routes calls), the others stand
by. The lease is a row with a deadline on the database's clock; this module holds what one process
knows of it, on its own monotonic clock, and decides from that alone:

- a renewal that succeeded proves the lease ran until at least ``sent + lease`` (the database stamped
  its deadline after the request left), so the leader may act until ``sent + lease - margin``: the
  ``margin`` absorbs the drift between the two clocks' rates and the lateness of a check;
- past that moment the leader steps down by itself, whether or not PostgreSQL answered, **when its
  last good renewal saw another live member** (a standby able to take over): a standby can only take
  the lease once it has lapsed on the database's clock, which is later;
- a leader that was **alone** at its last good renewal keeps routing through a PostgreSQL outage (nobody
  could take over, and routing must go on: docs/records.md); its lease is only *unconfirmed* then, so it
  no longer writes the fencing token, and when PostgreSQL answers again it renews the lease if it is
  still its own (same holder and epoch) or steps down at once if it was taken;
- a standby tries again every ``renew`` seconds.

No clock, no I/O here: the adapter (``acd.leadership``) passes every time in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class LeaseTimes:
    """The lease's figures, in seconds (docs/standby.md, "Margins")."""

    lease: float = 2.0  # how long one renewal holds the row, on the database's clock
    renew: float = 0.25  # the leader renews this often; a standby tries to take the lease this often
    margin: float = 0.5  # the leader stops routing this long before its lease could lapse

    def problems(self) -> list[str]:
        out = []
        if self.renew <= 0:
            out.append("renew must be above 0")
        if not 0 < self.margin < self.lease:
            out.append("margin must be above 0 and below lease")
        elif self.renew * 2 > self.lease - self.margin:
            out.append("lease - margin must allow at least two renewals")
        return out

    @property
    def step_down_after(self) -> float:
        """Seconds after a successful renewal was sent at which the leader must have stopped routing."""
        return self.lease - self.margin


@dataclass(frozen=True, slots=True)
class Term:
    """This process's time as leader: the epoch it won and when its last good renewal was sent."""

    epoch: int
    confirmed: float  # monotonic moment the last renewal (or the acquisition) that succeeded was sent
    since: float  # monotonic moment the term was won
    alone: bool = False  # no other live member was seen at that renewal: nobody can take over


class Lease:
    """One process's view of the lease: leader (with a term) or standby."""

    def __init__(self, times: LeaseTimes) -> None:
        problems = times.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.times = times
        self.term: Term | None = None
        self.last_epoch = 0  # the last epoch this process won (0: never)
        self.terms_won = 0

    def deadline(self) -> float | None:
        """The monotonic moment by which the leader must have stopped routing; None for a standby."""
        return None if self.term is None else self.term.confirmed + self.times.step_down_after

    def confirmed(self, now: float) -> bool:
        """Whether the lease is proven ours at ``now``: a term whose deadline has not come. Only then may
        the leader write its epoch to the PBX (the fencing token: a newer term's must never be overwritten)."""
        deadline = self.deadline()
        return deadline is not None and now < deadline

    def leading(self, now: float) -> bool:
        """Whether this process may route at ``now``: its lease is confirmed, or it was alone at its last good
        renewal (no standby could take over: it routes on through a PostgreSQL outage, docs/standby.md)."""
        term = self.term
        return term is not None and (term.alone or self.confirmed(now))

    def won(self, epoch: int, sent: float, *, alone: bool = False) -> None:
        """The acquisition sent at ``sent`` succeeded with ``epoch``; ``alone``: it saw no other live member."""
        if epoch <= self.last_epoch:
            raise ValueError(f"epoch {epoch} after {self.last_epoch}: epochs only grow")
        self.term = Term(epoch, sent, sent, alone)
        self.last_epoch = epoch
        self.terms_won += 1

    def renewed(self, sent: float, *, alone: bool = False) -> None:
        """The renewal sent at ``sent`` succeeded (``alone``: it saw no other live member): the deadline moves
        on (never back), and what it saw of the other members is the latest word."""
        if self.term is not None and sent > self.term.confirmed:
            self.term = replace(self.term, confirmed=sent, alone=alone)

    def lost(self) -> None:
        """The lease is no longer ours: a renewal found another holder or epoch, or the deadline came."""
        self.term = None

    def overdue(self, now: float) -> bool:
        """A term whose deadline has come while a standby could take over: the adapter must step down now."""
        return self.term is not None and not self.leading(now)

    def may_renew_lapsed(self) -> bool:
        """Whether a renewal may take back the lease after it lapsed on the database's clock, as long as it is
        still ours (same holder and epoch: nobody took it, so nobody else led): a leader that was alone."""
        return self.term is not None and self.term.alone

    def wait(self, now: float) -> float:
        """Seconds until the next attempt (renewal or acquisition); a leader that a standby could replace never
        sleeps past its deadline."""
        term, deadline = self.term, self.deadline()
        if term is None or deadline is None or term.alone:
            return self.times.renew
        return max(0.0, min(self.times.renew, deadline - now))

    def budget(self, now: float) -> float:
        """How long a renewal sent at ``now`` may take: a standby, one period; a leader a standby could replace,
        what is left before its deadline; a leader alone, that or one period, whichever is longer."""
        term, deadline = self.term, self.deadline()
        if term is None or deadline is None:
            return self.times.renew
        if term.alone:
            return max(self.times.renew, deadline - now)
        return max(0.0, deadline - now)
