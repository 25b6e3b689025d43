"""Data retention: what records keep of a person once the window has passed.

For interactions that arrived before the window (``database.caller_retention_days``, 90 if unset),
and the audit entries written before it:

- ``interactions.caller`` is masked: it keeps its last two characters (``+15550123`` → ``*******23``),
  enough to tell calls apart in a dispute, not enough to call anyone back; so is
  ``interactions.callback_number`` (a number keyed in for a callback);
- ``interactions.notes`` (the agent's free text) is cleared;
- ``customer_changes.changes`` (old and new values of a customer record's fields) becomes
  ``{"masked": true}``; who changed which customer, and when, stays;
- ``audit_log.details`` (the request's values: pause reasons, notes, config bodies) becomes
  ``{"masked": true}``; who did what to which target, and when, stays;
- with ``database.customer_numbers = "mask"``, the number of a customer whose calls are all older than
  the window (and who was added before it) is masked the same way, followed by ``#`` and the
  customer's id so that masked numbers stay unique; such a customer is no longer found by number (a
  new call from it is routed as an unknown caller), and its further numbers (``customer_numbers``) are
  deleted (counted with the masked ones). With ``"keep"`` (the default) the customer
  directory is left alone: it is data the business keeps on purpose, for VIP routing.

Masking is idempotent. The record store knows masked numbers (``matches_masked``), so a late replay of
an old snapshot is not taken for an id clash, and it cannot unmask a row either: a replay carries the
same ``seq``, which never overwrites.

Applied daily by the service and on demand by ``acd mask-callers`` (``acd.records.cli.mask_callers``).

Recordings have a window of their own (``[recordings] retention_days``): ``delete_recordings``
deletes the files of calls recorded before it and sets ``recordings.deleted_at``; the interaction
row, and the recording's row (its length, checksum and pauses), stay. Applied daily by the service
and on demand by ``acd delete-recordings`` (``acd.records.cli.delete_recordings``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

KEEP = 2
_MASK_SQL = f"repeat('*', greatest(length(caller) - {KEEP}, 0)) || right(caller, {KEEP})"
_MASKED_DETAILS = """'{"masked": true}'::jsonb"""
_NUMBER_MASK_SQL = _MASK_SQL.replace("caller", "c.phone_number") + " || '#' || c.id::text"

# Each step: (what it counts, the rows it would change, the change). All take :before.
_STEPS: tuple[tuple[str, str, str], ...] = (
    (
        "notes",
        "FROM interactions WHERE arrived_at < :before AND notes IS NOT NULL",
        "UPDATE interactions SET notes = NULL WHERE arrived_at < :before AND notes IS NOT NULL",
    ),
    (
        "customer_changes",
        f"FROM customer_changes WHERE at < :before AND changes <> {_MASKED_DETAILS}",
        f"UPDATE customer_changes SET changes = {_MASKED_DETAILS} WHERE at < :before AND changes <> {_MASKED_DETAILS}",
    ),
    (
        "audit_details",
        f"FROM audit_log WHERE at < :before AND details <> {_MASKED_DETAILS} AND details <> '{{}}'::jsonb",
        f"UPDATE audit_log SET details = {_MASKED_DETAILS} "
        f"WHERE at < :before AND details <> {_MASKED_DETAILS} AND details <> '{{}}'::jsonb",
    ),
)
_CUSTOMERS_WHERE = (
    "c.created_at < :before AND strpos(c.phone_number, '#') = 0"
    " AND EXISTS (SELECT 1 FROM interactions i WHERE i.customer_id = c.id)"
    " AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.customer_id = c.id AND i.arrived_at >= :before)"
)


@dataclass(frozen=True, slots=True)
class Masked:
    """Rows changed (or, in a dry run, that would be) by one retention pass."""

    callers: int = 0
    notes: int = 0
    audit_details: int = 0
    customer_numbers: int = 0
    customer_changes: int = 0

    @property
    def total(self) -> int:
        return sum(astuple(self))

    def __str__(self) -> str:
        return (
            f"{self.callers} caller numbers, {self.notes} notes, {self.audit_details} audit details, "
            f"{self.customer_numbers} customer numbers, {self.customer_changes} customer changes"
        )


def mask(caller: str) -> str:
    """The Python twin of the SQL mask."""
    return "*" * max(len(caller) - KEEP, 0) + caller[-KEEP:] if caller else caller


def matches_masked(stored: str, caller: str) -> bool:
    """True if ``stored`` is ``caller``, or ``caller`` masked."""
    return stored == caller or stored == mask(caller)


async def mask_callers(engine: AsyncEngine, before: datetime, *, dry_run: bool = False) -> int:
    """Mask callers of interactions that arrived before ``before``; return how many rows changed."""
    keyed = _MASK_SQL.replace("caller", "callback_number")  # a number keyed in for a callback, likewise
    where = f"arrived_at < :before AND (caller <> {_MASK_SQL} OR callback_number <> {keyed})"
    async with engine.begin() as conn:
        if dry_run:
            found = await conn.execute(text(f"SELECT count(*) FROM interactions WHERE {where}"), {"before": before})
            return int(found.scalar_one())
        done = await conn.execute(
            text(f"UPDATE interactions SET caller = {_MASK_SQL}, callback_number = {keyed} WHERE {where}"),
            {"before": before},
        )
        return int(done.rowcount)


async def apply_retention(
    engine: AsyncEngine, before: datetime, *, customer_numbers: str = "keep", dry_run: bool = False
) -> Masked:
    """Mask what the retention policy (module docstring) says of everything before ``before``."""
    callers = await mask_callers(engine, before, dry_run=dry_run)
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        for name, rows, change in _STEPS:
            sql = f"SELECT count(*) {rows}" if dry_run else change
            done = await conn.execute(text(sql), {"before": before})
            counts[name] = int(done.scalar_one()) if dry_run else int(done.rowcount)
        if customer_numbers == "mask":
            # further numbers first (while the first number is still unmasked): they are deleted
            further = (
                f"customer_numbers n WHERE n.customer_id IN (SELECT c.id FROM customers c WHERE {_CUSTOMERS_WHERE})"
            )
            sql = f"SELECT count(*) FROM {further}" if dry_run else f"DELETE FROM {further}"
            done = await conn.execute(text(sql), {"before": before})
            extra = int(done.scalar_one()) if dry_run else int(done.rowcount)
            sql = (
                f"SELECT count(*) FROM customers c WHERE {_CUSTOMERS_WHERE}"
                if dry_run
                else f"UPDATE customers c SET phone_number = {_NUMBER_MASK_SQL} WHERE {_CUSTOMERS_WHERE}"
            )
            done = await conn.execute(text(sql), {"before": before})
            counts["customer_numbers"] = extra + (int(done.scalar_one()) if dry_run else int(done.rowcount))
    return Masked(callers=callers, **counts)


_RECORDING_FILE = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}\.wav")


async def delete_recordings(engine: AsyncEngine, before: datetime, directory: Path, *, dry_run: bool = False) -> int:
    """Delete the files of recordings started before ``before`` (the rows stay, with ``deleted_at``);
    return how many. A file already gone counts too: its row is marked all the same."""
    where = "started_at < :before AND deleted_at IS NULL"
    async with engine.begin() as conn:
        if dry_run:
            found = await conn.execute(text(f"SELECT count(*) FROM recordings WHERE {where}"), {"before": before})
            return int(found.scalar_one())
        rows = (
            await conn.execute(text(f"SELECT id, file FROM recordings WHERE {where} FOR UPDATE"), {"before": before})
        ).all()
        for _, name in rows:
            if _RECORDING_FILE.fullmatch(name):  # the schema says so too: never a path
                await asyncio.to_thread((directory / name).unlink, missing_ok=True)
        if rows:
            await conn.execute(
                text("UPDATE recordings SET deleted_at = :now WHERE id = ANY(:ids)"),
                {"now": datetime.now(UTC), "ids": [row[0] for row in rows]},
            )
        return len(rows)
