"""Retention on a real PostgreSQL: past the window, records keep no caller number, notes or audit details,
and (where the policy says so) no customer number; within it, nothing changes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from record_samples import CONFIG, T0, answered, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.pipeline.outbox import Outbox
from acd.records.retention import Masked, apply_retention
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg

LATER = 10.0**6
BEFORE = datetime.fromtimestamp(T0 + 1000, UTC)  # the window starts here: T0 is old, T0 + LATER is not


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def seed(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    async with engine.begin() as conn:
        for name, number in (("ada", "15550100"), ("bob", "15550200"), ("carl", "15550300")):
            await conn.execute(
                text("INSERT INTO customers (id, phone_number, name, created_at) VALUES (:id, :n, :name, :at)"),
                {"id": uid(name), "n": number, "name": name, "at": datetime.fromtimestamp(T0 - 100, UTC)},
            )
        for at, details in ((T0, {"reason": "dentist at 4, call +15550100"}), (T0 + LATER, {"reason": "lunch"})):
            await conn.execute(
                text(
                    "INSERT INTO audit_log (at, token_id, role, action, target, details, status) "
                    "VALUES (:at, 't1', 'supervisor', 'agent.pause', 'a1', CAST(:d AS jsonb), 200)"
                ),
                {"at": datetime.fromtimestamp(at, UTC), "d": json.dumps(details)},
            )
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    box.append(answered("ada-old", caller="+15550100", customer_id=uid("ada")))  # notes "ok"
    box.append(answered("bob-old", caller="+15550200", customer_id=uid("bob")))
    box.append(
        dataclasses.replace(
            answered("bob-new", caller="+15550200", customer_id=uid("bob")),
            arrived_at=T0 + LATER,
            answered_at=T0 + LATER + 12,
            ended_at=T0 + LATER + 200,
        )
    )
    assert await box.flush(10)
    await box.stop()


async def test_retention_masks_callers_notes_and_audit_details_past_the_window(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await seed(engine, tmp_path)
    assert await apply_retention(engine, BEFORE, dry_run=True) == Masked(callers=2, notes=2, audit_details=1)
    assert await apply_retention(engine, BEFORE) == Masked(callers=2, notes=2, audit_details=1)
    assert await apply_retention(engine, BEFORE) == Masked()  # idempotent

    assert await one(engine, "SELECT caller FROM interactions WHERE id = :i", i=uid("ada-old")) == "*******00"
    assert await one(engine, "SELECT notes FROM interactions WHERE id = :i", i=uid("ada-old")) is None
    assert await one(engine, "SELECT notes FROM interactions WHERE id = :i", i=uid("bob-new")) == "ok"
    assert await one(engine, "SELECT caller FROM interactions WHERE id = :i", i=uid("bob-new")) == "+15550200"
    details = await one(engine, "SELECT array_agg(details::text ORDER BY at) FROM audit_log")
    assert details == ['{"masked": true}', '{"reason": "lunch"}']
    # the policy's default keeps the customer directory
    assert await one(engine, "SELECT phone_number FROM customers WHERE id = :i", i=uid("ada")) == "15550100"


async def test_customer_numbers_are_masked_when_the_policy_says_so(engine: AsyncEngine, tmp_path: Path) -> None:
    await seed(engine, tmp_path)
    masked = await apply_retention(engine, BEFORE, customer_numbers="mask")
    assert masked.customer_numbers == 1
    numbers = dict(await _all(engine, "SELECT name, phone_number FROM customers"))
    assert numbers == {
        "ada": f"******00#{uid('ada')}",  # only calls before the window: masked
        "bob": "15550200",  # called within the window: still a customer the directory must find
        "carl": "15550300",  # never called: an entry the business made, not a caller's trace
    }
    again = await apply_retention(engine, BEFORE, customer_numbers="mask")
    assert again.customer_numbers == 0


async def _all(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql))]
