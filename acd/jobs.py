"""The service's periodic jobs, each a loop with its interval, run beside the AMI pump until the drain.

None of them is on the call path: a job that fails logs and tries again on its next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.ami.control import AmiCallControl
from acd.ami.link import AmiLink
from acd.ami.pump import Pump, TokenKeeper, first_resyncs
from acd.announce import Announcer
from acd.bootstrap import Parts
from acd.callback_names import FOLDER as NAMES_FOLDER
from acd.callback_names import CallbackNames
from acd.metrics import ObjectiveFigures
from acd.records.objectives import standings
from acd.records.orphan_offers import close_orphan_offers
from acd.records.retention import apply_retention, delete_recordings
from acd.records.stores.customers import CustomerDirectory
from acd.settings import DatabaseSettings, RecordingSettings

log = logging.getLogger("acd")
GAUGES_EVERY_SECONDS = 1.0  # forecasts, outbox backlog and malformed AMI counts, for the next scrape
ANNOUNCE_EVERY_SECONDS = 5.0  # how fresh ACD_POSITION/ACD_EWT are; holding announces them every 30 s
CUSTOMER_RELOAD_SECONDS = 30.0  # within the directory's 60 s cache: the in-memory copy never expires
RETENTION_EVERY_SECONDS = 86400.0
# offers a stopped process left open (acd.records.orphan_offers): soon after a start or takeover, once the
# first resync's records are written (a few runs: they may still be on their way), then now and then
ORPHAN_OFFERS_FIRST_RUNS = (2.0, 3.0, 5.0)  # the waits before each of the first runs
ORPHAN_OFFERS_EVERY_SECONDS = 60.0
OBJECTIVES_EVERY_SECONDS = 30.0  # acd_objective_*: a query per objective, so not every second ([objectives] refresh)


async def heartbeat(
    link: AmiLink, control: AmiCallControl, keeper: TokenKeeper, every: float, pump: Pump | None = None
) -> None:
    """Tell the dialplan the ACD is alive (else holding gives up on it), and keep the event token in force;
    not on a PBX whose calls are not routed (its ``SystemName`` wrong or unread: ``pump.misconfigured``), whose
    name is read again instead when it could not be read."""
    while True:
        if pump is not None and pump.misconfigured:
            await pump.recheck_name()  # one that could not be read: read again (docs/pbxs.md)
        elif link.connected:
            with contextlib.suppress(Exception):
                await control.heartbeat(int(time.time()))
            await keeper.keep()
        await asyncio.sleep(every)


async def gauges(parts: Parts) -> None:
    """The gauges that are read, not counted: forecasts, the outbox's backlog, malformed AMI messages."""
    runtime, metrics = parts.runtime, parts.metrics
    while True:
        now = runtime.now()
        snapshot = parts.core.snapshot(now)
        parts.forecaster.publish(metrics, snapshot, parts.core.config, now)
        runtime.settle_otf(now)
        metrics.outbox_backlog.set(parts.outbox.backlog if parts.outbox else 0)
        for pbx in parts.pbxs:  # each PBX's link (running totals across reconnects) and refusals
            counters = pbx.link.counters
            translated = parts.translator.counters.malformed_on[pbx.name]
            metrics.export_ami_malformed(counters.malformed, translated, counters.oversize, pbx.name)
            metrics.pbx_calls.labels(pbx=pbx.name).set(snapshot.pbx_calls.get(pbx.name, 0))
        await asyncio.sleep(GAUGES_EVERY_SECONDS)


async def publish_objectives(parts: Parts, engine: AsyncEngine, zone: ZoneInfo) -> None:
    """``acd_objective_*`` once: each objective's standing from the records (docs/kpis.md, "Objectives"),
    with Erlang C's forecast for a one-queue objective's rest of the day."""
    now = parts.runtime.now()
    config = parts.core.config
    forecasts = parts.forecaster.forecasts(parts.core.snapshot(now), config, now)
    found = await standings(
        engine,
        config.objectives,
        config.agents,
        zone,
        datetime.now(UTC),
        config.policy.short_abandon_seconds,
        forecasts,
        config.queues,
    )
    parts.metrics.objectives.figures = {
        s.objective: ObjectiveFigures(s.metric, s.target, s.attainment, s.projection, s.status) for s in found
    }


async def objectives(parts: Parts, engine: AsyncEngine, every: float = OBJECTIVES_EVERY_SECONDS) -> None:
    """``publish_objectives`` every ``every`` seconds; a failure (PostgreSQL away) keeps the last figures."""
    zone = ZoneInfo(parts.settings.objectives_zone)
    while True:
        try:
            await publish_objectives(parts, engine, zone)
        except Exception:
            log.exception("objectives: standing not computed; trying again in %.0f s", every)
        await asyncio.sleep(every)


async def orphan_offers(parts: Parts, engine: AsyncEngine) -> None:
    """Close the offers an older term left open (``acd.records.orphan_offers``); a failure (PostgreSQL
    away) tries again on the next turn."""
    waits = iter(ORPHAN_OFFERS_FIRST_RUNS)
    while True:
        await asyncio.sleep(next(waits, ORPHAN_OFFERS_EVERY_SECONDS))
        epoch = parts.leadership.epoch if parts.leadership is not None else 0
        if epoch <= 0:
            continue
        try:
            closed = await close_orphan_offers(engine, epoch, parts.core.config.policy.ring_timeout_seconds)
        except Exception as exc:
            log.warning("offers left open: not closed (%s); trying again later", exc)
            continue
        if closed:
            log.warning("offers a stopped process left open, closed: %s", closed)


async def announcements(parts: Parts, link: AmiLink, control: AmiCallControl, pbx: str | None = None) -> None:
    """Each holding caller's position and expected wait, for the dialplan to announce (with several PBXs,
    on ``pbx`` to its callers alone)."""
    runtime = parts.runtime
    book = control.book

    def channel_of(call_id: str) -> str | None:
        return control.channel_of(call_id) if pbx is None or book.pbx_of(call_id) == pbx else None

    announcer = Announcer(parts.core, control, channel_of)
    while True:
        await asyncio.sleep(ANNOUNCE_EVERY_SECONDS)
        if link.connected:
            await announcer.refresh(runtime.now())


async def customer_reload(customers: CustomerDirectory) -> None:
    """Keep the in-memory customer table fresh, so lookups stay off the database on the call path."""
    while True:
        await asyncio.sleep(CUSTOMER_RELOAD_SECONDS)
        await customers.refresh()


async def retention(engine: AsyncEngine, settings: DatabaseSettings, recordings: RecordingSettings) -> None:
    """Apply the retention policy (``acd.records.retention``) at start and then daily: mask what is
    older than ``caller_retention_days``, delete recordings (and callers' recorded names:
    acd.callback_names) older than ``[recordings] retention_days``."""
    days, recording_days = settings.caller_retention_days, recordings.retention_days
    if days <= 0 and recording_days <= 0:
        return
    while True:
        try:
            if days > 0:
                masked = await apply_retention(
                    engine, datetime.now(UTC) - timedelta(days=days), customer_numbers=settings.customer_numbers
                )
                log.info("retention: masked %s older than %d days", masked, days)
            if recording_days > 0:
                deleted = await delete_recordings(
                    engine, datetime.now(UTC) - timedelta(days=recording_days), Path(recordings.directory)
                )
                log.info("retention: deleted %d recordings older than %d days", deleted, recording_days)
                # callbacks' recorded names left over (a callback called off, or closed unseen)
                names = CallbackNames(Path(recordings.directory).parent / NAMES_FOLDER)
                swept = await asyncio.to_thread(names.sweep, recording_days * 86400.0)
                if swept:
                    log.info("retention: deleted %d callers' recorded names older than %d days", swept, recording_days)
        except Exception as exc:  # PostgreSQL (or the disk) may be away; the next day tries again
            log.warning("retention: failed: %s", exc)
        finally:
            await engine.dispose()  # no connection held for a day; the pool opens one again tomorrow
        await asyncio.sleep(RETENTION_EVERY_SECONDS)


def start(parts: Parts) -> list[asyncio.Task[None]]:
    """Every job the running service has, as tasks (the AMI ones need the AMI adapter, not a test's control)."""
    jobs: dict[str, Coroutine[Any, Any, None]] = {}
    several = len(parts.pbxs) > 1
    # before any link is up: no call is matched until each PBX's first resync (docs/pbxs.md)
    parts.core.hold_start(p.name for p in parts.pbxs)
    jobs["acd-first-resyncs"] = first_resyncs([p.pump for p in parts.pbxs], parts.runtime)
    for pbx in parts.pbxs:  # each PBX's heartbeat and announcements (docs/pbxs.md, "Per PBX")
        suffix = f"-{pbx.name}" if several else ""
        every = parts.settings.ami.heartbeat_interval
        jobs[f"acd-heartbeat{suffix}"] = heartbeat(pbx.link, pbx.ami, pbx.keeper, every, pbx.pump)
        jobs[f"acd-announcements{suffix}"] = announcements(parts, pbx.link, pbx.ami, pbx.name if several else None)
    jobs["acd-gauges"] = gauges(parts)
    if parts.kamailio is not None:  # [kamailio]: agents' reachability from its location table
        jobs["acd-kamailio"] = parts.kamailio.run()
    if parts.database is not None:
        jobs["acd-retention"] = retention(
            parts.database.pool("retention"), parts.settings.database, parts.settings.recordings
        )
    if parts.database is not None:
        jobs["acd-objectives"] = objectives(
            parts, parts.database.pool("objectives"), parts.settings.objectives_refresh_seconds
        )
    if parts.database is not None and parts.leadership is not None:
        jobs["acd-orphan-offers"] = orphan_offers(parts, parts.database.pool("orphan-offers"))
    if parts.customers is not None:
        jobs["acd-customers"] = customer_reload(parts.customers)
    return [asyncio.create_task(job, name=name) for name, job in jobs.items()]
