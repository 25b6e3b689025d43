"""The Kamailio reader: every ``interval`` seconds, the location table and the dispatcher's state.

Each read is the whole truth (docs/pbxs.md, "Agent reachability from Kamailio"): the endpoints with a
contact, and each PBX's dispatcher state. Changes of an agent's reachability go to the one writer as
the core's ``AgentReachability``, the same event a PBX's ``ContactStatus`` gives, worked out by the
translator's presence (``acd.ami.phone_presence``), which takes contacts from Kamailio alone once it
follows the registrar: the PBX's own contact news, which behind Kamailio say nothing of the phone, are
ignored. A failed read changes nothing (the last view stays) and is counted
(``acd_kamailio_reads_failed_total{read, reason}``). The dispatcher's view is kept for the runtime to
read (``view``), and each PBX it marks inactive is handed to ``lose`` (``Runtime.pbx_lost``), which
loses that PBX if its AMI link is down too (docs/pbxs.md, "A PBX dies").
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from prometheus_client import Counter

from acd.ami.translate import Translator
from acd.core.events import Event
from acd.kamailio.rpc import KamailioRpc, RpcFailed
from acd.kamailio.view import KamailioView, Malformed, dispatcher, location
from acd.log_throttle import LogThrottle
from acd.metrics import Metrics
from acd.settings import KamailioSettings

__all__ = ["KamailioReader", "reader_for"]

log = logging.getLogger("acd")


class Writer(Protocol):
    """The one writer (``acd.runtime.Runtime``)."""

    def submit(self, event: Event) -> bool: ...


class Registrations(Protocol):
    """What turns the set of registered endpoints into reachability changes (``Translator.registrations``)."""

    def __call__(self, endpoints: frozenset[str]) -> list[Event]: ...


class KamailioReader:
    """Reads Kamailio through ``rpc``; ``apply`` gives the reachability changes of a location read,
    which go to ``writer``; ``failed`` is the failure counter (labels ``read``, ``reason``)."""

    def __init__(
        self,
        rpc: KamailioRpc,
        apply: Registrations,
        writer: Writer,
        failed: Counter,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.time,
        lose: Callable[[str], bool] | None = None,
    ) -> None:
        self.rpc = rpc
        self.apply = apply
        self.writer = writer
        self.failed = failed
        self.interval = interval
        self.view = KamailioView()
        self.lose = lose  # several PBXs: a PBX the dispatcher probed dead, lost if its link is down
        self._clock = clock
        self._quiet = LogThrottle(log)

    async def run(self) -> None:
        """Read now, then every ``interval`` seconds, until cancelled."""
        while True:
            await self.read()
            await asyncio.sleep(self.interval)

    async def read(self) -> None:
        """One read of both: each part that is read replaces its part of ``view``."""
        endpoints = await self._read("location", "ul.dump", location, "brief")
        if endpoints is not None:
            self.view = dataclasses.replace(self.view, registered=endpoints, registered_at=self._clock())
            for event in self.apply(endpoints):
                self.writer.submit(event)
        pbxs = await self._read("dispatcher", "dispatcher.list", dispatcher)
        if pbxs is not None:
            self.view = dataclasses.replace(self.view, pbxs=pbxs, pbxs_at=self._clock())
            for pbx in pbxs:
                if self.lose is not None and pbx.dead and self.lose(pbx.name):
                    log.error("PBX %s: probed dead by Kamailio's dispatcher and its link down: lost", pbx.name)

    async def _read(self, what: str, method: str, parse: Callable[[Any], Any], *params: str) -> Any:
        """The parsed result of one call; None when it failed (counted, logged within bounds)."""
        try:
            result = await self.rpc.call(method, *params)
            # a pure function of the reply: in a thread, so thousands of AoRs (about 10-25 ms at 3,000 on a
            # 2-core machine) never hold the routing loop for long
            return await asyncio.to_thread(parse, result)
        except RpcFailed as exc:
            reason, why = exc.reason, str(exc)
        except Malformed as exc:
            reason, why = "malformed", f"{method}: {exc}"
        except Exception as exc:  # a bug here must not stop the reads, nor reach the writer
            reason, why = "malformed", f"{method}: {type(exc).__name__}: {exc}"
        self.failed.labels(what, reason).inc()
        self._quiet.warning(f"kamailio-{what}-{reason}", "Kamailio's %s not read (%s); the last view stays", what, why)
        return None


def reader_for(
    settings: KamailioSettings | None,
    translator: Translator,
    writer: Writer,
    metrics: Metrics,
    lose: Callable[[str], bool] | None = None,
) -> KamailioReader | None:
    """The reader ``[kamailio]`` asks for, its presence switched to Kamailio's contacts; None without it
    (a deployment without Kamailio keeps the PBX's reachability). ``lose``: what loses a PBX the
    dispatcher marks inactive (several PBXs; docs/pbxs.md, "A PBX dies")."""
    if settings is None:
        return None
    translator.presence.follow_registrar()
    rpc = KamailioRpc(settings.control, timeout=min(1.0, settings.interval))
    return KamailioReader(
        rpc, translator.registrations, writer, metrics.kamailio_reads_failed, interval=settings.interval, lose=lose
    )
