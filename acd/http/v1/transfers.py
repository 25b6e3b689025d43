"""``POST /api/v1/calls/{call}/transfer``: the agent talking to a caller hands them on, blind to a queue,
to another agent by name (the caller waits in the call's queue for that agent first) or to an outside
number the config allows, or attended to another agent, to the agent the ACD picks for a queue, or to
an allowed outside number: a consult first, then
``POST .../transfer/complete`` (the caller goes to that agent) or ``.../transfer/cancel`` (back to the
caller) (docs/api.md; docs/kpis.md, "Transfers").

Who may ask: the agent on the call, supervisors of the call's queue, admins (anyone else is told the
call does not exist, as for the supervisor's other call actions: they need not learn which calls are
going on). The core checks the call is talking and the target exists (``TransferRequested``) and asks
the PBX to carry it out; the answer (202) says the transfer was handed to the PBX, whose own word that
it happened moves the caller and the agent (docs/kpis.md, "Transfers"). Audited like every change.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from acd.core import transfer_numbers
from acd.core.events import (
    AgentTransferRequested,
    ConsultFinishRequested,
    ConsultRequested,
    Event,
    NumberTransferRequested,
    TransferRequested,
)
from acd.http import errors
from acd.http.keys import LIVE, RUNTIME, TOKEN
from acd.http.v1.audited import audited
from acd.http.v1.auth import visible_queues
from acd.http.v1.input import Fields, json_object

MAX_QUEUE_NAME = 200
MAX_AGENT_ID = 200
KINDS = ("blind", "attended")


async def transfer(request: web.Request) -> web.Response:
    call_id = request.match_info["call"]
    body = await json_object(request, frozenset({"kind", "target"}))
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    kind = fields.choice("kind", KINDS)
    if kind is None and "kind" not in fields.problems:
        fields.problems["kind"] = f"required: one of {', '.join(KINDS)}"
    target = fields.nested("target", frozenset({"queue", "number", "agent"}))
    queue = target.text("queue", max_length=MAX_QUEUE_NAME)
    number = target.text("number", max_length=transfer_numbers.MAX_NUMBER)
    agent = target.text("agent", max_length=MAX_AGENT_ID)
    if sum(map(bool, (queue, number, agent))) != 1 and "target" not in fields.problems:
        target.problems["queue"] = "give one of queue, agent and number"
    elif number and not transfer_numbers.is_number(number):
        target.problems["number"] = f"digits only, at most {transfer_numbers.MAX_NUMBER}"
    fields.adopt(target, "target")
    bad = fields.refusal()
    if bad is not None:
        return bad
    talking = _talking(request, call_id)
    if isinstance(talking, web.Response):
        return talking
    event: Event
    if kind == "attended":
        event = ConsultRequested(call_id, agent or "", for_queue=queue or "", number=number or "")
        aimed = {"agent": agent} if agent else {"queue": queue} if queue else {"number": number}
    elif agent:
        event, aimed = AgentTransferRequested(call_id, agent), {"agent": agent}
    elif queue:
        event, aimed = TransferRequested(call_id, queue), {"queue": queue}
    else:
        event, aimed = NumberTransferRequested(call_id, number), {"number": number}
    details: dict[str, Any] = {"kind": kind, "target": aimed, "from": talking}
    return await _hand_to_pbx(request, "call.transfer", call_id, details, event)


async def complete(request: web.Request) -> web.Response:
    """The open consult's agent takes the caller over (the transferring agent's leg is hung up)."""
    return await _finish(request, "complete")


async def cancel(request: web.Request) -> web.Response:
    """The open consult ends; the transferring agent talks with the caller again."""
    return await _finish(request, "cancel")


async def _finish(request: web.Request, action: Literal["complete", "cancel"]) -> web.Response:
    call_id = request.match_info["call"]
    body = await json_object(request, frozenset())
    if isinstance(body, web.Response):
        return body
    talking = _talking(request, call_id)
    if isinstance(talking, web.Response):
        return talking
    details: dict[str, Any] = {"kind": "attended", "action": action, "from": talking}
    return await _hand_to_pbx(
        request, f"call.transfer.{action}", call_id, details, ConsultFinishRequested(call_id, action)
    )


def _talking(request: web.Request, call_id: str) -> dict[str, str] | web.Response | None:
    """Who talks with the caller (None: nobody now), or 404 for one who may not act on the call."""
    live = request.app[LIVE]
    token = request[TOKEN]
    talking = live.talking(call_id)
    shown = visible_queues(token, live.config)
    if token.role == "agent":
        if talking is None or talking[1] != token.agent_id:
            return errors.no_such_call(call_id)
    elif shown is not None and (talking is None or talking[0] not in shown):
        return errors.no_such_call(call_id)
    return None if talking is None else {"queue": talking[0], "agent_id": talking[1]}


async def _hand_to_pbx(
    request: web.Request, action: str, call_id: str, details: dict[str, Any], event: Event
) -> web.Response:
    async def change() -> web.Response:
        await request.app[RUNTIME].ask(event)
        return web.json_response({"transfer": {"call_id": call_id, **details, "status": "requested"}}, status=202)

    return await audited(request, action, call_id, details, change)
