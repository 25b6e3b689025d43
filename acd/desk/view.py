"""One agent's desk as the page draws it: their state, and the call ringing them or in their hands.

Built from the core's snapshot between two events (so state and call agree), the core's view of a
ringing call (queue, priority, wait so far) and what PostgreSQL holds of it (``lookup``): caller
number, customer record and history. ``same`` compares two desks leaving out what moves with the
clock alone, so a desk is pushed when something happened, not every second: the page counts the
time in state itself from ``since`` and ``at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from acd.core.snapshot import AgentView, CallView
from acd.core.states import AgentState
from acd.desk.lookup import CallDetails

# The states in which an agent has a call the desk shows: ringing, talking, wrapping up.
WITH_CALL = frozenset({AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})


@dataclass(frozen=True, slots=True)
class Offered:
    """What the core said of a call while it rang the agent: kept for the rest of the call."""

    queue: str
    priority: int
    waited: float


def offered(view: CallView) -> Offered:
    return Offered(view.queue, view.priority, round(view.waited, 1))


def call_json(
    call_id: str,
    state: AgentState,
    offer: Offered | None,
    details: CallDetails | None,
    dispositions: tuple[str, ...] = (),
    consult: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The call on the desk; the core's figures first, the records' where the core has none;
    ``dispositions``: the codes its queue's catalogue offers the wrap-up (docs/kpis.md); ``consult``: the
    agent's open consult on it (``consult_json``), None when there is none."""
    found = details is not None and details.status == "found"
    return {
        "id": call_id,
        "ringing": state is AgentState.RESERVED,
        "queue": offer.queue if offer else (details.queue if found and details else None),
        "priority": offer.priority if offer else (details.priority if found and details else None),
        "wait_seconds": offer.waited if offer else (details.wait_seconds if found and details else None),
        "caller": details.caller if found and details else None,
        "arrived_at": details.arrived_at if found and details else None,
        "customer": details.customer if found and details else None,
        "history": details.history if found and details else [],
        "lookup": "pending" if details is None else details.status,
        "dispositions": list(dispositions),
        "consult": consult,
    }


def consult_json(target: str, target_name: str, started_at: float) -> dict[str, Any]:
    """The open consult of the agent's call (an attended transfer's first half, docs/kpis.md
    "Transfers"): whom they consult and since when. ``answered`` is null: the ACD is not told when the
    consulted agent picks up (only that the consult leg started, ended or was completed)."""
    return {
        "target": target,
        "target_name": target_name or target,
        "since": datetime.fromtimestamp(started_at, UTC).isoformat(),
        "answered": None,
    }


def without_consult(desk: dict[str, Any]) -> dict[str, Any]:
    """The desk as others than the agent see it (a supervisor or an admin watching them): no consult."""
    call = desk.get("call")
    if call is None or call.get("consult") is None:
        return desk
    return {**desk, "call": {**call, "consult": None}}


def agent_json(view: AgentView, name: str) -> dict[str, Any]:
    """The agent's fields as ``GET /api/v1/agents/{id}`` names them, less the clock-driven one."""
    return {
        "id": view.agent_id,
        "name": name or view.agent_id,
        "state": view.state.value,
        "reason": view.reason,
        # None for the logged-out stretch an agent starts in: no event dated its start
        "since": datetime.fromtimestamp(view.since, UTC).isoformat() if view.since > 0 else None,
        "reachable": view.reachable,
        "call_id": view.call_id,
    }


def desk_json(view: AgentView, name: str, queues: list[str], now: float, call: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "at": datetime.fromtimestamp(now, UTC).isoformat(),
        "agent": agent_json(view, name),
        "queues": queues,
        "call": call,
    }


def same(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    """Equal but for ``at``: nothing happened to the agent between the two."""
    return a is not None and {**a, "at": None} == {**b, "at": None}
