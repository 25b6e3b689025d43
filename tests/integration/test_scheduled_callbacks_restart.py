"""Scheduled callbacks across an ACD restart, with the real runtime, outbox and PostgreSQL
(docs/api.md, "Scheduled callbacks"; docs/kpis.md, "Scheduled callbacks").

A restarted ACD schedules again every row still pending, however old; one that can never enter (its
queue removed from the config, its number no longer allowed) is closed with that outcome instead of
staying pending for ever, and one whose queue a config change removes is closed the same way. A
scheduled callback counts in ``acd_callbacks_accepted_total`` once, when it enters its queue. A
pending callback that entered its queue days before the restart is read back and waits again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from live_desk import CONFIG, LiveDesk, api_pg, live_desk  # noqa: F401  (fixtures)
from sqlalchemy import text

from acd import bootstrap
from acd.ami.ended_unseen import settle
from acd.ami.resync import ResyncResult
from acd.ami.roster import Roster
from acd.core.commands import CloseScheduledCallback, KeepScheduledCallback
from acd.core.config import RoutingConfig
from acd.core.events import CallbackScheduled, ConfigChanged
from acd.core.record_types import InteractionRecord
from acd.core.states import CallState
from acd.records.startup.open_calls import calls_left_open
from acd.records.stores import scheduled_callbacks as store
from acd.restore import restore_presence

DAY = timedelta(days=1)


async def _status(desk: LiveDesk, callback_id: str, want: str) -> str:
    for _ in range(100):
        row = await store.one(desk.engine, callback_id)
        if row is not None and row.status == want:
            return want
        await asyncio.sleep(0.05)
    row = await store.one(desk.engine, callback_id)
    return "missing" if row is None else row.status


def _sample(desk: LiveDesk, name: str, **labels: str) -> Any:
    return desk.metrics.registry.get_sample_value(name, labels)


async def test_a_restart_schedules_old_rows_again_and_closes_those_that_can_never_enter(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    desk = live_desk
    now = datetime.now(UTC)
    old, gone, barred = (str(uuid.uuid4()) for _ in range(3))
    await store.add(desk.engine, old, "billing", "15551234", now - 3 * DAY, "", "", "admin")
    await store.add(desk.engine, gone, "removed", "15551234", now + DAY, "", "", "admin")
    await store.add(desk.engine, barred, "billing", "4930999", now + DAY, "", "", "admin")  # no pattern allows it
    accepted_before = _sample(desk, "acd_callbacks_accepted_total", queue="billing")

    await restore_presence(desk.runtime, desk.outbox, desk.engine, {"a1", "a2", "s1"})

    # three days past its time: it enters at once, counted from its time, and counts as a callback taken
    for _ in range(100):
        if desk.runtime.core.call_state(old) is CallState.WAITING:
            break
        await asyncio.sleep(0.05)
    assert desk.runtime.core.call_state(old) is CallState.WAITING
    assert _sample(desk, "acd_callbacks_accepted_total", queue="billing") == accepted_before + 1
    # the others are closed with a clear outcome, counted, never pending for ever
    assert await _status(desk, gone, "queue_removed") == "queue_removed"
    assert await _status(desk, barred, "number_not_allowed") == "number_not_allowed"
    assert _sample(desk, "acd_scheduled_callbacks_closed_total", queue="removed", reason="queue_removed") == 1
    assert _sample(desk, "acd_scheduled_callbacks_closed_total", queue="billing", reason="number_not_allowed") == 1
    assert await desk.outbox.flush(timeout=10)  # the one that entered is its interaction now
    assert {s.id: s.status for s in await store.listed(desk.engine, None)} == {
        old: "waiting",
        gone: "queue_removed",
        barred: "number_not_allowed",
    }


async def test_a_queue_removed_by_a_config_change_closes_its_scheduled_callbacks(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    desk = live_desk
    callback_id = str(uuid.uuid4())
    at = datetime.now(UTC) + DAY
    await store.add(desk.engine, callback_id, "sales", "15551234", at, "", "", "admin")
    await desk.runtime.ask(CallbackScheduled(callback_id, "sales", "15551234", at.timestamp()))
    without_sales = RoutingConfig(
        queues=tuple(q for q in CONFIG.queues if q.name != "sales"),
        agents=tuple(a for a in CONFIG.agents if a.id != "s1"),
        policy=CONFIG.policy,
    )
    await desk.runtime.ask(ConfigChanged(without_sales))
    assert await _status(desk, callback_id, "queue_removed") == "queue_removed"
    assert _sample(desk, "acd_scheduled_callbacks_closed_total", queue="sales", reason="queue_removed") == 1


async def test_a_callback_pending_for_days_is_read_back_and_waits_in_its_place(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    """Its caller hung up keeping their place three days ago, and nobody has answered it since."""
    desk = live_desk
    now = time.time()
    waiting = InteractionRecord(
        interaction_id=str(uuid.uuid4()),
        seq=2,
        queue="billing",
        priority=5,
        caller="+15559876",
        arrived_at=now - 3 * 86400.0,
        uniqueid=f"{int(now) - 3 * 86400}.7",
        end_reason="callback",
        first_arrived_at=now - 3 * 86400.0 - 600.0,  # first arrived in another queue, 10 minutes before
    )
    talking = InteractionRecord(  # a callback's conversation days ago: the PBX's trace is long gone
        interaction_id=str(uuid.uuid4()),
        seq=3,
        queue="billing",
        priority=5,
        caller="+15559877",
        arrived_at=now - 3 * 86400.0,
        uniqueid=f"{int(now) - 3 * 86400}.8",
        end_reason="callback",
        answered_at=now - 3 * 86400.0 + 60.0,
        agent_id="a1",
    )
    desk.outbox.append(waiting)
    desk.outbox.append(talking)
    assert await desk.outbox.flush(timeout=10)

    found = await calls_left_open(desk.engine)
    assert [r.interaction_id for r in found.records] == [waiting.interaction_id]
    for event in settle(found.records, ResyncResult(), Roster(CONFIG)):
        await desk.runtime.ask(event)  # refused (InvalidValue) on a call older than a day, before
    assert desk.runtime.core.call_state(waiting.interaction_id) is CallState.WAITING
    assert _sample(desk, "acd_callbacks_accepted_total", queue="billing") == 0  # counted by the run it was taken in


async def test_a_pending_callback_whose_queue_left_the_config_is_closed_at_the_restart(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    """Its queue ("telesales") is gone from the config the ACD restarts with: the row closes overflowed,
    queue_removed, and is never read back as open again (docs/kpis.md, "Callbacks")."""
    desk = live_desk
    now = time.time()
    orphan = InteractionRecord(
        interaction_id=str(uuid.uuid4()),
        seq=2,
        queue="telesales",
        priority=5,
        caller="+15559876",
        arrived_at=now - 3600.0,
        uniqueid=f"{int(now) - 3600}.9",
        end_reason="callback",
        sla_threshold_seconds=45.0,
    )
    desk.outbox.append(orphan)
    assert await desk.outbox.flush(timeout=10)
    found = await calls_left_open(desk.engine)
    assert [r.interaction_id for r in found.records] == [orphan.interaction_id]
    for event in settle(found.records, ResyncResult(), Roster(CONFIG)):
        await desk.runtime.ask(event)
    assert await desk.outbox.flush(timeout=10)
    assert (await calls_left_open(desk.engine)).records == ()
    async with desk.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT outcome, end_reason, within_sla, sla_threshold_seconds, ended_at IS NOT NULL AS ended "
                    "FROM interactions WHERE id = :id"
                ),
                {"id": uuid.UUID(orphan.interaction_id)},
            )
        ).one()
    assert tuple(row) == ("overflowed", "queue_removed", False, 45.0, True)


async def test_a_closed_callback_not_kept_is_closed_even_when_its_row_lands_after_the_close(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    """PostgreSQL slower than the dialplan's 5 s: the close (not kept) is asked while the row is still
    being written. The row ends closed not_kept, never pending (a restart would call the caller back
    after they left a message)."""
    desk = live_desk
    callback_id = str(uuid.uuid4())
    at = time.time() + 86400.0
    keep = KeepScheduledCallback(callback_id, "billing", "15551234", at, call_id="c1")
    bootstrap.keeping(callback_id)  # the core's order: the keep, then the close
    close = asyncio.create_task(
        bootstrap.close_scheduled_row(desk.engine, CloseScheduledCallback(callback_id, "billing", "not_kept"))
    )
    await asyncio.sleep(0.05)  # the close is under way before the row is written
    await bootstrap.keep_closed_callback(desk.runtime, desk.engine, None, keep)
    await close
    assert await _status(desk, callback_id, "not_kept") == "not_kept"
    assert [r.callback_id for r in await store.pending(desk.engine)] == []


async def test_a_not_kept_close_wins_over_a_row_written_after_it_gave_up_waiting(
    live_desk: LiveDesk,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL slower than the close's wait for the row (its pool wait, connect and command timeouts add
    up to more): the close updates nothing; the row written after it still ends closed not_kept, never
    pending, and the caller is not told it is kept."""
    desk = live_desk
    monkeypatch.setattr(bootstrap, "ROW_WAIT_SECONDS", 0.05)
    callback_id = str(uuid.uuid4())
    keep = KeepScheduledCallback(callback_id, "billing", "15551234", time.time() + 86400.0, call_id="c1", own=True)
    bootstrap.keeping(callback_id)
    await bootstrap.close_scheduled_row(desk.engine, CloseScheduledCallback(callback_id, "billing", "not_kept"))
    told: list[str] = []

    class Ami:
        async def callback_kept(self, call_id: str, *_: object) -> None:
            told.append(call_id)

    await bootstrap.keep_closed_callback(desk.runtime, desk.engine, Ami(), keep)  # type: ignore[arg-type]
    assert await _status(desk, callback_id, "not_kept") == "not_kept"
    assert [r.callback_id for r in await store.pending(desk.engine)] == []
    assert told == []


async def test_a_keyed_number_read_back_at_a_start_is_checked_against_the_patterns_again(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    """A caller's callback at a time to a number they keyed in is kept as such: read back at a start it
    is not taken for the caller's own number (which needs no pattern), so a config that no longer allows
    it closes it ``number_not_allowed``."""
    desk = live_desk
    own, keyed = str(uuid.uuid4()), str(uuid.uuid4())
    at = time.time() + 86400.0
    for callback_id, mine in ((own, True), (keyed, False)):  # a number the patterns (_1555XXXX) do not allow
        keep = KeepScheduledCallback(callback_id, "billing", "4930123456", at, own=mine)
        bootstrap.keeping(callback_id)
        await bootstrap.keep_closed_callback(desk.runtime, desk.engine, None, keep)
    back = [r for r in await store.pending(desk.engine) if r.callback_id in (own, keyed)]
    assert {r.callback_id: r.own for r in back} == {own: True, keyed: False}
    for event in back:  # as the start does (acd.restore)
        await desk.runtime.ask(event)
    assert await _status(desk, keyed, "number_not_allowed") == "number_not_allowed"
    assert await _status(desk, own, "pending") == "pending"
