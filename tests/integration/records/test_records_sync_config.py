"""The config tables follow the routing config; nothing that history references is deleted."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from record_samples import CONFIG
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import AgentConfig
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg


async def table(engine: AsyncEngine, sql: str) -> set[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return {tuple(r) for r in await conn.execute(text(sql))}


async def test_config_tables_say_what_the_config_says(engine: AsyncEngine) -> None:
    await sync_config(engine, CONFIG)
    await sync_config(engine, CONFIG)  # idempotent
    assert await table(engine, "SELECT name, sla_threshold_seconds, configured FROM queues") == {
        ("billing", 20.0, True),
        ("support", 20.0, True),
    }
    assert await table(engine, "SELECT name FROM skills WHERE configured") == {("billing",), ("support",), ("english",)}
    assert await table(engine, "SELECT id, name, endpoint, configured FROM agents") == {
        ("a1", "Alice", "PJSIP/agent1", True),
        ("a2", "Bob", "PJSIP/agent2", True),
    }
    assert await table(engine, "SELECT * FROM agent_skills") == {
        ("a1", "billing", 3),
        ("a1", "english", 4),
        ("a2", "support", 5),
    }
    assert await table(engine, "SELECT * FROM queue_skills") == {
        ("billing", "billing", 2),
        ("support", "support", 1),
        ("support", "english", 3),
    }


async def test_a_removed_agent_is_kept_unconfigured_and_skills_are_replaced(engine: AsyncEngine) -> None:
    await sync_config(engine, CONFIG)
    changed = dataclasses.replace(
        CONFIG, agents=(AgentConfig("a1", "PJSIP/agent1b", (("support", 2),), name="Alice B"),)
    )
    await sync_config(engine, changed)
    assert await table(engine, "SELECT id, endpoint, configured FROM agents") == {
        ("a1", "PJSIP/agent1b", True),
        ("a2", "PJSIP/agent2", False),
    }
    assert await table(engine, "SELECT * FROM agent_skills WHERE agent_id = 'a1'") == {("a1", "support", 2)}


async def test_a_placeholder_made_from_a_record_is_filled_in_by_the_config(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO agents (id) VALUES ('a2')"))
    await sync_config(engine, CONFIG)
    assert await table(engine, "SELECT id, endpoint, configured FROM agents WHERE id = 'a2'") == {
        ("a2", "PJSIP/agent2", True)
    }
