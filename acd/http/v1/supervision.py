"""Supervisor actions on callers through /api/v1: change a queued caller's priority, or move them to
another queue.

Supervisors and admins only; a supervisor only for callers in their queues (a caller elsewhere is a
404, as for explanations: they need not learn which calls exist in other queues), and a move only to
one of their queues (403 for another). The change goes to the core as ``CallPriorityChanged`` or
``CallMoved`` and is audited like every other change. Forcing an agent's
state needs nothing new: a supervisor's token may log in, log out, pause, resume and end wrap-up
for every agent of their queues through the agent actions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from acd.core.errors import AcdError
from acd.core.events import CallMoved, CallPriorityChanged, Event
from acd.http import errors
from acd.http.app import RUNTIME
from acd.http.v1.agents import AUDIT, refusal
from acd.http.v1.auth import TOKEN, visible_queues
from acd.http.v1.input import Fields, json_object
from acd.records.stores.audit import Change
from acd.runtime import CoreFailed, Draining, Runtime

MIN_PRIORITY, MAX_PRIORITY = 0, 1000
MAX_QUEUE_NAME = 200


def _call_json(runtime: Runtime, call_id: str) -> dict[str, Any]:
    """Where the caller stands now (all None once they are no longer queued)."""
    view = next((c for c in runtime.core.queued_calls(runtime.now()) if c.call_id == call_id), None)
    return {"id": call_id, "queue": None if view is None else view.queue,
            "priority": None if view is None else view.priority,
            "state": None if view is None else view.state.value,
            "position": None if view is None else view.position,
            "agent_id": None if view is None else view.agent_id}


async def _change(request: web.Request, event: Event, action: str, call_id: str,
                  details: dict[str, Any], shown: dict[str, Any]) -> web.Response:
    """Ask the core, answer with where the caller stands (plus ``shown``), audit either way."""
    runtime = request.app[RUNTIME]
    token = request[TOKEN]
    try:
        await runtime.ask(event)
        response = web.json_response({"call": {**_call_json(runtime, call_id), **shown}})
    except (AcdError, Draining, CoreFailed) as exc:
        response = refusal(exc)
    await request.app[AUDIT].write(Change(datetime.now(UTC), token.id, token.role, token.agent_id,
                                          action, call_id, response.status, details))
    return response


async def priority(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    token = request[TOKEN]
    call_id = request.match_info["call"]
    if token.role == "agent":
        return errors.forbidden("changing a caller's priority is for supervisors and admins")
    body = await json_object(request, frozenset({"priority"}))
    if isinstance(body, web.Response):
        return body
    value = body.get("priority")
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_PRIORITY <= value <= MAX_PRIORITY:
        return errors.invalid("the request has invalid fields",
                              {"priority": f"an integer from {MIN_PRIORITY} to {MAX_PRIORITY}"})
    shown = visible_queues(token, runtime.core.config)
    queued = {c.call_id: c for c in runtime.core.queued_calls(runtime.now())}
    if shown is not None and (call_id not in queued or queued[call_id].queue not in shown):
        return errors.no_such_call(call_id)
    return await _change(request, CallPriorityChanged(call_id, value), "call.priority", call_id,
                         {"priority": value}, {"priority": value})


async def move(request: web.Request) -> web.Response:
    """Move a waiting or ringing caller to another queue (docs/kpis.md, "Moved calls")."""
    runtime = request.app[RUNTIME]
    token = request[TOKEN]
    call_id = request.match_info["call"]
    if token.role == "agent":
        return errors.forbidden("moving a caller to another queue is for supervisors and admins")
    body = await json_object(request, frozenset({"queue"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    target = fields.text("queue", required=True, max_length=MAX_QUEUE_NAME)
    bad = fields.refusal()
    if bad is not None:
        return bad
    config = runtime.core.config
    shown = visible_queues(token, config)
    queued = {c.call_id: c for c in runtime.core.queued_calls(runtime.now())}
    if shown is not None:
        if call_id not in queued or queued[call_id].queue not in shown:
            return errors.no_such_call(call_id)
        if config.queue(target) is None:
            return errors.error(404, "no-such-queue", f"no queue {target!r} is configured", {"id": target})
        if target not in shown:
            return errors.forbidden(f"this token may not move callers to queue {target!r}")
    before = queued.get(call_id)
    details = {"queue": target, "from": None if before is None else before.queue}
    return await _change(request, CallMoved(call_id, target), "call.queue", call_id, details, {"from": details["from"]})
