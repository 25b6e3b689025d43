"""The agent desktop in a real browser (Debian's headless Chromium) over a live runtime, the real
outbox and PostgreSQL, without the PBX: the test plays Asterisk through the runtime's events.

An agent signs in with their token (after a wrong token and another agent's id are refused with the
API's message), logs in with the state button, a call rings them and the caller's customer record
pops up, pushed with no reload; they answer and hang up (events), fill in the wrap-up form and send
it, and the disposition and notes are in PostgreSQL. Transfers from the desk (a queue, an agent, a
number; attended with "Complete" and "Back to caller") reach the core's commands to the PBX and the
audit log; a callback scheduled from the desk shows in its list and is cancelled from there; the agent's
scorecard of the day shows the call once wrapped up, its OTF pending, and the agent's figures against
their team's objectives once the agent is in a team (none before, and the desk says so). Leaves a screenshot in the test's tmp_path and
in ``test-artifacts/`` at the top of the checkout (ignored by git).
"""

from __future__ import annotations

import asyncio
import math
import shutil
import struct
import uuid
import wave
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from agent_page import (
    callback_rows,
    cancel_callback,
    fill_wrapup,
    finish_consult,
    open_desk,
    press,
    read_desk,
    save_customer,
    schedule_callback,
    sign_in,
    submit_wrapup,
    transfer,
    try_sign_in,
    wait_for_customer,
    wait_for_state,
)
from integration.headless_chromium import Chromium
from live_desk import LiveDesk, api_pg, live_desk  # noqa: F401
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.commands import ConsultCall, FinishConsult, TransferCall
from acd.core.config import DEFAULT_DISPOSITIONS
from acd.core.events import CallHandedOver, CallTransferred, CallTransferredOut, ConsultEnded, ConsultStarted
from acd.core.states import AgentState

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


async def test_an_agent_takes_a_call_with_the_customer_record_and_wraps_it_up(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
    tmp_path: Path,
) -> None:
    grace = await live_desk.customer("+1 555-0100", "Grace Hopper", "vip", earlier=2)

    # refusals show the API's message, and the token is not kept
    await open_desk(chromium, live_desk.base_url)
    refused = await try_sign_in(chromium, "acd_0123abcd_not-a-secret")
    assert not refused["signedIn"] and refused["messageKind"] == "error"
    assert refused["message"].startswith("401: the bearer token is not valid")
    refused = await try_sign_in(chromium, live_desk.bearer["a1"], "a2")
    assert refused["message"] == "403: this token may not act on agent 'a2'"
    assert await chromium.evaluate("sessionStorage.getItem('acd.token')") is None

    # an agent's own token finds its agent by itself
    shown = await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
    assert shown["state"] == "logged_out" and shown["call"] is None
    assert await chromium.evaluate("sessionStorage.getItem('acd.token')") == live_desk.bearer["a1"]
    answered = await press(chromium, "login")
    assert answered["message"] == "login: now ready", answered
    assert live_desk.runtime.core.agent_state("a1") is not None
    assert (await wait_for_state(chromium, "ready"))["stateText"] == "ready"

    call_id = live_desk.call("15550100", grace, waited=7.0)
    popped = await wait_for_customer(chromium, "Grace Hopper", seconds=10)
    assert popped["state"] == "reserved"
    assert popped["call"] is not None and popped["call"]["id"] == call_id and popped["call"]["ringing"]
    assert (popped["call"]["caller"], popped["call"]["queue"]) == ("15550100", "billing")
    assert popped["customer"] is not None
    assert (popped["customer"]["id"], popped["customer"]["tier"]) == (grace.id, "vip")
    assert [row[4] for row in popped["customer"]["history"]] == ["earlier-2", "earlier-1"]

    live_desk.answer(call_id)
    talking = await wait_for_state(chromium, "on_call")
    assert talking["call"] is not None and not talking["call"]["ringing"] and talking["wrapup"]
    await fill_wrapup(chromium, "support/resolved", "Refund sent; calls back Friday.")
    # each code shows what the phone dials for it: *55 and its place in the catalogue
    offered = await chromium.evaluate(
        "[...document.querySelectorAll('#wrapup-code option[data-code]')].map((o) => o.textContent)"
    )
    assert offered == [f"{code} (*55{n})" for n, code in enumerate(DEFAULT_DISPOSITIONS, start=1)]
    shot = await chromium.screenshot(tmp_path / "agent-desktop.png")

    live_desk.hang_up(call_id)
    await wait_for_state(chromium, "wrap_up")
    done = await submit_wrapup(chromium, "support/resolved", "Refund sent; calls back Friday.")
    assert done["message"] == "wrap-up saved: support/resolved; ready for the next call"
    after = await wait_for_state(chromium, "ready")
    assert after["call"] is None and not after["wrapup"]

    row = await live_desk.interaction(call_id)
    assert (row["disposition"], row["notes"]) == ("support/resolved", "Refund sent; calls back Friday.")
    assert (row["agent_id"], row["outcome"], str(row["customer_id"])) == ("a1", "answered", grace.id)

    # the agent's own scorecard of the day ("My day"), refreshed on demand from GET /reports/agents
    figures = await _my_day(chromium, 2)
    assert figures["answered"] == "1" and figures["code support/resolved"] == "1", figures
    assert figures["missed offers"] == "0" and figures["rejected offers"] == "0"
    assert figures["OTF"] == "\u2013 (1 pending)"  # its repeat-contact window (24 h) is open
    # a1 is in no team: no objectives, and the desk says why
    assert await chromium.evaluate("document.getElementById('scorecard-team').textContent") == (
        "no team: no team objectives"
    )
    assert await _objective_rows(chromium) == {}
    # in a team with objectives (an admin sets both), the next refresh holds a1's figures to them
    async with aiohttp.ClientSession(live_desk.base_url, headers=live_desk.auth("admin")) as admin:
        async with admin.patch("/api/v1/agents/a1", json={"team": "north"}) as response:
            assert response.status == 200, await response.text()
        for name, metric, comparison, target in (("north-aht", "aht", "<=", 600), ("north-otf", "otf", ">=", 0.8)):
            body = {"name": name, "metric": metric, "comparison": comparison, "target": target, "team": "north"}
            async with admin.post("/api/v1/objectives", json={**body, "period": "day"}) as response:
                assert response.status == 201, await response.text()
    await _my_day(chromium, 3)
    assert await chromium.evaluate("document.getElementById('scorecard-team').textContent") == "team north"
    rows = await _objective_rows(chromium)
    assert rows["north-aht"][2:] == ["<= 10:00", "met"] and rows["north-aht"][1] == figures["average handle time"]
    assert rows["north-otf"][1:] == ["\u2013", ">= 80 %", "not yet"]  # its only verdict is pending

    # pushed, not polled and not reloaded: one page load, one stream, a desk per change
    final = await read_desk(chromium)
    assert final["streams"] == 1 and final["loadedAt"] == shown["loadedAt"]
    assert await chromium.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert shot.stat().st_size > 10_000
    if "test-artifacts" in (ROOT / ".gitignore").read_text():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "agent-desktop.png")


async def _my_day(chromium: Chromium, loads: int) -> dict[str, str]:
    """Refreshes "My day" and waits for its ``loads``-th load: its figures by name."""
    await chromium.evaluate("document.getElementById('scorecard-refresh').click()")
    for _ in range(100):
        if await chromium.evaluate("window.agentDesk.scorecards || 0") >= loads:
            break
        await asyncio.sleep(0.05)
    figures: dict[str, str] = await chromium.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#scorecard-figures tr[data-figure]')]"
        ".map((tr) => [tr.dataset.figure, tr.querySelector('td').textContent]))"
    )
    return figures


async def _objective_rows(chromium: Chromium) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = await chromium.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#scorecard-objectives tr[data-objective]')]"
        ".map((tr) => [tr.dataset.objective, [...tr.querySelectorAll('td')].map((td) => td.textContent)]))"
    )
    return rows


async def test_an_agent_adds_the_unknown_caller_and_the_next_call_shows_the_record(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
    tmp_path: Path,
) -> None:
    await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
    await press(chromium, "login")
    await wait_for_state(chromium, "ready")

    first = await live_desk.call_from("+1 555-0777")  # nobody in the directory
    await chromium.until("document.getElementById('customer-none').textContent.includes('not in the customer')", 15)
    saved = await save_customer(
        chromium, {"name": "Katherine Johnson", "tier": "vip", "notes": "prefers mornings", "consent-recording": True}
    )
    assert saved["before"] == {"title": "New customer", "number": "+1 555-0777", "name": ""}
    assert saved["message"] == "customer saved: Katherine Johnson (new)"
    live_desk.hang_up(first)  # the caller gave up before the agent picked up
    await wait_for_state(chromium, "ready")

    second = await live_desk.call_from("15550777")
    shown = await wait_for_customer(chromium, "Katherine Johnson", seconds=15)
    assert shown["call"] is not None and shown["call"]["id"] == second
    assert shown["customer"] is not None and shown["customer"]["tier"] == "vip"
    assert await chromium.evaluate("document.getElementById('customer-notes').textContent") == "prefers mornings"

    # the form, opened and left: nothing changes
    await chromium.evaluate("document.getElementById('customer-edit').click()")
    await chromium.until("document.getElementById('cf-name').value === 'Katherine Johnson'", 10)
    shot = await chromium.screenshot(tmp_path / "agent-customer-form.png")
    await chromium.evaluate("document.getElementById('cf-cancel').click()")
    await chromium.until("document.getElementById('customer-form').hidden", 10)
    assert shot.stat().st_size > 10_000
    if "test-artifacts" in (ROOT / ".gitignore").read_text():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "agent-customer-form.png")

    # and edited from the desk: the change is in the record's history, by this agent
    edited = await save_customer(chromium, {"tier": "premium", "numbers": "+1 555-0778"})
    assert edited["before"]["title"] == "Edit customer" and edited["before"]["name"] == "Katherine Johnson"
    assert edited["message"] == "customer saved: Katherine Johnson"
    async with live_desk.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT role, actor_agent_id, changes FROM customer_changes ORDER BY id"))
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("agent", "a1"), ("agent", "a1")]
    assert rows[1][2] == {"tier": {"old": "vip", "new": "premium"}, "numbers": {"old": [], "new": ["15550778"]}}


async def test_a_supervisor_plays_a_past_calls_recording_from_the_desk(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
) -> None:
    """The interaction view (the caller's last interactions) plays a recorded call in the page's
    <audio> player: fetched with the token (GET /interactions/{id}/recording), played from a blob: URL."""
    ada = await live_desk.customer("+1 555-0111", "Ada Lovelace", earlier=2)  # one of them recorded
    live_desk.recordings.mkdir(parents=True, exist_ok=True)
    name = "1733550000.9.wav"
    with wave.open(str(live_desk.recordings / name), "wb") as w:  # 1.5 s of a 1 kHz tone
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000))) for i in range(12000))
        )
    async with live_desk.engine.begin() as conn:
        earlier, answered = (
            await conn.execute(
                text("SELECT id, answered_at FROM interactions WHERE customer_id = :c ORDER BY arrived_at LIMIT 1"),
                {"c": uuid.UUID(ada.id)},
            )
        ).one()
        await conn.execute(
            text(
                "INSERT INTO recordings (id, seq, file, started_at, seconds, sha256) VALUES (:id, 1, :f, :at, 1.5, :s)"
            ),
            {"id": earlier, "f": name, "at": answered, "s": "0" * 64},
        )

    await sign_in(chromium, live_desk.base_url, live_desk.bearer["billing"], "a1")  # billing's supervisor
    await press(chromium, "login")
    live_desk.call("15550111", ada)
    await wait_for_customer(chromium, "Ada Lovelace", seconds=10)
    await chromium.until("document.querySelector('#history button.play') !== null")
    assert await chromium.evaluate("document.querySelectorAll('#history tbody tr').length") == 2
    assert await chromium.evaluate("document.querySelectorAll('#history button.play').length") == 1
    await chromium.evaluate("document.querySelector('#history button.play').click()")
    played = await chromium.until(
        "(() => { const p = document.getElementById('player');"
        " return !p.hidden && p.src.startsWith('blob:') && p.duration > 1 ? "
        "{interaction: p.dataset.interaction, duration: p.duration} : null; })()"
    )
    assert played["interaction"] == str(earlier)
    assert abs(played["duration"] - 1.5) < 0.05
    async with live_desk.engine.connect() as conn:
        audited = (
            await conn.execute(text("SELECT role, status FROM audit_log WHERE action = 'recording.listen'"))
        ).all()
    assert [tuple(a) for a in audited] == [("supervisor", 200)]


async def test_an_agent_transfers_the_call_from_the_desk(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
) -> None:
    """The transfer form shows while the agent talks; a refused target says why, a queue is handed to
    the phone system, and the PBX's word moves the agent to wrap-up (and the form goes away)."""
    await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
    await press(chromium, "login")
    await wait_for_state(chromium, "ready")
    call_id = await live_desk.call_from("15550900")
    ringing = await wait_for_state(chromium, "reserved")
    assert ringing["call"] is not None
    assert await chromium.evaluate("document.getElementById('transfer').hidden") is True  # not while ringing
    live_desk.answer(call_id)
    await wait_for_state(chromium, "on_call")

    refused = await transfer(chromium, number="19005550100")
    assert refused["messageKind"] == "error" and refused["message"].startswith("409: transfers may not dial")
    refused = await transfer(chromium, queue="nowhere")
    assert refused["messageKind"] == "error" and refused["message"].startswith("404:"), refused["message"]
    done = await transfer(chromium, queue="sales")
    assert done["message"] == "transfer to sales: handed to the phone system", done["message"]
    assert await chromium.evaluate("window.agentDesk.transfers") == 1

    live_desk.runtime.handle_now(CallTransferred(call_id, "a1", "sales"))  # the PBX: it happened
    after = await wait_for_state(chromium, "wrap_up")
    assert after["call"] is not None and after["wrapup"]
    assert await chromium.evaluate("document.getElementById('transfer').hidden") is True


async def _audited(engine: AsyncEngine, action: str, count: int, seconds: float = 10.0) -> list[tuple[Any, ...]]:
    """The audit rows of ``action`` (role, agent, target, details, status), once there are ``count``."""
    rows: list[tuple[Any, ...]] = []
    for _ in range(int(seconds * 10)):
        async with engine.connect() as conn:
            rows = [
                tuple(r)
                for r in await conn.execute(
                    text(
                        "SELECT role, actor_agent_id, target, details, status FROM audit_log"
                        " WHERE action = :a ORDER BY id"
                    ),
                    {"a": action},
                )
            ]
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} audit rows {action!r} expected, found {rows}")


async def _talking(live_desk: LiveDesk, chromium: Chromium, caller: str) -> str:  # noqa: F811
    """A call rings a1 (logged in from the desk), who answers: its id."""
    if (await read_desk(chromium))["state"] == "logged_out":
        await press(chromium, "login")
    await wait_for_state(chromium, "ready")
    call_id = await live_desk.call_from(caller)
    await wait_for_state(chromium, "reserved")
    live_desk.answer(call_id)
    await wait_for_state(chromium, "on_call")
    return call_id


def _commands(live_desk: LiveDesk, kind: type, call_id: str) -> list[Any]:  # noqa: F811
    return [c for c in live_desk.sent if isinstance(c, kind) and c.call_id == call_id]


async def test_an_agent_transfers_blind_to_an_agent_and_to_a_number_from_the_desk(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
) -> None:
    """The desk's transfer to an agent by name and to an allowed number: the API's refusals shown
    (404 no-such-agent, 409 a number the admin does not allow), the request audited with its target,
    the core's command to the PBX, and the PBX's word moving the agent to wrap-up."""
    await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
    first = await _talking(live_desk, chromium, "15550901")

    refused = await transfer(chromium, agent="nobody")
    assert refused["messageKind"] == "error" and refused["message"].startswith("404:"), refused["message"]
    assert "nobody" in refused["message"]
    done = await transfer(chromium, agent="a2")
    assert done["message"] == "transfer to a2: handed to the phone system", done["message"]
    [sent] = _commands(live_desk, TransferCall, first)
    assert (sent.agent_id, sent.queue, sent.number, sent.target_endpoint) == ("a1", "billing", "", "agent2")
    rows = await _audited(live_desk.engine, "call.transfer", 2)
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [("agent", "a1", first, 404), ("agent", "a1", first, 202)]
    assert (rows[1][3]["kind"], rows[1][3]["target"]) == ("blind", {"agent": "a2"})
    live_desk.runtime.handle_now(CallTransferred(first, "a1", "billing", target_agent="a2"))
    after = await wait_for_state(chromium, "wrap_up")
    assert after["call"] is not None and await chromium.evaluate("document.getElementById('transfer').hidden")
    await submit_wrapup(chromium, DEFAULT_DISPOSITIONS[0], "sent to a2")

    second = await _talking(live_desk, chromium, "15550902")
    refused = await transfer(chromium, number="19005550100")
    assert refused["messageKind"] == "error" and refused["message"].startswith("409: transfers may not dial")
    done = await transfer(chromium, number="15552345678")
    assert done["message"] == "transfer to 15552345678: handed to the phone system", done["message"]
    [sent] = _commands(live_desk, TransferCall, second)
    assert (sent.queue, sent.number, sent.target_endpoint) == ("", "15552345678", "")
    rows = await _audited(live_desk.engine, "call.transfer", 4)
    assert [(r[2], r[4]) for r in rows[2:]] == [(second, 409), (second, 202)]
    assert (rows[3][3]["kind"], rows[3][3]["target"]) == ("blind", {"number": "15552345678"})
    live_desk.runtime.handle_now(CallTransferredOut(second, "a1", "15552345678"))
    await wait_for_state(chromium, "wrap_up")


async def test_an_agent_consults_then_goes_back_and_then_completes_from_the_desk(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
) -> None:
    """An attended transfer from the desk: "Consult" to a ready agent (a queue with nobody ready is
    refused with the API's message), the consult's
    "Back to caller" (the form comes back, the agent still talks), then again and "Complete" (the
    agent goes to wrap-up, the consulted agent talks with the caller)."""
    await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
    call_id = await _talking(live_desk, chromium, "15550903")
    # attended goes to an agent, a queue (the agent the ACD picks) or a number
    offered = await chromium.evaluate("""(() => {
      const kind = document.getElementById("transfer-kind");
      kind.value = "attended";
      kind.dispatchEvent(new Event("change"));
      const enabled = [...document.getElementById("transfer-to").options].filter((o) => !o.disabled).map((o) => o.value);
      kind.value = "blind";
      kind.dispatchEvent(new Event("change"));
      return enabled;
    })()""")
    assert offered == ["queue", "agent", "number"]
    refused = await transfer(chromium, queue="sales", kind="attended")  # nobody of sales is ready
    assert refused["message"].startswith("409: no agent of queue sales is ready"), refused["message"]

    refused = await transfer(chromium, agent="a2", kind="attended")  # a2 is not logged in
    assert refused["messageKind"] == "error" and refused["message"].startswith("409:"), refused["message"]
    assert await chromium.evaluate("document.getElementById('consult').hidden") is True
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{live_desk.base_url}/api/v1/agents/a2/login", headers=live_desk.auth("a2")) as r,
    ):
        assert r.status == 200, await r.text()

    for action in ("back", "complete"):
        asked = await transfer(chromium, agent="a2", kind="attended")
        assert asked["message"] == "consulting a2: the phone system is calling them", asked["message"]
        assert await chromium.evaluate("document.getElementById('transfer').hidden") is True
        assert await chromium.evaluate("document.getElementById('consult-agent').textContent") == "a2"
        assert _commands(live_desk, ConsultCall, call_id)[-1].endpoint == "agent1"
        live_desk.runtime.handle_now(ConsultStarted(call_id, "a1", "a2"))
        finished = await finish_consult(chromium, action)
        pbx = "cancel" if action == "back" else "complete"
        assert _commands(live_desk, FinishConsult, call_id)[-1].action == pbx
        if action == "back":
            assert finished["message"] == "back to the caller", finished["message"]
            live_desk.runtime.handle_now(ConsultEnded(call_id, "a1", "a2"))
            await chromium.until("!document.getElementById('transfer').hidden")
            assert (await read_desk(chromium))["state"] == "on_call"
        else:
            assert finished["message"] == "transfer to a2: completed", finished["message"]
            live_desk.runtime.handle_now(CallHandedOver(call_id, "a1", "a2"))
            await wait_for_state(chromium, "wrap_up")
            assert live_desk.runtime.core.agent_state("a2") == AgentState.ON_CALL
    assert await chromium.evaluate("document.getElementById('consult').hidden") is True
    rows = await _audited(live_desk.engine, "call.transfer", 4)
    assert [(r[3]["kind"], r[3]["target"], r[4]) for r in rows] == [
        ("attended", {"queue": "sales"}, 409),
        ("attended", {"agent": "a2"}, 409),
        ("attended", {"agent": "a2"}, 202),
        ("attended", {"agent": "a2"}, 202),
    ]
    assert [r[4] for r in await _audited(live_desk.engine, "call.transfer.cancel", 1)] == [202]
    assert [r[4] for r in await _audited(live_desk.engine, "call.transfer.complete", 1)] == [202]


async def test_an_agent_schedules_a_callback_and_cancels_it_from_the_desk(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
    tmp_path: Path,
) -> None:
    """ "Schedule a callback": the agent's queues to choose from, the caller's number filled in; a number
    the admin does not allow is refused naming the field; the callback shows in the list, and its
    cancel button calls it off (the row in PostgreSQL cancelled, the list says so, no cancel left)."""
    await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
    assert await callback_rows(chromium) == []
    await chromium.until("document.querySelector('#callback-list tbody td.muted') !== null")
    await _talking(live_desk, chromium, "+1 555-0904")
    at = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT10:30")  # as the form's datetime-local takes it

    # the caller's number comes with the records' lookup, which may trail the answer on a busy machine
    await chromium.until("document.getElementById('cb-number').value !== ''", 15)
    refused = await schedule_callback(chromium, {"number": "19005550100", "at": at})
    assert refused["before"] == {"queue": "billing", "number": "15550904", "queues": ["billing"]}
    assert refused["messageKind"] == "error" and refused["message"].startswith("400:"), refused["message"]
    assert "number: not a number the admin" in refused["message"]
    assert await callback_rows(chromium) == []

    done = await schedule_callback(
        chromium, {"number": "15550904", "at": at, "note": "wants the March invoice explained"}
    )
    assert done["messageKind"] != "error" and done["message"].startswith("callback scheduled: 15550904 in billing")
    [row] = await callback_rows(chromium)
    assert row["status"] == "pending" and row["cancel"]
    await chromium.evaluate("document.getElementById('transfer').scrollIntoView()")
    shot = await chromium.screenshot(tmp_path / "agent-callbacks.png")
    assert shot.stat().st_size > 10_000
    if "test-artifacts" in (ROOT / ".gitignore").read_text():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "agent-callbacks.png")
    assert row["cells"][1:] == ["billing", "15550904", "", "wants the March invoice explained", "pending"]
    async with live_desk.engine.connect() as conn:
        number, stored, cancelled = (
            await conn.execute(
                text("SELECT number, at, cancelled_at FROM scheduled_callbacks WHERE id = :id"), {"id": row["id"]}
            )
        ).one()
    assert (number, cancelled) == ("15550904", None)
    local = await chromium.evaluate(f"new Date('{at}').toISOString()")  # the browser's local time
    assert stored == datetime.fromisoformat(local.replace("Z", "+00:00"))
    assert [r[4] for r in await _audited(live_desk.engine, "callback.schedule", 1)] == [201]

    await cancel_callback(chromium, row["id"])
    [after] = await callback_rows(chromium)
    assert (after["id"], after["status"], after["cancel"]) == (row["id"], "cancelled", False)
    async with live_desk.engine.connect() as conn:
        cancelled = (
            await conn.execute(text("SELECT cancelled_at FROM scheduled_callbacks WHERE id = :id"), {"id": row["id"]})
        ).scalar_one()
    assert cancelled is not None
    assert [r[:3] for r in await _audited(live_desk.engine, "callback.cancel", 1)] == [("agent", "a1", row["id"])]


CONSULT = """(() => {
  const box = document.getElementById("consult");
  return {
    shown: !box.hidden,
    agent: document.getElementById("consult-agent").textContent,
    since: box.dataset.since,
    buttons: !box.hidden && !document.getElementById("consult-complete").disabled
      && !document.getElementById("consult-back").disabled,
    form: !document.getElementById("transfer").hidden,
  };
})()"""


async def _consult_shown(page: Chromium, shown: bool, seconds: float = 10.0) -> dict[str, Any]:
    """Wait until the page shows a consult (``shown``), with its buttons, or none with the form back."""
    if shown:
        await page.until(
            f"(() => {{ const c = {CONSULT}; return c.shown && c.buttons && c.since !== ''; }})()", seconds
        )
    else:
        await page.until(f"(() => {{ const c = {CONSULT}; return !c.shown && c.form; }})()", seconds)
    consult: dict[str, Any] = await page.evaluate(CONSULT)
    return consult


async def test_the_consult_shows_in_every_browser_of_the_agent_and_after_a_reload(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
    tmp_path: Path,
) -> None:
    """The open consult comes with the desk: a second browser of the same agent shows it and its
    buttons (and finishes it), so does a reload, and so does a consult started from the phone; they
    go when the consult goes back or completes. A supervisor watching the agent does not see it."""
    other = Chromium(tmp_path / "second-browser")
    await other.start()
    try:
        await sign_in(chromium, live_desk.base_url, live_desk.bearer["a1"])
        call_id = await _talking(live_desk, chromium, "15550905")
        await sign_in(other, live_desk.base_url, live_desk.bearer["a1"])
        await wait_for_state(other, "on_call")
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{live_desk.base_url}/api/v1/agents/a2/login", headers=live_desk.auth("a2")) as r,
        ):
            assert r.status == 200, await r.text()

        # asked in the first browser; the PBX's word puts it on the desk of both
        asked = await transfer(chromium, agent="a2", kind="attended")
        assert asked["message"] == "consulting a2: the phone system is calling them", asked["message"]
        live_desk.runtime.handle_now(ConsultStarted(call_id, "a1", "a2"))
        seen = await _consult_shown(other, True)
        assert (seen["agent"], seen["form"]) == ("a2", False)
        since = datetime.fromisoformat(seen["since"])
        assert abs(since.timestamp() - live_desk.runtime.now()) < 10
        assert (await _consult_shown(chromium, True))["since"] == seen["since"]

        # "Back to caller" from the second browser: the PBX is asked, and its word clears both
        back = await finish_consult(other, "back")
        assert back["message"] == "back to the caller", back["message"]
        assert _commands(live_desk, FinishConsult, call_id)[-1].action == "cancel"
        live_desk.runtime.handle_now(ConsultEnded(call_id, "a1", "a2"))
        await _consult_shown(other, False)
        await _consult_shown(chromium, False)

        # a consult dialled from the phone (no desk asked for it) shows too, and after a reload
        live_desk.runtime.handle_now(ConsultStarted(call_id, "a1", "a2"))
        await _consult_shown(chromium, True)
        loaded = await other.evaluate("window.agentDesk.loadedAt")
        await other.send("Page.reload")  # the token kept for the tab signs in again
        await other.until(f"window.agentDesk !== undefined && window.agentDesk.loadedAt !== {loaded}", 15)
        await other.until("window.agentDesk.frames > 0", 15)
        assert (await _consult_shown(other, True))["agent"] == "a2"
        assert await other.evaluate("performance.getEntriesByType('navigation')[0].type") == "reload"

        # a supervisor of the queue watching a1 sees the call, not a1's consult
        await other.evaluate("document.getElementById('sign-out').click()")
        await sign_in(other, live_desk.base_url, live_desk.bearer["billing"], "a1")
        watched = await wait_for_state(other, "on_call")
        assert watched["call"] is not None and watched["call"]["id"] == call_id
        assert await other.evaluate("window.agentDesk.desk.call.consult") is None
        assert (await other.evaluate(CONSULT))["shown"] is False

        # "Complete" in the first browser: the PBX's word ends the consult and a1's talk
        done = await finish_consult(chromium, "complete")
        assert done["message"] == "transfer to a2: completed", done["message"]
        live_desk.runtime.handle_now(CallHandedOver(call_id, "a1", "a2"))
        await wait_for_state(chromium, "wrap_up")
        assert (await chromium.evaluate(CONSULT))["shown"] is False
    finally:
        await other.stop()


async def test_the_callback_list_follows_changes_and_says_when_the_api_refuses(
    live_desk: LiveDesk,  # noqa: F811
    chromium: Chromium,
) -> None:
    """A callback scheduled and cancelled elsewhere (the supervisor, through the API) shows in the
    desk's list with no click; when the ACD refuses the list, the desk says so above the rows it
    last had, tries again less often, and the message goes once the list can be read again."""
    await open_desk(chromium, live_desk.base_url)
    await chromium.evaluate("window.agentDesk.callbacksEveryMs = 300")
    shown = await try_sign_in(chromium, live_desk.bearer["a1"])
    assert shown["signedIn"], shown["message"]
    await chromium.until("document.querySelector('#callback-list tbody td.muted') !== null")
    at = (datetime.now().astimezone() + timedelta(days=1)).isoformat()
    async with aiohttp.ClientSession() as http:
        body = {"queue": "billing", "number": "15550906", "at": at, "note": "from the supervisor"}
        async with http.post(
            f"{live_desk.base_url}/api/v1/callbacks", json=body, headers=live_desk.auth("billing")
        ) as r:
            assert r.status == 201, await r.text()
            callback_id = (await r.json())["callback"]["id"]
        await chromium.until(
            f"document.querySelector('#callback-list tr[data-callback=\"{callback_id}\"]') !== null", 10
        )
        [row] = await callback_rows(chromium)
        assert (row["status"], row["cells"][2], row["cells"][4]) == ("pending", "15550906", "from the supervisor")
        async with http.delete(
            f"{live_desk.base_url}/api/v1/callbacks/{callback_id}", headers=live_desk.auth("billing")
        ) as r:
            assert r.status == 200, await r.text()
        await chromium.until("document.querySelector('#callback-list tr[data-status=\"cancelled\"]') !== null", 10)

    async with live_desk.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE scheduled_callbacks RENAME TO scheduled_callbacks_away"))
    try:
        await chromium.until("!document.getElementById('callback-problem').hidden", 10)
        problem = await chromium.evaluate("document.getElementById('callback-problem').textContent")
        assert problem.startswith("The callback list cannot be refreshed: 5"), problem
        await chromium.until("(window.agentDesk.callbackRefusals || 0) >= 2", 10)
        assert await chromium.evaluate("window.agentDesk.callbacksDelayMs") >= 1200  # backing off
        assert [r["id"] for r in await callback_rows(chromium)] == [callback_id]  # the rows last read stay
    finally:
        async with live_desk.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE scheduled_callbacks_away RENAME TO scheduled_callbacks"))
    await chromium.until("document.getElementById('callback-problem').hidden", 15)
    assert await chromium.evaluate("window.agentDesk.callbacksDelayMs") == 300
