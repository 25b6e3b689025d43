"""Customer records through /api/v1: agents create and change them from the desk, with history and audit;
bad input is a 400 that changes nothing; a number belongs to one customer (409); the caller directory
sees a change at once."""

from __future__ import annotations

from typing import Any

import pytest
from api_v1_harness import V1, add_interactions, api_pg, v1  # noqa: F401

from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg


async def patch(v1: V1, path: str, who: str, body: Any) -> tuple[int, Any]:  # noqa: F811
    response = await v1.client.patch(PREFIX + path, headers=v1.auth(who), json=body)
    return response.status, await response.json()


async def test_an_agent_creates_and_changes_a_customer_with_history(v1: V1) -> None:  # noqa: F811
    status, body = await v1.post(
        "/customers", "a1", {"phone_number": "+1 555-0100", "name": "Ada", "numbers": ["15550101"]}
    )
    assert status == 201, body
    ada = body["customer"]
    assert (ada["phone_number"], ada["numbers"], ada["tier"]) == ("15550100", ["15550101"], "standard")

    status, body = await patch(
        v1, f"/customers/{ada['id']}", "billing", {"tier": "vip", "consent_recording": True, "notes": "a\nb"}
    )
    assert status == 200, body
    changed = body["customer"]
    assert (changed["tier"], changed["consent_recording"], changed["name"]) == ("vip", True, "Ada")

    status, body = await v1.get(f"/customers/{ada['id']}", "a1", changes="5")
    assert status == 200
    history = body["customer"]["changes"]
    assert [h["role"] for h in history] == ["supervisor", "agent"]
    assert history[0]["changes"]["tier"] == {"old": "standard", "new": "vip"}
    assert history[1]["agent_id"] == "a1"

    status, body = await v1.get("/customers", "s1", number="15550101")
    assert status == 200 and [c["id"] for c in body["customers"]] == [ada["id"]]
    status, body = await v1.get("/customers", "admin", q="ad")
    assert [c["name"] for c in body["customers"]] == ["Ada"]

    audit = [(action, target, status) for _, action, target, status in await v1.audit()]
    assert audit == [("customer.create", "customer", 201), ("customer.update", ada["id"], 200)]


async def test_bad_input_is_a_400_that_changes_nothing(v1: V1) -> None:  # noqa: F811
    for body in (
        {},
        {"phone_number": "call me"},
        {"phone_number": "15550100", "tier": "platinum"},
        {"phone_number": "15550100", "numbers": "15550101"},
        {"phone_number": "15550100", "numbers": ["1" * 40]},
        {"phone_number": "15550100", "consent_marketing": "yes"},
        {"phone_number": "15550100", "notes": "x" * 4001},
        {"phone_number": "15550100", "name": "a\u0000b"},
        {"phone_number": "15550100", "shoe_size": 9},
    ):
        status, answer = await v1.post("/customers", "a1", body)
        assert status == 400, (body, answer)
        assert answer["error_id"] == "invalid-input"
    status, answer = await v1.get("/customers", "a1")
    assert answer["customers"] == []
    for path, query in (("/customers", {"number": "abc"}), ("/customers", {"limit": "0"}), ("/customers/x", {})):
        status, answer = await v1.get(path, "a1", **query)
        assert status == 400, (path, query, answer)


async def test_a_number_of_another_customer_is_a_conflict_and_unknown_is_404(v1: V1) -> None:  # noqa: F811
    ids = await add_interactions(v1.engine)  # ann's number is 5553ann: not a number, no clash
    status, ada = await v1.post("/customers", "a1", {"phone_number": "15550100"})
    status, bob = await v1.post("/customers", "a1", {"phone_number": "15550200"})
    status, body = await v1.post("/customers", "a1", {"phone_number": "15550300", "numbers": ["+15550100"]})
    assert status == 409 and body["error_id"] == "number-taken"
    assert body["details"] == {"number": "15550100", "customer": ada["customer"]["id"]}
    status, body = await patch(v1, f"/customers/{bob['customer']['id']}", "a1", {"phone_number": "15550100"})
    assert status == 409
    status, body = await patch(v1, "/customers/00000000-0000-0000-0000-000000000000", "a1", {"name": "x"})
    assert status == 404 and body["error_id"] == "no-such-customer"
    status, body = await v1.get("/customers/00000000-0000-0000-0000-000000000000", "a1")
    assert status == 404
    status, body = await patch(v1, f"/customers/{ids['ann']}", "a1", {"tier": "gold"})
    assert status == 400


async def test_the_directory_sees_a_change_at_once(v1: V1) -> None:  # noqa: F811
    directory = v1.customers
    assert directory is not None
    assert await directory.lookup("15550100") is None  # cached: nobody
    status, body = await v1.post("/customers", "a1", {"phone_number": "15550100", "name": "Ada"})
    assert status == 201
    found = await directory.lookup("+1 555 0100")
    assert found is not None and (found.id, found.name) == (body["customer"]["id"], "Ada")
    _, body = await patch(v1, f"/customers/{body['customer']['id']}", "a1", {"phone_number": "15550199", "tier": "vip"})
    assert await directory.lookup("15550100") is None
    found = await directory.lookup("15550199")
    assert found is not None and found.tier == "vip"


async def test_a_wallboard_token_may_not_read_customers(v1: V1) -> None:  # noqa: F811
    status, _ = await v1.get("/customers", "wall")
    assert status == 403
