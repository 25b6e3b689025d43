"""The ACD as tests build it: ``acd.bootstrap.build``, as the service does, with the fakes a test wants.

``running`` runs the one writer for the test and, after it, drains it and closes what the parts hold
(audit log, database pools, AMI link). ``settings_for`` (settings around a routing config) is
``acd.bootstrap``'s, here too for the tests' convenience. ``in_background`` runs a task (a fake's
pump, a heartbeat) for the length of a block.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from acd.bootstrap import Parts, settings_for


@contextlib.asynccontextmanager
async def running(parts: Parts) -> AsyncIterator[Parts]:
    writer = asyncio.create_task(parts.runtime.run())
    try:
        yield parts
    finally:
        parts.runtime.drain()
        await writer
        if parts.audit is not None:
            await parts.audit.close()
        if parts.link is not None:
            await parts.link.close()
        if parts.database is not None:
            await parts.database.close()


@contextlib.asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``work`` as a task while the block runs; cancel it after."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["in_background", "running", "settings_for"]
