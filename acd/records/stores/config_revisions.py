"""Revisions of the routing config changed through the REST API, in ``config_revisions``.

Each revision is the whole document (``acd.routing_document``), numbered 1, 2, ... with who made
the change and when. The latest one is what the ACD runs at its next start, instead of the file's
skills, queues and agents. A revision is written before the core is told of the change, so the core
never runs a config that the next start would not also run.

Numbers are taken inside the insert's transaction, under an exclusive lock on the table, so that
two writers (even two processes) can never both write revision N. Adapters' errors leave here as
``DatabaseUnavailable``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.errors import DatabaseUnavailable


@dataclass(frozen=True, slots=True)
class Revision:
    revision: int
    created_at: datetime
    token_id: str
    role: str
    action: str
    target: str
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Author:
    """Who made a change, and what it was (``queue.create`` on ``billing``)."""

    token_id: str
    role: str
    action: str
    target: str


_NEXT_SQL = text("SELECT coalesce(max(revision), 0) + 1 FROM config_revisions")
_INSERT_SQL = text("""
INSERT INTO config_revisions (revision, token_id, role, action, target, document)
VALUES (:revision, :token_id, :role, :action, :target, CAST(:document AS jsonb))
RETURNING created_at
""")
_LATEST_SQL = text("""
SELECT revision, created_at, token_id, role, action, target, document
FROM config_revisions ORDER BY revision DESC LIMIT 1
""")


async def save(engine: AsyncEngine, document: dict[str, Any], author: Author) -> Revision:
    """Store ``document`` as the next revision and return it."""
    try:
        async with engine.begin() as conn:
            await conn.execute(text("LOCK TABLE config_revisions IN EXCLUSIVE MODE"))
            number = int((await conn.execute(_NEXT_SQL)).scalar_one())
            created = (
                await conn.execute(
                    _INSERT_SQL,
                    {
                        "revision": number,
                        "token_id": author.token_id,
                        "role": author.role,
                        "action": author.action,
                        "target": author.target,
                        "document": json.dumps(document, allow_nan=False),
                    },
                )
            ).scalar_one()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not store the config revision: {exc}") from exc
    return Revision(number, created, author.token_id, author.role, author.action, author.target, document)


async def withdraw(engine: AsyncEngine, revision: int) -> None:
    """Remove a revision that the core never took (the runtime was shutting down)."""
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM config_revisions WHERE revision = :r"), {"r": revision})
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not withdraw config revision {revision}: {exc}") from exc


async def latest(engine: AsyncEngine) -> Revision | None:
    """The revision in force, or None while the config has never been changed through the API."""
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(_LATEST_SQL)).first()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read the config revisions: {exc}") from exc
    if row is None:
        return None
    return Revision(
        int(row.revision), row.created_at, row.token_id, row.role, row.action, row.target, dict(row.document)
    )
