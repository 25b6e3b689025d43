"""Upsert the routing config (queues, skills, agents, their skills) into the config tables at start.

Records reference these tables by foreign key, and reports join them. Rows are never deleted, since
history references them: a queue or agent no longer in the config is kept with ``configured = false``.

A record that names a queue or agent the tables do not have (a record journaled under an older config,
or an agent removed while on a call) must not be lost: the record store creates it as a placeholder,
``configured = false`` (see ``acd.records.pipeline.store``). If the config names it later, this sync fills it in.
Skill lists are replaced as a whole for each configured queue and agent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.core.config import RoutingConfig
from acd.records.errors import DatabaseUnavailable
from acd.records.models import Agent, AgentSkill, Queue, QueueSkill, Skill

QUEUES: Table = Queue.__table__  # type: ignore[assignment]
SKILLS: Table = Skill.__table__  # type: ignore[assignment]
AGENTS: Table = Agent.__table__  # type: ignore[assignment]
AGENT_SKILLS: Table = AgentSkill.__table__  # type: ignore[assignment]
QUEUE_SKILLS: Table = QueueSkill.__table__  # type: ignore[assignment]


async def sync_config(engine: AsyncEngine, config: RoutingConfig) -> None:
    """One transaction: after it, the tables say exactly what ``config`` says (plus history)."""
    try:
        async with engine.begin() as conn:
            await _sync(conn, config)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not sync the config to Postgres: {exc}") from exc


async def _sync(conn: AsyncConnection, config: RoutingConfig) -> None:
    skills = sorted(
        {s.skill for q in config.queues for s in q.skills}
        | {s.skill for q in config.queues for w in q.widening for s in w.extra_skills}
        | {name for a in config.agents for name, _ in a.skills}
    )
    await _mark_all_unconfigured(conn)
    await _upsert(conn, SKILLS, "name", [{"name": s, "configured": True} for s in skills])
    await _upsert(
        conn,
        QUEUES,
        "name",
        [
            {
                "name": q.name,
                "sla_threshold_seconds": q.sla_threshold_seconds,
                "sla_target_ratio": q.sla_target_ratio,
                "max_wait_seconds": q.max_wait_seconds,
                "overflow_target": q.overflow_target,
                "wrapup_seconds": q.wrapup_seconds,
                "max_handle_seconds": q.max_handle_seconds,
                "configured": True,
            }
            for q in config.queues
        ],
    )
    await _upsert(
        conn,
        AGENTS,
        "id",
        [{"id": a.id, "name": a.name, "endpoint": a.endpoint, "configured": True} for a in config.agents],
    )
    queue_names = [q.name for q in config.queues]
    agent_ids = [a.id for a in config.agents]
    await conn.execute(delete(QUEUE_SKILLS).where(QUEUE_SKILLS.c.queue.in_(queue_names)))
    await conn.execute(delete(AGENT_SKILLS).where(AGENT_SKILLS.c.agent_id.in_(agent_ids)))
    queue_skills = [
        {"queue": q.name, "skill": s.skill, "min_proficiency": s.min_proficiency}
        for q in config.queues
        for s in q.skills
    ]
    agent_skills = [
        {"agent_id": a.id, "skill": name, "proficiency": level} for a in config.agents for name, level in a.skills
    ]
    if queue_skills:
        await conn.execute(insert(QUEUE_SKILLS), queue_skills)
    if agent_skills:
        await conn.execute(insert(AGENT_SKILLS), agent_skills)


async def _mark_all_unconfigured(conn: AsyncConnection) -> None:
    for table in (QUEUES, SKILLS, AGENTS):
        await conn.execute(update(table).where(table.c.configured).values(configured=False))


async def _upsert(conn: AsyncConnection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert(table)
    changes: dict[str, Any] = {c: stmt.excluded[c] for c in rows[0] if c != key}
    if "updated_at" in table.c:
        changes["updated_at"] = stmt.excluded.updated_at
    await conn.execute(stmt.on_conflict_do_update(index_elements=[table.c[key]], set_=changes), rows)
