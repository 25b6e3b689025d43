"""Supervisor actions on callers through /api/v1: change a queued caller's priority, or move them to
another queue.

Supervisors and admins only (the route table's roles); a supervisor only for callers in their queues
(a caller elsewhere is a 404, as for explanations: they need not learn which calls exist in other
queues), and a move only to one of their queues (403 for another). The change goes to the core as
``CallPriorityChanged`` or ``CallMoved`` and is audited like every other change (``audited``).
Forcing an agent's state needs nothing new: a supervisor's token may log in, log out, pause, resume
and end wrap-up for every agent of their queues through the agent actions.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.core.events import CallMoved, CallPriorityChanged, Event
from acd.http import errors
from acd.http.keys import LIVE, RUNTIME, TOKEN
from acd.http.v1.audited import audited
from acd.http.v1.auth import visible_queues
from acd.http.v1.input import Fields, json_object

MIN_PRIORITY, MAX_PRIORITY = 0, 1000
MAX_QUEUE_NAME = 200


def _call_json(request: web.Request, call_id: str) -> dict[str, Any]:
    """Where the caller stands now (all None once they are no longer queued)."""
    live = request.app[LIVE]
    view = live.queued_call(call_id, live.now())
    return {
        "id": call_id,
        "queue": None if view is None else view.queue,
        "priority": None if view is None else view.priority,
        "state": None if view is None else view.state.value,
        "position": None if view is None else view.position,
        "agent_id": None if view is None else view.agent_id,
    }


async def _change(
    request: web.Request, event: Event, action: str, call_id: str, details: dict[str, Any], shown: dict[str, Any]
) -> web.Response:
    """Ask the core, answer with where the caller stands (plus ``shown``), audit either way."""

    async def change() -> web.Response:
        await request.app[RUNTIME].ask(event)
        return web.json_response({"call": {**_call_json(request, call_id), **shown}})

    return await audited(request, action, call_id, details, change)


async def priority(request: web.Request) -> web.Response:
    live = request.app[LIVE]
    token = request[TOKEN]
    call_id = request.match_info["call"]
    body = await json_object(request, frozenset({"priority"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    value = fields.whole("priority", MIN_PRIORITY, MAX_PRIORITY)
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert value is not None  # else ``bad`` named it
    shown = visible_queues(token, live.config)
    queued = {c.call_id: c for c in live.queued_calls(live.now())}
    if shown is not None and (call_id not in queued or queued[call_id].queue not in shown):
        return errors.no_such_call(call_id)
    return await _change(
        request, CallPriorityChanged(call_id, value), "call.priority", call_id, {"priority": value}, {"priority": value}
    )


async def move(request: web.Request) -> web.Response:
    """Move a waiting or ringing caller to another queue (docs/kpis.md, "Moved calls")."""
    live = request.app[LIVE]
    token = request[TOKEN]
    call_id = request.match_info["call"]
    body = await json_object(request, frozenset({"queue"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    target = fields.text("queue", required=True, max_length=MAX_QUEUE_NAME)
    bad = fields.refusal()
    if bad is not None:
        return bad
    config = live.config
    shown = visible_queues(token, config)
    queued = {c.call_id: c for c in live.queued_calls(live.now())}
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
