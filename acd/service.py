"""The supervisor of the running ACD: starts its parts in order, runs until told to stop, drains.

``serve(settings)`` starts, in order: the database (embedded when no DATABASE_URL) and its
migrations, the parts ``acd.bootstrap.build`` makes for the config in force (whose skills, queues
and agents it then writes to the config tables), the outbox, the caller directory, the wallboard's
day so far and the agents' last presence, the HTTP server, and the AMI link with its pump
(``acd.ami.pump``) and the periodic jobs (``acd.jobs``). It runs until SIGTERM or SIGINT, or until
the one writer dies, and drains in the reverse order. A part that cannot start
is a ``StartupError``: its message says what to fix, and the exit code is 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from acd import jobs
from acd.bootstrap import Parts, build
from acd.database import Database
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade_head
from acd.records.startup.sync_config import sync_config
from acd.restore import restore_presence
from acd.settings import Settings
from acd.wallboard.seed import seed_otf, seed_today

log = logging.getLogger("acd")


class StartupError(Exception):
    """The service cannot start; the message says what to fix."""


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedded: EmbeddedPostgres | None = None
        self.parts: Parts | None = None
        self._stopping = asyncio.Event()
        self.failed = False

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
            await asyncio.to_thread(upgrade_head, url)
            database = Database(url)
            stack.push_async_callback(database.close)
            parts = await build(self.settings, database=database)
            await sync_config(database.pool("startup"), parts.settings.routing)
        except Exception as exc:
            where = "the embedded PostgreSQL" if self.embedded else "the PostgreSQL at DATABASE_URL"
            raise StartupError(f"cannot prepare {where}: {type(exc).__name__}: {exc}") from exc
        return parts

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        async with contextlib.AsyncExitStack() as stack:  # unwinds whatever started, in reverse
            stack.push_async_callback(self._stop_embedded)
            self.parts = parts = await self._prepare(stack)
            # built with a database and no fakes: every part is there
            assert parts.database is not None and parts.outbox is not None and parts.customers is not None
            assert parts.audit is not None and parts.link is not None and parts.pump is not None
            database, runtime, link = parts.database, parts.runtime, parts.link
            await parts.outbox.start()
            stack.push_async_callback(parts.outbox.stop)
            stack.push_async_callback(parts.recorder.drain)  # the last files' records, before the outbox stops
            stack.push_async_callback(parts.customers.close)
            await parts.customers.refresh()
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
            parts.pump.left_open, parts.pump.left_segments = list(left.records), dict(left.segments)
            await database.release("startup")  # read once; no connection kept for the life of the service
            stack.push_async_callback(parts.audit.close)
            runner = web.AppRunner(parts.site, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            http = self.settings.http
            try:
                await web.TCPSite(runner, http.host, http.port).start()
            except OSError as exc:
                raise StartupError(f"cannot listen for HTTP on {http.host}:{http.port}: {exc.strerror}") from exc
            log.info("HTTP on %s:%d", http.host, http.port)
            stack.push_async_callback(link.close)
            writer = asyncio.create_task(runtime.run(), name="acd-writer")
            writer.add_done_callback(lambda _: self._stopping.set())  # a dead writer must not go unnoticed
            tasks = [asyncio.create_task(parts.pump.run(), name="acd-ami-pump"), *jobs.start(parts)]
            link.start()
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

    async def _stop_embedded(self) -> None:
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


def serve(settings: Settings) -> int:
    service = Service(settings)
    try:
        asyncio.run(service.run())
    except StartupError as exc:
        log.critical("%s", exc)
        return 1
    return 1 if service.failed else 0
