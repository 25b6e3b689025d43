"""A real ACD runtime and HTTP app with steady synthetic traffic, for a real Prometheus to scrape.

A dashboard query over ``rate``, ``increase`` or a recorded ratio only returns data when counters
*move* while Prometheus watches, so calls must keep coming after the first scrape. ``LiveAcd`` runs
the real core, runtime (its timers included: wrap-up ends and overflows come from them), metrics and
``/metrics`` endpoint, and a traffic task that, every tick:

- billing: a caller arrives, having waited 1, 4 or 25 s already (so some are answered within the
  threshold T = 20 s and some are not); every ring is answered at once and the call ends one tick
  later, then wrap-up (0.5 s, longer than the queue's max handle time, so handle breaches count);
- sales, which no agent serves: callers abandon after 6 s (counted), abandon at once (short
  abandons) or reach the maximum wait and overflow (wait breaches).

Agents a1 and a2 take billing calls, so they go round ready, ringing, on call and wrap-up all the
time (``acd_agent_state_seconds_total`` moves for both); a3 is logged in and paused. One event is
refused (an unknown agent). Asterisk answers every AMI action at once (``MockControl``): no AMI link
runs here, so the AMI adapter's own counters (malformed messages, lost redirects) are moved once by
hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from datetime import UTC, datetime

from aiohttp.test_utils import TestServer
from doubles import MockControl, NullSink, keep_rings
from wiring import settings_for

from acd.bootstrap import Parts, build
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, OtfCriteria, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    CallArrived,
    CallEnded,
    CallerHungUp,
    OfferAnswered,
)
from acd.core.objectives import Objective
from acd.http.keys import METRICS_TOKEN, READY
from acd.http.wallboard import require_tokens
from acd.metrics import ObjectiveFigures
from acd.readiness import Readiness
from acd.records.stores.tokens import Token

CONFIG = RoutingConfig(
    queues=(
        QueueConfig(
            "billing",
            (SkillRequirement("billing", 1),),
            sla_threshold_seconds=20.0,
            wrapup_seconds=0.5,
            max_handle_seconds=0.4,
            otf=OtfCriteria(repeat_window_seconds=1.0, target=0.7),  # verdicts settle a second after a call
        ),
        QueueConfig("sales", (SkillRequirement("sales", 1),), sla_threshold_seconds=15.0, max_wait_seconds=10.0),
    ),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 3),)),
        AgentConfig("a2", "agent2", (("billing", 2),)),
        AgentConfig("a3", "agent3", (("billing", 1),)),
    ),
    objectives=(  # their figures are set by hand (LiveAcd.start)
        Objective("billing-sl", "service_level", ">=", 0.8, "queue", ("billing",), "day"),
        Objective("billing-aht", "aht", "<=", 300.0, "queue", ("billing",), "day"),
        Objective("billing-breaches", "handle_breaches", "<=", 10.0, "queue", ("billing",), "week"),
        Objective("billing-otf", "otf", ">=", 0.7, "queue", ("billing",), "month"),
        Objective("billing-fcr", "fcr", ">=", 0.75, "queue", ("billing",), "month"),
    ),
)
TICK_SECONDS = 0.25
BILLING_WAITS = (1.0, 4.0, 25.0)


ADMIN_TOKEN = "acd_0123456789abcdef_live-acd-admin"
SCRAPE_TOKEN = "live-acd-scrape-token-0123456789"  # /metrics answers only with it (Prometheus sends it)


WALLBOARD_TOKEN = "acd_fedcba9876543210_live-acd-wall-screen"  # a read-only wall screen's


async def _known_tokens(bearer: str) -> Token | None:
    """The two tokens this ACD knows (no PostgreSQL here): an admin's and a wall screen's."""
    if bearer == ADMIN_TOKEN:
        return Token("0123456789abcdef", "admin", None, (), "live ACD", datetime.now(UTC), None)
    if bearer == WALLBOARD_TOKEN:
        return Token("fedcba9876543210", "wallboard", None, (), "wall screen", datetime.now(UTC), None)
    return None


async def ready() -> Readiness:
    return Readiness(ami_connected=True, database_reachable=True)


class LiveAcd:
    def __init__(self, parts: Parts, rings: list[RingAgent]) -> None:
        self.metrics = parts.metrics
        self.rings = rings
        self.forecaster = parts.forecaster
        self.runtime = parts.runtime
        app = parts.site
        app[READY] = ready
        require_tokens(app, _known_tokens)  # the wallboard's stream: Authorization: Bearer WALLBOARD_TOKEN
        app[METRICS_TOKEN] = SCRAPE_TOKEN
        self.server = TestServer(app, host="127.0.0.1")
        self.calls = itertools.count(1)
        self.ticks = 0
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def build(cls) -> LiveAcd:
        rings: list[RingAgent] = []
        parts = await build(settings_for(CONFIG), control=MockControl(keep_rings(rings)), records=NullSink())
        # no database, no lease: it routes as a lone leader would (docs/standby.md), and says so
        parts.metrics.leader.labels("live").set(1)
        parts.metrics.epoch.set(1)
        return cls(parts, rings)

    @property
    def target(self) -> str:
        """host:port of ``/metrics``, for a scrape config."""
        return f"127.0.0.1:{self.server.port}"

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.runtime.run(), name="live-acd-writer"))
        for agent in ("a1", "a2", "a3"):
            self.runtime.handle_now(AgentLoggedIn(agent))
        self.runtime.handle_now(AgentPaused("a3", "lunch"))
        self.runtime.handle_now(AgentLoggedIn("nobody"))  # refused: acd_refused_events_total{error="UnknownAgent"}
        self.metrics.export_ami_malformed(wire=1, translate=0)
        self.metrics.redirects_lost.labels("pbx", "ring").inc()
        self.metrics.ami_connected.labels(pbx="pbx").set(1)
        self.metrics.pbx_misconfigured.labels(pbx="pbx").set(0)  # as the service sets it for each PBX
        # no PostgreSQL here: an objective's figures (acd.records.objectives computes them from the records,
        # tests/integration/test_objectives.py) are set by hand, at risk as the alert expects
        self.metrics.objectives.figures = {
            "billing-sl": ObjectiveFigures("service_level", 0.8, 0.62, 0.7, "at_risk"),
            "billing-aht": ObjectiveFigures("aht", 300.0, 120.0, 120.0, "on_track"),
            "billing-breaches": ObjectiveFigures("handle_breaches", 10.0, 3.0, 6.0, "on_track"),
            "billing-otf": ObjectiveFigures("otf", 0.7, 0.81, 0.79, "on_track"),
            "billing-fcr": ObjectiveFigures("fcr", 0.75, 0.86, 0.84, "on_track"),
        }
        await self.server.start_server()
        self._tasks.append(asyncio.create_task(self._traffic(), name="live-acd-traffic"))

    async def stop(self) -> None:
        traffic = self._tasks.pop()
        traffic.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await traffic
        await self.server.close()
        self.runtime.drain()
        await self._tasks.pop()

    def _call(self, queue: str, waited: float) -> str:
        call_id = f"{queue}-{next(self.calls)}"
        self.runtime.handle_now(CallArrived(call_id, queue, 5, channel=call_id, enqueued_at=time.time() - waited))
        return call_id

    async def _traffic(self) -> None:
        talking: list[str] = []
        hanging_up: list[str] = []
        while True:
            for call_id in talking:
                self.runtime.handle_now(CallEnded(call_id))
            for call_id in hanging_up:
                self.runtime.handle_now(CallerHungUp(call_id))
            talking, hanging_up = [], []
            if self.ticks % 2 == 0:
                self._call("billing", BILLING_WAITS[self.ticks // 2 % len(BILLING_WAITS)])
            match self.ticks % 6:
                case 1:
                    hanging_up.append(self._call("sales", 6.0))  # abandons after more than S = 5 s
                case 3:
                    hanging_up.append(self._call("sales", 0.0))  # a short abandon
                case 5:
                    self._call("sales", 9.0)  # overflows at the maximum wait, a second from now
            rung = self.rings.copy()
            self.rings.clear()
            for ring in rung:
                self.runtime.handle_now(OfferAnswered(ring.offer_id))
                talking.append(ring.call_id)
            now = time.time()
            self.forecaster.publish(self.metrics, self.runtime.core.snapshot(now), CONFIG, now)
            self.runtime.settle_otf(now)  # as the service's gauges job does
            self.ticks += 1
            await asyncio.sleep(TICK_SECONDS)
