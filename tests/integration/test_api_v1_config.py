"""/api/v1 skills, queues and agents' configuration: each endpoint's success, the file's checks as 400s,
401 and 403 by role and scope, and the change reaching the core (a new queue routes a call, a removed
agent is offered no more), a revision per change in PostgreSQL with its audit entry, and If-Match."""

from __future__ import annotations

from typing import Any

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401
from sqlalchemy import text

from acd.core.events import AgentLoggedIn, CallArrived, OfferAnswered
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState
from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg


async def call(
    v1: V1,  # noqa: F811
    method: str,
    path: str,
    who: str | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    sent = {**(v1.auth(who) if who else {}), **(headers or {})}
    response = await v1.client.request(method, PREFIX + path, headers=sent, json=body)
    return response.status, await response.json()


async def revisions(v1: V1) -> list[tuple[int, str, str]]:  # noqa: F811
    async with v1.engine.connect() as conn:
        rows = await conn.execute(text("SELECT revision, action, target FROM config_revisions ORDER BY revision"))
        return [tuple(r) for r in rows]


# -- skills ---------------------------------------------------------------------------------------


async def test_skills_list_create_rename_delete(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "GET", "/skills", "admin")
    assert status == 200 and body["revision"] == 0
    assert body["skills"] == [
        {"name": "billing", "queues": ["billing"], "agents": ["a1", "a2"]},
        {"name": "sales", "queues": ["sales"], "agents": ["s1"]},
    ]
    status, body = await call(v1, "POST", "/skills", "admin", {"name": "french"})
    assert (status, body) == (201, {"skill": {"name": "french", "queues": [], "agents": []}, "revision": 1})
    status, body = await call(v1, "GET", "/skills/french", "billing")  # supervisors read
    assert status == 200 and body["skill"]["name"] == "french"
    status, body = await call(v1, "PUT", "/skills/sales", "admin", {"name": "selling"})
    assert status == 200 and body["skill"] == {"name": "selling", "queues": ["sales"], "agents": ["s1"]}
    assert v1.runtime.core.config.queue("sales").skills[0].skill == "selling"  # type: ignore[union-attr]
    assert dict(next(a for a in v1.runtime.core.config.agents if a.id == "s1").skills) == {"selling": 3}
    status, body = await call(v1, "DELETE", "/skills/french", "admin")
    assert (status, body) == (200, {"deleted": "french", "revision": 3})
    assert await revisions(v1) == [
        (1, "skill.create", "french"),
        (2, "skill.update", "sales"),
        (3, "skill.delete", "french"),
    ]
    audit = [(action, target, code) for _, action, target, code in await v1.audit()]
    assert audit == [("skill.create", "french", 201), ("skill.update", "sales", 200), ("skill.delete", "french", 200)]


async def test_a_skill_in_use_cannot_be_deleted_and_its_users_are_named(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "DELETE", "/skills/billing", "admin")
    assert (status, body["error_id"]) == (409, "conflict")
    assert body["details"] == {"queues": ["billing"], "agents": ["a1", "a2"]}
    assert await revisions(v1) == []


async def test_skill_errors(v1: V1) -> None:  # noqa: F811
    for method, path, who, body, status, error_id in [
        ("POST", "/skills", "admin", {"name": "billing"}, 409, "conflict"),
        ("POST", "/skills", "admin", {"name": "no spaces"}, 400, "invalid-input"),
        ("POST", "/skills", "admin", {"name": 5}, 400, "invalid-input"),
        ("POST", "/skills", "admin", {"name": "x", "extra": 1}, 400, "invalid-input"),
        ("POST", "/skills", "admin", [1], 400, "bad-body"),
        ("PUT", "/skills/billing", "admin", {"name": "sales"}, 409, "conflict"),
        ("PUT", "/skills/nope", "admin", {"name": "x"}, 404, "no-such-skill"),
        ("DELETE", "/skills/nope", "admin", None, 404, "no-such-skill"),
        ("GET", "/skills/nope", "admin", None, 404, "no-such-skill"),
        ("POST", "/skills", "billing", {"name": "x"}, 403, "forbidden"),
        ("PUT", "/skills/billing", "billing", {"name": "x"}, 403, "forbidden"),
        ("DELETE", "/skills/billing", "a1", None, 403, "forbidden"),
        ("GET", "/skills", "a1", None, 403, "forbidden"),
        ("GET", "/skills", None, None, 401, "unauthorized"),
        ("POST", "/skills", None, {"name": "x"}, 401, "unauthorized"),
        ("POST", "/skills", "revoked", {"name": "x"}, 401, "unauthorized"),
    ]:
        got, reply = await call(v1, method, path, who, body)
        assert (got, reply["error_id"]) == (status, error_id), (method, path, who, reply)
    status, body = await call(v1, "POST", "/skills", "admin", {"name": "no spaces"})
    assert "skills[1]" in body["details"]["fields"]  # in the catalogue, sorted
    assert await revisions(v1) == []


# -- queues ---------------------------------------------------------------------------------------


async def test_a_queue_created_through_the_api_routes_calls(v1: V1) -> None:  # noqa: F811
    status, body = await call(
        v1, "POST", "/queues", "admin", {"name": "vip", "skills": {"billing": 3}, "sla_threshold": 10, "wrapup": 0}
    )
    assert status == 201 and body["revision"] == 1
    assert body["queue"]["name"] == "vip" and body["queue"]["skills"] == {"billing": 3}
    assert body["queue"]["max_wait"] == 300.0  # a default, written out
    assert v1.runtime.core.config.queue("vip") is not None
    await v1.post("/agents/a2/login", "admin")  # billing 2: not enough for vip
    await v1.post("/agents/a1/login", "admin")  # billing 4
    v1.runtime.submit(CallArrived("c-vip", "vip", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    assert [ring.endpoint for ring in v1.rings] == ["agent1"]
    async with v1.engine.connect() as conn:  # the config tables follow
        configured = (await conn.execute(text("SELECT configured FROM queues WHERE name = 'vip'"))).scalar_one()
    assert configured is True
    assert next((a, t, c) for _, a, t, c in await v1.audit()) == ("queue.create", "vip", 201)


async def test_queues_are_read_by_role(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "GET", "/queues", "billing")
    assert status == 200 and [q["name"] for q in body["queues"]] == ["billing", "sales"]
    status, body = await call(v1, "GET", "/queues", "a1")  # an agent: the queues they serve
    assert [q["name"] for q in body["queues"]] == ["billing"]
    status, body = await call(v1, "GET", "/queues/sales", "a1")
    assert (status, body["error_id"]) == (404, "no-such-queue")
    status, body = await call(v1, "GET", "/queues/billing", "a1")
    assert status == 200 and body["queue"]["sla_threshold"] == 15.0 and body["queue"]["wrapup"] == 30.0
    response = await v1.client.get(f"{PREFIX}/queues/billing", headers=v1.auth("admin"))
    assert response.headers["ETag"] == '"0"'


async def test_a_supervisor_updates_their_queue_and_nothing_else(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "PATCH", "/queues/billing", "billing", {"sla_threshold": 25})
    assert status == 200 and body["queue"]["sla_threshold"] == 25 and body["queue"]["wrapup"] == 30.0
    assert v1.runtime.core.config.queue("billing").sla_threshold_seconds == 25  # type: ignore[union-attr]
    status, body = await call(v1, "PUT", "/queues/billing", "billing", {"skills": {"billing": 1}})
    assert status == 200 and body["queue"]["wrapup"] == 0.0  # PUT replaces: defaults for what is left out
    for method, path, who, body in [
        ("PATCH", "/queues/sales", "billing", {"sla_threshold": 9}),
        ("POST", "/queues", "billing", {"name": "x", "skills": {"billing": 1}}),
        ("DELETE", "/queues/billing", "billing", None),
        ("PATCH", "/queues/billing", "a1", {"sla_threshold": 9}),
    ]:
        status, reply = await call(v1, method, path, who, body)
        assert (status, reply["error_id"]) == (403, "forbidden"), (method, path, who)
    assert [r[0] for r in await revisions(v1)] == [1, 2]


async def test_a_queue_s_disposition_catalogue_is_edited_and_kept_in_its_revision(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "GET", "/queues/sales", "admin")
    assert status == 200 and "support/resolved" in body["queue"]["dispositions"]  # the default catalogue
    codes = ["order/new", "order/upsell", "inquiry/price"]
    status, body = await call(v1, "PATCH", "/queues/sales", "admin", {"dispositions": codes})
    assert status == 200 and body["queue"]["dispositions"] == codes
    assert v1.runtime.core.config.queue("sales").dispositions == tuple(codes)  # type: ignore[union-attr]
    async with v1.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT document FROM config_revisions WHERE revision = 1"))).scalar_one()
    assert stored["queues"]["sales"]["dispositions"] == codes


async def test_a_queue_s_resolving_codes_and_otf_criteria_are_edited_and_checked(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "GET", "/queues/sales", "admin")
    assert status == 200 and "resolving" not in body["queue"]  # the default catalogue's own
    assert body["queue"]["otf"] == {"answer": True, "handle": True, "resolving": True, "repeat_window": 86400.0}
    change = {"resolving": ["order/new"], "otf": {"repeat_window": 3600, "order_promise": 900, "handle": False}}
    status, body = await call(v1, "PATCH", "/queues/sales", "admin", change)
    assert status == 200 and body["queue"]["resolving"] == ["order/new"], body
    queue = v1.runtime.core.config.queue("sales")
    assert queue is not None and queue.resolving_dispositions == ("order/new",)
    assert (queue.otf.repeat_window_seconds, queue.otf.order_promise_seconds, queue.otf.handle) == (3600, 900, False)
    status, reply = await call(v1, "PATCH", "/queues/sales", "admin", {"resolving": ["order/unknown"]})
    assert (status, reply["error_id"]) == (400, "invalid-input") and "queues.sales.resolving" in reply["details"][
        "fields"
    ]
    status, reply = await call(v1, "PATCH", "/queues/sales", "admin", {"otf": {"repeat_window": -5}})
    assert status == 400 and "queues.sales.otf.repeat_window" in reply["details"]["fields"], reply
    queue = v1.runtime.core.config.queue("sales")
    assert queue is not None and queue.resolving_dispositions == ("order/new",)  # a refusal changed nothing


async def test_queue_validation_uses_the_file_s_checks(v1: V1) -> None:  # noqa: F811
    for body, field in [
        ({"name": "q", "skills": {"french": 1}}, "queues.q.skills.french"),
        ({"name": "q", "skills": {"billing": 7}}, "queues.q.skills.billing"),
        ({"name": "q", "skills": {"billing": 1}, "sla_target": 2}, "queues.q.sla_target"),
        ({"name": "q"}, "queues.q.skills"),
        (
            {"name": "q", "skills": {"billing": 1}, "widening": [{"min_proficiency_drop": 1}]},
            "queues.q.widening[0].after",
        ),
        ({"name": "q q", "skills": {"billing": 1}}, "queues.q q"),
        ({"name": "q", "skills": {"billing": 1}, "max_wait": "long"}, "queues.q.max_wait"),
        ({"name": "q", "skills": {"billing": 1}, "slathreshold": 3}, "slathreshold"),
        ({"skills": {"billing": 1}}, "name"),
        ({"name": "q", "skills": {"billing": 1}, "dispositions": ["sold"]}, "queues.q.dispositions[0]"),
        ({"name": "q", "skills": {"billing": 1}, "dispositions": []}, "queues.q.dispositions"),
    ]:
        status, reply = await call(v1, "POST", "/queues", "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), body
        assert field in reply["details"]["fields"], (body, reply)
    status, reply = await call(v1, "PUT", "/queues/billing", "admin", {"name": "other", "skills": {"billing": 1}})
    assert (status, reply["error_id"]) == (400, "invalid-input")
    status, reply = await call(v1, "POST", "/queues", "admin", {"name": "billing", "skills": {"billing": 1}})
    assert (status, reply["error_id"]) == (409, "conflict")
    status, reply = await call(v1, "PATCH", "/queues/nope", "admin", {"wrapup": 1})
    assert (status, reply["error_id"]) == (404, "no-such-queue")
    status, reply = await call(v1, "GET", "/queues", None)
    assert status == 401
    assert await revisions(v1) == [] and await v1.audit() == []


async def test_deleting_a_queue_overflows_its_callers(v1: V1) -> None:  # noqa: F811
    v1.runtime.submit(CallArrived("c1", "sales", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    status, body = await call(v1, "DELETE", "/queues/sales", "admin")
    assert (status, body) == (200, {"deleted": "sales", "overflowed_calls": ["c1"], "revision": 1})
    ended = [
        (r.outcome, r.end_reason)
        for r in v1.sink.records
        if isinstance(r, InteractionRecord) and r.interaction_id == "c1"
    ]
    assert ended[-1] == ("overflowed", "queue_removed")
    assert v1.runtime.core.config.queue("sales") is None
    status, body = await call(v1, "DELETE", "/queues/billing", "admin")  # the last one
    assert (status, body["error_id"]) == (409, "conflict")
    status, body = await call(v1, "DELETE", "/queues/sales", "admin")
    assert (status, body["error_id"]) == (404, "no-such-queue")


# -- agents ---------------------------------------------------------------------------------------


async def test_get_agents_shows_the_config_beside_the_live_state(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "GET", "/agents/a1", "a1")
    assert status == 200 and body["agent"]["state"] == "logged_out"
    assert (body["agent"]["endpoint"], body["agent"]["skills"]) == ("agent1", {"billing": 4})
    status, body = await call(v1, "GET", "/agents", "admin")
    assert {a["id"]: a["endpoint"] for a in body["agents"]} == {"a1": "agent1", "a2": "agent2", "s1": "sales1"}


async def test_an_agent_created_through_the_api_is_offered_calls(v1: V1) -> None:  # noqa: F811
    status, body = await call(
        v1, "POST", "/agents", "admin", {"id": "a9", "name": "Nia", "endpoint": "agent9", "skills": {"billing": 5}}
    )
    assert status == 201 and body["revision"] == 1
    assert body["agent"] | {"since": None, "seconds_in_state": None} == {
        "id": "a9",
        "state": "logged_out",
        "reason": "",
        "since": None,
        "seconds_in_state": None,
        "reachable": True,
        "call_id": None,
        "name": "Nia",
        "endpoint": "agent9",
        "skills": {"billing": 5},
        "team": "",
    }
    status, body = await v1.post("/agents/a9/login", "admin")
    assert (status, body["agent"]["state"]) == (200, "ready")
    v1.runtime.submit(CallArrived("c1", "billing", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    assert v1.rings[0].endpoint == "agent9"


async def test_a_removed_agent_is_no_longer_offered_calls(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "admin")
    await v1.post("/agents/a2/login", "admin")
    status, body = await call(v1, "DELETE", "/agents/a1", "admin")
    assert (status, body) == (200, {"deleted": "a1", "retiring": False, "revision": 1})
    v1.runtime.submit(CallArrived("c1", "billing", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    assert [ring.endpoint for ring in v1.rings] == ["agent2"]
    status, body = await call(v1, "GET", "/agents/a1", "admin")
    assert (status, body["error_id"]) == (404, "no-such-agent")


async def test_an_agent_deleted_on_a_call_retires_when_it_ends(v1: V1) -> None:  # noqa: F811
    v1.runtime.submit(AgentLoggedIn("s1"))
    v1.runtime.submit(CallArrived("c1", "sales", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    v1.runtime.submit(OfferAnswered(v1.rings[0].offer_id))
    await v1.settle()
    status, body = await call(v1, "DELETE", "/agents/s1", "admin")
    assert (status, body["retiring"]) == (200, True)
    assert v1.runtime.core.agent_state("s1") is AgentState.ON_CALL


async def test_agent_updates_and_the_file_s_checks(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "PATCH", "/agents/a2", "admin", {"skills": {"billing": 3, "sales": 1}})
    assert (
        status == 200
        and body["agent"]["skills"] == {"billing": 3, "sales": 1}
        and body["agent"]["endpoint"] == "agent2"
    )
    status, body = await call(v1, "PUT", "/agents/a2", "admin", {"skills": {"billing": 1}})
    assert status == 200 and body["agent"]["endpoint"] == "a2"  # PUT replaces: the endpoint defaults to the id
    for method, path, body, field in [
        ("POST", "/agents", {"id": "a9", "endpoint": "agent1", "skills": {"billing": 1}}, "agents.a9.endpoint"),
        ("POST", "/agents", {"id": "a9", "skills": {"billing": 6}}, "agents.a9.skills.billing"),
        ("POST", "/agents", {"id": "a9", "skills": {"cooking": 2}}, "agents.a9.skills.cooking"),
        ("POST", "/agents", {"id": "a9"}, "agents.a9.skills"),
        ("POST", "/agents", {"skills": {"billing": 1}}, "id"),
        ("PATCH", "/agents/a1", {"endpoint": "PJSIP/sales1"}, "agents.s1.endpoint"),  # "already used by a1"
        ("PATCH", "/agents/a1", {"id": "b1"}, "id"),
        ("PATCH", "/agents/a1", {"state": "ready"}, "state"),
    ]:
        status, reply = await call(v1, method, path, "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), (path, body, reply)
        assert field in reply["details"]["fields"], (body, reply)
    status, reply = await call(v1, "POST", "/agents", "admin", {"id": "a1", "skills": {"billing": 1}})
    assert (status, reply["error_id"]) == (409, "conflict")
    for method in ("PUT", "PATCH", "DELETE"):
        status, reply = await call(v1, method, "/agents/zz", "admin", {"skills": {"billing": 1}})
        assert (status, reply["error_id"]) == (404, "no-such-agent"), method


async def test_a_supervisor_changes_agents_only_within_their_queues(v1: V1) -> None:  # noqa: F811
    allowed = [
        ("POST", "/agents", {"id": "b9", "endpoint": "b9", "skills": {"billing": 3}}),
        ("PATCH", "/agents/b9", {"skills": {"billing": 5}}),
        ("PATCH", "/agents/a1", {"endpoint": "desk1"}),
        ("DELETE", "/agents/b9", None),
    ]
    for method, path, body in allowed:
        status, reply = await call(v1, method, path, "billing", body)
        assert status in (200, 201), (method, path, reply)
    refused = [
        ("POST", "/agents", {"id": "s9", "skills": {"sales": 3}}),  # serves none of theirs
        ("POST", "/agents", {"id": "x9", "skills": {"billing": 3, "sales": 1}}),  # and sales
        ("PATCH", "/agents/a1", {"skills": {"billing": 4, "sales": 2}}),  # gives sales
        ("PATCH", "/agents/s1", {"name": "Sam"}),  # a sales agent
        ("DELETE", "/agents/s1", None),
    ]
    for method, path, body in refused:
        status, reply = await call(v1, method, path, "billing", body)
        assert (status, reply["error_id"]) == (403, "forbidden"), (method, path, reply)
    for method, path, body in [
        ("POST", "/agents", {"id": "a8", "skills": {"billing": 1}}),
        ("PATCH", "/agents/a1", {"name": "me"}),
        ("DELETE", "/agents/a1", None),
    ]:
        status, reply = await call(v1, method, path, "a1", body)  # an agent, even about themselves
        assert (status, reply["error_id"]) == (403, "forbidden")
        status, reply = await call(v1, method, path, None, body)
        assert status == 401
    assert [r[1] for r in await revisions(v1)] == ["agent.create", "agent.update", "agent.update", "agent.delete"]


# -- revisions ------------------------------------------------------------------------------------


async def test_if_match_refuses_a_change_based_on_an_older_revision(v1: V1) -> None:  # noqa: F811
    status, _ = await call(v1, "POST", "/skills", "admin", {"name": "french"}, headers={"If-Match": '"0"'})
    assert status == 201
    status, body = await call(v1, "POST", "/skills", "admin", {"name": "german"}, headers={"If-Match": '"0"'})
    assert (status, body["error_id"], body["details"]) == (412, "revision-mismatch", {"expected": 0, "current": 1})
    status, body = await call(v1, "POST", "/skills", "admin", {"name": "german"}, headers={"If-Match": "x"})
    assert (status, body["error_id"]) == (400, "invalid-input")
    response = await v1.client.post(
        f"{PREFIX}/skills", json={"name": "german"}, headers={**v1.auth("admin"), "If-Match": '"1"'}
    )
    assert (response.status, response.headers["ETag"]) == (201, '"2"')
    stored = await revisions(v1)
    assert stored == [(1, "skill.create", "french"), (2, "skill.create", "german")]
    async with v1.engine.connect() as conn:
        document = (await conn.execute(text("SELECT document FROM config_revisions WHERE revision = 2"))).scalar_one()
    assert document["skills"] == ["billing", "french", "german", "sales"]
    assert document["agents"]["a1"] == {"name": "", "endpoint": "agent1", "skills": {"billing": 4}, "team": ""}


async def test_an_agent_endpoint_that_would_dial_anything_else_is_refused(v1: V1) -> None:  # noqa: F811
    for method, path, body, field in [
        ("PATCH", "/agents/a1", {"endpoint": "agent1&PJSIP/+19005550100@carrier"}, "agents.a1.endpoint"),
        ("PATCH", "/agents/a1", {"endpoint": "agent1,1,L(1000)"}, "agents.a1.endpoint"),
        ("PUT", "/agents/a1", {"endpoint": "agent1@carrier", "skills": {"billing": 1}}, "agents.a1.endpoint"),
        ("POST", "/agents", {"id": "a9", "endpoint": "SIP/agent9", "skills": {"billing": 1}}, "agents.a9.endpoint"),
        ("POST", "/agents", {"id": "a9", "name": "Nia\u0000", "skills": {"billing": 1}}, "agents.a9.name"),
        ("POST", "/agents", {"id": "a9", "name": "Nia\u001b[2J", "skills": {"billing": 1}}, "agents.a9.name"),
    ]:
        status, reply = await call(v1, method, path, "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), (path, body, reply)
        assert field in reply["details"]["fields"], (body, reply)
    assert await revisions(v1) == []
    status, body = await call(v1, "PATCH", "/agents/a1", "admin", {"endpoint": "PJSIP/desk1"})
    assert status == 200 and body["agent"]["endpoint"] == "desk1"  # stored in its one form
    v1.runtime.submit(AgentLoggedIn("a1"))
    v1.runtime.submit(CallArrived("c1", "billing", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    assert v1.rings[0].endpoint == "desk1"


async def test_a_queue_overflows_only_to_a_declared_target_and_within_bounds(v1: V1) -> None:  # noqa: F811
    for body, field in [
        ({"overflow": "operator"}, "queues.billing.overflow"),
        ({"overflow": "voicemail,1"}, "queues.billing.overflow"),
        ({"max_wait": 1e12}, "queues.billing.max_wait"),
        ({"vip_priority_boost": 2**31}, "queues.billing.vip_priority_boost"),
        ({"wrapup": 2**63}, "queues.billing.wrapup"),
    ]:
        status, reply = await call(v1, "PATCH", "/queues/billing", "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), (body, reply)
        assert field in reply["details"]["fields"], (body, reply)
    status, reply = await call(v1, "PATCH", "/queues/billing", "admin", {"overflow": "fallback"})
    assert status == 200, reply
