"""Bearer tokens of the REST API, kept in PostgreSQL as the SHA-256 of their secret.

A token reads ``acd_<id>_<secret>``: ``id`` finds the row (and names the token in the audit log and
the CLI without revealing it), ``secret`` is 32 random bytes that only its holder ever sees.
``verify`` looks the row up by id and compares the secret's digest in constant time, so neither a
wrong secret nor a wrong id can be found out from how long a refusal takes.

Roles: ``agent`` acts as one agent (``agent_id``), ``supervisor`` on ``queues``, ``admin`` on all;
``wallboard`` only reads (a wall screen: the wallboard's stream and the status, of ``queues`` or all).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.errors import DatabaseUnavailable
from acd.records.models import API_ROLES
from acd.records.text import fit_text

PREFIX = "acd_"
_HEX = frozenset("0123456789abcdef")

_INSERT_SQL = text("""
INSERT INTO api_tokens (id, secret_sha256, role, agent_id, queues, label)
VALUES (:id, :digest, :role, :agent_id, :queues, :label)
""")
_BY_ID_SQL = text("""
SELECT id, secret_sha256, role, agent_id, queues, label, created_at, revoked_at FROM api_tokens WHERE id = :id
""")
_ALL_SQL = text("""
SELECT id, secret_sha256, role, agent_id, queues, label, created_at, revoked_at FROM api_tokens
ORDER BY created_at, id
""")
_REVOKE_SQL = text("UPDATE api_tokens SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL RETURNING id")


@dataclass(frozen=True, slots=True)
class Token:
    """Who a token speaks for. Never holds the secret."""

    id: str
    role: str
    agent_id: str | None
    queues: tuple[str, ...]
    label: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _token(row: Any) -> Token:
    return Token(row[0], row[2], row[3], tuple(row[4] or ()), row[5], row[6], row[7])


def parse(bearer: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not bearer.startswith(PREFIX):
        return None
    token_id, sep, secret = bearer[len(PREFIX) :].partition("_")
    if not sep or not secret or len(bearer) > 200 or not token_id or not all(c in _HEX for c in token_id):
        return None
    return token_id, secret


async def issue(
    engine: AsyncEngine, role: str, *, agent_id: str | None = None, queues: tuple[str, ...] = (), label: str = ""
) -> tuple[Token, str]:
    """Create a token; returns it and the bearer string, which is shown once and stored nowhere."""
    if role not in API_ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(API_ROLES)}")
    if role == "agent" and not agent_id:
        raise ValueError("an agent token needs the agent it acts as")
    for what, value in (("label", label), ("agent", agent_id or ""), *(("queue", q) for q in queues)):
        if len(value) > 200 or not fit_text(value):
            raise ValueError(f"the {what} {value!r} must be at most 200 characters, without control characters")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    params = {
        "id": token_id,
        "digest": _digest(secret),
        "role": role,
        "agent_id": agent_id,
        "queues": list(queues),
        "label": label,
    }
    try:
        async with engine.begin() as conn:
            await conn.execute(_INSERT_SQL, params)
            row = (await conn.execute(_BY_ID_SQL, {"id": token_id})).one()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not store the token: {exc}") from exc
    return _token(row), f"{PREFIX}{token_id}_{secret}"


async def verify(engine: AsyncEngine, bearer: str) -> Token | None:
    """The live token for a bearer string, or None (malformed, unknown, wrong secret or revoked)."""
    parsed = parse(bearer)
    if parsed is None:
        return None
    token_id, secret = parsed
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(_BY_ID_SQL, {"id": token_id})).first()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not check a token: {exc}") from exc
    stored = bytes(row[1]) if row is not None else b"\0" * 32
    matches = hmac.compare_digest(stored, _digest(secret))
    if row is None or not matches or row[7] is not None:
        return None
    return _token(row)


async def all_tokens(engine: AsyncEngine) -> list[Token]:
    try:
        async with engine.connect() as conn:
            return [_token(row) for row in (await conn.execute(_ALL_SQL)).all()]
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not list tokens: {exc}") from exc


async def revoke(engine: AsyncEngine, token_id: str) -> bool:
    """Revoke a token at once; False if there is no such live token."""
    try:
        async with engine.begin() as conn:
            return (await conn.execute(_REVOKE_SQL, {"id": token_id})).first() is not None
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not revoke token {token_id}: {exc}") from exc
