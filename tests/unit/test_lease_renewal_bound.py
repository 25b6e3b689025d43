"""A renewal gives up at its budget, whatever the driver does then: a query cancelled on a silent socket
can take the driver seconds more to give up (its cleanup waits on the same socket), and a leader that a
standby could replace must step down at its deadline, not that much later (docs/standby.md, "Margins";
seen on the real PBX: the step-down logged 1.5 s past the deadline)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.lease import LeaseTimes
from acd.leadership import Leadership


async def slow_to_give_up() -> Any:
    """A query on a silent socket: never answered, and its cancellation takes 2 s to return."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.shield(asyncio.sleep(2.0))
        raise


async def test_a_renewal_on_a_silent_socket_steps_down_at_the_deadline() -> None:
    times = LeaseTimes(lease=0.6, renew=0.1, margin=0.2)
    member = Leadership(cast(AsyncEngine, None), "host-a:8080", times=times)
    stepped: list[float] = []
    member.on_step_down = lambda epoch: stepped.append(time.monotonic())

    async def renewal(params: dict[str, object]) -> Any:
        return await slow_to_give_up()

    member._renewal = renewal  # type: ignore[method-assign]
    began = time.monotonic()
    member.lease.won(3, began, alone=False)  # a standby was seen: the deadline holds, 0.4 s from now
    await member.renew()
    member.check()
    assert stepped, "the renewal returned, but the leader still leads past its deadline"
    assert stepped[0] - began < 0.4 + 0.3  # the deadline, not the driver's 2 s on top


async def test_a_renewal_in_flight_ends_with_the_elector_and_never_lands_after_the_release() -> None:
    """A stop or a handover cancels the elector, then releases the lease: the renewal it had in flight must
    be cancelled with it (a renewal landing after the release would extend the lease again)."""
    member = Leadership(cast(AsyncEngine, None), "host-a:8080", times=LeaseTimes(lease=3.0, renew=0.5, margin=1.0))
    seen: list[str] = []
    started = asyncio.Event()

    async def renewal(params: dict[str, object]) -> Any:
        started.set()
        try:
            await asyncio.sleep(1.0)  # waiting for a pool connection, or for PostgreSQL's answer
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        seen.append("landed")

    member._renewal = renewal  # type: ignore[method-assign]
    member.lease.won(3, time.monotonic(), alone=True)
    elector = asyncio.create_task(member.renew())
    await started.wait()
    elector.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await elector
    assert seen == ["cancelled"]  # ended with the elector, before the release that follows
    await asyncio.sleep(1.2)
    assert seen == ["cancelled"]
