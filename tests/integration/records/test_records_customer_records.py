"""Customer records kept by agents, on a real PostgreSQL: create, change (with history), search, further
numbers that the directory finds, and retention of what the records added."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import Customer
from acd.records.retention import apply_retention
from acd.records.stores import customer_records as records
from acd.records.stores.customers import CustomerDirectory

pytestmark = pytest.mark.pg

AGENT = records.Actor("tok-a1", "agent", "a1")
ADMIN = records.Actor("tok-admin", "admin", None, "night desk")


async def test_create_patch_and_history(engine: AsyncEngine) -> None:
    ada = await records.create(
        engine, AGENT, {"phone_number": "+1 555-0100", "name": "Ada", "numbers": ["15550101", "+15550100"]}
    )
    assert (ada["phone_number"], ada["numbers"], ada["tier"]) == ("15550100", ["15550101"], "standard")
    assert ada["consent_recording"] is False and ada["notes"] == ""
    customer = uuid.UUID(ada["id"])

    changed = await records.patch(engine, ADMIN, customer, {"tier": "vip", "notes": "calls on Mondays"})
    assert changed is not None
    old, new = changed
    assert (old["tier"], new["tier"], new["name"], new["numbers"]) == ("standard", "vip", "Ada", ["15550101"])
    assert await records.patch(engine, ADMIN, customer, {"tier": "vip"}) is not None  # no change: no history row
    assert await records.patch(engine, ADMIN, uuid.uuid4(), {"tier": "vip"}) is None

    got = await records.get(engine, customer)
    assert got is not None and got["tier"] == "vip"
    history = got["changes"]
    assert len(history) == 2
    assert (history[0]["token_id"], history[0]["token_label"], history[0]["role"]) == (
        "tok-admin",
        "night desk",
        "admin",
    )
    assert history[0]["changes"] == {
        "tier": {"old": "standard", "new": "vip"},
        "notes": {"old": "", "new": "calls on Mondays"},
    }
    assert history[1]["agent_id"] == "a1" and history[1]["changes"]["name"] == {"old": None, "new": "Ada"}
    assert await records.get(engine, uuid.uuid4()) is None


async def test_a_number_belongs_to_one_customer(engine: AsyncEngine) -> None:
    ada = await records.create(engine, AGENT, {"phone_number": "15550100", "numbers": ["15550101"]})
    bob = await records.create(engine, AGENT, {"phone_number": "15550200", "name": "Bob"})
    for values in ({"phone_number": "+15550101"}, {"phone_number": "15550300", "numbers": ["1 555 0100"]}):
        with pytest.raises(records.NumberTaken) as taken:
            await records.create(engine, AGENT, values)
        assert taken.value.owner == ada["id"]
    with pytest.raises(records.NumberTaken):
        await records.patch(engine, AGENT, uuid.UUID(bob["id"]), {"numbers": ["15550101"]})
    # its own numbers may move between first and further
    moved = await records.patch(
        engine, AGENT, uuid.UUID(ada["id"]), {"phone_number": "15550101", "numbers": ["15550100"]}
    )
    assert moved is not None and (moved[1]["phone_number"], moved[1]["numbers"]) == ("15550101", ["15550100"])


async def test_search_by_number_or_name_prefix(engine: AsyncEngine) -> None:
    await records.create(engine, AGENT, {"phone_number": "15550100", "name": "Ada", "numbers": ["15550101"]})
    await records.create(engine, AGENT, {"phone_number": "15550200", "name": "adam_x"})
    await records.create(engine, AGENT, {"phone_number": "15550300", "name": "Bob"})
    assert [c["name"] for c in await records.search(engine, number="+1 555 0101")] == ["Ada"]
    assert [c["name"] for c in await records.search(engine, prefix="ad")] == ["Ada", "adam_x"]
    assert [c["name"] for c in await records.search(engine, prefix="ada_")] == []  # '_' is no wildcard
    assert len(await records.search(engine, prefix="", limit=2)) == 2


async def test_the_directory_finds_further_numbers_and_learns_changes(engine: AsyncEngine) -> None:
    ada = await records.create(engine, AGENT, {"phone_number": "15550100", "name": "Ada", "numbers": ["15550101"]})
    directory = CustomerDirectory(engine)
    try:
        assert await directory.lookup("+15550101") == Customer(ada["id"], "Ada", "standard")
        assert await directory.refresh(limit=10)
        assert await directory.lookup("15550101") == Customer(ada["id"], "Ada", "standard")
        assert await directory.lookup("15550100") == Customer(ada["id"], "Ada", "standard")
        directory.learn({"15550101": None, "15550199": Customer(ada["id"], "Ada", "vip")})
        assert await directory.lookup("15550101") is None
        assert await directory.lookup("+1 555 0199") == Customer(ada["id"], "Ada", "vip")
        assert directory.queries == 1
    finally:
        await directory.close()


async def _one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def test_retention_reaches_further_numbers_and_the_history(engine: AsyncEngine) -> None:
    ada = await records.create(
        engine, AGENT, {"phone_number": "15550100", "name": "Ada", "numbers": ["15550101"], "notes": "secret"}
    )
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO queues (name) VALUES ('q') ON CONFLICT DO NOTHING"))
        await conn.execute(text("UPDATE customers SET created_at = :at"), {"at": long_ago})
        await conn.execute(text("UPDATE customer_changes SET at = :at"), {"at": long_ago})
        await conn.execute(
            text("""
            INSERT INTO interactions (id, seq, caller, queue, priority, customer_id, arrived_at, outcome,
              ended_at, sla_threshold_seconds)
            VALUES (:id, 1, '15550101', 'q', 5, :c, :at, 'abandoned', :at, 15)"""),
            {"id": uuid.uuid4(), "c": ada["id"], "at": long_ago},
        )
    before = long_ago + timedelta(days=30)
    masked = await apply_retention(engine, before, customer_numbers="mask")
    assert masked.customer_changes == 1 and masked.customer_numbers == 2
    assert await _one(engine, "SELECT count(*) FROM customer_numbers") == 0
    assert await _one(engine, "SELECT changes::text FROM customer_changes") == '{"masked": true}'
    again = await apply_retention(engine, before, customer_numbers="mask")
    assert again.total == 0
