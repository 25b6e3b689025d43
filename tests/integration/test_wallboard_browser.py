"""The wallboard in a real browser (Debian's headless Chromium) over the live ACD's steady traffic:
its numbers follow calls as they arrive and are answered, pushed by the server, with no reload.

Leaves a screenshot in the test's tmp_path, and in ``test-artifacts/`` at the top of the checkout
(ignored by git) for a person or a CI job to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from integration.headless_chromium import Chromium
from live_acd import WALLBOARD_TOKEN, LiveAcd

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

READ_BOARD = """(() => {
  const row = (q) => document.querySelector(`#queues tr[data-queue="${q}"]`);
  const queue = (q) => ({
    waiting: row(q).querySelector(".waiting").textContent,
    oldest: row(q).querySelector(".oldest-wait").textContent,
    level: row(q).querySelector(".service-level span").textContent,
    calls: row(q).querySelector(".service-level span").title,
    status: row(q).querySelector(".service-level").dataset.status,
    available: row(q).querySelector(".available").textContent,
  });
  return {
    loadedAt: window.wallboardLoadedAt,
    boards: window.wallboardBoards,
    navigations: performance.getEntriesByType("navigation").length,
    billing: queue("billing"),
    sales: queue("sales"),
    tiles: [...document.querySelectorAll("#agents .tile")].map((t) => t.dataset.agent + ":" + t.dataset.state),
    objectives: Object.fromEntries([...document.querySelectorAll("#objectives .tile")].map(
      (t) => [t.dataset.objective, t.dataset.status + " " + t.querySelector(".attainment").textContent])),
    feed: document.getElementById("feed").dataset.state,
  };
})()"""


def counted(board: dict[str, Any]) -> int:
    """The N of "W of N calls within T s": billing calls of the day that count for the service level."""
    return int(board["billing"]["calls"].split(" of ")[1].split()[0])


async def test_the_wallboard_follows_live_calls_without_a_reload(
    live_acd: LiveAcd, chromium: Chromium, tmp_path: Path
) -> None:
    await chromium.goto(f"http://{live_acd.target}/wallboard")
    # the screen asks for a token once (a read-only wallboard token): typed into the page, kept in
    # localStorage, never in the URL
    await chromium.until("document.getElementById('login')?.hidden === false")
    await chromium.evaluate(
        f"document.getElementById('token').value = {WALLBOARD_TOKEN!r};"
        "document.getElementById('login').requestSubmit(); true"
    )
    await chromium.until("window.wallboardBoards > 0 && document.querySelector('#queues tbody tr') !== null")
    await chromium.until(f"({READ_BOARD}).billing.calls.startsWith('0 of') === false")
    first = await chromium.evaluate(READ_BOARD)
    assert first["feed"] == "live"
    assert sorted(first["tiles"])[2] == "a3:paused"
    assert first["billing"]["status"] in {"ok", "at_risk", "breached"}
    assert first["billing"]["level"].endswith("%")
    # a tile per objective of the screen's queues, with the acd_objective_* figures (set by hand here)
    assert first["objectives"] == {
        "billing-aht": "on_track 120 s (<= 300 s)",
        "billing-breaches": "on_track 3 (<= 10)",
        "billing-sl": "at_risk 62.0 % (>= 80.0 %)",
        "billing-otf": "on_track 81.0 % (>= 70.0 %)",
        "billing-fcr": "on_track 86.0 % (>= 75.0 %)",
    }
    # billing calls keep arriving and being answered: the count of calls grows on the same page
    await chromium.until(f"(({READ_BOARD}).billing.calls) !== {first['billing']['calls']!r}", seconds=10)
    await chromium.until(f"({READ_BOARD}).boards >= {first['boards'] + 3}", seconds=10)
    second = await chromium.evaluate(READ_BOARD)
    assert counted(second) > counted(first)
    assert second["boards"] > first["boards"]
    assert second["loadedAt"] == first["loadedAt"]  # the same page: set once at load
    assert second["navigations"] == 1
    assert await chromium.evaluate("localStorage.getItem('acd.wallboard.token')") == WALLBOARD_TOKEN
    assert WALLBOARD_TOKEN not in await chromium.evaluate("location.href")
    # a level that the live tally gives: billing answers 1, 4 and 25 s waits in turn (T = 20 s)
    level = float(second["billing"]["level"].split()[0])
    assert 50.0 <= level <= 80.0
    shot = await chromium.screenshot(tmp_path / "wallboard.png")
    assert shot.stat().st_size > 10_000
    if "test-artifacts" in (ROOT / ".gitignore").read_text():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "wallboard.png")
