"""Agents' configuration through /api/v1: create (``POST /agents``), replace (``PUT``), update some
fields (``PATCH``) and delete agents. Reading them is ``GET /agents`` (``acd.http.v1.agents``), which
shows each agent's ``name``, ``endpoint`` and ``skills`` beside its live state.

An agent is sent as its ``[agents.ID]`` table of acd.toml plus its ``id``: ``name``, ``endpoint`` (the
PJSIP endpoint, one agent per phone) and ``skills`` (skill = proficiency 1..5, declared skills only).

Who: admins change every agent. A supervisor changes an agent only as far as their queues are concerned:
the agent must serve one of the supervisor's queues (before or after the change), and every queue whose
offers to the agent the change alters (which queues the agent is eligible for, at what level and
proficiency) must be one of theirs. So a billing supervisor may hire a billing agent, tune their billing
proficiency or move their phone, but not give them sales, nor delete an agent who also serves sales (the
scope: here). Agents' tokens change nothing here (the role: the route table). Deleting an agent on a
call is allowed: the core logs them out when the call ends (``retiring`` in the answer); a ringing offer
is withdrawn and the caller keeps their place.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.config_changes import Applied, Permit, Refused
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig
from acd.core.eligibility import Match, queue_matches
from acd.core.states import AgentState
from acd.http.keys import LIVE, TOKEN
from acd.http.v1.agents import full_json
from acd.http.v1.config_edits import adding, apply, changing, entry, not_found
from acd.records.stores.tokens import Token
from acd.routing_document import Document, agent_fields

FIELDS = frozenset(agent_fields(AgentConfig("", "", ())))


def _matches(config: RoutingConfig, agent_id: str, queue: QueueConfig) -> dict[int, Match]:
    agent = next((a for a in config.agents if a.id == agent_id), None)
    return {} if agent is None else queue_matches(dict(agent.skills), queue)


def _scope(token: Token, agent_id: str) -> Permit | None:
    """For a supervisor: the check that the change touches only their queues (module docstring)."""
    if token.role != "supervisor":
        return None
    scope = set(token.queues)

    def permit(before: RoutingConfig, after: RoutingConfig) -> None:
        served: set[str] = set()
        altered: set[str] = set()
        for queue in after.queues:  # an agent's change leaves the queues as they were
            was, now = _matches(before, agent_id, queue), _matches(after, agent_id, queue)
            if was or now:
                served.add(queue.name)
            if was != now:
                altered.add(queue.name)
        if not served & scope:
            raise Refused(
                403,
                "forbidden",
                f"agent {agent_id!r} would serve none of this token's queues",
                {"queues": sorted(served)},
            )
        if not altered <= scope:
            raise Refused(
                403,
                "forbidden",
                f"the change alters queues beyond this token's: {', '.join(sorted(altered - scope))}",
                {"queues": sorted(altered - scope)},
            )

    return permit


def _answer(request: web.Request, agent_id: str) -> Any:
    return lambda _applied: {"agent": full_json(request, agent_id)}


async def create_agent(request: web.Request) -> web.Response:
    got = await entry(request, FIELDS, "id", "required: the agent's id, a string")
    if isinstance(got, web.Response):
        return got
    agent_id, body = got
    return await apply(
        request,
        adding("agent", agent_id, body),
        "agent.create",
        agent_id,
        body,
        _answer(request, agent_id),
        status=201,
        permit=_scope(request[TOKEN], agent_id),
    )


async def _change(request: web.Request, *, merge: bool) -> web.Response:
    agent_id = request.match_info["agent"]
    got = await entry(
        request,
        FIELDS,
        "id",
        "renaming an agent is not supported: create the new one, delete this one",
        current=agent_id,
    )
    if isinstance(got, web.Response):
        return got
    body = got[1]
    return await apply(
        request,
        changing("agent", agent_id, body, merge=merge),
        "agent.update",
        agent_id,
        body,
        _answer(request, agent_id),
        permit=_scope(request[TOKEN], agent_id),
    )


async def replace_agent(request: web.Request) -> web.Response:
    return await _change(request, merge=False)


async def update_agent(request: web.Request) -> web.Response:
    return await _change(request, merge=True)


async def delete_agent(request: web.Request) -> web.Response:
    agent_id = request.match_info["agent"]
    live = request.app[LIVE]

    def edit(document: Document) -> None:
        if agent_id not in document["agents"]:
            raise not_found("agent", agent_id)
        del document["agents"][agent_id]

    def answer(_applied: Applied) -> dict[str, Any]:
        # On a call, the core keeps the agent until the call ends, then logs them out.
        return {"deleted": agent_id, "retiring": live.agent_state(agent_id) is AgentState.ON_CALL}

    return await apply(request, edit, "agent.delete", agent_id, {}, answer, permit=_scope(request[TOKEN], agent_id))
