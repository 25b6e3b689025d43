"""Migrations: up and down work, and the models and the migrations describe the same schema."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.models import Base
from acd.records.startup.migrate import downgrade, upgrade, upgrade_head

pytestmark = pytest.mark.pg


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, Base.metadata))


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        return {r[0] for r in rows}


async def test_downgrade_base_then_upgrade_head(engine: AsyncEngine) -> None:
    await downgrade(engine)
    assert await _tables(engine) == {"alembic_version"}
    await upgrade(engine)
    assert await _tables(engine) == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}


async def test_upgrade_head_from_a_url_is_idempotent(engine: AsyncEngine) -> None:
    import asyncio

    await asyncio.to_thread(upgrade_head, engine.url.render_as_string(hide_password=False))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == "0035"


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_check_constraints_agree(engine: AsyncEngine) -> None:
    """Alembic's compare does not look at CHECK constraints; compare their names ourselves."""
    declared = {
        str(c.name) for t in Base.metadata.sorted_tables for c in t.constraints if isinstance(c, CheckConstraint)
    }
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = 'public' AND c.contype = 'c'"
            )
        )
        assert {r[0] for r in rows} == declared
    assert len(declared) >= 20


BAD_ROWS = {
    "ck_interactions_outcome_known": "outcome => 'lost'",
    "ck_interactions_answered_has_answered_at": "outcome => 'answered'",
    "ck_interactions_wait_seconds_non_negative": "outcome => 'abandoned', wait_seconds => -1",
    "ck_interactions_ended_at_after_arrived_at": "outcome => 'abandoned', ended_at => now() - interval '1 day'",
    "ck_interactions_ended_has_outcome": "ended_at => now() + interval '1 minute'",
    "ck_interactions_within_sla_only_if_answered": "outcome => 'abandoned', within_sla => true",
}


@pytest.mark.parametrize("constraint", sorted(BAD_ROWS))
async def test_bad_interactions_are_impossible(engine: AsyncEngine, constraint: str) -> None:
    fields = dict(pair.split(" => ") for pair in BAD_ROWS[constraint].split(", "))
    columns = ["id", "seq", "caller", "queue", "priority", "arrived_at", "sla_threshold_seconds", *fields]
    values = ["gen_random_uuid()", "1", "'+1555'", "'billing'", "5", "now()", "20", *fields.values()]
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO queues (name) VALUES ('billing')"))
    with pytest.raises(IntegrityError, match=constraint):
        async with engine.begin() as conn:
            await conn.execute(text(f"INSERT INTO interactions ({', '.join(columns)}) VALUES ({', '.join(values)})"))


async def test_proficiency_must_be_1_to_5(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO agents (id) VALUES ('a1')"))
        await conn.execute(text("INSERT INTO skills (name) VALUES ('x')"))
    with pytest.raises(IntegrityError, match="ck_agent_skills_proficiency_range"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO agent_skills VALUES ('a1', 'x', 6)"))
