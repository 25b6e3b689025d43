"""The supervisor's wallboard and the agent's desk in a real browser, over real calls.

Debian's headless Chromium (tests/integration/headless_chromium.py) opens the pages of a running
``acd run`` while farm callers ring through the real Asterisk to farm agents:

- the wallboard's numbers follow callers as they queue and are answered, with no reload;
- the agent's desk pops the caller's customer record up when the farm rings that agent, and the
  wrap-up the agent submits on the page ends wrap-up and lands in PostgreSQL (the wrap-up time is
  set through the REST API first, as a supervisor would).

Tokens and the customer are made with the ``acd`` commands an operator uses. Each page's screenshot is
saved in the test's tmp_path and in ``test-artifacts/`` (ignored by git).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import agent_page
from acd_process import acd_command, api, eventually, login, status
from e2e_stack import enqueue_caller, user_event
from integration.headless_chromium import Chromium

from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

READ_BOARD = """(() => {
  const row = document.querySelector('#queues tr[data-queue="billing"]');
  if (!row) return null;
  return {
    waiting: Number(row.querySelector(".waiting").textContent),
    calls: row.querySelector(".service-level span").title,
    level: row.querySelector(".service-level span").textContent,
    boards: window.wallboardBoards,
    navigations: performance.getEntriesByType("navigation").length,
    tiles: Object.fromEntries([...document.querySelectorAll(".tile")].map((t) => [t.dataset.agent, t.dataset.state])),
  };
})()"""


def keep_screenshot(shot: Path, name: str) -> None:
    assert shot.stat().st_size > 10_000
    if "test-artifacts" in (ROOT / ".gitignore").read_text():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / name)


def counted(board: dict[str, Any]) -> int:
    """The N of "W of N calls within T s": billing calls of the day that count for the service level."""
    return int(str(board["calls"]).split(" of ")[1].split()[0])


async def test_the_wallboard_follows_real_calls_without_a_reload(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, chromium: Chromium, tmp_path: Path
) -> None:
    acd = live_acd
    token = await acd_command(acd, "tokens", "add", "--role", "wallboard", "--label", "wall screen e2e")
    await chromium.goto(f"{acd.base}/wallboard")
    await chromium.until("document.getElementById('login')?.hidden === false")
    await chromium.evaluate(
        f"document.getElementById('token').value = {token!r};document.getElementById('login').requestSubmit(); true"
    )
    await chromium.until(f"({READ_BOARD}) !== null && ({READ_BOARD}).boards > 0")
    first = await chromium.evaluate(READ_BOARD)
    assert first["waiting"] == 0 and first["tiles"]["agent1"] == "logged_out"

    # nobody is logged in: two billing callers queue, and the board shows them waiting
    await farm.set_agent("agent1", "answer", delay=1, talk=2)
    callers = [await enqueue_caller(farm, pbx_ami, "200", patience=60) for _ in range(2)]
    await chromium.until(f"({READ_BOARD}).waiting === 2", seconds=10)

    # agent1 logs in and answers both in turn: the board follows, on the same page
    await login(acd, "agent1")
    await chromium.until(f"({READ_BOARD}).tiles.agent1 !== 'logged_out'", seconds=10)

    async def both_answered() -> bool:  # one after the other: agent1 talks 2 s, wraps up 1 s
        rows = await acd.rows(
            "SELECT outcome FROM interactions WHERE uniqueid = ANY($1) AND answered_at IS NOT NULL",
            [c["Uniqueid"] for c in callers],
        )
        return len(rows) == len(callers)

    await eventually(both_answered, 30, "both callers answered by agent1")
    await chromium.until(f"({READ_BOARD}).waiting === 0", seconds=15)
    await chromium.until(
        f"(() => {{ const b = {READ_BOARD}; return b.calls.split(' of ')[1].split(' ')[0] >= "
        f"{counted(first) + 2}; }})()",
        seconds=30,
    )
    last = await chromium.evaluate(READ_BOARD)
    assert counted(last) == counted(first) + 2
    assert last["boards"] > first["boards"]
    assert last["navigations"] == 1  # no reload: the numbers were pushed
    assert status(acd)["queues"]["billing"]["waiting"] == 0
    keep_screenshot(await chromium.screenshot(tmp_path / "wallboard.png"), "wallboard-real-calls.png")


async def test_the_agent_desk_pops_the_caller_up_and_the_wrapup_lands_in_postgres(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, chromium: Chromium, tmp_path: Path
) -> None:
    acd = live_acd
    number = f"7{time.time_ns() % 10**9:09d}"
    await acd_command(acd, "customers", "add", "--number", number, "--name", "Ada Lovelace", "--tier", "vip")
    token = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", "agent2")
    admin = await acd_command(acd, "tokens", "add", "--role", "admin", "--label", "desk e2e")
    # The ACD holds the customer directory in memory (refreshed every minute): restart it so the
    # new customer is known at once, as after a nightly import.
    assert acd.stop() == 0
    acd.start()

    async def heartbeat_fresh() -> bool:
        reply = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_HEARTBEAT"})
        value = reply[0].get("Value", "")
        return value.isdigit() and time.time() - int(value) < 3

    await eventually(heartbeat_fresh, 10, "the restarted ACD's heartbeat on the PBX")
    # a minute of wrap-up in billing, so that the form is what ends it
    code, body = api(acd, "PATCH", "/queues/billing", admin, {"wrapup": 60})
    assert code == 200 and body["queue"]["wrapup"] == 60, body
    code, body = api(acd, "PATCH", "/queues/billing", token, {"wrapup": 1})
    assert code == 403 and body["error_id"] == "forbidden", body

    await farm.set_agent("agent2", "answer", delay=3, talk=4)  # rings 3 s: the record pops up first
    await agent_page.sign_in(chromium, acd.base, token)
    shown = await agent_page.press(chromium, "login")
    assert shown["messageKind"] != "error", shown["message"]
    await agent_page.wait_for_state(chromium, "ready")

    mark = pbx_ami.mark()
    await farm.place_call("200", 60, caller_id=number)
    arrived = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
    desk = await agent_page.wait_for_customer(chromium, "Ada Lovelace", seconds=20)
    assert desk["customer"]["tier"] == "vip"
    assert number in desk["call"]["caller"] and desk["call"]["queue"] == "billing"
    assert desk["state"] == "reserved" and desk["call"]["ringing"]
    keep_screenshot(await chromium.screenshot(tmp_path / "agent-offer.png"), "agent-desktop-real-call.png")

    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent2"), 20, mark)
    await agent_page.wait_for_state(chromium, "on_call")
    await agent_page.wait_for_state(chromium, "wrap_up", seconds=20)  # the caller's 4 s are over
    await agent_page.fill_wrapup(chromium, "support/resolved", "Refund explained; calls back Friday.")
    keep_screenshot(await chromium.screenshot(tmp_path / "agent-wrapup.png"), "agent-desktop-wrapup.png")
    await agent_page.submit_wrapup(chromium, "support/resolved", "Refund explained; calls back Friday.")
    await agent_page.wait_for_state(chromium, "ready", seconds=5)  # the form ended wrap-up, not the minute
    assert acd.agent_state("agent2") == "ready"

    async def recorded() -> Any:
        rows = await acd.rows(
            "SELECT disposition, notes, agent_id, outcome FROM interactions WHERE uniqueid = $1", arrived["Uniqueid"]
        )
        return rows if rows and rows[0]["disposition"] is not None else None

    rows = await eventually(recorded, 20, "the wrap-up in the interaction's record")
    assert rows[0]["disposition"] == "support/resolved"
    assert rows[0]["notes"] == "Refund explained; calls back Friday."
    assert rows[0]["agent_id"] == "agent2" and rows[0]["outcome"] == "answered"
    audit = await acd.rows("SELECT action, target, status FROM audit_log ORDER BY at")
    assert [(r["action"], r["target"], r["status"]) for r in audit] == [
        ("queue.update", "billing", 200),
        ("agent.login", "agent2", 200),
        ("agent.wrapup", "agent2", 200),
    ]
