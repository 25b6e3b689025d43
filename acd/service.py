"""The one place that builds and connects every part of the running ACD (like cosmicpython's bootstrap).

Nothing connects at import time. ``serve(settings)`` starts, in order: the database (embedded when no
DATABASE_URL), migrations, the outbox, the core and runtime, the HTTP server and the AMI link; then
it runs until SIGTERM or SIGINT, and drains in the reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine

from acd.ami.control import AmiCallControl
from acd.ami.ended_unseen import settle, with_records
from acd.ami.link import AmiLink, LinkDown, LinkUp
from acd.ami.resync import resync
from acd.ami.settings import LinkSettings
from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.announce import Announcer
from acd.config_changes import ConfigEditor, routing_in_force
from acd.core.acd import Acd
from acd.core.config import RoutingConfig
from acd.core.events import CallArrived, CallEnded, CallInProgress, Event, OfferFailed, ResyncFinished, ResyncStarted
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState
from acd.forecast import Forecaster
from acd.http.site import build_site
from acd.metrics import Metrics
from acd.readiness import DatabaseProbe, Readiness
from acd.records.pipeline.outbox import Outbox
from acd.records.retention import apply_retention
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.last_presence import take_over
from acd.records.startup.migrate import upgrade_head
from acd.records.startup.open_calls import left_open
from acd.records.startup.sync_config import sync_config
from acd.records.stores.audit import AuditLog
from acd.records.stores.customers import CustomerDirectory
from acd.routing_document import document_of
from acd.runtime import Runtime
from acd.settings import Settings
from acd.wallboard.seed import seed_today
from acd.wallboard.today import ServiceLevelToday

log = logging.getLogger("acd")
RETENTION_EVERY_SECONDS = 86400.0
CUSTOMER_RELOAD_SECONDS = 30.0  # within the directory's 60 s cache: the in-memory copy never expires
ANNOUNCE_EVERY_SECONDS = 5.0  # how fresh ACD_POSITION/ACD_EWT are; holding announces them every 30 s


class StartupError(Exception):
    """The service cannot start; the message says what to fix."""


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics(settings.routing.queues, settings.routing.agents)
        self.core = Acd(settings.routing)
        a = settings.ami
        self.link = AmiLink(
            LinkSettings(
                host=a.host, port=a.port, username=a.user, secret=a.secret,
                ping_interval=a.ping_interval, ping_timeout=a.ping_timeout,
            )
        )
        self.token = EventToken()  # this run's; the dialplan copies it into every Acd* event
        self._token_in_force = False
        self.translator = Translator(
            settings.routing, acd_has_call=self._agent_engaged, token=self.token,
            on_refused=lambda reason: self.metrics.ami_refused.labels(reason).inc(),
        )
        self.control = AmiCallControl(
            self.link,
            book=self.translator.book,  # a call's channel, from its enqueue until its Hangup
            on_ring_lost=self._ring_lost,
            on_lost=lambda action: self.metrics.redirects_lost.labels(action).inc(),
            on_channel_gone=self._channel_gone,
        )
        self.forecaster = Forecaster()
        self.embedded: EmbeddedPostgres | None = None
        self.outbox: Outbox | None = None
        self.runtime: Runtime | None = None
        self.customers: CustomerDirectory | None = None
        self.database_probe: DatabaseProbe | None = None
        self._left_open: list[InteractionRecord] = []  # open interactions of the previous run, until the first resync
        self.config_revision = 0  # the REST API's revision of skills, queues and agents in force; 0: the file's
        self._stopping = asyncio.Event()
        self.failed = False

    def _ring_lost(self, offer_id: str) -> None:
        """An offer's Redirect never landed: the caller still holds; the core routes them again."""
        if self.runtime is not None:
            self.runtime.submit(OfferFailed(offer_id, OfferFailed.NOT_STARTED))

    def _channel_gone(self, call_id: str) -> None:
        """Asterisk said the caller's channel is gone and no Hangup followed: the call leaves its queue."""
        if self.runtime is not None:
            self.runtime.submit(CallEnded(call_id, reason="channel_gone"))

    def _agent_engaged(self, agent_id: str) -> bool:
        """Whether the core has a call on this agent (so a busy phone is ours, not a direct call).

        Called for every device-state event: one lookup, not a snapshot of every agent.
        """
        return self.core.agent_state(agent_id) in (AgentState.RESERVED, AgentState.ON_CALL)

    def health(self) -> Mapping[str, Any]:
        backlog = self.outbox.backlog if self.outbox else None
        return {
            "ok": self.link.connected and self.runtime is not None,
            "ami_connected": self.link.connected,
            "outbox_backlog": backlog,
            "records_quarantined": self.outbox.quarantined if self.outbox else None,
            "events_handled": self.runtime.handled if self.runtime else 0,
        }

    async def readiness(self) -> Readiness:
        """For /readyz: the AMI link is up and PostgreSQL answers a query now."""
        probe = self.database_probe
        reachable = probe is not None and await probe.reachable()
        error = "not connected yet" if probe is None else probe.last_error
        return Readiness(self.link.connected, reachable, None if reachable else error)

    async def _database_url(self) -> str:
        if self.settings.database.url:
            return self.settings.database.url
        self.embedded = EmbeddedPostgres(self.settings.database.data_dir)
        url = await asyncio.to_thread(self.embedded.start)
        log.info("embedded PostgreSQL started in %.1f s", self.embedded.last_start_seconds or 0.0)
        return url

    async def _prepare_database(self) -> str:
        """Start the embedded server if needed, migrate, and write the config tables."""
        try:
            url = await self._database_url()
            await asyncio.to_thread(upgrade_head, url)
            await self._adopt_revision(url)
            await sync_config(url, self.settings.routing)
        except Exception as exc:
            where = "the embedded PostgreSQL" if self.embedded else "the PostgreSQL at DATABASE_URL"
            raise StartupError(f"cannot prepare {where}: {type(exc).__name__}: {exc}") from exc
        return url

    async def _adopt_revision(self, url: str) -> None:
        """The latest config revision made through the REST API replaces the file's skills, queues and agents."""
        engine = create_async_engine(url)
        try:
            in_force = await routing_in_force(engine, self.settings)
        finally:
            await engine.dispose()
        if in_force.revision is None:
            return
        routing = in_force.routing
        self.settings = dataclasses.replace(self.settings, routing=routing, skills=in_force.skills)
        self.config_revision = in_force.revision.revision
        self.metrics = Metrics(routing.queues, routing.agents)
        self.core = Acd(routing)
        self.translator.update_config(routing)

    def _config_applied(self, config: RoutingConfig) -> None:
        """A change made through the REST API is in the core: the AMI side learns its queues and endpoints."""
        self.translator.update_config(config)
        self.metrics.set_queues(config.queues)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        async with contextlib.AsyncExitStack() as stack:  # unwinds whatever started, in reverse
            stack.push_async_callback(self._stop_embedded)
            url = await self._prepare_database()
            probe_engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True,
                                               connect_args={"timeout": 2})
            stack.push_async_callback(probe_engine.dispose)
            self.database_probe = DatabaseProbe(probe_engine)
            self.outbox = outbox = Outbox(
                Path(self.settings.database.journal_dir), url,
                on_quarantined=lambda kind, n: self.metrics.records_quarantined.labels(kind).inc(n),
            )
            await outbox.start()
            stack.push_async_callback(outbox.stop)
            self.customers = customers = CustomerDirectory(url)
            stack.push_async_callback(customers.close)
            await customers.refresh()
            today = ServiceLevelToday(time.time())  # the wallboard's service level of the calendar day
            self.runtime = runtime = Runtime(self.core, self.control, outbox, self.metrics,
                                             sinks=(self.forecaster, today))
            # The wallboard's service level today: the day so far from the records, then live.
            await seed_today(probe_engine, today, runtime.now(), self.core.config.policy.short_abandon_seconds)
            await self._restore_presence(outbox, url, runtime)
            # The REST API's own pool: tokens, audit and record searches never take routing's connections.
            api_engine = create_async_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True,
                                             connect_args={"timeout": 5.0, "command_timeout": 10.0})
            stack.push_async_callback(api_engine.dispose)
            audit = AuditLog(api_engine)
            stack.push_async_callback(audit.close)
            editor = ConfigEditor(runtime, api_engine, document_of(self.settings.routing, self.settings.skills),
                                  self.config_revision, on_applied=self._config_applied)
            app = build_site(runtime, self.metrics, self.health, ready=self.readiness, engine=api_engine,
                             audit=audit, http=self.settings.http, editor=editor)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            http = self.settings.http
            try:
                await web.TCPSite(runner, http.host, http.port).start()
            except OSError as exc:
                raise StartupError(f"cannot listen for HTTP on {http.host}:{http.port}: {exc.strerror}") from exc
            log.info("HTTP on %s:%d", http.host, http.port)
            stack.push_async_callback(self.link.close)
            writer = asyncio.create_task(runtime.run(), name="acd-writer")
            writer.add_done_callback(lambda _: self._stopping.set())  # a dead writer must not go unnoticed
            tasks = [
                asyncio.create_task(self._pump(), name="acd-ami-pump"),
                asyncio.create_task(self._heartbeat(), name="acd-heartbeat"),
                asyncio.create_task(self._gauges(), name="acd-gauges"),
                asyncio.create_task(self._announcements(runtime), name="acd-announcements"),
                asyncio.create_task(self._retention(url), name="acd-retention"),
                asyncio.create_task(self._customer_reload(customers), name="acd-customers"),
            ]
            self.link.start()
            await self._stopping.wait()
            if writer.done():
                self.failed = True
                log.critical("the routing writer stopped unexpectedly: %r", writer.exception())
            log.info("draining: no new routing; finishing current commands")
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            runtime.drain()
            with contextlib.suppress(Exception):
                await writer
        log.info("stopped cleanly")

    async def _restore_presence(self, outbox: Outbox, url: str, runtime: Runtime) -> None:
        """Agents keep their login and pause across an ACD restart (records first reach PostgreSQL)."""
        configured = {a.id for a in self.settings.routing.agents}
        try:
            flushed = await outbox.flush(timeout=5.0)
            presence = await take_over(url, time.time())
        except Exception as exc:
            log.warning("agents start logged out: their last state could not be read (%s)", exc)
            return
        try:
            # Only when the journal has reached PostgreSQL: a call closed in the journal alone
            # would look open, and be closed a second time over its true record.
            self._left_open = await left_open(url) if flushed else []
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

    async def _stop_embedded(self) -> None:
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)

    async def _pump(self) -> None:
        """AMI events, in order, into the runtime; a resync after every (re)connect."""
        assert self.runtime is not None
        async for item in self.link.events():
            if isinstance(item, LinkUp):
                self.metrics.ami_connected.set(1)
                with contextlib.suppress(Exception):  # at once: holding may be close to its limit
                    await self.control.heartbeat(int(time.time()))
                # before the resync: a caller it finds raises events with this token from now on
                await self._put_token_in_force()
                try:
                    picture = await resync(self.link)
                except Exception as exc:  # a failed resync is retried on the next connect
                    log.error("resync failed: %s", exc)
                    continue
                found = self.translator.reconcile(picture)
                # The first resync after a start also closes what the previous run left open and
                # the PBX saw end meanwhile (docs/dialplan.md, "Ends the ACD did not see").
                left, self._left_open = self._left_open, []
                found = settle(left, picture, self.translator.roster) + with_records(found, left)
                loaded = await asyncio.gather(*(self._with_customer(e) for e in found))
                # All at once, with nothing else of ours in between: the core loads the whole
                # picture, then routes it once, by priority (not the first caller loaded first).
                self.runtime.submit(ResyncStarted())
                for event in loaded:
                    self.runtime.submit(event)
                self.runtime.submit(ResyncFinished())
                continue
            if isinstance(item, LinkDown):
                self._token_in_force = False
                self.metrics.ami_connected.set(0)
                self.control.link_down()
                continue
            self.metrics.ami_events.inc()
            self.control.observe(item)
            for event in self.translator.translate(item):
                self.runtime.deliver(await self._with_customer(event))

    async def _with_customer(self, event: Event) -> Event:
        """A caller's customer, looked up by number: for a new caller and for one a resync found.

        Bounded (0.2 s, and no wait at all once 32 lookups hang): routing never stalls on it.
        """
        if self.customers is None:
            return event
        if isinstance(event, CallArrived) and event.caller:
            return dataclasses.replace(event, customer=await self.customers.lookup(event.caller))
        if isinstance(event, CallInProgress) and event.call.caller:
            call = dataclasses.replace(event.call, customer=await self.customers.lookup(event.call.caller))
            return dataclasses.replace(event, call=call)
        return event

    async def _put_token_in_force(self) -> None:
        """Set this run's token on the PBX; until it is, the dialplan's events are refused (``token``)."""
        try:
            await self.control.set_token(self.token, time.time())
        except Exception as exc:  # tried again with the next heartbeat
            log.error("could not set the event token on the PBX: %s; its events are refused until it is", exc)
            return
        self._token_in_force = True

    async def _heartbeat(self) -> None:
        while True:
            if self.link.connected:
                with contextlib.suppress(Exception):
                    await self.control.heartbeat(int(time.time()))
                if not self._token_in_force:
                    await self._put_token_in_force()
                else:
                    with contextlib.suppress(Exception):
                        await self.control.keep_token(self.token)
            await asyncio.sleep(self.settings.ami.heartbeat_interval)

    async def _announcements(self, runtime: Runtime) -> None:
        announcer = Announcer(self.core, self.control, self.forecaster, self.control.channel_of)
        while True:
            await asyncio.sleep(ANNOUNCE_EVERY_SECONDS)
            if self.link.connected:
                await announcer.refresh(runtime.now())

    async def _customer_reload(self, customers: CustomerDirectory) -> None:
        """Keep the in-memory customer table fresh, so lookups stay off the database on the call path."""
        while True:
            await asyncio.sleep(CUSTOMER_RELOAD_SECONDS)
            await customers.refresh()

    async def _retention(self, url: str) -> None:
        """Apply the retention policy (``acd.records.retention``) at start and then daily."""
        days = self.settings.database.caller_retention_days
        if days <= 0:
            return
        while True:
            engine = create_async_engine(url, connect_args={"timeout": 10})
            try:
                masked = await apply_retention(engine, datetime.now(UTC) - timedelta(days=days),
                                               customer_numbers=self.settings.database.customer_numbers)
                log.info("retention: masked %s older than %d days", masked, days)
            except Exception as exc:  # PostgreSQL may be away; the next day tries again
                log.warning("retention: masking failed: %s", exc)
            finally:
                await engine.dispose()
            await asyncio.sleep(RETENTION_EVERY_SECONDS)

    async def _gauges(self) -> None:
        assert self.runtime is not None and self.outbox is not None
        while True:
            now = self.runtime.now()
            self.forecaster.publish(self.metrics, self.core.snapshot(now), self.core.config, now)
            self.metrics.outbox_backlog.set(self.outbox.backlog)
            counters = self.link.counters
            self.metrics.export_ami_malformed(counters.malformed, self.translator.counters.malformed, counters.oversize)
            await asyncio.sleep(1.0)


def serve(settings: Settings) -> int:
    service = Service(settings)
    try:
        asyncio.run(service.run())
    except StartupError as exc:
        log.critical("%s", exc)
        return 1
    return 1 if service.failed else 0
