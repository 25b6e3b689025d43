"""Caller number → customer, for ``CallArrived.customer`` (the tier drives the VIP boost).

The directory sits on the path from Asterisk to the routing core, so it must never hold a call up
for long and never fail one: a customer is an enrichment, a call without one is still routed.
``lookup`` therefore answers within ``timeout`` seconds, and on a timeout or any database error it
answers None, counts the failure (``failures``) and logs at most once a minute (an outage must not
flood the log at the call rate). Answers, found or not, are cached for ``cache_seconds``: the same
caller often calls twice in a row, and a short cache keeps Postgres out of most lookups.

A lookup that times out is not cancelled: cancelling SQLAlchemy half-way through a checkout or a
query can strand a pooled connection. It goes on in the background (a late answer still fills the
cache). At most ``max_in_flight`` queries run at once (a hung database keeps them all); beyond that,
lookups answer None at once without touching the database until some finish. The default leaves
room for a burst of arrivals (an AMI resync announces every waiting caller at once).

Most contact centers know at most some hundred thousand customers: ``refresh`` then holds the whole
table in memory (reloaded well within ``cache_seconds`` by the service's job, ``acd.jobs``), and a
lookup is a dictionary read that never touches the database on the path of a call. A larger table,
or a refresh that failed for longer than ``cache_seconds``, falls back to the per-call queries above.

A customer is found by its first number (``customers.phone_number``) or by any of its further ones
(``customer_numbers``); a change made through the API is told to the directory at once (``learn``).

Phone numbers are compared after ``normalise_number``: spaces, tabs and dashes removed, and one
leading ``+`` removed, so ``+1 555-0100`` and ``15550100`` are the same caller. The ``customers``
table holds numbers in that form (``upsert_customer`` writes them so); a stored ``+15550100`` written
by another tool is found too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import Customer
from acd.records.errors import DatabaseUnavailable
from acd.records.models import CUSTOMER_TIERS

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60.0
MAX_CACHED = 10_000

_LOOKUP_SQL = text("""
SELECT id::text, name, tier FROM (
  SELECT id, name, tier, 0 AS rank FROM customers WHERE phone_number = :number
  UNION ALL SELECT id, name, tier, 1 FROM customers WHERE phone_number = '+' || :number
  UNION ALL SELECT c.id, c.name, c.tier, 2 FROM customer_numbers n JOIN customers c ON c.id = n.customer_id
    WHERE n.number IN (:number, '+' || :number)
) found
ORDER BY rank
LIMIT 1
""")

# Further numbers first, then '+'-prefixed first numbers, then exact first numbers: the later wins.
_ALL_SQL = text("""
SELECT number, id::text, name, tier FROM (
  SELECT n.number, c.id, c.name, c.tier, 0 AS rank FROM customer_numbers n JOIN customers c ON c.id = n.customer_id
  UNION ALL SELECT phone_number, id, name, tier, CASE WHEN phone_number LIKE '+%' THEN 1 ELSE 2 END FROM customers
) everyone
ORDER BY rank, number
LIMIT :limit
""")

_UPSERT_SQL = text("""
INSERT INTO customers (phone_number, name, tier) VALUES (:number, :name, :tier)
ON CONFLICT (phone_number) DO UPDATE SET name = excluded.name, tier = excluded.tier
RETURNING id::text, xmax = 0 AS inserted
""")


def normalise_number(number: str) -> str:
    """Spaces, tabs and dashes out, one leading '+' out: the form ``customers.phone_number`` holds."""
    bare = number.replace(" ", "").replace("\t", "").replace("-", "")
    return bare.removeprefix("+")


class CustomerDirectory:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout: float = 0.2,
        cache_seconds: float = 60.0,
        max_in_flight: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine  # the "customers" pool (acd.database): pinged, and quick to give up a connect
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._cache: dict[str, tuple[float, Customer | None]] = {}
        self._running: dict[str, asyncio.Task[Customer | None]] = {}
        self._last_logged: float | None = None
        self._unlogged = 0
        self._everyone: dict[str, Customer] | None = None  # the whole table, when it is small enough
        self._everyone_until = 0.0
        self.failures = 0  # lookups answered None because the directory could not tell
        self.queries = 0  # lookups that went to Postgres (the rest came from the cache)

    def known(self, number: str) -> tuple[bool, Customer | None]:
        """The answer ``lookup`` gives without a query, when it has one: (True, the customer or None);
        (False, None) when only a query can tell. The AMI pump takes a caller's event in the read itself
        when it can (acd.ami.pump), and only then."""
        key = normalise_number(number)
        if not key:
            return True, None
        if self._everyone is not None and self._everyone_until > self._clock():
            return True, self._everyone.get(key)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return True, cached[1]
        return False, None

    async def lookup(self, number: str) -> Customer | None:
        """The customer for a caller number, or None: unknown, withheld, or the database failed."""
        key = normalise_number(number)
        if not key:
            return None
        if self._everyone is not None and self._everyone_until > self._clock():
            return self._everyone.get(key)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        task = self._running.get(key)  # the same caller twice at once: one query
        if task is None:
            if len(self._running) >= self._max_in_flight:
                self._failed(f"{len(self._running)} lookups still running")
                return None
            task = asyncio.create_task(self._query(key), name="customer-lookup")
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(task)
        except TimeoutError:
            self._failed(f"no answer within {self._timeout:.3f}s")
        except Exception as exc:  # whatever it is, the call must still be routed
            # The first line only: SQLAlchemy appends the statement's parameters, the caller's number.
            first_line = next(iter(str(exc).splitlines()), "")
            self._failed(f"{type(exc).__name__}: {first_line}")
        return None

    async def refresh(self, limit: int = 200_000) -> bool:
        """Hold the whole customer table in memory if it has at most ``limit`` rows; True if it does.

        Raises nothing: a failed refresh keeps the previous copy until it expires.
        """
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(_ALL_SQL, {"limit": limit + 1})).all()
        except Exception as exc:
            log.warning("customer table not reloaded: %s", next(iter(str(exc).splitlines()), ""))
            return False
        if len(rows) > limit:
            self._everyone = None
            return False
        # in the query's order, so a first number wins over a further one, and an exact (normalised)
        # match over a '+'-prefixed copy of the same number
        self._everyone = {normalise_number(r[0]): Customer(r[1], r[2], r[3]) for r in rows}
        self._everyone_until = self._clock() + self._cache_seconds
        return True

    def learn(self, numbers: dict[str, Customer | None]) -> None:
        """A record changed (``acd.records.stores.customer_records``): these numbers now find these
        customers (None: nobody), so the next call from one shows it without waiting for a reload."""
        expires = self._clock() + self._cache_seconds
        for number, customer in numbers.items():
            key = normalise_number(number)
            if not key:
                continue
            self._cache.pop(key, None)
            if len(self._cache) >= MAX_CACHED:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = (expires, customer)
            if self._everyone is not None:
                if customer is None:
                    self._everyone.pop(key, None)
                else:
                    self._everyone[key] = customer

    async def close(self) -> None:
        """Give running lookups a moment, then stop them; dispose the engine if it is ours."""
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _query(self, key: str) -> Customer | None:
        self.queries += 1
        async with self._engine.connect() as conn:
            row = (await conn.execute(_LOOKUP_SQL, {"number": key})).first()
        return None if row is None else Customer(row[0], row[1], row[2])

    def _finished(self, key: str, task: asyncio.Task[Customer | None]) -> None:
        self._running.pop(key, None)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so a straggler's error is never "never retrieved"
        if exc is not None:
            log.debug("customer lookup failed: %s", exc)
            return
        self._cache.pop(key, None)  # re-inserted at the end: the dict's order is the order of expiry
        if len(self._cache) >= MAX_CACHED:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = (self._clock() + self._cache_seconds, task.result())

    def _failed(self, reason: str) -> None:
        self.failures += 1
        self._unlogged += 1
        now = self._clock()
        if self._last_logged is None or now - self._last_logged >= LOG_EVERY_SECONDS:
            log.warning(
                "customer lookup failed (%s); %d failure(s) since the last warning; calls are "
                "routed without customer data",
                reason,
                self._unlogged,
            )
            self._last_logged = now
            self._unlogged = 0


async def upsert_customer(engine: AsyncEngine, number: str, name: str, tier: str) -> tuple[str, bool]:
    """Add a customer, or update the name and tier of the one with this number. Returns (id, added).

    Raises ValueError for a number that is empty once normalised or an unknown tier, and
    DatabaseUnavailable when Postgres cannot be reached.
    """
    key = normalise_number(number)
    if not key:
        raise ValueError(f"{number!r} is not a phone number")
    if tier not in CUSTOMER_TIERS:
        raise ValueError(f"tier {tier!r} is not one of {', '.join(CUSTOMER_TIERS)}")
    try:
        async with engine.begin() as conn:
            row: Any = (await conn.execute(_UPSERT_SQL, {"number": key, "name": name, "tier": tier})).one()
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"could not save customer {key}: {exc}") from exc
    return str(row[0]), bool(row[1])
