"""A stop that always ends, and says where it was held.

An ACD that hangs its stop keeps its HTTP port, its journal and (after a handover) its supervisor
waiting, and a hang that leaves no trace cannot be fixed. Every step of the service's stop therefore
runs under a bound: cancelled jobs get ``STOP_GRACE_SECONDS``, the writer and each part's own stop
``STEP_SECONDS``. A step still running past its bound is logged at ERROR with its stack and the stacks
of every other task still alive (the step may be waiting on one of them), then left behind, and the
stop goes on with the next step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("acd")

# how long a stop waits for its cancelled jobs before it logs and leaves them
STOP_GRACE_SECONDS = 5.0
# how long one step of a stop (the writer's drain, the outbox's last flush, the AMI link's close...) may
# take: the longest legitimate one is the outbox's flush, bounded at 5 s by itself
STEP_SECONDS = 10.0
# the embedded PostgreSQL's own stop waits up to 60 s for its server (pg_ctl -t 60)
EMBEDDED_STOP_SECONDS = 70.0
# a step that took this long is named in the log (a stop is a few hundred milliseconds when all is well)
SLOW_STEP_SECONDS = 1.0


def _stack(task: asyncio.Task[None] | asyncio.Task[object]) -> str:
    """Where the task waits, outermost first, down the chain of awaits (``Task.get_stack`` stops at the
    task's own coroutine, which names only the first of them)."""
    lines: list[str] = []
    link: object = task.get_coro()
    while link is not None and len(lines) < 50:
        frame = getattr(link, "cr_frame", None) or getattr(link, "gi_frame", None)
        if frame is not None:
            lines.append(f"\n  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        link = getattr(link, "cr_await", None) or getattr(link, "gi_yieldfrom", None)
    return "".join(lines)


def _others(skip: Iterable[asyncio.Task[object]]) -> str:
    left = set(skip) | {asyncio.current_task()}
    return "".join(
        f"\n task {task.get_name()}:{_stack(task)}"
        for task in sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
        if task not in left
    )


async def cancelled(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for ``tasks``, cancelled, for ``STOP_GRACE_SECONDS`` at most; log any still running, with its stack."""
    if not tasks:
        return
    began = time.monotonic()
    ended: dict[str, float] = {}
    for task in tasks:
        task.add_done_callback(lambda t: ended.setdefault(t.get_name(), time.monotonic() - began))
    _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
    slow = sorted((took, name) for name, took in ended.items() if took >= SLOW_STEP_SECONDS)
    if slow:
        log.warning("stopping: slow to end once cancelled: %s", ", ".join(f"{n} {t:.1f} s" for t, n in slow))
    for task in pending:
        log.error(
            "stopping: job %s did not end within %g s of its cancel; left behind at:%s",
            task.get_name(),
            STOP_GRACE_SECONDS,
            _stack(task),
        )


async def awaited(name: str, task: asyncio.Task[None]) -> None:
    """Wait for a task that is ending by itself (the writer after its drain) for ``STEP_SECONDS`` at most.
    Its failure is the caller's to read from the task; a task still running then is logged and left."""
    began = time.monotonic()
    done, _ = await asyncio.wait({task}, timeout=STEP_SECONDS)
    if done:
        if (took := time.monotonic() - began) >= SLOW_STEP_SECONDS:
            log.warning("stopping: %s took %.1f s", name, took)
        if not task.cancelled():
            task.exception()  # read here, so asyncio does not report it as never retrieved
        return
    log.error(
        "stopping: %s did not end within %g s; left behind at:%s\nother tasks:%s",
        name,
        STEP_SECONDS,
        _stack(task),
        _others({task}),
    )


def bounded(
    name: str, step: Callable[[], Awaitable[object]], limit: float | None = None
) -> Callable[[], Awaitable[None]]:
    """``step`` as a stop callback that ends within ``limit`` (``STEP_SECONDS`` by default): a step still
    running then is logged (its stack and every other task's), cancelled and left; a step that fails
    raises as it would have."""

    async def run() -> None:
        async def whole() -> None:
            await step()

        task = asyncio.create_task(whole(), name=f"acd-stop:{name}")
        began = time.monotonic()
        bound = STEP_SECONDS if limit is None else limit
        done, _ = await asyncio.wait({task}, timeout=bound)
        if done:
            took = time.monotonic() - began
            if took >= SLOW_STEP_SECONDS:
                log.warning("stopping: %s took %.1f s", name, took)
            await task
            return
        log.error(
            "stopping: %s did not end within %g s; left behind at:%s\nother tasks:%s",
            name,
            bound,
            _stack(task),
            _others({task}),
        )
        task.cancel()

    return run
