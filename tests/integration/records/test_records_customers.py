"""The customer directory on a real PostgreSQL: look-ups, their cache, outages, and a customer's history.

The directory sits on the path of every arriving call, so beside "finds the customer" the tests pin
down "never holds a call up": a stopped or silent database answers None within the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import io
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from record_samples import CONFIG, T0
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.acd import Acd
from acd.core.commands import RecordCommand, RingAgent
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, Customer, DispositionSet, Event, OfferAnswered
from acd.core.ids import interaction_id
from acd.core.record_types import InteractionRecord, Record
from acd.database import Database
from acd.records.cli import customers as customers_cli
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.sync_config import sync_config
from acd.records.stores import customer_records
from acd.records.stores.customers import CustomerDirectory, normalise_number, upsert_customer
from acd.records.stores.history import customer_history

pytestmark = pytest.mark.pg


class FakeClock:
    """The directory's clock (cache expiry, log rate), moved by hand so no test sleeps for a minute."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("+1 555-0100", "15550100"),
        ("15550100", "15550100"),
        (" +44 20 7946-0000 ", "442079460000"),
        ("++1", "+1"),
        ("", ""),
        (" - ", ""),
    ],
)
def test_numbers_lose_spaces_dashes_and_one_leading_plus(raw: str, normal: str) -> None:
    assert normalise_number(raw) == normal


async def test_lookup_finds_a_customer_by_any_spelling_of_the_number(engine: AsyncEngine) -> None:
    ada, added = await upsert_customer(engine, "+1 555-0100", "Ada", "vip")
    assert added
    async with engine.begin() as conn:  # written by another tool, in E.164 with its '+'
        await conn.execute(text("INSERT INTO customers (phone_number, name) VALUES ('+15550200', 'Bob')"))
    directory = CustomerDirectory(engine)
    try:
        assert await directory.lookup("15550100") == Customer(ada, "Ada", "vip")
        assert await directory.lookup("+1-555-0100") == Customer(ada, "Ada", "vip")
        bob = await directory.lookup("1 555 0200")
        assert bob is not None and (bob.name, bob.tier) == ("Bob", "standard")
        assert await directory.lookup("15550300") is None
        assert await directory.lookup("") is None  # withheld number: no query at all
        assert directory.queries == 3 and directory.failures == 0
    finally:
        await directory.close()

    same, added = await upsert_customer(engine, "15550100", "Ada L.", "premium")
    assert (same, added) == (ada, False)  # an update keeps the id: the history stays the customer's
    with pytest.raises(ValueError, match="tier"):
        await upsert_customer(engine, "15550100", "Ada", "platinum")


async def test_answers_found_or_not_are_cached_until_they_expire(engine: AsyncEngine) -> None:
    ada, _ = await upsert_customer(engine, "15550100", "Ada", "vip")
    clock = FakeClock()
    directory = CustomerDirectory(engine, cache_seconds=60.0, clock=clock)
    try:
        assert await directory.lookup("15550100") == Customer(ada, "Ada", "vip")
        assert await directory.lookup("15550999") is None
        await upsert_customer(engine, "15550100", "Ada", "standard")
        carl, _ = await upsert_customer(engine, "15550999", "Carl", "premium")

        clock.now += 59.0
        assert await directory.lookup("+1 555-0100") == Customer(ada, "Ada", "vip")  # cached, same key
        assert await directory.lookup("15550999") is None  # the negative answer is cached too
        assert directory.queries == 2

        clock.now += 2.0
        assert await directory.lookup("15550100") == Customer(ada, "Ada", "standard")
        assert await directory.lookup("15550999") == Customer(carl, "Carl", "premium")
        assert directory.queries == 4
    finally:
        await directory.close()


async def test_stopped_postgres_answers_none_at_once_counts_and_recovers(
    pg: EmbeddedPostgres, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    ada, _ = await upsert_customer(engine, "15550100", "Ada", "vip")
    bob, _ = await upsert_customer(engine, "15550200", "Bob", "standard")
    clock = FakeClock()
    database = Database(pg.url)
    directory = CustomerDirectory(database.pool("customers"), clock=clock)  # its own pool, as the service has
    try:
        assert await directory.lookup("15550100") == Customer(ada, "Ada", "vip")
        await asyncio.to_thread(pg.stop)
        caplog.set_level(logging.WARNING, logger="acd.records.stores.customers")

        slowest = 0.0
        for _ in range(5):
            began = time.perf_counter()
            assert await directory.lookup("15550200") is None
            slowest = max(slowest, time.perf_counter() - began)
        assert slowest < 0.5, f"a lookup took {slowest:.3f}s with Postgres stopped"
        assert directory.failures == 5
        assert await directory.lookup("15550100") == Customer(ada, "Ada", "vip")  # the cache still answers
        assert directory.failures == 5
        warnings = [r for r in caplog.records if r.name == "acd.records.stores.customers"]
        assert len(warnings) == 1, "an outage logs once a minute, not once a call"

        clock.now += 61.0  # a minute on: one more warning, saying how many it stood for
        assert await directory.lookup("15550200") is None
        warnings = [r for r in caplog.records if r.name == "acd.records.stores.customers"]
        assert len(warnings) == 2 and "5 failure(s)" in warnings[-1].getMessage()  # 4 held back + this one

        await asyncio.to_thread(pg.start)
        assert await directory.lookup("15550200") == Customer(bob, "Bob", "standard")
        assert directory.failures == 6
    finally:
        await directory.close()
        await database.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word: a hung or black-holed database."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


async def test_a_silent_database_costs_a_call_at_most_the_timeout() -> None:
    with silent_server() as port:
        database = Database(f"postgresql+asyncpg://acd:pw@127.0.0.1:{port}/acd")
        directory = CustomerDirectory(database.pool("customers"), timeout=0.1, max_in_flight=4)
        try:
            began = time.perf_counter()
            answers = await asyncio.gather(*(directory.lookup(f"1555{i:04d}") for i in range(20)))
            took = time.perf_counter() - began
            assert answers == [None] * 20
            assert took < 0.3, f"20 concurrent lookups took {took:.3f}s against a silent server"
            assert directory.failures == 20
            assert directory.queries == 4  # beyond 4 in flight the database is not even tried

            began = time.perf_counter()
            assert await directory.lookup("16660000") is None  # the slots are still taken: at once
            assert time.perf_counter() - began < 0.05
        finally:
            await directory.close()
            await database.close()


async def test_customers_add_command_adds_then_updates_with_history(
    pg: EmbeddedPostgres, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def run_in_thread(*argv: str) -> tuple[int, str]:  # main() runs its own event loop
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = customers_cli.main(list(argv))
        return code, out.getvalue()

    async def run(*argv: str) -> tuple[int, str]:
        return await asyncio.to_thread(run_in_thread, *argv)

    code, out = await run("add", "--number", "+1 555-0100", "--name", "Ada", "--tier", "vip", "--database-url", pg.url)
    assert code == 0 and out.startswith("added customer ") and "15550100" in out
    customer_id = out.split()[2].rstrip(":")
    # the embedded server by its folder, as `acd report` does; it was running, so it stays running
    code, out = await run("add", "--number", "15550100", "--name", "Ada L.", "--data-dir", str(pg.data_dir))
    assert code == 0 and out.startswith(f"updated customer {customer_id}:")
    assert pg.is_running()
    # each add or change is in the customer's history, by the operator who ran the command
    code, out = await run("add", "--number", "15550100", "--name", "Ada L.", "--database-url", pg.url)
    assert code == 0 and out.startswith(f"updated customer {customer_id}:")  # the same again: no change
    who = f"cli:{getpass.getuser()}"
    record = await customer_records.get(engine, uuid.UUID(customer_id))
    assert record is not None
    assert [(c["token_id"], c["role"], c["agent_id"], c["token_label"]) for c in record["changes"]] == [
        (who, "operator", None, "acd customers add"),
        (who, "operator", None, "acd customers add"),
    ]
    assert [c["changes"] for c in record["changes"]] == [
        {"name": {"old": "Ada", "new": "Ada L."}, "tier": {"old": "vip", "new": "standard"}},
        {
            "phone_number": {"old": None, "new": "15550100"},
            "name": {"old": None, "new": "Ada"},
            "tier": {"old": None, "new": "vip"},
        },
    ]
    code, _ = await run(
        "add", "--number", "1", "--name", "X", "--database-url", "postgresql+asyncpg://x:y@127.0.0.1:1/z"
    )
    assert code == 1
    with pytest.raises(SystemExit):
        await run("add", "--number", "+", "--name", "Nobody")
    with pytest.raises(SystemExit):
        await run("add", "--number", "1", "--name", "X", "--tier", "platinum")


def call(
    core: Acd, now: float, customer: Customer | None, caller: str, linkedid: str, disposition: tuple[str, str] | None
) -> list[Record]:
    """One call through the real core: arrive, ring a1, answer, talk, and maybe a disposition after."""
    call_id = interaction_id(linkedid)
    records: list[Record] = []

    def send(event: Event, at: float) -> list[RingAgent]:
        commands = core.handle(event, at)
        records.extend(c.record for c in commands if isinstance(c, RecordCommand))
        return [c for c in commands if isinstance(c, RingAgent)]

    [ring] = send(CallArrived(call_id, "billing", 5, caller=caller, linkedid=linkedid, customer=customer), now)
    send(OfferAnswered(ring.offer_id), now + 4)
    send(CallEnded(call_id), now + 100)
    if disposition is not None:
        send(DispositionSet(call_id, *disposition), now + 130)
    return records


async def test_a_disposition_lands_on_the_interaction_and_in_the_customers_history(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await sync_config(engine, CONFIG)
    ada, _ = await upsert_customer(engine, "15550100", "Ada", "vip")
    bob, _ = await upsert_customer(engine, "15550200", "Bob", "standard")
    directory = CustomerDirectory(engine)
    try:
        customer = await directory.lookup("+1 555 0100")
        other = await directory.lookup("15550200")
    finally:
        await directory.close()
    assert customer is not None and customer.id == ada and other is not None

    core = Acd(CONFIG)
    core.handle(AgentLoggedIn("a1"), T0)
    records = call(core, T0 + 10, customer, "+15550100", "first", ("callback", "wants a call on Monday"))
    records += call(core, T0 + 1000, other, "+15550200", "bob", ("resolved", ""))
    records += call(core, T0 + 2000, customer, "+15550100", "second", None)
    records += call(core, T0 + 3000, customer, "+15550100", "third", ("sold", "premium plan"))

    first = [r for r in records if isinstance(r, InteractionRecord) and r.interaction_id == interaction_id("first")]
    assert (first[-1].disposition, first[-1].notes) == ("callback", "wants a call on Monday")
    assert first[-1].seq == first[-2].seq + 1 and first[-2].disposition is None

    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    try:
        for record in records:
            box.append(record)
        assert await box.flush(10)
    finally:
        await box.stop()
    assert box.quarantined == 0

    history = await customer_history(engine, ada)
    assert [(h.interaction_id, h.outcome, h.agent_id, h.disposition, h.notes) for h in history] == [
        (interaction_id("third"), "answered", "a1", "sold", "premium plan"),
        (interaction_id("second"), "answered", "a1", None, None),
        (interaction_id("first"), "answered", "a1", "callback", "wants a call on Monday"),
    ]
    assert [h.queue for h in history] == ["billing"] * 3
    assert [h.arrived_at.timestamp() for h in history] == [T0 + 3000, T0 + 2000, T0 + 10]
    assert [h.wait_seconds for h in history] == [4.0, 4.0, 4.0]
    assert [h.interaction_id for h in await customer_history(engine, ada, limit=2)] == [
        interaction_id("third"),
        interaction_id("second"),
    ]
    assert [h.disposition for h in await customer_history(engine, bob)] == ["resolved"]
    assert await customer_history(engine, str(uuid.uuid4())) == []
    with pytest.raises(ValueError):
        await customer_history(engine, "not-a-uuid")


async def test_a_small_customer_table_is_held_in_memory_and_lookups_skip_the_database(engine: AsyncEngine) -> None:
    ada, _ = await upsert_customer(engine, "+1 555-0100", "Ada", "vip")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO customers (phone_number, name) VALUES ('+15550200', 'Bob')"))
    clock = [0.0]
    directory = CustomerDirectory(engine, cache_seconds=60.0, clock=lambda: clock[0])
    try:
        assert await directory.refresh(limit=10)
        assert await directory.lookup("+1-555-0100") == Customer(ada, "Ada", "vip")
        bob = await directory.lookup("15550200")
        assert bob is not None and bob.name == "Bob"
        assert await directory.lookup("15550300") is None
        assert directory.queries == 0  # every answer, found or not, came from memory

        cy, _ = await upsert_customer(engine, "15550300", "Cy", "standard")
        assert await directory.lookup("15550300") is None  # until the next reload
        assert await directory.refresh(limit=10)
        assert await directory.lookup("15550300") == Customer(cy, "Cy", "standard")

        clock[0] = 61.0  # the copy expired (reloads failed): back to queries, still correct
        assert await directory.lookup("15550100") == Customer(ada, "Ada", "vip")
        assert directory.queries == 1

        assert not await directory.refresh(limit=2)  # too many to hold: per-call queries only
        assert await directory.lookup("15550300") == Customer(cy, "Cy", "standard")
        assert directory.queries == 2
    finally:
        await directory.close()
