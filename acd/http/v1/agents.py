"""Agent actions through /api/v1: log in and out, pause with a reason, resume, ready (end wrap-up),
and wrap up a call with a disposition code and notes; plus each agent's state and time in state.

A change goes to the routing core as an event through ``Runtime.ask``, in its turn behind every
event submitted before it, and the answer says what the core decided: 200 with the agent's new
state, or the core's refusal (409 ``invalid-transition`` for pausing a logged-out agent, 404 for an
id it does not know). Every change that reaches the core is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from acd.core.errors import AcdError, InvalidTransition, InvalidValue, UnknownEntity
from acd.core.events import AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentResumed, DispositionSet, Event, WrapUpDone
from acd.core.snapshot import AgentView
from acd.core.states import AgentState
from acd.http import errors
from acd.http.app import RUNTIME
from acd.http.v1.auth import TOKEN, may_act_on
from acd.http.v1.input import Fields, json_object
from acd.records.stores.audit import AuditLog, Change
from acd.routing_document import agent_fields
from acd.runtime import CoreFailed, Draining, Runtime

AUDIT = web.AppKey("audit", AuditLog)
MAX_REASON = 64

Build = Callable[[str, Fields], list[Event]]

# action -> (body fields it takes, the events it submits in order)
ACTIONS: dict[str, tuple[frozenset[str], Build]] = {
    "login": (frozenset(), lambda a, _: [AgentLoggedIn(a)]),
    "logout": (frozenset(), lambda a, _: [AgentLoggedOut(a)]),
    "pause": (frozenset({"reason"}), lambda a, f: [AgentPaused(a, f.text("reason", required=True,
                                                                            max_length=MAX_REASON))]),
    "resume": (frozenset(), lambda a, _: [AgentResumed(a)]),
    "ready": (frozenset(), lambda a, _: [WrapUpDone(a)]),
}


def agent_json(view: AgentView, now: float) -> dict[str, Any]:
    known = view.since > 0  # an agent never seen since start has no dated state
    return {
        "id": view.agent_id,
        "state": view.state.value,
        "reason": view.reason,
        "since": datetime.fromtimestamp(view.since, UTC).isoformat() if known else None,
        "seconds_in_state": round(max(0.0, now - view.since), 3) if known else None,
        "reachable": view.reachable,
        "call_id": view.call_id,
    }


def refusal(exc: Exception) -> web.Response:
    """The core's or the runtime's refusal as an API error; the core's ``error_id`` in kebab case."""
    if isinstance(exc, InvalidTransition):
        return errors.refused(409, "invalid-transition", str(exc),
                              {"subject": exc.subject, "state": exc.state, "event": exc.event})
    if isinstance(exc, UnknownEntity):
        return errors.refused(404, f"no-such-{exc.kind}", str(exc), {"id": exc.key})
    if isinstance(exc, InvalidValue):  # the API's own checks should have caught it: still the client's fault
        return errors.refused(400, "invalid-input", str(exc), {})
    if isinstance(exc, AcdError):
        return errors.refused(409, exc.error_id.replace("_", "-"), str(exc), {})
    if isinstance(exc, Draining):
        return errors.draining()
    return errors.internal()


def _view(runtime: Runtime, agent_id: str) -> AgentView | None:
    return runtime.core.snapshot(runtime.now()).agents.get(agent_id)


async def _apply(request: web.Request, agent_id: str, action: str, events: list[Event],
                 details: dict[str, Any]) -> web.Response:
    runtime = request.app[RUNTIME]
    token = request[TOKEN]
    try:
        for event in events:
            await runtime.ask(event)
        view = _view(runtime, agent_id)
        if view is None:  # removed from the config meanwhile
            response = errors.no_such_agent(agent_id)
        else:
            response = web.json_response({"agent": agent_json(view, runtime.now())})
    except (AcdError, Draining, CoreFailed) as exc:
        response = refusal(exc)
    await request.app[AUDIT].write(Change(datetime.now(UTC), token.id, token.role, token.agent_id,
                                          f"agent.{action}", agent_id, response.status, details))
    return response


def _checked(request: web.Request) -> tuple[str, web.Response | None]:
    """The agent named in the path, or the 403/404 that stops the request."""
    runtime = request.app[RUNTIME]
    agent_id = request.match_info["agent"]
    if not may_act_on(request[TOKEN], runtime.core.config, agent_id):
        return agent_id, errors.forbidden(f"this token may not act on agent {agent_id!r}")
    if agent_id not in {a.id for a in runtime.core.config.agents}:
        return agent_id, errors.no_such_agent(agent_id)
    return agent_id, None


def action_handler(action: str) -> Callable[[web.Request], Any]:
    allowed, build = ACTIONS[action]

    async def handle(request: web.Request) -> web.Response:
        agent_id, stop = _checked(request)
        if stop is not None:
            return stop
        body = await json_object(request, allowed)
        if isinstance(body, web.Response):
            return body
        fields = Fields(body)
        events = build(agent_id, fields)
        bad = fields.refusal()
        if bad is not None:
            return bad
        return await _apply(request, agent_id, action, events, dict(body))

    return handle


async def wrapup(request: web.Request) -> web.Response:
    """Record a disposition code and notes on the agent's current call; ``done`` also ends wrap-up."""
    agent_id, stop = _checked(request)
    if stop is not None:
        return stop
    body = await json_object(request, frozenset({"code", "notes", "done"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    code = fields.text("code", required=True, max_length=MAX_REASON)
    notes = fields.text("notes", multiline=True)
    done = fields.flag("done")
    bad = fields.refusal()
    if bad is not None:
        return bad
    view = _view(request.app[RUNTIME], agent_id)
    if view is None:
        return errors.no_such_agent(agent_id)
    if view.call_id is None or view.state not in (AgentState.ON_CALL, AgentState.WRAP_UP):
        return errors.no_call_to_wrap_up(agent_id, view.state.value)
    events: list[Event] = [DispositionSet(view.call_id, code, notes)]
    if done:
        events.append(WrapUpDone(agent_id))
    return await _apply(request, agent_id, "wrapup", events, {"call_id": view.call_id, **body})


async def list_agents(request: web.Request) -> web.Response:
    """Every agent the token may see (its queues' agents; an agent sees only themselves)."""
    runtime = request.app[RUNTIME]
    token = request[TOKEN]
    now = runtime.now()
    config = runtime.core.config
    views = [v for v in runtime.core.snapshot(now).agents.values()
             if token.role == "admin" or may_act_on(token, config, v.agent_id)]
    configured = {a.id: agent_fields(a) for a in config.agents}  # name, endpoint, skills
    return web.json_response({"agents": [{**agent_json(v, now), **configured.get(v.agent_id, {})} for v in views]})


async def one_agent(request: web.Request) -> web.Response:
    agent_id, stop = _checked(request)
    if stop is not None:
        return stop
    runtime = request.app[RUNTIME]
    view = _view(runtime, agent_id)
    agent = next((a for a in runtime.core.config.agents if a.id == agent_id), None)
    if view is None or agent is None:
        return errors.no_such_agent(agent_id)
    return web.json_response({"agent": {**agent_json(view, runtime.now()), **agent_fields(agent)}})
