"""The live picture through /api/v1: each queue's callers (wait time, priority, place) and each
agent's state and time in state; and why a call went to whom (the core's ``explain``).

Read from the core between two events (the handlers never await while reading), so what a client
sees is one consistent moment. A token sees only the queues it may read (``auth.visible_queues``).
The status says too which role the answering instance has; a standby's routes nothing and says who
does (``acd.http.v1.standby_status``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from acd.http import errors
from acd.http.app import jsonable
from acd.http.keys import ENGINE, LEADERSHIP, LIVE, TOKEN
from acd.http.v1 import standby_status
from acd.http.v1.agents import agent_json
from acd.http.v1.auth import may_see, visible_queues


async def status(request: web.Request) -> web.Response:
    live = request.app[LIVE]
    token = request[TOKEN]
    config = live.config
    now = live.now()
    snapshot = live.snapshot(now)
    shown = visible_queues(token, config)
    queues: dict[str, dict[str, Any]] = {
        name: {
            "name": name,
            "waiting": view.waiting,
            "ringing": view.ringing,
            "oldest_wait_seconds": round(view.oldest_wait, 3),
            "calls": [],
        }
        for name, view in snapshot.queues.items()
        if shown is None or name in shown
    }
    for call in live.queued_calls(now):
        if call.queue in queues:
            queues[call.queue]["calls"].append(
                {
                    "id": call.call_id,
                    "priority": call.priority,
                    "state": call.state.value,
                    "wait_seconds": round(call.waited, 3),
                    "position": call.position,
                    "agent_id": call.agent_id,
                }
            )
    agents = [
        agent_json(v, now)
        for v in snapshot.agents.values()
        if token.role == "admin" or may_see(token, config, v.agent_id)
    ]
    leadership, engine = request.app.get(LEADERSHIP), request.app.get(ENGINE)
    role = standby_status.role(live.standing_by)
    body: dict[str, Any] = {
        "at": datetime.fromtimestamp(now, UTC).isoformat(),
        "role": role,
        # a standby's core routes nothing: its zeros would read as "nobody waits" while the leader's callers do
        "queues": list(queues.values()) if role == "leader" else [],
        "agents": agents if role == "leader" else [],
    }
    if role == "standby" and leadership is not None and engine is not None:
        body["standby"] = await standby_status.standby_view(engine, leadership, token.role)
    return web.json_response(body)


async def explanation(request: web.Request) -> web.Response:
    """Why the call's last routing decision chose whom it chose (supervisors and admins: the route table)."""
    live = request.app[LIVE]
    token = request[TOKEN]
    call_id = request.match_info["call"]
    found = live.explain(call_id)
    shown = visible_queues(token, live.config)
    if found is None or (shown is not None and found.queue not in shown):
        # Not a 403 for another queue's call: a supervisor need not learn which calls exist elsewhere.
        return errors.no_such_call(call_id)
    return web.json_response(jsonable(found))
