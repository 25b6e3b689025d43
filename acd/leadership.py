"""The leadership lease in PostgreSQL: which of the ACD processes sharing one database routes.

A row in ``leases`` with a deadline on the database's clock (docs/standby.md says why a row and not an
advisory lock). One statement takes it when it has lapsed (or when this instance held it), with the
epoch one higher; one statement renews it while the holder and the epoch are still ours and it has
not lapsed. The decisions (may this process route now? when to try again? step down?) are
``acd.core.lease``'s, from the monotonic times this adapter hands it.

``run`` loops for the life of the process: a standby tries to take the lease every ``renew``
seconds; a leader renews every ``renew`` seconds, and steps down (``on_step_down``) at its deadline
when no renewal came back in time, whatever PostgreSQL is doing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.lease import Lease, LeaseTimes

log = logging.getLogger(__name__)

NAME = "routing"
DEFAULT_TIMES = LeaseTimes()

_ACQUIRE = text(
    """
    INSERT INTO leases AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
    VALUES (:name, :me, 1, now(), now(), now() + make_interval(secs => :lease))
    ON CONFLICT (name) DO UPDATE
       SET holder = :me, epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(),
           expires_at = now() + make_interval(secs => :lease)
     WHERE l.expires_at <= now() OR l.holder = :me
    RETURNING epoch
    """
)
_RENEW = text(
    """
    UPDATE leases SET renewed_at = now(), expires_at = now() + make_interval(secs => :lease)
     WHERE name = :name AND holder = :me AND epoch = :epoch AND expires_at > now()
    RETURNING epoch
    """
)
_RELEASE = text(
    "UPDATE leases SET expires_at = now() WHERE name = :name AND holder = :me AND epoch = :epoch AND expires_at > now()"
)
_READ = text(
    """
    SELECT holder, epoch, acquired_at, renewed_at, expires_at,
           extract(epoch FROM now() - renewed_at) AS age, expires_at > now() AS live
      FROM leases WHERE name = :name
    """
)


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """The lease as the database holds it now."""

    holder: str
    epoch: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    age: float  # seconds since the last renewal, on the database's clock
    live: bool  # not lapsed


async def read(engine: AsyncEngine, name: str = NAME) -> LeaseRow | None:
    """The lease row (None: nobody ever led)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_READ, {"name": name})).first()
    if row is None:
        return None
    return LeaseRow(
        row.holder, int(row.epoch), row.acquired_at, row.renewed_at, row.expires_at, float(row.age), row.live
    )


class Leadership:
    """This process's side of the lease: acquire, renew, step down, release."""

    def __init__(
        self,
        engine: AsyncEngine,
        instance: str,
        times: LeaseTimes = DEFAULT_TIMES,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = NAME,
    ) -> None:
        self.engine = engine
        self.instance = instance
        self.lease = Lease(times)
        self.clock = clock
        self.name = name
        self.on_lead: Callable[[int], None] | None = None  # the epoch won
        self.on_step_down: Callable[[int], None] | None = None  # the epoch given up
        self.leading_now = asyncio.Event()
        # a process that stepped down stops (docs/standby.md): it never takes the lease again
        self.retired = False

    @property
    def times(self) -> LeaseTimes:
        return self.lease.times

    @property
    def epoch(self) -> int:
        """The epoch of the current term (0: standby)."""
        term = self.lease.term
        return 0 if term is None else term.epoch

    def may_act(self) -> bool:
        """Whether this process may route now, by its own clock (checked before every offer)."""
        return self.lease.leading(self.clock())

    def lease_age(self) -> float | None:
        """Seconds since the last renewal that succeeded was sent (None: standby)."""
        term = self.lease.term
        return None if term is None else max(0.0, self.clock() - term.confirmed)

    async def try_acquire(self) -> bool:
        """One attempt to take the lease; True when this process leads after it."""
        if self.lease.term is not None:
            return self.may_act()
        if self.retired:
            return False
        sent = self.clock()
        params = {"name": self.name, "me": self.instance, "lease": self.times.lease}
        try:  # an answer later than this could not be used (below)
            async with asyncio.timeout(self.times.step_down_after), self.engine.begin() as conn:
                epoch = (await conn.execute(_ACQUIRE, params)).scalar_one_or_none()
        except Exception as exc:  # the next period tries again
            log.debug("lease: acquisition failed: %s", exc)
            return False
        if epoch is None:
            return False
        self.lease.won(int(epoch), sent)
        if not self.may_act():  # the answer came too late to use: never led; the next period takes it again
            self.lease.lost()
            log.warning("lease: the acquisition of epoch %d answered too late to use", epoch)
            return False
        log.warning("lease: %s leads with epoch %d", self.instance, epoch)
        self.leading_now.set()
        if self.on_lead is not None:
            self.on_lead(int(epoch))
        return True

    async def renew(self) -> bool:
        """One renewal, bounded by what is left before the deadline; False when the lease is lost."""
        term = self.lease.term
        if term is None:
            return False
        sent = self.clock()
        params = {"name": self.name, "me": self.instance, "lease": self.times.lease, "epoch": term.epoch}
        try:
            async with asyncio.timeout(self.lease.budget(sent)), self.engine.begin() as conn:
                found = (await conn.execute(_RENEW, params)).scalar_one_or_none()
        except Exception as exc:  # PostgreSQL slow or away: the deadline decides
            log.warning("lease: renewal failed: %s: %s", type(exc).__name__, exc)
            return self.may_act()
        if found is None:
            self._step_down("the lease is no longer ours")
            return False
        self.lease.renewed(sent)
        return self.may_act()

    def check(self) -> None:
        """Step down if the deadline has come (called on every turn of ``run``)."""
        if self.lease.overdue(self.clock()):
            self._step_down("no renewal succeeded in time")

    def _step_down(self, why: str) -> None:
        epoch = self.epoch
        self.lease.lost()
        self.leading_now.clear()
        self.retired = True
        log.critical("lease: %s steps down from epoch %d: %s", self.instance, epoch, why)
        if self.on_step_down is not None:
            self.on_step_down(epoch)

    async def run(self) -> None:
        """Renew while leading, try to take the lease while standing by; until this process steps down."""
        while not self.retired:
            if self.lease.term is None:
                await self.try_acquire()
            else:
                await self.renew()
                self.check()
            await asyncio.sleep(self.lease.wait(self.clock()))
            self.check()

    async def release(self) -> None:
        """A clean stop: let the lease lapse now, so a standby (or this instance restarted) takes it at once."""
        term = self.lease.term
        if term is None:
            return
        self.lease.lost()
        self.leading_now.clear()
        try:
            async with asyncio.timeout(2.0), self.engine.begin() as conn:
                await conn.execute(_RELEASE, {"name": self.name, "me": self.instance, "epoch": term.epoch})
        except Exception as exc:  # it lapses by itself
            log.warning("lease: could not release: %s", exc)
