"""/api/v1/calls/{call}/transfer: who may ask (the agent on the call, supervisors of its queue, admins),
bad input, a call not talking, an unknown queue; the request reaches call control as ``TransferCall``
and is audited; the PBX's word (``CallTransferred``) then moves the caller and the agent."""

from __future__ import annotations

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401

from acd.core.commands import TransferCall
from acd.core.events import CallArrived, CallTransferred, OfferAnswered
from acd.core.states import AgentState
from acd.http.v1 import PREFIX
from acd.records.stores import tokens

pytestmark = pytest.mark.pg

BLIND_TO_SALES = {"kind": "blind", "target": {"queue": "sales"}}


async def _in_conversation(v1: V1) -> None:  # noqa: F811
    """c1 in billing, answered by a1."""
    await v1.post("/agents/a1/login", "a1")
    v1.runtime.submit(CallArrived("c1", "billing", 1, channel="PJSIP/t-1"))
    await v1.settle()
    v1.runtime.submit(OfferAnswered(v1.rings[0].offer_id))
    await v1.settle()


def _transfers(v1: V1) -> list[TransferCall]:  # noqa: F811
    return [c for c in v1.sent if isinstance(c, TransferCall)]


async def test_the_agent_on_the_call_transfers_it_blind_to_a_queue(v1: V1) -> None:  # noqa: F811
    await _in_conversation(v1)
    status, body = await v1.post("/calls/c1/transfer", "a1", BLIND_TO_SALES)
    assert status == 202, body
    assert body["transfer"] == {
        "call_id": "c1",
        "kind": "blind",
        "target": {"queue": "sales"},
        "from": {"queue": "billing", "agent_id": "a1"},
        "status": "requested",
    }
    assert _transfers(v1) == [TransferCall("c1", "a1", "agent1", "sales")]
    assert [(a, t, s) for _, a, t, s in await v1.audit() if a == "call.transfer"] == [("call.transfer", "c1", 202)]
    assert v1.runtime.core.agent_state("a1") is AgentState.ON_CALL  # nothing moves before the PBX says so
    v1.runtime.submit(CallTransferred("c1", "a1", "sales"))
    await v1.settle()
    assert v1.runtime.core.agent_state("a1") is AgentState.WRAP_UP
    assert [(c.call_id, c.queue) for c in v1.runtime.core.queued_calls(v1.runtime.now())] == [("c1", "sales")]


async def test_supervisors_of_the_queue_and_admins_may_ask_others_may_not_learn_of_the_call(v1: V1) -> None:  # noqa: F811
    await _in_conversation(v1)
    _, sales_only = await tokens.issue(v1.engine, "supervisor", queues=("sales",))
    v1.bearer["sales"] = sales_only
    for who in ("s1", "sales"):
        status, reply = await v1.post("/calls/c1/transfer", who, BLIND_TO_SALES)
        assert (status, reply["error_id"]) == (404, "no-such-call"), who
    for who in ("billing", "admin"):
        status, _ = await v1.post("/calls/c1/transfer", who, BLIND_TO_SALES)
        assert status == 202, who
    assert len(_transfers(v1)) == 2
    for headers in ({}, v1.auth("revoked")):
        response = await v1.client.post(f"{PREFIX}/calls/c1/transfer", json=BLIND_TO_SALES, headers=headers)
        assert response.status == 401


async def test_bad_bodies_unknown_queues_and_calls_not_talking_are_refused(v1: V1) -> None:  # noqa: F811
    await _in_conversation(v1)
    for body in (
        {},
        {"kind": "blind"},
        {"target": {"queue": "sales"}},
        {"kind": "sideways", "target": {"queue": "sales"}},
        {"kind": "blind", "target": "sales"},
        {"kind": "blind", "target": {"queue": "sales", "number": "15551234567"}},
        {"kind": "blind", "target": {"queue": ""}},
        {"kind": "blind", "target": {"queue": "x" * 201}},
        {"kind": "blind", "target": {"queue": "sales"}, "extra": 1},
    ):
        status, reply = await v1.post("/calls/c1/transfer", "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), body
    status, reply = await v1.post("/calls/c1/transfer", "admin", {"kind": "blind", "target": {"queue": "nowhere"}})
    assert status == 404, reply
    v1.runtime.submit(CallArrived("c2", "billing", 1, channel="PJSIP/t-2"))  # waiting: nobody talks to it
    await v1.settle()
    status, reply = await v1.post("/calls/c2/transfer", "admin", BLIND_TO_SALES)
    assert (status, reply["error_id"]) == (409, "invalid-transition")
    status, reply = await v1.post("/calls/nope/transfer", "admin", BLIND_TO_SALES)
    assert status == 404
    assert _transfers(v1) == []


async def test_a_number_the_config_does_not_allow_never_reaches_call_control(v1: V1) -> None:  # noqa: F811
    await _in_conversation(v1)  # the harness's config allows no number at all
    status, reply = await v1.post("/calls/c1/transfer", "a1", {"kind": "blind", "target": {"number": "15552345678"}})
    assert (status, reply["error_id"]) == (409, "number-not-allowed")
    for number in ("1555 234", "+15552345678", "1" * 33, 15552345678):
        status, reply = await v1.post("/calls/c1/transfer", "a1", {"kind": "blind", "target": {"number": number}})
        assert (status, reply["error_id"]) == (400, "invalid-input"), number
    assert _transfers(v1) == []
    assert [(a, s) for _, a, _t, s in await v1.audit() if a == "call.transfer"] == [("call.transfer", 409)]


async def test_an_attended_transfer_consults_an_agent_then_completes_or_cancels(v1: V1) -> None:  # noqa: F811
    """kind attended, target agent: handed to the PBX as ``ConsultCall``; complete and cancel only
    while a consult is open, as ``FinishConsult``; each audited."""
    from acd.core.commands import ConsultCall, FinishConsult
    from acd.core.events import ConsultStarted

    await _in_conversation(v1)
    status, body = await v1.post("/calls/c1/transfer/complete", "a1")
    assert status == 409, body  # no consult open
    status, body = await v1.post(
        "/calls/c1/transfer", "a1", {"kind": "attended", "target": {"agent": "a2", "queue": "sales"}}
    )
    assert status == 400, body
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "blind", "target": {"agent": "a2", "queue": "x"}})
    assert status == 400, body
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "attended", "target": {"agent": "a1"}})
    assert status == 409, body  # not oneself
    await v1.post("/agents/a2/login", "admin")
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "attended", "target": {"agent": "a2"}})
    assert status == 202, body
    assert body["transfer"]["target"] == {"agent": "a2"}
    consults = [c for c in v1.sent if isinstance(c, ConsultCall)]
    assert [(c.call_id, c.agent_id, c.target_endpoint) for c in consults] == [("c1", "a1", "agent2")]
    v1.runtime.submit(ConsultStarted("c1", "a1", "a2"))
    await v1.settle()
    assert v1.runtime.core.agent_state("a2") is AgentState.CONSULTING
    for action in ("cancel", "complete"):
        status, body = await v1.post(f"/calls/c1/transfer/{action}", "a1")
        assert status == 202, body
    finishes = [c for c in v1.sent if isinstance(c, FinishConsult)]
    assert [c.action for c in finishes] == ["cancel", "complete"]
    status, _ = await v1.post("/calls/c1/transfer/cancel", "s1")
    assert status == 404  # not the agent on the call
    audited = [(a, s) for _, a, _, s in await v1.audit() if a.startswith("call.transfer")]
    assert ("call.transfer.complete", 409) in audited and ("call.transfer.cancel", 202) in audited


async def test_a_blind_transfer_to_an_agent_by_name_waits_for_that_agent_first(v1: V1) -> None:  # noqa: F811
    """kind blind, target agent: handed to the PBX as ``TransferCall`` to the call's queue naming that
    agent's endpoint; an agent not configured is 404, the agent on the call 409; audited."""
    await _in_conversation(v1)
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "blind", "target": {"agent": "nobody"}})
    assert (status, body["error_id"]) == (404, "no-such-agent"), body
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "blind", "target": {"agent": "a1"}})
    assert (status, body["error_id"]) == (409, "invalid-transition"), body
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "blind", "target": {"agent": "a2"}})
    assert status == 202, body
    assert body["transfer"]["target"] == {"agent": "a2"}
    assert _transfers(v1) == [TransferCall("c1", "a1", "agent1", "billing", target_endpoint="agent2")]
    await v1.post("/agents/a2/login", "admin")
    v1.runtime.submit(CallTransferred("c1", "a1", "billing", target_agent="a2"))
    await v1.settle()
    assert v1.runtime.core.agent_state("a1") is AgentState.WRAP_UP
    assert v1.runtime.core.agent_state("a2") is AgentState.RESERVED  # rung for the caller, nobody else
    audited = [(a, s) for _, a, _, s in await v1.audit() if a == "call.transfer"]
    assert audited == [("call.transfer", 404), ("call.transfer", 409), ("call.transfer", 202)]


async def test_an_attended_transfer_to_a_queue_consults_the_agent_the_acd_picks(v1: V1) -> None:  # noqa: F811
    """kind attended, target queue: 409 ``no-agent-ready`` while none of the queue's agents is ready
    (nothing reaches the PBX); then ``ConsultCall`` to the agent the ACD picks for that queue."""
    from acd.core.commands import ConsultCall

    await _in_conversation(v1)
    to_sales = {"kind": "attended", "target": {"queue": "sales"}}
    status, body = await v1.post("/calls/c1/transfer", "a1", to_sales)
    assert (status, body["error_id"]) == (409, "no-agent-ready"), body
    assert "sales" in body["message"]
    status, body = await v1.post("/calls/c1/transfer", "a1", {"kind": "attended", "target": {"queue": "nowhere"}})
    assert status == 404, body
    assert [c for c in v1.sent if isinstance(c, ConsultCall)] == []
    await v1.post("/agents/s1/login", "admin")
    status, body = await v1.post("/calls/c1/transfer", "a1", to_sales)
    assert status == 202, body
    assert body["transfer"]["target"] == {"queue": "sales"}
    assert [c for c in v1.sent if isinstance(c, ConsultCall)] == [ConsultCall("c1", "a1", "agent1", "sales1")]


async def test_an_attended_transfer_to_a_number_not_allowed_never_reaches_call_control(v1: V1) -> None:  # noqa: F811
    from acd.core.commands import ConsultCall

    await _in_conversation(v1)  # the harness's config allows no number at all
    status, reply = await v1.post("/calls/c1/transfer", "a1", {"kind": "attended", "target": {"number": "15552345678"}})
    assert (status, reply["error_id"]) == (409, "number-not-allowed")
    status, reply = await v1.post("/calls/c1/transfer", "a1", {"kind": "attended", "target": {"number": "1555-234"}})
    assert (status, reply["error_id"]) == (400, "invalid-input")
    assert [c for c in v1.sent if isinstance(c, ConsultCall)] == []
