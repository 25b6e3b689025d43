"""The leader's side of a planned handover (docs/standby.md, "A planned handover"), on fakes of its parts:
the PBX side is closed and the renewals stopped before the lease is released; with AMI actions still
unanswered, or records not flushed, the lease is not released but left to lapse (and the log says so);
a handover is refused up front when the records' outbox is failing or far behind."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest

from acd import service as service_module
from acd.service import Service


class Steps(list[str]):
    pass


def _parts(
    steps: Steps, *, in_flight: int = 0, flushed: bool = True, backlog: int = 0, error: str | None = None
) -> Any:
    async def close() -> None:
        steps.append("link closed")

    async def flush(_timeout: float) -> bool:
        steps.append("flushed")
        return flushed

    link = SimpleNamespace(in_flight=in_flight, close=close)
    ami = SimpleNamespace(stop=lambda: steps.append("ami stopped"))
    outbox = SimpleNamespace(flush=flush, backlog=backlog, last_error=error)
    pbx = SimpleNamespace(name="pbx", link=link, ami=ami)
    return SimpleNamespace(link=link, ami=ami, pbxs=(pbx,), outbox=outbox, audit=None)


class _Leadership:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.epoch = 4
        self.instance = "a"

    async def release(self) -> bool:
        self.steps.append("released")
        return True

    def abandon(self) -> None:
        self.steps.append("abandoned")

    def may_act(self) -> bool:
        return True

    def may_hand_over(self) -> bool:
        return True


async def _elector(steps: Steps) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        steps.append("renewals stopped")
        raise


async def _hand_over(steps: Steps, parts: Any) -> Service:
    service = Service(cast(Any, SimpleNamespace()))
    elector = asyncio.create_task(_elector(steps))
    await asyncio.sleep(0)
    await service._hand_over(parts, cast(Any, _Leadership(steps)), elector)
    return service


async def test_the_pbx_side_closes_and_the_renewals_stop_before_the_release() -> None:
    steps = Steps()
    service = await _hand_over(steps, _parts(steps))
    assert steps == ["ami stopped", "link closed", "flushed", "renewals stopped", "released"]
    assert service.handed_over_at is not None


async def test_actions_still_unanswered_leave_the_lease_to_lapse(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service_module, "SETTLE_SECONDS", 0.05)
    steps = Steps()
    service = await _hand_over(steps, _parts(steps, in_flight=2))
    assert "released" not in steps and steps[-1] == "abandoned"
    assert service.handed_over_at is None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("not released" in m and "2 AMI action(s) unanswered" in m for m in errors), errors
    assert not any("handed over" in r.getMessage() for r in caplog.records)


async def test_records_not_flushed_leave_the_lease_to_lapse(caplog: pytest.LogCaptureFixture) -> None:
    steps = Steps()
    service = await _hand_over(steps, _parts(steps, flushed=False))
    assert "released" not in steps and steps[-1] == "abandoned" and service.handed_over_at is None
    assert any("records not flushed" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


@pytest.mark.parametrize(("backlog", "error"), [(5000, None), (0, "connection refused")])
async def test_a_handover_is_refused_when_the_records_cannot_follow(backlog: int, error: str | None) -> None:
    service = Service(cast(Any, SimpleNamespace()))
    parts = _parts(Steps(), backlog=backlog, error=error)
    parts.leadership = _Leadership(Steps())
    service.parts = parts
    service.hand_over()
    assert not service.handing_over and not service._stopping.is_set()
    parts.outbox.backlog, parts.outbox.last_error = 0, None
    service.hand_over()
    assert service.handing_over and service._stopping.is_set()
