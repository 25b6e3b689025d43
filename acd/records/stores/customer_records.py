"""Customer records as agents keep them: read, search, create and change, each change with its history.

A record is ``customers`` (first number, name, tier, notes, consent flags) and its further numbers
(``customer_numbers``). A number belongs to one customer at most, as a first or a further number
(checked here, in the same transaction as the change; ``NumberTaken`` names the owner). Numbers are
kept normalised (``normalise_number``). Every create and change writes one ``customer_changes`` row
in the same transaction: who (token, role, agent), when, and each changed field's old and new value.

Values are checked by the caller (the API's ``Fields``); the database's CHECKs back them up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.records.errors import DatabaseUnavailable
from acd.records.models import Customer, CustomerChange, CustomerNumber
from acd.records.stores.customers import normalise_number

FIELDS = ("phone_number", "name", "tier", "notes", "consent_recording", "consent_marketing", "numbers")
MAX_NUMBERS = 10  # further numbers of one customer
MAX_SEARCH = 50

_COLUMNS = (
    Customer.id,
    Customer.phone_number,
    Customer.name,
    Customer.tier,
    Customer.notes,
    Customer.consent_recording,
    Customer.consent_marketing,
    Customer.created_at,
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: the token's id, role and agent, and its label (whose token it is)."""

    token_id: str
    role: str
    agent_id: str | None
    label: str = ""


class NumberTaken(Exception):
    def __init__(self, number: str, owner: str | None) -> None:
        """``owner`` None: taken by a change made at the same moment (the database refused it)."""
        super().__init__(f"number {number} belongs to " + (f"customer {owner}" if owner else "another customer"))
        self.number = number
        self.owner = owner


def _record(row: Any, numbers: list[str]) -> dict[str, Any]:
    out = {c.key: v for c, v in zip(_COLUMNS, row, strict=True)}
    out["id"] = str(out["id"])
    out["created_at"] = out["created_at"].isoformat()
    out["numbers"] = numbers
    return out


async def _numbers(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        query = select(CustomerNumber.customer_id, CustomerNumber.number).where(CustomerNumber.customer_id.in_(ids))
        for owner, number in (await conn.execute(query.order_by(CustomerNumber.number))).all():
            found[owner].append(number)
    return found


async def _one(conn: AsyncConnection, customer: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(select(*_COLUMNS).where(Customer.id == customer))).first()
    if row is None:
        return None
    return _record(row, (await _numbers(conn, [customer]))[customer])


async def get(engine: AsyncEngine, customer: uuid.UUID, *, changes: int = 20) -> dict[str, Any] | None:
    """The record with its further numbers and its last ``changes`` changes (newest first); None if unknown."""
    try:
        async with engine.connect() as conn:
            record = await _one(conn, customer)
            if record is None:
                return None
            query = (
                select(
                    CustomerChange.at,
                    CustomerChange.token_id,
                    CustomerChange.token_label,
                    CustomerChange.role,
                    CustomerChange.actor_agent_id,
                    CustomerChange.changes,
                )
                .where(CustomerChange.customer_id == customer)
                .order_by(CustomerChange.at.desc(), CustomerChange.id.desc())
                .limit(changes)
            )
            rows = (await conn.execute(query)).all()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not read customer {customer}: {exc}") from exc
    record["changes"] = [
        {
            "at": r.at.isoformat(),
            "token_id": r.token_id,
            "token_label": r.token_label,
            "role": r.role,
            "agent_id": r.actor_agent_id,
            "changes": r.changes,
        }
        for r in rows
    ]
    return record


async def search(
    engine: AsyncEngine, *, number: str = "", prefix: str = "", limit: int = MAX_SEARCH
) -> list[dict[str, Any]]:
    """Customers with this number (first or further), or whose name starts with ``prefix`` (any case)."""
    query = select(*_COLUMNS)
    if number:
        key = normalise_number(number)
        further = select(CustomerNumber.customer_id).where(CustomerNumber.number.in_([key, "+" + key]))
        query = query.where(or_(Customer.phone_number.in_([key, "+" + key]), Customer.id.in_(further)))
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Customer.name.ilike(escaped + "%", escape="\\"))
    query = query.order_by(Customer.name, Customer.id).limit(limit)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            numbers = await _numbers(conn, [r[0] for r in rows])
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not search customers: {exc}") from exc
    return [_record(r, numbers[r[0]]) for r in rows]


async def _check_numbers(conn: AsyncConnection, customer: uuid.UUID | None, numbers: list[str]) -> None:
    """Raise NumberTaken if another customer has one of ``numbers`` (first or further, with or without '+')."""
    keys = [n for key in numbers for n in (key, "+" + key)]
    owners = union_all(
        select(Customer.phone_number.label("number"), Customer.id.label("owner")).where(
            Customer.phone_number.in_(keys)
        ),
        select(CustomerNumber.number, CustomerNumber.customer_id).where(CustomerNumber.number.in_(keys)),
    ).subquery()
    query = select(owners.c.number, owners.c.owner)
    if customer is not None:
        query = query.where(owners.c.owner != customer)
    row = (await conn.execute(query.limit(1))).first()
    if row is not None:
        raise NumberTaken(normalise_number(row[0]), str(row[1]))


async def _write(conn: AsyncConnection, customer: uuid.UUID, actor: Actor, changes: dict[str, Any]) -> None:
    await conn.execute(
        insert(CustomerChange).values(
            customer_id=customer,
            token_id=actor.token_id,
            token_label=actor.label,
            role=actor.role,
            actor_agent_id=actor.agent_id,
            changes=changes,
            at=func.now(),
        )
    )


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "phone_number" in out:
        out["phone_number"] = normalise_number(out["phone_number"])
    if "numbers" in out:
        out["numbers"] = sorted({normalise_number(n) for n in out["numbers"]} - {out.get("phone_number")})
    return out


async def create(engine: AsyncEngine, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """Add a customer (``values``: ``FIELDS``, ``phone_number`` required). Raises NumberTaken."""
    values = _normalised(values)
    numbers = values.pop("numbers", [])
    try:
        async with engine.begin() as conn:
            await _check_numbers(conn, None, [values["phone_number"], *numbers])
            customer = (await conn.execute(insert(Customer).values(**values).returning(Customer.id))).scalar_one()
            if numbers:
                await conn.execute(insert(CustomerNumber), [{"number": n, "customer_id": customer} for n in numbers])
            record = await _one(conn, customer)
            assert record is not None
            created = {k: {"old": None, "new": record[k]} for k in FIELDS if record[k] not in (None, "", [], False)}
            await _write(conn, customer, actor, created)
    except IntegrityError as exc:  # a number taken meanwhile by another transaction
        raise NumberTaken(values["phone_number"], None) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not add customer: {exc}") from exc
    return record


async def patch(
    engine: AsyncEngine, actor: Actor, customer: uuid.UUID, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Change the given fields only; (old record, new record), or None for an unknown customer.

    ``numbers`` replaces the further numbers. Raises NumberTaken. No history row when nothing changed.
    """
    values = _normalised(values)
    try:
        async with engine.begin() as conn:
            old = await _one(conn, customer)
            if old is None:
                return None
            if "numbers" in values and "phone_number" not in values:
                values["numbers"] = [n for n in values["numbers"] if n != old["phone_number"]]
            numbers = values.pop("numbers", None)
            wanted = [values.get("phone_number", old["phone_number"]), *(numbers or [])]
            await _check_numbers(conn, customer, wanted)
            if values:
                await conn.execute(update(Customer).where(Customer.id == customer).values(**values))
            if numbers is not None:
                await conn.execute(delete(CustomerNumber).where(CustomerNumber.customer_id == customer))
                if numbers:
                    rows = [{"number": n, "customer_id": customer} for n in numbers]
                    await conn.execute(insert(CustomerNumber), rows)
            new = await _one(conn, customer)
            assert new is not None
            changed = {k: {"old": old[k], "new": new[k]} for k in FIELDS if old[k] != new[k]}
            if changed:
                await _write(conn, customer, actor, changed)
    except IntegrityError as exc:
        raise NumberTaken(str(values.get("phone_number", "")), None) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not change customer {customer}: {exc}") from exc
    return old, new
