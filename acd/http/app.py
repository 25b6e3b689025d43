"""The aiohttp application: agent actions, dispositions, call explanations, status, metrics, health
and readiness.

Handlers never touch routing state: they validate the request and submit a core event to the
runtime (the one writer), or read the core's snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    DispositionSet,
    Event,
    WrapUpDone,
)
from acd.http import errors
from acd.http.agent_page import add_agent_page
from acd.http.wallboard import add_wallboard_routes
from acd.metrics import Metrics
from acd.readiness import Readiness
from acd.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
METRICS = web.AppKey("metrics", Metrics)
Health = Callable[[], Mapping[str, Any]]
HEALTH: web.AppKey[Health] = web.AppKey("health")
Ready = Callable[[], Awaitable[Readiness]]
READY: web.AppKey[Ready] = web.AppKey("ready")

AGENT_ACTIONS: dict[str, Callable[[str, Mapping[str, Any]], Event]] = {
    "login": lambda a, _: AgentLoggedIn(a),
    "logout": lambda a, _: AgentLoggedOut(a),
    "pause": lambda a, body: AgentPaused(a, str(body.get("reason", "break"))),
    "resume": lambda a, _: AgentResumed(a),
    "wrapup-done": lambda a, _: WrapUpDone(a),
}


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return jsonable(value.value)
    return value


async def _json_body(request: web.Request) -> Mapping[str, Any] | web.Response:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return errors.bad_body("the body is not valid JSON")
    if not isinstance(body, dict):
        return errors.bad_body("the body must be a JSON object")
    return body


async def agent_action(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    agent_id, action = request.match_info["agent"], request.match_info["action"]
    if action not in AGENT_ACTIONS:
        return errors.unknown_action(action, sorted(AGENT_ACTIONS))
    if agent_id not in {a.id for a in runtime.core.config.agents}:
        return errors.no_such_agent(agent_id)
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    if action == "pause" and not isinstance(body.get("reason", "break"), str):
        return errors.bad_body("reason must be a string")
    if not runtime.submit(AGENT_ACTIONS[action](agent_id, body)):
        return errors.draining()
    return web.json_response({"agent": agent_id, "action": action, "accepted": True}, status=202)


async def disposition(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    call_id = request.match_info["call"]
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    code, notes = body.get("code"), body.get("notes", "")
    if not isinstance(code, str) or not code:
        return errors.bad_body("code is required and must be a non-empty string")
    if not isinstance(notes, str) or len(notes) > 4000:
        return errors.bad_body("notes must be a string of at most 4000 characters")
    if not runtime.submit(DispositionSet(call_id, code, notes)):
        return errors.draining()
    return web.json_response({"call": call_id, "accepted": True}, status=202)


async def explain(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    call_id = request.match_info["call"]
    explanation = runtime.core.explain(call_id)
    if explanation is None:
        return errors.no_such_call(call_id)
    return web.json_response(jsonable(explanation))


async def status(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return web.json_response(jsonable(runtime.core.snapshot(runtime.now())))


async def metrics(request: web.Request) -> web.Response:
    # Rendered in a thread: with thousands of agents a scrape takes a fifth of a second of CPU, and
    # the event loop must keep routing meanwhile (it gets the interpreter back every few ms).
    body = await asyncio.to_thread(generate_latest, request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    health = dict(request.app[HEALTH]())
    return web.json_response(health, status=200 if health.get("ok") else 503)


async def readyz(request: web.Request) -> web.Response:
    """200 when the AMI link is up and PostgreSQL answers; 503 saying which is down otherwise."""
    readiness = await request.app[READY]()
    details = jsonable(readiness)
    if not readiness.ready:
        return errors.not_ready(readiness.down(), details)
    return web.json_response({"ready": True, **details})


def build_app(runtime: Runtime, metrics_: Metrics, health: Health, *, ready: Ready) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[RUNTIME] = runtime
    app[METRICS] = metrics_
    app[HEALTH] = health
    app[READY] = ready
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/status", status)
    app.router.add_post("/api/agents/{agent}/{action}", agent_action)
    app.router.add_post("/api/calls/{call}/disposition", disposition)
    app.router.add_get("/api/calls/{call}/explain", explain)
    add_wallboard_routes(app, runtime)
    add_agent_page(app)
    return app
