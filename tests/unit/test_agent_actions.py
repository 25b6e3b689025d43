"""The agent actions are one table for both doors: every feature code the dialplan raises and every
action route of the API is a row of ``acd.agent_actions``, and the same row gives the same event."""

from __future__ import annotations

import re
from pathlib import Path

from acd.agent_actions import ACTIONS, BY_FEATURE, BY_VERB
from acd.core.events import AgentPaused, WrapUpDone
from acd.http.v1.routes import ROUTES

DIALPLAN = Path(__file__).parents[2] / "dialplan" / "acd-agents.conf"
APART = {"disposition"}  # needs the agent's last call: the translator's own


def test_every_feature_code_is_a_row() -> None:
    words = set(re.findall(r"Gosub\(acd-agent-feature,s,1\((\w+)", DIALPLAN.read_text()))
    assert words, "no feature codes found"
    assert words - APART == set(BY_FEATURE)


def test_every_action_has_its_api_route() -> None:
    routes = {r.path for r in ROUTES if r.method == "POST"}
    assert {f"/agents/{{agent}}/{a.verb}" for a in ACTIONS} <= routes


def test_both_spellings_of_ending_wrap_up_are_one_action() -> None:
    assert BY_VERB["ready"] is BY_FEATURE["wrapup_done"]
    assert BY_VERB["ready"].event("a1", "") == WrapUpDone("a1")
    assert BY_FEATURE["pause"].event("a1", "") == AgentPaused("a1", "break")
    assert BY_VERB["pause"].event("a1", "lunch") == AgentPaused("a1", "lunch")
