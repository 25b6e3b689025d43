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
from acd.core.snapshot import CallView
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


async def _fields(request: web.Request, key: str) -> Fields | web.Response:
    body = await json_object(request, frozenset({key}))
    return body if isinstance(body, web.Response) else Fields(body)


def _caller(request: web.Request, call_id: str) -> tuple[set[str] | None, CallView | None] | web.Response:
    """The token's queues (None: every queue) and the caller as queued now; 404 for a caller outside them."""
    live = request.app[LIVE]
    shown = visible_queues(request[TOKEN], live.config)
    queued = live.queued_call(call_id, live.now())
    if shown is not None and (queued is None or queued.queue not in shown):
        return errors.no_such_call(call_id)
    return shown, queued


async def priority(request: web.Request) -> web.Response:
    call_id = request.match_info["call"]
    fields = await _fields(request, "priority")
    if isinstance(fields, web.Response):
        return fields
    value = fields.whole("priority", MIN_PRIORITY, MAX_PRIORITY)
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert value is not None  # else ``bad`` named it
    caller = _caller(request, call_id)
    if isinstance(caller, web.Response):
        return caller
    return await _change(
        request, CallPriorityChanged(call_id, value), "call.priority", call_id, {"priority": value}, {"priority": value}
    )


async def move(request: web.Request) -> web.Response:
    """Move a waiting or ringing caller to another queue (docs/kpis.md, "Moved calls")."""
    call_id = request.match_info["call"]
    fields = await _fields(request, "queue")
    if isinstance(fields, web.Response):
        return fields
    target = fields.text("queue", required=True, max_length=MAX_QUEUE_NAME)
    bad = fields.refusal()
    if bad is not None:
        return bad
    caller = _caller(request, call_id)
    if isinstance(caller, web.Response):
        return caller
    shown, before = caller
    if shown is not None:
        if request.app[LIVE].config.queue(target) is None:
            return errors.error(404, "no-such-queue", f"no queue {target!r} is configured", {"id": target})
        if target not in shown:
            return errors.forbidden(f"this token may not move callers to queue {target!r}")
    details = {"queue": target, "from": None if before is None else before.queue}
    return await _change(request, CallMoved(call_id, target), "call.queue", call_id, details, {"from": details["from"]})
