"""/api/v1 agent actions: each one's success, bad input, 401, 403, unknown ids, the core's refusals,
and the audit log entry every change leaves."""

from __future__ import annotations

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401

from acd.core.config import DEFAULT_DISPOSITIONS
from acd.core.events import CallArrived, CallEnded, OfferAnswered
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState
from acd.http.v1 import PREFIX

JSON = {"Content-Type": "application/json"}

pytestmark = pytest.mark.pg


async def in_wrap_up(api: V1, caller: str = "") -> None:
    """a1 logs in, takes call c1 in billing, and the caller hangs up: a1 is in wrap-up on c1."""
    await api.post("/agents/a1/login", "a1")
    api.runtime.submit(CallArrived("c1", "billing", 5, caller=caller, channel="PJSIP/t-1"))
    await api.settle()
    api.runtime.submit(OfferAnswered(api.rings[0].offer_id))
    api.runtime.submit(CallEnded("c1"))
    await api.settle()


async def test_login_pause_resume_logout_each_answer_the_new_state(v1: V1) -> None:  # noqa: F811
    steps = [
        ("login", None, "ready"),
        ("pause", {"reason": "lunch"}, "paused"),
        ("resume", None, "ready"),
        ("logout", None, "logged_out"),
    ]
    for action, body, state in steps:
        status, reply = await v1.post(f"/agents/a1/{action}", "a1", body)
        assert (status, reply["agent"]["state"]) == (200, state), reply
    status, reply = await v1.get("/agents/a1", "a1")
    assert reply["agent"]["state"] == "logged_out" and reply["agent"]["seconds_in_state"] >= 0
    audit = await v1.audit()
    assert [(action, target, code) for _, action, target, code in audit] == [
        ("agent.login", "a1", 200),
        ("agent.pause", "a1", 200),
        ("agent.resume", "a1", 200),
        ("agent.logout", "a1", 200),
    ]


async def test_pause_carries_its_reason(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "a1")
    status, reply = await v1.post("/agents/a1/pause", "a1", {"reason": "training"})
    assert status == 200 and reply["agent"]["reason"] == "training"


async def test_wrapup_records_the_disposition_and_ready_ends_wrap_up(v1: V1) -> None:  # noqa: F811
    await in_wrap_up(v1, caller="555")
    status, reply = await v1.post("/agents/a1/wrapup", "a1", {"code": "order/new", "notes": "two seats"})
    assert (status, reply["agent"]["state"], reply["agent"]["call_id"]) == (200, "wrap_up", "c1")
    dispositions = [
        (r.disposition, r.notes) for r in v1.sink.records if isinstance(r, InteractionRecord) and r.disposition
    ]
    assert dispositions[-1] == ("order/new", "two seats")
    status, reply = await v1.post("/agents/a1/ready", "a1")
    assert (status, reply["agent"]["state"]) == (200, "ready")


async def test_wrapup_with_done_ends_wrap_up_too(v1: V1) -> None:  # noqa: F811
    await in_wrap_up(v1)
    status, reply = await v1.post("/agents/a1/wrapup", "a1", {"code": "inquiry/information", "done": True})
    assert (status, reply["agent"]["state"]) == (200, "ready")


async def test_a_disposition_outside_the_queue_s_catalogue_is_refused_naming_the_codes(v1: V1) -> None:  # noqa: F811
    await in_wrap_up(v1)
    before = len(v1.sink.records)
    status, reply = await v1.post("/agents/a1/wrapup", "a1", {"code": "sold", "notes": "two seats", "done": True})
    assert (status, reply["error_id"]) == (400, "invalid-input")
    assert "code" in reply["details"]["fields"] and reply["details"]["queue"] == "billing"
    assert reply["details"]["allowed"] == list(DEFAULT_DISPOSITIONS) and "support/resolved" in reply["message"]
    await v1.settle()
    assert len(v1.sink.records) == before  # nothing recorded, and wrap-up goes on
    assert v1.runtime.core.agent_state("a1") is AgentState.WRAP_UP
    status, reply = await v1.post("/agents/a1/wrapup", "a1", {"code": "complaint/billing", "notes": "any\ntext"})
    assert status == 200, reply


async def test_wrapup_without_a_call_is_a_conflict(v1: V1) -> None:  # noqa: F811
    status, reply = await v1.post("/agents/a1/wrapup", "a1", {"code": "sold"})
    assert (status, reply["error_id"], reply["details"]["state"]) == (409, "no-call-to-wrap-up", "logged_out")


async def test_pausing_a_logged_out_agent_is_the_cores_refusal(v1: V1) -> None:  # noqa: F811
    status, reply = await v1.post("/agents/a1/pause", "a1", {"reason": "lunch"})
    assert (status, reply["error_id"]) == (409, "invalid-transition")
    assert reply["details"] == {"subject": "a1", "state": "logged_out", "event": "AgentPaused"}
    assert [(a, code) for _, a, _, code in await v1.audit()] == [("agent.pause", 409)]


@pytest.mark.parametrize("action", ["resume", "ready", "logout"])
async def test_other_actions_refused_when_logged_out(v1: V1, action: str) -> None:  # noqa: F811
    status, reply = await v1.post(f"/agents/a1/{action}", "a1")
    assert (status, reply["error_id"]) == (409, "invalid-transition")


async def test_logging_in_twice_is_refused(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "a1")
    status, reply = await v1.post("/agents/a1/login", "a1")
    assert (status, reply["error_id"]) == (409, "invalid-transition")


@pytest.mark.parametrize(
    ("action", "body", "error_id"),
    [
        ("pause", b"{not json", "bad-body"),
        ("pause", b"[1]", "bad-body"),
        ("pause", b"{}", "invalid-input"),
        ("pause", b'{"reason": 5}', "invalid-input"),
        ("pause", b'{"reason": ""}', "invalid-input"),
        ("pause", b'{"reason": "a\\u0000b"}', "invalid-input"),
        ("pause", b'{"reason": "lunch", "extra": 1}', "invalid-input"),
        ("login", b'{"x": 1}', "invalid-input"),
        ("wrapup", b"{}", "invalid-input"),
        ("wrapup", b'{"code": "sold", "notes": 3}', "invalid-input"),
        ("wrapup", b'{"code": "sold", "done": "yes"}', "invalid-input"),
    ],
)
async def test_malformed_bodies_are_400_with_the_field_named(
    v1: V1,  # noqa: F811
    action: str,
    body: bytes,
    error_id: str,
) -> None:
    response = await v1.client.post(f"{PREFIX}/agents/a1/{action}", data=body, headers={**v1.auth("a1"), **JSON})
    reply = await response.json()
    assert (response.status, reply["error_id"]) == (400, error_id)
    assert set(reply) <= {"error_id", "message", "details"}


async def test_an_oversize_body_is_413(v1: V1) -> None:  # noqa: F811
    response = await v1.client.post(f"{PREFIX}/agents/a1/pause", data=b" " * 70_000, headers={**v1.auth("a1"), **JSON})
    assert (response.status, (await response.json())["error_id"]) == (413, "body-too-large")


async def test_unknown_agent_is_404_for_an_admin(v1: V1) -> None:  # noqa: F811
    for path in ("/agents/nobody/login", "/agents/nobody/wrapup"):
        status, reply = await v1.post(path, "admin", {"code": "x"} if "wrapup" in path else None)
        assert (status, reply["error_id"]) == (404, "no-such-agent")
    status, reply = await v1.get("/agents/nobody", "admin")
    assert (status, reply["error_id"]) == (404, "no-such-agent")


@pytest.mark.parametrize("action", ["login", "logout", "pause", "resume", "ready", "wrapup"])
async def test_no_token_bad_token_or_revoked_token_is_401(v1: V1, action: str) -> None:  # noqa: F811
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic abc"},
        v1.auth("revoked"),
        {"Authorization": "Bearer acd_ZZ%_secret"},
        {"Authorization": v1.auth("a1")["Authorization"] + "x"},
    ):
        response = await v1.client.post(f"{PREFIX}/agents/a1/{action}", headers=headers, json={"reason": "x"})
        reply = await response.json()
        assert (response.status, reply["error_id"]) == (401, "unauthorized"), headers


@pytest.mark.parametrize("action", ["login", "logout", "pause", "resume", "ready", "wrapup"])
async def test_an_agent_may_not_act_on_another_agent(v1: V1, action: str) -> None:  # noqa: F811
    status, reply = await v1.post(
        f"/agents/a2/{action}", "a1", {"reason": "x", "code": "y"} if action in ("pause", "wrapup") else None
    )
    assert (status, reply["error_id"]) == (403, "forbidden")
    assert await v1.audit() == []


async def test_a_supervisor_acts_on_their_queues_agents_only(v1: V1) -> None:  # noqa: F811
    status, reply = await v1.post("/agents/a2/login", "billing")
    assert (status, reply["agent"]["state"]) == (200, "ready")
    status, reply = await v1.post("/agents/s1/login", "billing")
    assert (status, reply["error_id"]) == (403, "forbidden")
    status, reply = await v1.post("/agents/s1/login", "admin")
    assert status == 200


async def test_agents_list_shows_what_the_token_may_see(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "admin")
    seen = {}
    for who in ("admin", "billing", "a1"):
        status, reply = await v1.get("/agents", who)
        assert status == 200
        seen[who] = [a["id"] for a in reply["agents"]]
    assert seen == {"admin": ["a1", "a2", "s1"], "billing": ["a1", "a2"], "a1": ["a1"]}
    status, reply = await v1.get("/agents/a2", "a1")
    assert (status, reply["error_id"]) == (403, "forbidden")
    response = await v1.client.get(f"{PREFIX}/agents")
    assert response.status == 401
