"""The whole HTTP site as the service serves it: the app's own routes (metrics, health, pages), the
wallboard's stream and /api/v1, behind the request boundary (``acd.http.boundary``), with one token
checker for all of them.

The service and the tests that stand for it build the site here, so that what is tested (the route
table, schemathesis) is what runs.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.config_changes import ConfigEditor
from acd.http.app import build_app
from acd.http.bearer import Bearers
from acd.http.boundary import allow_hosts, boundary, default_hosts
from acd.http.keys import METRICS_TOKEN, Health, Ready
from acd.http.v1 import PREFIX, build_api_v1
from acd.http.wallboard import require_tokens
from acd.leadership import Leadership
from acd.metrics import Metrics
from acd.pbx_board import PbxBoard
from acd.recordings import Recorder
from acd.records.stores.audit import AuditLog
from acd.records.stores.customers import CustomerDirectory
from acd.runtime import Runtime
from acd.settings import HttpSettings, RecordingSettings, SupervisorPhone


def build_site(
    runtime: Runtime,
    metrics: Metrics,
    health: Health,
    *,
    ready: Ready,
    engine: AsyncEngine,
    audit: AuditLog,
    http: HttpSettings,
    editor: ConfigEditor | None = None,
    bearers: Bearers | None = None,
    customers: CustomerDirectory | None = None,
    recorder: Recorder | None = None,
    recordings: RecordingSettings | None = None,
    supervisors: tuple[SupervisorPhone, ...] = (),
    objectives_zone: str = "UTC",
    leadership: Leadership | None = None,
    pbxs: PbxBoard | None = None,
) -> web.Application:
    """``engine`` is the REST API's pool (tokens, audit, record searches); ``supervisors``: the
    supervisors' phones (``[[supervisors]]``) that calls may be monitored from."""
    bearers = bearers or Bearers.of(engine, streams_per_token=http.streams_per_token)
    app = build_app(runtime, metrics, health, ready=ready, middlewares=[boundary])
    allow_hosts(app, http.allowed_hosts or default_hosts(http.host))
    app[METRICS_TOKEN] = http.metrics_token
    require_tokens(app, bearers)  # the wallboard's stream takes the API's tokens
    app.add_subapp(
        PREFIX,
        build_api_v1(
            runtime,
            engine,
            audit,
            editor,
            bearers,
            customers,
            recorder,
            recordings,
            supervisors,
            objectives_zone,
            leadership,
            pbxs,
        ),
    )
    return app
