"""The ACD as tests build it: ``acd.bootstrap.build``, as the service does, with the fakes a test wants.

``running`` runs the one writer for the test and, after it, drains it and closes what the parts hold
(audit log, database pools, AMI link). ``settings_for`` (settings around a routing config) is
``acd.bootstrap``'s, here too for the tests' convenience.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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


__all__ = ["running", "settings_for"]
