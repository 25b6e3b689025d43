"""A stop never waits for ever on a job that does not end when cancelled: it is logged with where it
was left, and the stop goes on (acd.service._cancelled)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from acd import service


async def test_a_job_that_ignores_its_cancel_is_left_behind_and_named(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service, "STOP_GRACE_SECONDS", 0.2)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.05)

    async def polite() -> None:
        await asyncio.sleep(60)

    tasks = [asyncio.create_task(stubborn(), name="acd-stubborn"), asyncio.create_task(polite(), name="acd-polite")]
    await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="acd"):
        await service._cancelled(tasks)
    assert time.monotonic() - started < 2.0
    assert tasks[1].cancelled()
    assert "acd-stubborn" in caplog.text and "stubborn" in caplog.text.split("left behind at:")[1]
    release.set()
    await tasks[0]
