"""Agent actions through /api/v1: log in and out, pause with a reason, resume, ready (end wrap-up),
and wrap up a call with a disposition code and notes; plus each agent's state and time in state.

The actions are the agent actions' one table (``acd.agent_actions``), which the phones' feature codes
share. A change goes to the routing core as an event through ``Runtime.ask``, in its turn behind every
event submitted before it, and the answer says what the core decided: 200 with the agent's new
state, or the core's refusal (409 ``invalid-transition`` for pausing a logged-out agent, 404 for an
id it does not know). Every change that reaches the core is written to the audit log (``audited``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from acd.agent_actions import BY_VERB
from acd.core.events import DispositionSet, Event, WrapUpDone
from acd.core.snapshot import AgentView
from acd.core.states import AgentState
from acd.http import errors
from acd.http.keys import LIVE, RUNTIME, TOKEN
from acd.http.v1.audited import audited
from acd.http.v1.auth import may_act_on
from acd.http.v1.input import Fields, json_object
from acd.routing_document import agent_fields

MAX_REASON = 64


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


async def _apply(
    request: web.Request, agent_id: str, action: str, events: list[Event], details: dict[str, Any]
) -> web.Response:
    async def change() -> web.Response:
        for event in events:
            await request.app[RUNTIME].ask(event)
        live = request.app[LIVE]
        view = live.agent_view(agent_id, live.now())
        if view is None:  # removed from the config meanwhile
            return errors.no_such_agent(agent_id)
        return web.json_response({"agent": agent_json(view, live.now())})

    return await audited(request, f"agent.{action}", agent_id, details, change)


def _checked(request: web.Request) -> tuple[str, web.Response | None]:
    """The agent named in the path, or the 403/404 that stops the request."""
    live = request.app[LIVE]
    agent_id = request.match_info["agent"]
    if not may_act_on(request[TOKEN], live.config, agent_id):
        return agent_id, errors.forbidden(f"this token may not act on agent {agent_id!r}")
    if not live.has_agent(agent_id):
        return agent_id, errors.no_such_agent(agent_id)
    return agent_id, None


def action_handler(verb: str) -> Callable[[web.Request], Any]:
    """``POST /agents/{agent}/<verb>`` for one of the agent actions (``acd.agent_actions``)."""
    action = BY_VERB[verb]
    allowed = frozenset({"reason"}) if action.takes_reason else frozenset()

    async def handle(request: web.Request) -> web.Response:
        agent_id, stop = _checked(request)
        if stop is not None:
            return stop
        body = await json_object(request, allowed)
        if isinstance(body, web.Response):
            return body
        fields = Fields(body)
        reason = fields.text("reason", required=True, max_length=MAX_REASON) if action.takes_reason else ""
        bad = fields.refusal()
        if bad is not None:
            return bad
        return await _apply(request, agent_id, verb, [action.event(agent_id, reason)], dict(body))

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
    live = request.app[LIVE]
    view = live.agent_view(agent_id, live.now())
    if view is None:
        return errors.no_such_agent(agent_id)
    if view.call_id is None or view.state not in (AgentState.ON_CALL, AgentState.WRAP_UP):
        return errors.no_call_to_wrap_up(agent_id, view.state.value)
    queue = live.call_queue(view.call_id)
    if queue is not None and code not in queue.dispositions:
        return errors.unknown_disposition(code, queue.name, queue.dispositions)
    events: list[Event] = [DispositionSet(view.call_id, code, notes)]
    if done:
        events.append(WrapUpDone(agent_id))
    return await _apply(request, agent_id, "wrapup", events, {"call_id": view.call_id, **body})


async def list_agents(request: web.Request) -> web.Response:
    """Every agent the token may see (its queues' agents; an agent sees only themselves)."""
    live = request.app[LIVE]
    token = request[TOKEN]
    now = live.now()
    config = live.config
    views = [
        v for v in live.snapshot(now).agents.values() if token.role == "admin" or may_act_on(token, config, v.agent_id)
    ]
    configured = {a.id: agent_fields(a) for a in config.agents}  # name, endpoint, skills
    return web.json_response({"agents": [{**agent_json(v, now), **configured.get(v.agent_id, {})} for v in views]})


def full_json(request: web.Request, agent_id: str) -> dict[str, Any] | None:
    """The agent as ``GET /agents`` shows them: live state and configuration; None if not both."""
    live = request.app[LIVE]
    now = live.now()
    view = live.agent_view(agent_id, now)
    agent = live.agent(agent_id)
    if view is None or agent is None:
        return None
    return {**agent_json(view, now), **agent_fields(agent)}


async def one_agent(request: web.Request) -> web.Response:
    agent_id, stop = _checked(request)
    if stop is not None:
        return stop
    shown = full_json(request, agent_id)
    if shown is None:
        return errors.no_such_agent(agent_id)
    return web.json_response({"agent": shown})
