"""The leadership lease in PostgreSQL: which of the ACD processes sharing one database routes.

A row in ``leases`` with a deadline on the database's clock (docs/standby.md says why a row and not an
advisory lock). One statement takes it when it has lapsed (or when this instance held it), with the
epoch one higher; one statement renews it while the holder and the epoch are still ours. Each also
writes this process's heartbeat in ``members`` and reads whether another member is live, in the same
round trip. The decisions (may this process route now? when to try again? step down?) are
``acd.core.lease``'s, from the monotonic times this adapter hands it.

``run`` loops for the life of the process: a standby tries to take the lease every ``renew``
seconds, or right when the leader's lease lapses if that comes sooner (``standby_wait``); a leader
renews every ``renew`` seconds, and steps down (``on_step_down``) at its deadline
when no renewal came back in time and its last good renewal saw a standby able to take over; a leader
that was alone routes on through the outage and takes its lease back when PostgreSQL answers, or steps
down at once if the lease was taken meanwhile.

The leader, with a confirmed lease, forgets members whose heartbeat is older than ``forget_after`` (an
hour by default), every ``PRUNE_EVERY`` seconds, in a statement of its own that waits on no lock (``SKIP
LOCKED``, and a short ``lock_timeout``): never in the heartbeat, whose renewal must not depend on another
member's row (a dead member's row is the one most likely locked by a session the server has not yet seen
die; docs/standby.md, "Members").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd import __version__
from acd.core.lease import Lease, LeaseTimes

_T = TypeVar("_T")
# how long a stopped elector waits for its cancelled renewal to end (bounded: a silent socket can hold it)
CANCELLED_WORK_SECONDS = 2.0
NO_RENEWAL = "no renewal succeeded in time"  # a step-down's reason when PostgreSQL did not answer

log = logging.getLogger(__name__)

NAME = "routing"
DEFAULT_TIMES = LeaseTimes()
FORGET_AFTER = 3600.0  # seconds: a member whose heartbeat is older is pruned from ``members``
PRUNE_EVERY = 60.0  # seconds between two prunes by the leader
LISTEN_PING = 10.0  # seconds between two pings of the ``LISTEN`` connection
LISTEN_PING_TIMEOUT = 2.0  # a ping not answered within this: the connection is lost
LISTEN_RETRY = 1.0  # seconds between two attempts to listen again
LISTEN_WARN_EVERY = 60.0  # seconds: at most one warning this often while the listening stays lost
PRUNE_LOCK_TIMEOUT_MS = 100  # a prune gives up rather than wait (its next turn tries again)
LAPSE_SLACK = 0.01  # seconds: a standby tries this long after the lease lapses (never busy-looping before)

# Every attempt writes this process's heartbeat in ``members`` in the same statement (docs/standby.md,
# "Members"): its role after the attempt, ``last_seen`` on the database's clock, ``started_at`` (reset by
# the first heartbeat of a process) and its version. ``company``: whether another member was seen live
# (its heartbeat within one lease), read in the same round trip: a leader that saw none is alone.
# ``lapses_in``: seconds until the lease row (as it was before this statement) lapses on the database's
# clock; a standby that did not win sleeps until then, not a whole period (docs/standby.md, "Margins").
_HEARTBEAT = """
    member AS (
      INSERT INTO members AS m (instance, role, last_seen, started_at, version)
      VALUES (:me, CASE WHEN EXISTS (SELECT 1 FROM lease) THEN 'leader' ELSE 'standby' END, now(), now(), :version)
      ON CONFLICT (instance) DO UPDATE
         SET role = excluded.role, last_seen = now(), version = excluded.version,
             started_at = CASE WHEN :fresh THEN now() ELSE m.started_at END
      RETURNING instance
    )
    SELECT (SELECT epoch FROM lease) AS epoch,
           EXISTS (SELECT 1 FROM members
                    WHERE instance <> :me AND last_seen > now() - make_interval(secs => :lease)) AS company,
           (SELECT count(*) FROM member) AS beats,
           (SELECT extract(epoch FROM expires_at - now()) FROM leases WHERE name = :name) AS lapses_in
"""
_ACQUIRE = text(
    """
    WITH lease AS (
      INSERT INTO leases AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
      VALUES (:name, :me, 1, now(), now(), now() + make_interval(secs => :lease))
      ON CONFLICT (name) DO UPDATE
         SET holder = :me, epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(),
             expires_at = now() + make_interval(secs => :lease)
       WHERE l.expires_at <= now() OR l.holder = :me
      RETURNING epoch
    ),"""
    + _HEARTBEAT
)
# ``lapsed``: a leader that was alone takes back its lease after an outage as long as it is still its own
# (same holder and epoch: nobody took it, so nobody else led); one a standby could replace renews it only
# while it is live.
_RENEW = text(
    """
    WITH lease AS (
      UPDATE leases SET renewed_at = now(), expires_at = now() + make_interval(secs => :lease)
       WHERE name = :name AND holder = :me AND epoch = :epoch AND (expires_at > now() OR :lapsed)
      RETURNING epoch
    ),"""
    + _HEARTBEAT
)
_RELEASE = text(
    """
    WITH gone AS (DELETE FROM members WHERE instance = :me)
    UPDATE leases SET expires_at = now() WHERE name = :name AND holder = :me AND epoch = :epoch AND expires_at > now()
    """
)
# Delivered on commit, to every member listening (``Leadership.listen``): a standby tries to take the lease at
# once instead of at its next period; the leader named by a handover request hands over (``acd.handover``).
CHANNEL = "acd_lease"
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
RELEASED = "released"
HANDOVER = "handover"
# The request ``acd handover`` recorded with its notification (``acd.handover``): its ``audit_log`` row, with
# status 202 (asked), naming the leader and the epoch, on the database's clock within ``REQUEST_WITHIN``.
ASKED = 202
REQUEST_WITHIN = 30.0
_REQUEST = text(
    """
    SELECT id FROM audit_log
     WHERE id = :id AND action = 'cluster.handover' AND status = 202 AND role = 'operator' AND target = :me
       AND details->>'epoch' = :epoch AND at > now() - make_interval(secs => :within)
    """
)
_LEAVE = text("DELETE FROM members WHERE instance = :me")
# The rows of members long gone (killed, their host lost): locked rows are skipped, not waited for
# (a session the server still believes alive may hold one), and the next prune takes them.
_PRUNE = text(
    """
    DELETE FROM members
     WHERE instance IN (SELECT instance FROM members
                         WHERE instance <> :me AND last_seen < now() - make_interval(secs => :after)
                           FOR UPDATE SKIP LOCKED)
    RETURNING instance
    """
)
# for the prune's transaction only: no wait on a lock past this, no statement past one renew period
_BOUNDS = text("SELECT set_config('lock_timeout', :lock, true), set_config('statement_timeout', :statement, true)")
_READ = text(
    """
    SELECT holder, epoch, acquired_at, renewed_at, expires_at,
           extract(epoch FROM now() - renewed_at) AS age, expires_at > now() AS live
      FROM leases WHERE name = :name
    """
)
_MEMBERS = text(
    """
    SELECT instance, role, last_seen, started_at, version, extract(epoch FROM now() - last_seen) AS age
      FROM members ORDER BY instance
    """
)


def standby_wait(period: float, lapses_in: float | None) -> float:
    """How long a standby sleeps before its next attempt: one period, or less when the leader's lease lapses
    sooner (by the database's clock at the last attempt), so that it tries right then, not up to a period
    later. Only when it tries again matters: the statement still takes the lease only once it has lapsed."""
    if lapses_in is None:
        return period
    return min(period, max(LAPSE_SLACK, lapses_in + LAPSE_SLACK))


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One ACD process's last heartbeat (``members``), as the database holds it now."""

    instance: str
    role: str  # "leader" or "standby", after its last attempt
    last_seen: datetime
    started_at: datetime
    version: str
    age: float  # seconds since its last heartbeat, on the database's clock

    def live(self, lease: float) -> bool:
        """Seen within one lease: a member able to take over (or leading)."""
        return self.age < lease


async def members(engine: AsyncEngine) -> list[MemberRow]:
    """Every member's last heartbeat, by instance name (a member stopped cleanly has left the table)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_MEMBERS)).all()
    return [MemberRow(r.instance, r.role, r.last_seen, r.started_at, r.version, float(r.age)) for r in rows]


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
        forget_after: float = FORGET_AFTER,
        prune_every: float = PRUNE_EVERY,
    ) -> None:
        self.engine = engine
        self.instance = instance
        self.lease = Lease(times)
        self.clock = clock
        self.name = name
        self.on_lead: Callable[[int], None] | None = None  # the epoch won
        self.on_step_down: Callable[[int], None] | None = None  # the epoch given up
        self.leading_now = asyncio.Event()
        self.joined = False  # a heartbeat of this process reached ``members`` (its ``started_at`` is set)
        # a process that stepped down stops (docs/standby.md): it never takes the lease again
        self.retired = False
        # the lease was released (a notification on ``CHANNEL``): a standby tries to take it now
        self._wake = asyncio.Event()
        # a handover was asked of this leader (``acd handover``, by notification): the epoch named
        self.on_handover: Callable[[int, int | None], None] | None = None  # the epoch, the request's row
        self._asking: set[asyncio.Task[None]] = set()
        self.listen_losses = 0  # the ``LISTEN`` connection lost (or found dead by a ping), in all
        self._unheard_since: float | None = None  # monotonic moment it was lost, while it is
        self._warned_unheard = -LISTEN_WARN_EVERY
        self.won_at: float | None = None  # monotonic moment this process last won the lease (measured handovers)
        self.stepped_down_because: str | None = None  # why this process stepped down (None: it did not)
        self.forget_after = max(forget_after, times.lease)  # never a member that may still be live
        self.prune_every = prune_every
        self._next_prune = 0.0  # by the monotonic clock: the leader's first prune comes with its first turn
        # a standby's last attempt: seconds until the leader's lease lapses, on the database's clock (None: unknown)
        self._lapses_in: float | None = None

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
        params = {"name": self.name, "me": self.instance, "lease": self.times.lease} | self._member()
        try:  # an answer later than this could not be used (below)
            async with asyncio.timeout(self.times.step_down_after), self.engine.begin() as conn:
                row = (await conn.execute(_ACQUIRE, params)).one()
        except Exception as exc:  # the next period tries again
            log.debug("lease: acquisition failed: %s", exc)
            return False
        self.joined = True
        epoch = row.epoch
        if epoch is None:
            self._lapses_in = None if row.lapses_in is None else float(row.lapses_in)
            return False
        self.lease.won(int(epoch), sent, alone=not row.company)
        if not self.lease.confirmed(self.clock()):  # too late to use: never led; the next period takes it again
            self.lease.lost()
            log.warning("lease: the acquisition of epoch %d answered too late to use", epoch)
            return False
        self.won_at = self.clock()
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
        params = {
            "name": self.name,
            "me": self.instance,
            "lease": self.times.lease,
            "epoch": term.epoch,
            "lapsed": self.lease.may_renew_lapsed(),
        } | self._member()
        try:
            row = await _within(self.lease.budget(sent), self._renewal(params))
        except Exception as exc:  # PostgreSQL slow or away: the deadline decides (or nothing, when alone)
            log.warning("lease: renewal failed: %s: %s", type(exc).__name__, exc)
            return self.may_act()
        self.joined = True
        if row.epoch is None:
            self._step_down("the lease is no longer ours")
            return False
        if not self.lease.confirmed(sent):
            log.warning("lease: %s renewed epoch %d after an outage: nobody took it", self.instance, term.epoch)
        self.lease.renewed(sent, alone=not row.company)
        return self.may_act()

    async def _renewal(self, params: dict[str, object]) -> Any:
        async with self.engine.begin() as conn:
            return (await conn.execute(_RENEW, params)).one()

    def may_fence(self) -> bool:
        """Whether this process may write its epoch to the PBX now: its lease is confirmed by its own clock
        (a leader alone routing through an outage does not: a newer term may exist by then)."""
        return self.lease.confirmed(self.clock())

    def _member(self) -> dict[str, object]:
        return {"version": __version__, "fresh": not self.joined}

    def check(self) -> None:
        """Step down if the deadline has come (called on every turn of ``run``)."""
        if self.lease.overdue(self.clock()):
            self._step_down(NO_RENEWAL)

    def _step_down(self, why: str) -> None:
        epoch = self.epoch
        self.stepped_down_because = why
        self.lease.lost()
        self.leading_now.clear()
        self.retired = True
        log.critical("lease: %s steps down from epoch %d: %s", self.instance, epoch, why)
        if self.on_step_down is not None:
            self.on_step_down(epoch)

    async def run(self) -> None:
        """Renew while leading, try to take the lease while standing by; until this process steps down.

        A standby also wakes up at once when the leader releases the lease (a notification, ``listen``)."""
        while not self.retired:
            if self.lease.term is None:
                self._wake.clear()
                await self.try_acquire()
            else:
                await self.renew()
                self.check()
                if self.may_fence() and self.clock() >= self._next_prune:
                    self._next_prune = self.clock() + self.prune_every
                    await self.prune()
            wait = self.lease.wait(self.clock())
            if self.lease.term is None and not self.retired:
                wait = standby_wait(wait, self._lapses_in)
                self._lapses_in = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            else:
                await asyncio.sleep(wait)
            self.check()

    async def listen(self) -> None:
        """For the life of the process: hear the lease's notifications on one connection of our own
        (``LISTEN``). A release wakes a standby at once; a handover request naming this leader's epoch calls
        ``on_handover``. Without it (the connection lost) nothing breaks: a standby polls every ``renew``
        seconds, and ``acd handover`` says that the leader did not hand over. The connection is pinged every
        ``LISTEN_PING`` seconds (a connection silently gone, through a failover or a dropped route, would
        hear nothing and say nothing); one lost is opened again every ``LISTEN_RETRY`` seconds, said at
        WARNING (at most once a minute while it stays lost), and its return too."""
        while True:
            why = "the connection closed"
            try:
                async with self.engine.connect() as conn:
                    raw = (await conn.get_raw_connection()).driver_connection
                    assert raw is not None
                    lost = asyncio.Event()
                    raw.add_termination_listener(lambda _, lost=lost: lost.set())
                    await raw.add_listener(CHANNEL, self._heard)
                    self._listening_again()
                    try:
                        await self._ping_until_lost(raw, lost)
                    except TimeoutError:
                        why = f"no answer to a ping within {LISTEN_PING_TIMEOUT:g} s"
                        raw.terminate()  # gone for all we know: never handed back to a pool
                        await conn.invalidate()
                    finally:
                        with contextlib.suppress(Exception):
                            await raw.remove_listener(CHANNEL, self._heard)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
            self._not_listening(why)
            await asyncio.sleep(LISTEN_RETRY)

    @staticmethod
    async def _ping_until_lost(raw: Any, lost: asyncio.Event) -> None:
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), LISTEN_PING)
            if lost.is_set():
                return
            async with asyncio.timeout(LISTEN_PING_TIMEOUT):
                await raw.fetchval("SELECT 1")

    def _not_listening(self, why: str) -> None:
        now = time.monotonic()
        if self._unheard_since is None:
            self._unheard_since = now
        self.listen_losses += 1
        if now - self._warned_unheard >= LISTEN_WARN_EVERY:
            self._warned_unheard = now
            log.warning("lease: not listening for notifications (%s); trying again every %g s", why, LISTEN_RETRY)

    def _listening_again(self) -> None:
        if self._unheard_since is not None:
            log.warning("lease: listening again after %.1f s", time.monotonic() - self._unheard_since)
        self._unheard_since = None
        self._warned_unheard = -LISTEN_WARN_EVERY

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        what, _, rest = str(payload).partition(":")
        if what == RELEASED and self.lease.term is None:
            self._wake.set()
            return
        if what != HANDOVER:
            return
        # ``handover:<instance>:<epoch>:<request>``: the instance's name may hold a colon, the rest do not
        instance, epoch, request = ["", "", "", *rest.rsplit(":", 2)][-3:]
        if instance != self.instance or not epoch.isdigit() or int(epoch) != self.epoch or self.epoch <= 0:
            return
        if not request.isdigit():
            log.warning("lease: a handover of epoch %s was asked with no request on record: ignored", epoch)
            return
        task = asyncio.get_running_loop().create_task(self._asked(int(epoch), int(request)), name="acd-handover-ask")
        self._asking.add(task)
        task.add_done_callback(self._asking.discard)

    async def _asked(self, epoch: int, request: int) -> None:
        """Act on a handover request only if ``acd handover`` recorded it (its ``audit_log`` row, written in the
        transaction that sent the notification, names this leader and epoch and is recent): anyone able to
        connect to the database can send a notification, not everyone can write that row."""
        if not await self.request_on_record(epoch, request):
            log.warning(
                "lease: a handover of epoch %d named request %d, which is not on record: ignored", epoch, request
            )
            return
        if epoch != self.epoch:  # lost or released meanwhile
            return
        log.warning("lease: a handover of epoch %d was asked (request %d)", epoch, request)
        if self.on_handover is not None:
            self.on_handover(epoch, request)

    async def request_on_record(self, epoch: int, request: int) -> bool:
        """Whether request ``request`` is a recent ``cluster.handover`` ask naming this leader and ``epoch``."""
        params = {"id": request, "me": self.instance, "epoch": str(epoch), "within": REQUEST_WITHIN}
        try:
            async with asyncio.timeout(2.0), self.engine.connect() as conn:
                row = (await conn.execute(_REQUEST, params)).first()
        except Exception as exc:
            log.warning("lease: cannot read handover request %d: %s: %s", request, type(exc).__name__, exc)
            return False
        return row is not None

    def may_hand_over(self) -> bool:
        """Whether a handover could leave someone to route: this process leads and its last good renewal saw
        another live member (a standby able to take over at once)."""
        term = self.lease.term
        return term is not None and not term.alone and self.may_act()

    async def prune(self) -> list[str]:
        """Forget the members whose heartbeat is older than ``forget_after`` (the leader's, between two
        renewals): the instances deleted. Bounded: it waits on no row lock, gives up on any other lock
        after ``PRUNE_LOCK_TIMEOUT_MS``, and on the whole after one ``renew`` period."""
        try:
            async with asyncio.timeout(self.times.renew), self.engine.begin() as conn:
                bounds = {"lock": f"{PRUNE_LOCK_TIMEOUT_MS}ms", "statement": f"{int(self.times.renew * 1000)}ms"}
                await conn.execute(_BOUNDS, bounds)
                rows = (await conn.execute(_PRUNE, {"me": self.instance, "after": self.forget_after})).all()
        except Exception as exc:  # the next turn tries again; a prune never costs the lease
            log.info("lease: members not pruned: %s: %s", type(exc).__name__, exc)
            return []
        gone = [r.instance for r in rows]
        if gone:
            log.info("lease: forgot %d member(s) gone for over %.0f s: %s", len(gone), self.forget_after, gone)
        return gone

    def abandon(self) -> None:
        """Stop leading without releasing: the lease lapses at its deadline (a handover that could not
        finish cleanly, ``acd.service``). This process never takes it again; ``release`` then only leaves
        ``members``."""
        self.lease.lost()
        self.leading_now.clear()
        self.retired = True

    async def release(self) -> bool:
        """A clean stop: let the lease lapse now, so a standby (or this instance restarted) takes it at once;
        the standbys hear it at once (a notification on ``CHANNEL``). This process never takes the lease
        again (its ``run`` ends). False when PostgreSQL did not answer: the lease then lapses by itself."""
        term = self.lease.term
        self.lease.lost()
        self.leading_now.clear()
        self.retired = True
        try:  # and leave ``members``: a stopped process is no standby that could take over
            async with asyncio.timeout(2.0), self.engine.begin() as conn:
                if term is None:
                    await conn.execute(_LEAVE, {"me": self.instance})
                else:
                    await conn.execute(_RELEASE, {"name": self.name, "me": self.instance, "epoch": term.epoch})
                    payload = f"{RELEASED}:{self.instance}:{term.epoch}"
                    await conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})
        except Exception as exc:  # it lapses by itself
            log.warning("lease: could not release: %s", exc)
            return False
        return True


async def _within(seconds: float, work: Coroutine[Any, Any, _T]) -> _T:
    """``work``'s result, or TimeoutError once ``seconds`` have passed, whatever the work does then: a
    query cancelled on a silent socket can take its driver seconds more to give up (the connection's
    cleanup waits on the same socket), and the lease's deadline must not wait for it. The work left
    behind is cancelled and ends on its own; its failure is read so that it is not reported."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:  # the elector stopped (a stop, a handover): the work must not outlive it,
        task.cancel()  # or a renewal would land after the release that follows and extend the lease again
        await asyncio.wait({task}, timeout=CANCELLED_WORK_SECONDS)
        task.add_done_callback(_read_failure)
        raise
    if task in done:
        return task.result()
    task.cancel()
    task.add_done_callback(_read_failure)
    raise TimeoutError(f"no answer within {seconds:.2f} s")


def _read_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # read, so that asyncio does not report it as never retrieved
