"""/api/v1: the versioned REST API, with bearer tokens, roles, an audit log and an OpenAPI document.

``build_api_v1`` makes the sub-application that the service mounts at ``/api/v1`` (``acd.http.site``):
the one API of the ACD; no route of it answers without a token but its OpenAPI document. Changes go
to the core through ``Runtime.ask``; reads come from the core's snapshot or from PostgreSQL.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.config_changes import ConfigEditor
from acd.http.app import RUNTIME
from acd.http.bearer import Bearers
from acd.http.v1 import agents, interactions, live, openapi, supervision
from acd.http.v1.agent_stream import add_agent_stream
from acd.http.v1.agents import AUDIT
from acd.http.v1.auth import BEARERS, ENGINE, guard
from acd.http.v1.config_routes import add_config_routes
from acd.records.audit import AuditLog
from acd.runtime import Runtime

PREFIX = "/api/v1"


def build_api_v1(runtime: Runtime, engine: AsyncEngine, audit: AuditLog,
                 editor: ConfigEditor | None = None, bearers: Bearers | None = None) -> web.Application:
    """Mount with ``app.add_subapp(PREFIX, build_api_v1(...))``; the parent's client_max_size applies.

    ``editor`` changes the routing config (the service's knows the revision in force); by default,
    one that edits what the core runs now. ``bearers`` checks tokens (the service shares one with
    the wallboard, so that a client's failures count once); by default, one over ``engine``.
    """
    api = web.Application(middlewares=[guard])
    api[RUNTIME] = runtime
    api[ENGINE] = engine
    api[BEARERS] = bearers or Bearers.of(engine)
    api[AUDIT] = audit
    api.router.add_get("/openapi.json", openapi.openapi)
    api.router.add_get("/agents", agents.list_agents)
    api.router.add_get("/agents/{agent}", agents.one_agent)
    for action in agents.ACTIONS:
        api.router.add_post(f"/agents/{{agent}}/{action}", agents.action_handler(action))
    api.router.add_post("/agents/{agent}/wrapup", agents.wrapup)
    add_config_routes(api, editor or ConfigEditor.running(runtime, engine))  # skills, queues, agents
    add_agent_stream(api)  # GET /agents/{agent}/events: the agent desktop's stream
    api.router.add_get("/status", live.status)
    api.router.add_get("/calls/{call}/explanation", live.explanation)
    api.router.add_post("/calls/{call}/priority", supervision.priority)
    api.router.add_post("/calls/{call}/queue", supervision.move)
    api.router.add_get("/interactions", interactions.search)
    api.router.add_get("/customers/{customer}/interactions", interactions.customer_history)
    return api
