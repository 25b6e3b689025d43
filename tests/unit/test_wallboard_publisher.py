"""The publisher: one board per tick for all subscribers, sooner after a change, bounded queues."""

from __future__ import annotations

import asyncio
import json

from acd.wallboard.publisher import Publisher, sse_frame


def board_of(frame: bytes | None) -> dict[str, int]:
    assert frame is not None
    lines = frame.decode().split("\n")
    assert lines[1] == "event: board" and frame.endswith(b"\n\n")
    payload: dict[str, int] = json.loads(lines[2].removeprefix("data: "))
    return payload


def test_a_frame_is_one_sse_message_with_one_data_line() -> None:
    frame = sse_frame(7, {"text": "two\nlines"})
    assert frame == b'id: 7\nevent: board\ndata: {"text":"two\\nlines"}\n\n'


async def test_one_build_per_publish_whatever_the_number_of_subscribers() -> None:
    builds = 0

    def build() -> dict[str, int]:
        nonlocal builds
        builds += 1
        return {"n": builds}

    publisher = Publisher(build)
    publisher.publish()
    assert builds == 0  # nobody watches: nothing built
    subscribers = [publisher.subscribe() for _ in range(50)]
    assert builds == 1  # the first gets a fresh board, the others share it
    publisher.publish()
    assert builds == 2
    for subscriber in subscribers:
        assert board_of(subscriber.frames.get_nowait()) == {"n": 1}
        assert board_of(subscriber.frames.get_nowait()) == {"n": 2}


async def test_a_full_queue_drops_that_subscriber_only() -> None:
    publisher = Publisher(lambda: {}, queue_limit=3)
    cut: list[str] = []
    slow = publisher.subscribe(on_drop=lambda: cut.append("slow"))
    fast = publisher.subscribe()
    for _ in range(2):  # the board it got on subscribing, and two more: full
        fast.frames.get_nowait()
        publisher.publish()
    assert slow.frames.qsize() == 3 and not slow.dropped
    fast.frames.get_nowait()
    publisher.publish()
    assert slow.dropped and cut == ["slow"]
    assert publisher.subscribers == 1 and publisher.dropped == 1
    assert slow.frames.qsize() == 3  # never more than its limit


async def test_run_publishes_each_interval_and_soon_after_a_change() -> None:
    changed = asyncio.Event()
    publisher = Publisher(lambda: {}, changed=changed, interval=10.0, min_gap=0.02)
    subscriber = publisher.subscribe()
    subscriber.frames.get_nowait()
    task = asyncio.create_task(publisher.run())
    async with asyncio.timeout(1):
        await subscriber.frames.get()  # the first tick
    changed.set()
    async with asyncio.timeout(1):  # long before the 10 s tick
        await subscriber.frames.get()
    for _ in range(20):  # a burst of changes: at most one board per min_gap
        changed.set()
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)
    assert subscriber.frames.qsize() <= 3
    publisher.close()
    task.cancel()


async def test_close_ends_every_stream_and_refuses_new_ones() -> None:
    publisher = Publisher(lambda: {}, queue_limit=1)
    idle = publisher.subscribe()
    idle.frames.get_nowait()
    full = publisher.subscribe()  # its one slot holds a board: it cannot take the end
    publisher.close()
    assert idle.frames.get_nowait() is None
    assert full.dropped
    assert publisher.subscribe().frames.get_nowait() is None
    assert publisher.subscribers == 0
