"""The supervisor of the running ACD: starts its parts in order, runs until told to stop, drains.

``serve(settings)`` starts, in order: the database (embedded when no DATABASE_URL) and its
migrations, the parts ``acd.bootstrap.build`` makes for the config in force (whose skills, queues
and agents it then writes to the config tables), the outbox, the caller directory, the wallboard's
day so far and the agents' last presence, the HTTP server, and the AMI link with its pump
(``acd.ami.pump``) and the periodic jobs (``acd.jobs``). Before the routing side it takes the
leadership lease (``acd.leadership``, docs/standby.md): a lone process wins at once; one that finds
another leading serves HTTP as a standby and starts routing, as after a restart, when it takes the
lease. It runs until SIGTERM or SIGINT, until the one writer dies, or until it loses the lease (it
steps down: exit 1; a leader that saw no standby routes on through a PostgreSQL outage instead), and
drains in the reverse order. A part that cannot start
is a ``StartupError``: its message says what to fix, and the exit code is 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import UTC, datetime

from aiohttp import web

from acd import jobs, stopping
from acd.ami.pump import share_left
from acd.bootstrap import Parts, build
from acd.database import Database
from acd.leadership import NO_RENEWAL, Leadership
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import SchemaTooNew, check_not_newer, upgrade_head
from acd.records.startup.sync_config import sync_config
from acd.records.stores.audit import Change
from acd.restore import restore_presence
from acd.settings import Settings
from acd.wallboard.seed import seed_otf, seed_today

log = logging.getLogger("acd")

# A planned handover (docs/standby.md): how long it waits for the AMI actions in flight to be answered, and
# for the records to reach PostgreSQL; past either, it does not release the lease but lets it lapse.
SETTLE_SECONDS = 2.0
FLUSH_SECONDS = 2.0
# a stop's last flush of the records: the usual wait, and the short one after a step-down
STOP_FLUSH_SECONDS = 5.0
STEPPED_DOWN_FLUSH_SECONDS = 0.5
HANDOVER_BACKLOG = 1000  # records waiting for PostgreSQL past which a handover is refused


class StartupError(Exception):
    """The service cannot start; the message says what to fix. ``exit_code``: 1, or ``SCHEMA_TOO_NEW``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# The database was migrated by a newer version (EX_CONFIG): starting again cannot help, so the systemd
# units do not restart on it (RestartPreventExitStatus); docs/operations.md, "Upgrading one node at a time".
SCHEMA_TOO_NEW = 78


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedded: EmbeddedPostgres | None = None
        self.parts: Parts | None = None
        self._stopping = asyncio.Event()
        self.failed = False
        self.stepped_down = False  # the lease was lost: routing stopped by itself
        self.handing_over = False  # a planned handover was asked (SIGUSR1, ``acd handover``)
        self.handed_over_at: float | None = None  # monotonic moment the lease was released for it
        self._asked_at = 0.0  # monotonic moment the handover was asked
        self._audits: set[asyncio.Task[bool]] = set()  # the leader's own audit rows of a handover, being written

    async def _database_url(self) -> str:
        if self.settings.database.url:
            return self.settings.database.url
        self.embedded = EmbeddedPostgres(self.settings.database.data_dir)
        url = await asyncio.to_thread(self.embedded.start)
        log.info("embedded PostgreSQL started in %.1f s", self.embedded.last_start_seconds or 0.0)
        return url

    async def _prepare(self, stack: contextlib.AsyncExitStack) -> Parts:
        """Start the embedded server if needed, migrate, build the parts for the config in force, and
        write the config tables."""
        try:
            url = await self._database_url()
            await check_not_newer(url)
            await asyncio.to_thread(upgrade_head, url)
            database = Database(url)
            stack.push_async_callback(stopping.bounded("the database pools", database.close))
            parts = await build(self.settings, database=database)
            await sync_config(database.pool("startup"), parts.settings.routing)
        except SchemaTooNew as exc:
            raise StartupError(f"refusing to start: {exc}", SCHEMA_TOO_NEW) from exc
        except Exception as exc:
            where = "the embedded PostgreSQL" if self.embedded else "the PostgreSQL at DATABASE_URL"
            raise StartupError(f"cannot prepare {where}: {type(exc).__name__}: {exc}") from exc
        return parts

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        loop.add_signal_handler(signal.SIGUSR1, self.hand_over)
        async with contextlib.AsyncExitStack() as stack:  # unwinds whatever started, in reverse
            stack.push_async_callback(
                stopping.bounded("the embedded PostgreSQL", self._stop_embedded, stopping.EMBEDDED_STOP_SECONDS)
            )
            self.parts = parts = await self._prepare(stack)
            # built with a database and no fakes: every part is there
            assert parts.database is not None and parts.outbox is not None and parts.customers is not None
            assert parts.audit is not None and parts.link is not None and parts.pump is not None
            database, runtime = parts.database, parts.runtime
            await parts.outbox.start()
            stack.push_async_callback(stopping.bounded("the records' outbox", self._stop_outbox))
            # the last files' records, before the outbox stops
            stack.push_async_callback(stopping.bounded("the recordings' last files", parts.recorder.drain))
            stack.push_async_callback(stopping.bounded("the caller directory", parts.customers.close))
            await parts.customers.refresh()
            leadership = parts.leadership
            assert leadership is not None and parts.ami is not None
            self._lease(parts, leadership)
            # a lone process (or the first of a pair) wins at once: one statement, no wait
            leads = await leadership.try_acquire()
            elector = asyncio.create_task(leadership.run(), name="acd-lease")
            listener = asyncio.create_task(leadership.listen(), name="acd-lease-listener")
            stack.push_async_callback(
                stopping.bounded("the lease", lambda: self._stop_lease(elector, listener, leadership))
            )  # after routing stopped
            stack.push_async_callback(stopping.bounded("the audit log", parts.audit.close))
            http_started = False
            if not leads:
                runtime.standing_by = True  # the REST API's changes are refused until this process leads
                await self._serve_http(stack, parts)  # the read side of a standby
                http_started = True
                log.warning("standing by: another ACD leads; routing starts when its lease lapses")
                if not await self._wait_for_lease(leadership):
                    return
                runtime.standing_by = False
            # Leading: start as after a restart today (the agents' states from the records, then a resync)
            reading = time.monotonic()
            # The wallboard's service level today: the day so far from the records, then live.
            await seed_today(
                database.pool("probe"), runtime.today, runtime.now(), parts.core.config.policy.short_abandon_seconds
            )
            # ... and OTF: the day's settled verdicts, and the pending ones for the live ledger to settle
            await seed_otf(
                database.pool("startup"), runtime.today, runtime.otf, parts.core.config.queues, runtime.now()
            )
            left = await restore_presence(
                runtime, parts.outbox, database.pool("startup"), {a.id for a in parts.settings.routing.agents}
            )
            share_left([p.pump for p in parts.pbxs], left.records, left.segments)
            await database.release("startup")  # read once; no connection kept for the life of the service
            # each step of a takeover timed (docs/standby.md, "Margins"): here the records, then the AMI link's
            log.info("start: the records read in %.0f ms", (time.monotonic() - reading) * 1000)
            if not http_started:
                await self._serve_http(stack, parts)
            several = len(parts.pbxs) > 1
            for pbx in parts.pbxs:  # each PBX's link and pump (docs/pbxs.md, "Per PBX")
                what = f"the AMI link to {pbx.name}" if several else "the AMI link"
                stack.push_async_callback(stopping.bounded(what, pbx.link.close))
            writer = asyncio.create_task(runtime.run(), name="acd-writer")
            writer.add_done_callback(lambda _: self._stopping.set())  # a dead writer must not go unnoticed
            pumps = [
                asyncio.create_task(p.pump.run(), name=f"acd-ami-pump-{p.name}" if several else "acd-ami-pump")
                for p in parts.pbxs
            ]
            for pump in pumps:  # a pump that ends by itself stops routing that PBX: it must not go unnoticed
                pump.add_done_callback(self._pump_ended)
            tasks = [*pumps, *jobs.start(parts)]
            for pbx in parts.pbxs:
                pbx.link.start()
            await self._stopping.wait()
            if writer.done():
                self.failed = True
                log.critical("the routing writer stopped unexpectedly: %r", writer.exception())
            log.info("draining: no new routing; finishing current commands")
            for pbx in parts.pbxs:  # nothing more taken inside a read, even one before the cancellation lands
                pbx.pump.stop()
            for task in tasks:
                task.cancel()
            await stopping.cancelled(tasks)
            runtime.drain()
            await stopping.awaited("the routing writer", writer)
            if writer.done() and not writer.cancelled() and (failure := writer.exception()) is not None:
                self.failed = True
                log.critical("the routing writer failed while draining: %r", failure)
            if self.handing_over:  # the rest of the stop goes on after the standby took over
                await self._hand_over(parts, leadership, elector)
        log.info("stopped cleanly")

    def _pump_ended(self, task: asyncio.Task[None]) -> None:
        """A pump's task ended; unless the service cancelled it, its PBX is no longer routed: stop, failed."""
        if task.cancelled() or self._stopping.is_set():
            return
        self.failed = True
        log.critical("%s ended unexpectedly (%r): stopping", task.get_name(), task.exception())
        self._stopping.set()

    def hand_over(self, request: int | None = None) -> None:
        """A planned handover (SIGUSR1, or ``acd handover`` through PostgreSQL: ``request`` is its ``audit_log``
        row; docs/standby.md): stop making offers, let the AMI actions in flight settle, close the AMI link,
        flush the records, release the lease (the standby hears it and takes over), then stop as after
        SIGTERM, exit 0: the supervisor (systemd, compose) starts the process again, and it stands by.
        Refused when this process does not lead, saw no standby at its last renewal (nobody would route
        until it is back), or its records could not reach PostgreSQL in time. Audited either way."""
        leadership = None if self.parts is None else self.parts.leadership
        refused: str | None = None
        if leadership is None or not leadership.may_act():
            log.warning("handover asked: this process does not lead; nothing to hand over")
            return
        if not leadership.may_hand_over():
            refused = "no standby was live at the last renewal (nobody would route)"
        elif (behind := self._records_behind()) is not None:
            refused = f"{behind} (the standby would start from stale records)"
        if refused is not None:
            log.warning("handover asked: refused, %s", refused)
        elif not self.handing_over:
            log.warning("handover asked: no new offers; handing over to the standby")
            self.handing_over = True
            self._asked_at = time.monotonic()
            self._stopping.set()
        else:
            return
        self._audit_handover(leadership, request, refused)

    def _audit_handover(self, leadership: Leadership, request: int | None, refused: str | None) -> None:
        """The leader's own ``audit_log`` row for a handover it was asked (docs/security.md)."""
        audit = None if self.parts is None else self.parts.audit
        if audit is None:
            return
        details: dict[str, object] = {"epoch": leadership.epoch, "via": "signal" if request is None else "request"}
        if request is not None:
            details["request"] = request
        if refused is not None:
            details["why"] = refused
        change = Change(
            at=datetime.now(UTC),
            token_id=f"acd:{leadership.instance}",
            role="service",
            actor_agent_id=None,
            action="cluster.handover",
            target=leadership.instance,
            status=409 if refused is not None else 200,
            details=details,
        )
        task = asyncio.get_running_loop().create_task(audit.write(change), name="acd-handover-audit")
        self._audits.add(task)
        task.add_done_callback(self._audits.discard)

    def _records_behind(self) -> str | None:
        """Why the records could not be flushed in a handover's time (None: they can)."""
        outbox = None if self.parts is None else self.parts.outbox
        if outbox is None:
            return None
        if outbox.last_error is not None:
            return f"the records' outbox is failing to drain ({outbox.last_error})"
        if outbox.backlog > HANDOVER_BACKLOG:
            return f"the records' outbox has a backlog of {outbox.backlog}"
        return None

    async def _hand_over(self, parts: Parts, leadership: Leadership, elector: asyncio.Task[None]) -> None:
        """Settle, silence the PBX side, flush, and only then release (docs/standby.md, "A planned handover").

        Nothing may reach the PBX once the lease is released: the confirmations' retries are forgotten, the
        AMI link is closed, and only then is the lease given up. The renewals stop first (a renewal in flight
        would extend the lease the release ends). When actions are still unanswered or the records are not
        all in PostgreSQL, it does not release: the lease lapses by itself (the standby takes it at its
        deadline), as a lease that was never renewed again."""
        assert parts.outbox is not None and parts.pbxs
        for _ in range(round(SETTLE_SECONDS / 0.01)):  # the session answers them: polled, no event to wait on
            if not any(p.link.in_flight for p in parts.pbxs):
                break
            await asyncio.sleep(0.01)
        unanswered = sum(p.link.in_flight for p in parts.pbxs)
        for pbx in parts.pbxs:  # no overflow sent again, no confirmation awaited: nothing more goes to a PBX
            pbx.ami.stop()
            await pbx.link.close()
        flushed = await parts.outbox.flush(FLUSH_SECONDS)  # the standby reads the agents' states from the records
        elector.cancel()  # no renewal races the release (a late one would extend the lease again)
        with contextlib.suppress(asyncio.CancelledError):
            await elector
        epoch = leadership.epoch
        if unanswered or not flushed:
            why = []
            if unanswered:
                why.append(f"{unanswered} AMI action(s) unanswered after {SETTLE_SECONDS:g} s")
            if not flushed:
                why.append(f"records not flushed to PostgreSQL within {FLUSH_SECONDS:g} s")
            leadership.abandon()  # not released: it lapses at its deadline, and the standby takes it then
            log.error(
                "handover of epoch %d: not released (%s); the standby takes the lease as it lapses",
                epoch,
                "; ".join(why),
            )
            return
        if not await leadership.release():
            log.warning(
                "handover of epoch %d: the lease could not be released; the standby takes it as it lapses", epoch
            )
            return
        self.handed_over_at = time.monotonic()
        took = self.handed_over_at - self._asked_at  # from the ask: the offers stopped, the actions settled, ...
        log.warning("handed over epoch %d in %.3f s (actions settled, records flushed, lease released)", epoch, took)

    async def _serve_http(self, stack: contextlib.AsyncExitStack, parts: Parts) -> None:
        runner = web.AppRunner(parts.site, access_log=None)
        await runner.setup()
        stack.push_async_callback(stopping.bounded("the HTTP server", runner.cleanup))
        http = self.settings.http
        try:
            await web.TCPSite(runner, http.host, http.port).start()
        except OSError as exc:
            raise StartupError(f"cannot listen for HTTP on {http.host}:{http.port}: {exc.strerror}") from exc
        log.info("HTTP on %s:%d", http.host, http.port)

    def _lease(self, parts: Parts, leadership: Leadership) -> None:
        """Wire the lease to the PBX side and the metrics: a term's epoch fences every offer; a step-down
        stops routing at once (every AMI action is refused by ``may_act``) and then the process."""
        metrics, me = parts.metrics, leadership.instance
        controls = [p.ami for p in parts.pbxs]  # every PBX's: one lease, one epoch (docs/pbxs.md)
        assert controls
        metrics.leader.labels(me).set(0)
        metrics.epoch.set(0)
        parts.status.leading = leadership.may_act
        for ami in controls:
            ami.may_act, ami.may_fence = leadership.may_act, leadership.may_fence
            if ami.originator is not None:  # an Originate is an AMI action too: never without a live lease
                ami.originator.may_act = leadership.may_act

        def lead(epoch: int) -> None:
            for ami in controls:
                ami.epoch = epoch
            if parts.outbox is not None:  # every record from now on is this term's (docs/standby.md)
                parts.outbox.epoch = epoch
            metrics.leader.labels(me).set(1)
            metrics.epoch.set(epoch)
            metrics.takeovers.inc()

        def step_down(epoch: int) -> None:
            metrics.leader.labels(me).set(0)
            metrics.epoch.set(0)
            self.failed = self.stepped_down = True  # a restart comes back as a standby (docs/standby.md)
            self._stopping.set()

        leadership.on_lead, leadership.on_step_down = lead, step_down
        leadership.on_handover = lambda _epoch, request: self.hand_over(request)

    async def _wait_for_lease(self, leadership: Leadership) -> bool:
        """Stand by until this process leads (True) or is told to stop (False)."""
        leading = asyncio.create_task(leadership.leading_now.wait())
        told_to_stop = asyncio.create_task(self._stopping.wait())
        await asyncio.wait((leading, told_to_stop), return_when=asyncio.FIRST_COMPLETED)
        for task in (leading, told_to_stop):
            task.cancel()
        if not leadership.may_act() or self._stopping.is_set():
            return False
        log.warning("taking over: %s leads with epoch %d", leadership.instance, leadership.epoch)
        return True

    async def _stop_lease(
        self, elector: asyncio.Task[None], listener: asyncio.Task[None], leadership: Leadership
    ) -> None:
        for task in (elector, listener):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await leadership.release()

    async def _stop_outbox(self) -> None:
        """The last flush: the usual wait, or a short one after a step-down for want of PostgreSQL's answer
        (what is not committed stays journaled: the next start, as a standby, drains it at once). A step-down
        because another took the lease (PostgreSQL answering) flushes as usual."""
        assert self.parts is not None and self.parts.outbox is not None
        leadership = self.parts.leadership
        unanswered = leadership is not None and leadership.stepped_down_because == NO_RENEWAL
        await self.parts.outbox.stop(STEPPED_DOWN_FLUSH_SECONDS if unanswered else STOP_FLUSH_SECONDS)

    async def _stop_embedded(self) -> None:
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


def serve(settings: Settings) -> int:
    service = Service(settings)
    try:
        asyncio.run(service.run())
    except StartupError as exc:
        log.critical("%s", exc)
        return exc.exit_code
    return 1 if service.failed else 0
