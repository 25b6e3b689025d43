"""A pump's task that ends by itself stops the service, failed: its PBX would no longer be routed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from acd.service import Service


async def _dies() -> None:
    raise RuntimeError("a bug")


async def _waits() -> None:
    await asyncio.sleep(10)


async def test_a_pump_that_ends_stops_the_service_and_one_cancelled_does_not() -> None:
    service = Service(cast(Any, SimpleNamespace()))
    cancelled = asyncio.create_task(_waits())
    cancelled.add_done_callback(service._pump_ended)
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    await asyncio.sleep(0)
    assert not service._stopping.is_set() and not service.failed
    dead = asyncio.create_task(_dies(), name="acd-ami-pump")
    dead.add_done_callback(service._pump_ended)
    await asyncio.gather(dead, return_exceptions=True)
    await asyncio.sleep(0)
    assert service._stopping.is_set() and service.failed
