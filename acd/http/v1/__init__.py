"""/api/v1: the versioned REST API, with bearer tokens, roles, an audit log and an OpenAPI document.

``build_api_v1`` makes the sub-application that the service mounts at ``/api/v1`` (``acd.http.site``):
the one API of the ACD; no route of it answers without a token but its OpenAPI document. Its routes and
their roles are one table (``acd.http.v1.routes``). Changes go to the core through ``Runtime.ask``;
reads come from the live view (``acd.live_view``) or from PostgreSQL.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.config_changes import ConfigEditor
from acd.http.bearer import Bearers
from acd.http.keys import (
    AUDIT,
    BEARERS,
    DIRECTORY,
    EDITOR,
    ENGINE,
    LEADERSHIP,
    LIVE,
    OBJECTIVES_ZONE,
    PBXS,
    RECORDER,
    RECORDINGS,
    RUNTIME,
    SUPERVISORS,
)
from acd.http.roles import RouteTable
from acd.http.v1.agent_stream import add_agent_stream
from acd.http.v1.auth import guard
from acd.http.v1.routes import ROUTES
from acd.leadership import Leadership
from acd.live_view import LiveView
from acd.pbx_board import PbxBoard
from acd.recordings import Recorder
from acd.records.stores.audit import AuditLog
from acd.records.stores.customers import CustomerDirectory
from acd.runtime import Runtime
from acd.settings import RecordingSettings, SupervisorPhone

PREFIX = "/api/v1"
TABLE = RouteTable(ROUTES, PREFIX)


def build_api_v1(
    runtime: Runtime,
    engine: AsyncEngine,
    audit: AuditLog,
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
    """Mount with ``app.add_subapp(PREFIX, build_api_v1(...))``; the parent's client_max_size applies.

    ``editor`` changes the routing config (the service's knows the revision in force); by default,
    one that edits what the core runs now. ``bearers`` checks tokens (the service shares one with
    the wallboard, so that a client's failures count once); by default, one over ``engine``.
    ``customers``: the caller directory, told of every change to a customer record.
    ``recorder`` pauses recordings; ``recordings``: where their files are and who may listen.
    ``supervisors``: the supervisors' phones calls may be monitored from (``POST /calls/{id}/monitor``).
    ``objectives_zone``: the time zone of objectives' days, weeks and months (``[objectives] zone``).
    ``leadership``: this process's side of the lease, for ``GET /cluster`` (docs/standby.md).
    ``pbxs``: each PBX's state, for ``GET /pbxs`` (docs/pbxs.md, "The list of PBXs").
    """
    api = web.Application(middlewares=[guard])
    api[RUNTIME] = runtime
    api[LIVE] = LiveView(runtime)
    api[ENGINE] = engine
    api[BEARERS] = bearers or Bearers.of(engine)
    api[AUDIT] = audit
    api[EDITOR] = editor or ConfigEditor.running(runtime, engine)
    api[SUPERVISORS] = supervisors
    api[OBJECTIVES_ZONE] = objectives_zone
    if customers is not None:
        api[DIRECTORY] = customers
    if recorder is not None:
        api[RECORDER] = recorder
    api[RECORDINGS] = recordings or RecordingSettings()
    if leadership is not None:
        api[LEADERSHIP] = leadership
    if pbxs is not None:
        api[PBXS] = pbxs
    add_agent_stream(api)  # the agent desk's publisher
    TABLE.mount(api)
    return api
