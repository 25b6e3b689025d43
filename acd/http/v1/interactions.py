"""Interaction records through /api/v1: a paginated search (time, queue, agent, customer, outcome)
and a customer's history, read from PostgreSQL.

Scopes: an agent sees the interactions they handled, and the history of a customer they have
handled at least once; a supervisor sees their queues' interactions; an admin sees everything.
Pages are ``limit``/``offset`` over a stable order (newest arrival first, then id), and the answer
says where the next page starts (``next_offset``, null on the last page).
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import Select, exists, select
from sqlalchemy.exc import SQLAlchemyError

from acd.http import errors
from acd.http.keys import ENGINE, LIVE, TOKEN
from acd.http.v1.auth import visible_queues
from acd.http.v1.input import Fields
from acd.records.errors import DatabaseUnavailable
from acd.records.models import OUTCOMES, Customer, Interaction
from acd.records.stores.tokens import Token

MAX_LIMIT = 200
MAX_OFFSET = 100_000

_COLUMNS = (
    Interaction.id,
    Interaction.arrived_at,
    Interaction.first_arrived_at,  # the caller's first arrival, kept by a transferred or overflowed stay
    Interaction.answered_at,
    Interaction.ended_at,
    Interaction.queue,
    Interaction.priority,
    Interaction.caller,
    Interaction.customer_id,
    Interaction.outcome,
    Interaction.agent_id,
    Interaction.wait_seconds,
    Interaction.talk_seconds,
    Interaction.wrapup_seconds,
    Interaction.within_sla,
    Interaction.disposition,
    Interaction.notes,
)


def _row_json(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in zip(_COLUMNS, row, strict=True):
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[column.key] = value
    return out


def _scoped(query: Select[*tuple[Any, ...]], token: Token, shown: set[str] | None) -> Select[*tuple[Any, ...]]:
    if token.role == "agent":
        return query.where(Interaction.agent_id == token.agent_id)
    if shown is not None:
        return query.where(Interaction.queue.in_(sorted(shown)))
    return query


async def _page(request: web.Request, query: Select[*tuple[Any, ...]], limit: int, offset: int) -> web.Response:
    query = query.order_by(Interaction.arrived_at.desc(), Interaction.id).limit(limit + 1).offset(offset)
    try:
        async with request.app[ENGINE].connect() as conn:
            rows = (await conn.execute(query)).all()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read interactions: {exc}") from exc
    more = len(rows) > limit
    return web.json_response(
        {
            "interactions": [_row_json(r) for r in rows[:limit]],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if more else None,
        }
    )


async def search(request: web.Request) -> web.Response:
    token = request[TOKEN]
    fields = Fields(request.query)
    since, until = fields.timestamp("from"), fields.timestamp("to")
    queue, agent = fields.text("queue", max_length=200), fields.text("agent", max_length=200)
    customer = fields.customer("customer", max_length=200)
    outcome = fields.choice("outcome", OUTCOMES)
    limit = fields.integer("limit", 50, 1, MAX_LIMIT)
    offset = fields.integer("offset", 0, 0, MAX_OFFSET)
    bad = fields.refusal()
    if bad is not None:
        return bad
    shown = visible_queues(token, request.app[LIVE].config)
    if token.role == "agent" and agent and agent != token.agent_id:
        return errors.forbidden("an agent token reads only the agent's own interactions")
    if token.role == "supervisor" and queue and shown is not None and queue not in shown:
        return errors.forbidden(f"queue {queue!r} is not one of this token's queues")
    query = _scoped(select(*_COLUMNS), token, shown)
    for column, value in (
        (Interaction.queue, queue),
        (Interaction.agent_id, agent),
        (Interaction.customer_id, customer),
        (Interaction.outcome, outcome),
    ):
        if value:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Interaction.arrived_at >= since)
    if until is not None:
        query = query.where(Interaction.arrived_at < until)
    return await _page(request, query, limit, offset)


async def customer_history(request: web.Request) -> web.Response:
    token = request[TOKEN]
    fields = Fields({**request.query, "customer": request.match_info["customer"]})
    customer = fields.customer("customer")
    limit = fields.integer("limit", 20, 1, MAX_LIMIT)
    offset = fields.integer("offset", 0, 0, MAX_OFFSET)
    bad = fields.refusal()
    if bad is not None:
        return bad
    assert customer is not None  # else ``bad`` named it
    known = select(exists().where(Customer.id == customer))
    handled = select(exists().where(Interaction.customer_id == customer, Interaction.agent_id == token.agent_id))
    try:
        async with request.app[ENGINE].connect() as conn:
            found = bool((await conn.execute(known)).scalar())
            mine = token.role != "agent" or bool((await conn.execute(handled)).scalar())
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read customer {customer}: {exc}") from exc
    if not found:
        return errors.no_such_customer(str(customer))
    if not mine:
        return errors.forbidden("an agent reads the history of customers they have handled only")
    shown = visible_queues(token, request.app[LIVE].config)
    query = select(*_COLUMNS).where(Interaction.customer_id == customer)
    if token.role == "supervisor" and shown is not None:
        query = query.where(Interaction.queue.in_(sorted(shown)))
    return await _page(request, query, limit, offset)
