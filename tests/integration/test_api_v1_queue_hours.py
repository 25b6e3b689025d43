"""/api/v1 queues: opening hours, holidays, the closed treatment and the join rule are queue fields
like the others: edited by PATCH, checked as the file is (400 naming the field), kept in the
revision with its audit entry, and in force in the core at once (a caller of a closed queue
overflows with the announcement)."""

from __future__ import annotations

from typing import Any

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401
from sqlalchemy import text

from acd.core.events import CallArrived
from acd.core.record_types import InteractionRecord
from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg

CLOSED_ALL_WEEK = {
    "zone": "Europe/Berlin",
    "holidays": ["2026-12-25"],
    "closed": "fallback",
    "announcement": "im-sorry",
}


async def call(v1: V1, method: str, path: str, body: Any = None) -> tuple[int, Any]:  # noqa: F811
    response = await v1.client.request(method, PREFIX + path, headers=v1.auth("admin"), json=body)
    return response.status, await response.json()


async def test_hours_and_join_rule_are_edited_kept_in_the_revision_and_audited(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "GET", "/queues/sales")
    assert status == 200 and body["queue"]["hours"] is None and body["queue"]["empty_overflow"] is None
    hours = {**CLOSED_ALL_WEEK, "mon": ["08:00-18:00"]}
    status, body = await call(v1, "PATCH", "/queues/sales", {"hours": hours, "empty_overflow": 0})
    assert status == 200, body
    shown = body["queue"]["hours"]
    assert (shown["zone"], shown["mon"], shown["tue"], shown["closed"]) == (
        "Europe/Berlin",
        ["08:00-18:00"],
        [],
        "fallback",
    )
    assert body["queue"]["empty_overflow"] == 0
    queue = v1.runtime.core.config.queue("sales")
    assert queue is not None and queue.hours is not None and queue.hours.holidays == ("2026-12-25",)
    assert queue.empty_overflow_seconds == 0
    async with v1.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT document FROM config_revisions WHERE revision = 1"))).scalar_one()
    assert stored["queues"]["sales"]["hours"]["mon"] == ["08:00-18:00"]
    audit = await v1.audit()
    assert [a[1:] for a in audit] == [("queue.update", "sales", 200)]
    status, body = await call(v1, "PATCH", "/queues/sales", {"hours": None, "empty_overflow": None})
    assert status == 200 and body["queue"]["hours"] is None
    assert v1.runtime.core.config.queue("sales").hours is None  # type: ignore[union-attr]


async def test_a_caller_of_a_queue_closed_now_gets_the_closed_treatment(v1: V1) -> None:  # noqa: F811
    status, body = await call(v1, "PATCH", "/queues/sales", {"hours": CLOSED_ALL_WEEK})  # no day open
    assert status == 200, body
    v1.runtime.submit(CallArrived("c1", "sales", 5, caller="555", channel="PJSIP/t-1"))
    await v1.settle()
    ended = [
        (r.outcome, r.end_reason)
        for r in v1.sink.records
        if isinstance(r, InteractionRecord) and r.interaction_id == "c1"
    ]
    assert ended[-1] == ("overflowed", "closed")


async def test_hours_mistakes_are_400s_naming_the_field(v1: V1) -> None:  # noqa: F811
    for body, field in [
        ({"hours": {"zone": "Nowhere/City"}}, "queues.billing.hours.zone"),
        ({"hours": {"zone": "UTC", "mon": ["9-5"]}}, "queues.billing.hours.mon[0]"),
        ({"hours": {"zone": "UTC", "holidays": ["tomorrow"]}}, "queues.billing.hours.holidays"),
        ({"hours": {"zone": "UTC", "closed": "queue:nowhere"}}, "queues.billing.hours.closed"),
        ({"hours": {"zone": "UTC", "announcement": "im-sorry,1"}}, "queues.billing.hours.announcement"),
        ({"hours": {"zone": "UTC", "open": "always"}}, "queues.billing.hours.open"),
        ({"empty_overflow": -5}, "queues.billing.empty_overflow"),
        ({"overflow": "queue:billing"}, "queues.billing"),
    ]:
        status, reply = await call(v1, "PATCH", "/queues/billing", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), (body, reply)
        assert field in reply["details"]["fields"], (body, reply)
    status, reply = await call(v1, "PATCH", "/queues/billing", {"overflow": "queue:sales"})
    assert status == 200, reply


async def test_a_supervisor_overflows_only_into_their_own_queues(v1: V1) -> None:  # noqa: F811
    for body in ({"overflow": "queue:sales"}, {"hours": {"zone": "UTC", "closed": "queue:sales"}}):
        response = await v1.client.request("PATCH", PREFIX + "/queues/billing", headers=v1.auth("billing"), json=body)
        reply = await response.json()
        assert (response.status, reply["error_id"]) == (403, "forbidden"), reply
        assert "sales" in reply["message"]
    response = await v1.client.request(
        "PATCH", PREFIX + "/queues/billing", headers=v1.auth("billing"), json={"hours": {"zone": "UTC"}}
    )
    assert response.status == 200, await response.json()
