"""Readers of the live state (the REST API, the wallboard, the agent desk) go through ``LiveView``, which
can only read: the core changes through the one writer alone (``acd.runtime``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from core_builders import agent, config, queue

import acd
from acd.core.acd import Acd
from acd.live_view import LiveView
from acd.metrics import Metrics
from acd.runtime import Runtime

ROOT = Path(acd.__file__).parent
READERS = ("http", "desk", "wallboard")
CONFIG = config([queue("billing", {"billing": 1})], [agent("a1", {"billing": 3})])


class _Nothing:
    def append(self, record: object) -> None: ...


def test_no_reader_reaches_into_the_core() -> None:
    reaching = []
    for package in READERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and node.attr == "core":
                    reaching.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert reaching == [], "read the live state through acd.live_view.LiveView"


def test_the_view_offers_no_way_to_change_anything() -> None:
    runtime = Runtime(Acd(CONFIG), None, _Nothing(), Metrics(CONFIG.queues), clock=lambda: 100.0)  # type: ignore[arg-type]
    view = LiveView(runtime)
    for door in ("handle", "handle_now", "ask", "submit", "deliver", "core", "_core"):
        assert not hasattr(view, door), door
    with pytest.raises(AttributeError):
        view.extra = 1  # type: ignore[attr-defined]
    assert view.now() == 100.0
    assert view.has_agent("a1") and view.agent("a1") is not None
    assert view.agent_view("a1", 100.0) is not None
    assert view.queued_calls(100.0) == [] and view.explain("c1") is None
