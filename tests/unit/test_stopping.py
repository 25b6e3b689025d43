"""A stop never waits for ever: a job that does not end when cancelled, a writer that does not finish, a
part whose stop hangs, each is logged with where it was left (and the other tasks' stacks), and the stop
goes on (acd.stopping)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

import pytest

from acd import stopping


async def test_a_job_that_ignores_its_cancel_is_left_behind_and_named(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "STOP_GRACE_SECONDS", 0.2)
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
        await stopping.cancelled(tasks)
    assert time.monotonic() - started < 2.0
    assert tasks[1].cancelled()
    assert "acd-stubborn" in caplog.text and "stubborn" in caplog.text.split("left behind at:")[1]
    release.set()
    await tasks[0]


async def test_a_stop_step_that_hangs_is_cancelled_named_and_the_others_stacks_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "STEP_SECONDS", 0.2)
    never = asyncio.Event()

    async def held_by_another() -> None:
        await never.wait()

    async def waits_on_a_reply() -> None:
        await asyncio.sleep(60)

    other = asyncio.create_task(waits_on_a_reply(), name="acd-call-control")
    order: list[str] = []

    async def next_step() -> None:
        order.append("next")

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="acd"):
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(stopping.bounded("the next part", next_step))
            stack.push_async_callback(stopping.bounded("the AMI link", held_by_another))
    assert time.monotonic() - started < 2.0
    assert order == ["next"]  # the stop went on past the hung step
    text = caplog.text
    assert "the AMI link did not end within" in text and "held_by_another" in text
    assert "acd-call-control" in text and "waits_on_a_reply" in text
    other.cancel()


async def test_a_stop_step_that_fails_raises_as_it_would_have() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await stopping.bounded("a broken part", broken)()


async def test_a_writer_that_does_not_finish_is_logged_and_left(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "STEP_SECONDS", 0.2)
    writer = asyncio.create_task(asyncio.sleep(60), name="acd-writer")
    with caplog.at_level(logging.ERROR, logger="acd"):
        await stopping.awaited("the routing writer", writer)
    assert "the routing writer did not end within" in caplog.text
    assert not writer.done()
    writer.cancel()


async def test_a_writer_that_failed_is_awaited_without_a_never_retrieved_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing() -> None:
        raise RuntimeError("core bug")

    writer = asyncio.create_task(failing())
    with caplog.at_level(logging.ERROR):
        await stopping.awaited("the routing writer", writer)
        assert writer.done()
        del writer
        gc.collect()
    assert "never retrieved" not in caplog.text
    assert "did not end" not in caplog.text
