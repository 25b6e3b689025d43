"""The pump takes an event inside the link's read while it waits (docs/architecture.md, "The ring path").

A caller whose customer is held in memory reaches the writer inside the read itself; one whose customer
takes a query goes on in the pump's task, and every event read after it waits behind it: the order in
which the writer gets the events is the order they were read.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from acd.ami.link import AmiLink
from acd.ami.pump import Pump
from acd.ami.settings import LinkSettings
from acd.core.events import CallArrived, Customer, Event


class _Runtime:
    def __init__(self) -> None:
        self.delivered: list[str] = []

    def deliver(self, event: Event) -> bool:
        assert isinstance(event, CallArrived)
        self.delivered.append(event.call_id)
        return True


class _Translator:
    def translate(self, msg: dict[str, str], pbx: str) -> list[Event]:
        return [CallArrived(msg["Call"], "billing", 5, caller=msg["Caller"])]


class _Control:
    def observe(self, msg: dict[str, str]) -> None:
        pass


class _Counter:
    def labels(self, **labels: str) -> _Counter:
        return self

    def inc(self) -> None:
        pass


class _Metrics:
    ami_events = _Counter()


class _Customers:
    """``555`` is held in memory; any other number takes a query."""

    def known(self, number: str) -> tuple[bool, Customer | None]:
        return (True, None) if number == "555" else (False, None)

    async def lookup(self, number: str) -> Customer | None:
        await asyncio.sleep(0.02)
        return None


def _message(call: str, caller: str) -> dict[str, str]:
    return {"Event": "UserEvent", "UserEvent": "AcdEnqueue", "Call": call, "Caller": caller}


async def test_a_caller_is_taken_in_the_read_and_one_that_needs_a_query_keeps_the_order() -> None:
    link = AmiLink(LinkSettings())
    runtime = _Runtime()
    pump = Pump(
        link=link,
        control=cast(Any, _Control()),
        translator=cast(Any, _Translator()),
        runtime=cast(Any, runtime),
        metrics=cast(Any, _Metrics()),
        keeper=cast(Any, None),
        customers=_Customers(),
    )
    task = asyncio.create_task(pump.run())
    await asyncio.sleep(0.01)  # the pump waits on the empty queue
    # each ``_on_event`` as the session calls it, inside a read; no await between it and the check
    link._on_event(_message("a", "555"))
    assert runtime.delivered == ["a"]  # delivered in the read itself: no queue, no turn of the loop
    link._on_event(_message("b", "777"))  # its customer takes a query: the pump's task goes on with it
    link._on_event(_message("c", "555"))  # read after b: waits behind it
    assert runtime.delivered == ["a"]
    await asyncio.sleep(0.1)
    assert runtime.delivered == ["a", "b", "c"]
    link._on_event(_message("d", "555"))  # the queue is empty again: in the read
    assert runtime.delivered == ["a", "b", "c", "d"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert link.direct is None  # a pump that stops takes nothing any more


class _Flaky(_Runtime):
    """Fails on call ``bad``, as a bug in the handling would."""

    def deliver(self, event: Event) -> bool:
        assert isinstance(event, CallArrived)
        if event.call_id == "bad":
            raise RuntimeError("a bug")
        return super().deliver(event)


def _pump(link: AmiLink, runtime: _Runtime, customers: object) -> Pump:
    return Pump(
        link=link,
        control=cast(Any, _Control()),
        translator=cast(Any, _Translator()),
        runtime=cast(Any, runtime),
        metrics=cast(Any, _Metrics()),
        keeper=cast(Any, None),
        customers=cast(Any, customers),
    )


async def test_an_error_on_an_event_is_counted_and_the_pump_goes_on_in_the_read_and_in_its_task() -> None:
    link = AmiLink(LinkSettings())
    runtime = _Flaky()
    pump = _pump(link, runtime, _Customers())
    task = asyncio.create_task(pump.run())
    await asyncio.sleep(0.01)
    link._on_event(_message("bad", "555"))  # in the read
    link._on_event(_message("a", "555"))
    assert runtime.delivered == ["a"]
    assert pump.failures == 1
    link._on_event(_message("bad", "777"))  # in the pump's task (its customer takes a query)
    link._on_event(_message("b", "555"))
    await asyncio.sleep(0.1)
    assert not task.done()  # the pump goes on
    assert runtime.delivered == ["a", "b"]
    assert pump.failures == 2
    link._on_event(_message("c", "555"))
    assert runtime.delivered == ["a", "b", "c"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class _NoKnown:
    async def lookup(self, number: str) -> Customer | None:
        return None


class _KnownFails(_NoKnown):
    def known(self, number: str) -> tuple[bool, Customer | None]:
        raise RuntimeError("a bug")


async def test_a_directory_without_known_or_whose_known_fails_loses_no_caller() -> None:
    for customers in (_NoKnown(), _KnownFails()):
        link = AmiLink(LinkSettings())
        runtime = _Runtime()
        pump = _pump(link, runtime, customers)
        task = asyncio.create_task(pump.run())
        await asyncio.sleep(0.01)
        link._on_event(_message("a", "555"))
        await asyncio.sleep(0.01)
        assert runtime.delivered == ["a"]  # looked up in the pump's task instead
        assert pump.failures == 0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_stopped_pump_takes_nothing_in_the_read() -> None:
    link = AmiLink(LinkSettings())
    runtime = _Runtime()
    pump = _pump(link, runtime, _Customers())
    task = asyncio.create_task(pump.run())
    await asyncio.sleep(0.01)
    pump.stop()  # the service stops it before it cancels its task
    link._on_event(_message("a", "555"))  # read before the cancel lands
    assert runtime.delivered == []
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
