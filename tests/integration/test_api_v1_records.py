"""/api/v1 interaction search and customer history over real PostgreSQL rows: filters, pages,
each role's scope, bad query strings, 401 and 403."""

from __future__ import annotations

import uuid

import pytest
from api_v1_harness import V1, add_interactions, api_pg, v1  # noqa: F401

from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg


def _who(body: dict[str, list[dict[str, str]]]) -> list[tuple[str, str | None]]:
    return [(i["queue"], i["agent_id"]) for i in body["interactions"]]


async def test_search_filters_by_queue_agent_outcome_customer_and_time(v1: V1) -> None:  # noqa: F811
    ids = await add_interactions(v1.engine)
    cases: list[tuple[dict[str, str], list[tuple[str, str | None]]]] = [
        ({}, [("sales", "s1"), ("billing", "a2"), ("billing", None), ("billing", "a1")]),  # newest first
        ({"queue": "sales"}, [("sales", "s1")]),
        ({"agent": "a2"}, [("billing", "a2")]),
        ({"outcome": "abandoned"}, [("billing", None)]),
        ({"customer": ids["ann"]}, [("billing", None), ("billing", "a1")]),
        ({"from": "2026-11-27T09:05:00Z", "to": "2026-11-27T09:25:00+00:00"}, [("billing", "a2"), ("billing", None)]),
    ]
    for params, expected in cases:
        status, body = await v1.get("/interactions", "admin", **params)
        assert (status, _who(body)) == (200, expected), params


async def test_search_pages_through_the_results(v1: V1) -> None:  # noqa: F811
    await add_interactions(v1.engine)
    status, first = await v1.get("/interactions", "admin", limit="3")
    assert (status, len(first["interactions"]), first["next_offset"]) == (200, 3, 3)
    status, second = await v1.get("/interactions", "admin", limit="3", offset="3")
    assert (len(second["interactions"]), second["next_offset"]) == (1, None)
    seen = [i["id"] for i in first["interactions"] + second["interactions"]]
    assert len(set(seen)) == 4


async def test_search_is_scoped_to_the_token(v1: V1) -> None:  # noqa: F811
    await add_interactions(v1.engine)
    _, supervisor = await v1.get("/interactions", "billing")
    assert {q for q, _ in _who(supervisor)} == {"billing"} and len(supervisor["interactions"]) == 3
    _, agent = await v1.get("/interactions", "a1")
    assert _who(agent) == [("billing", "a1")]
    _, agent_own = await v1.get("/interactions", "a1", agent="a1")
    assert _who(agent_own) == [("billing", "a1")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-11-27T09:00:00"}, "to"),  # no UTC offset
        ({"customer": "not-a-uuid"}, "customer"),
        ({"outcome": "won"}, "outcome"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"agent": "a\x00b"}, "agent"),  # found by schemathesis: PostgreSQL refuses NUL in text
    ],
)
async def test_search_rejects_bad_query_values(v1: V1, params: dict[str, str], field: str) -> None:  # noqa: F811
    status, body = await v1.get("/interactions", "admin", **params)
    assert (status, body["error_id"]) == (400, "invalid-input")
    assert field in body["details"]["fields"]


async def test_search_beyond_the_role_is_403_and_without_a_token_401(v1: V1) -> None:  # noqa: F811
    status, body = await v1.get("/interactions", "a1", agent="a2")
    assert (status, body["error_id"]) == (403, "forbidden")
    status, body = await v1.get("/interactions", "billing", queue="sales")
    assert (status, body["error_id"]) == (403, "forbidden")
    response = await v1.client.get(f"{PREFIX}/interactions")
    assert (response.status, (await response.json())["error_id"]) == (401, "unauthorized")


async def test_customer_history_by_role(v1: V1) -> None:  # noqa: F811
    ids = await add_interactions(v1.engine)
    status, body = await v1.get(f"/customers/{ids['ann']}/interactions", "admin")
    assert (status, [i["outcome"] for i in body["interactions"]]) == (200, ["abandoned", "answered"])
    status, body = await v1.get(f"/customers/{ids['ann']}/interactions", "a1")  # a1 answered ann once
    assert (status, len(body["interactions"])) == (200, 2)
    status, body = await v1.get(f"/customers/{ids['bob']}/interactions", "a1")  # a2's customer
    assert (status, body["error_id"]) == (403, "forbidden")
    status, body = await v1.get(f"/customers/{ids['cy']}/interactions", "billing")  # a sales customer
    assert (status, body["interactions"]) == (200, [])
    status, body = await v1.get(f"/customers/{ids['bob']}/interactions", "billing", limit="1")
    assert (status, len(body["interactions"]), body["next_offset"]) == (200, 1, None)


async def test_customer_history_errors(v1: V1) -> None:  # noqa: F811
    await add_interactions(v1.engine)
    status, body = await v1.get(f"/customers/{uuid.uuid4()}/interactions", "admin")
    assert (status, body["error_id"]) == (404, "no-such-customer")
    status, body = await v1.get("/customers/ann/interactions", "admin")
    assert (status, body["error_id"]) == (400, "invalid-input")
    status, body = await v1.get(f"/customers/{uuid.uuid4()}/interactions", "admin", limit="500")
    assert (status, body["error_id"]) == (400, "invalid-input")
    response = await v1.client.get(f"{PREFIX}/customers/{uuid.uuid4()}/interactions", headers=v1.auth("revoked"))
    assert response.status == 401
