"""The routing document (skills, queues, agents in acd.toml's shape) and the checks it shares with the
file: a document the REST API stores is refused for exactly what the file would be refused for."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from acd.core.config import DEFAULT_DISPOSITIONS, RoutingPolicy
from acd.routing_document import document_of, skill_users
from acd.settings import SettingsError, load, routing_from_document

ROOT = Path(__file__).resolve().parents[2]
POLICY = RoutingPolicy()


def _shipped() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "acd.toml").read_text())
    return {key: data[key] for key in ("skills", "queues", "agents")}


def _problems(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        routing_from_document(document, POLICY, "test")
    return {p.key: p.message for p in caught.value.problems}


def test_the_shipped_file_and_its_document_give_the_same_config() -> None:
    settings = load(ROOT / "acd.toml", env={})
    config, skills = routing_from_document(_shipped(), settings.routing.policy, "test")
    assert config == settings.routing and skills == settings.skills == ("billing", "sales", "support")


def test_document_of_a_config_reads_back_as_the_same_config() -> None:
    settings = load(ROOT / "acd.toml", env={})
    document = document_of(settings.routing, settings.skills)
    assert document["queues"]["support"]["widening"][1]["extra_skills"] == {"billing": 4}
    assert document["agents"]["agent1"] == {
        "name": "Ada",
        "endpoint": "agent1",
        "skills": {"billing": 5, "support": 2},
        "team": "",
    }
    assert routing_from_document(document, settings.routing.policy, "test") == (settings.routing, settings.skills)


def test_declared_but_unused_skills_are_kept() -> None:
    document = _shipped()
    document["skills"].append("french")
    config, skills = routing_from_document(document, POLICY, "test")
    assert "french" in skills and document_of(config, skills)["skills"] == ["billing", "french", "sales", "support"]


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda d: d["agents"]["agent1"]["skills"].update(billing=7), "agents.agent1.skills.billing", "at most 5"),
        (lambda d: d["agents"]["agent1"]["skills"].update(billing=0), "agents.agent1.skills.billing", "at least 1"),
        (lambda d: d["agents"]["agent1"]["skills"].update(french=3), "agents.agent1.skills.french", "unknown skill"),
        (lambda d: d["queues"]["sales"]["skills"].update(french=1), "queues.sales.skills.french", "unknown skill"),
        (lambda d: d["queues"]["sales"].update(sla_target=1.5), "queues.sales.sla_target", "at most 1"),
        (lambda d: d["queues"]["sales"].update(sla_treshold=20), "queues.sales.sla_treshold", "unknown key"),
        (lambda d: d["queues"]["sales"].pop("skills"), "queues.sales.skills", "missing"),
        (lambda d: d["queues"]["sales"].update(max_wait=float("nan")), "queues.sales.max_wait", "must be a number"),
        (lambda d: d["queues"]["sales"].update(max_wait=float("inf")), "queues.sales.max_wait", "must be a number"),
        (lambda d: d["queues"]["sales"].update(max_wait=10**400), "queues.sales.max_wait", "must be a number"),
        (lambda d: d["queues"]["sales"].update(overflow="voice\x00mail"), "queues.sales.overflow", "without NUL"),
        (lambda d: d["agents"]["agent2"].update(endpoint="agent1"), "agents.agent2.endpoint", "already used by agent"),
        (
            lambda d: d["agents"]["agent2"].update(endpoint="PJSIP/agent1"),
            "agents.agent2.endpoint",
            "already used by agent",
        ),
        (lambda d: d["agents"]["agent2"].update(name=5), "agents.agent2.name", "a string"),
        (lambda d: d["agents"]["agent2"].update(name="Bo\ud800"), "agents.agent2.name", "control characters"),
        (lambda d: d["agents"]["agent2"].update(name="Bo\x1b]0;x\x07"), "agents.agent2.name", "control characters"),
        (
            lambda d: d["agents"]["agent2"].update(endpoint="agent2&PJSIP/+19005550100@carrier"),
            "agents.agent2.endpoint",
            "PJSIP endpoint name",
        ),
        (
            lambda d: d["agents"]["agent2"].update(endpoint="agent2,30,L(1)"),
            "agents.agent2.endpoint",
            "PJSIP endpoint name",
        ),
        (lambda d: d["queues"]["sales"].update(overflow="operator"), "queues.sales.overflow", "not an overflow target"),
        (
            lambda d: d["queues"]["sales"].update(overflow="voicemail,1"),
            "queues.sales.overflow",
            "not an overflow target",
        ),
        (
            lambda d: d["queues"]["sales"].update(vip_priority_boost=2**31),
            "queues.sales.vip_priority_boost",
            "at most 9",
        ),
        (lambda d: d["queues"]["sales"].update(wrapup=2**63), "queues.sales.wrapup", "at most 86400"),
        (lambda d: d["queues"].update({"bad name": d["queues"]["sales"]}), "queues.bad name", "queue name"),
        (lambda d: d["agents"].update({"x" * 65: {"skills": {"sales": 1}}}), "agents." + "x" * 65, "agent id"),
        (lambda d: d["skills"].append("billing"), "skills", "more than once"),
        (lambda d: d["skills"].append("-x"), "skills[3]", "skill"),
        (lambda d: d.update(queues={}), "queues", "at least one queue"),
        (lambda d: d["queues"]["sales"].update(dispositions=[]), "queues.sales.dispositions", "1 to 100 codes"),
        (lambda d: d["queues"]["sales"].update(dispositions="order/new"), "queues.sales.dispositions", "an array"),
        (
            lambda d: d["queues"]["sales"].update(dispositions=["order/new"] * 101),
            "queues.sales.dispositions",
            "1 to 100 codes",
        ),
        (lambda d: d["queues"]["sales"].update(dispositions=["sold"]), "queues.sales.dispositions[0]", "kind/sub-code"),
        (
            lambda d: d["queues"]["sales"].update(dispositions=["order/new", "Order/New"]),
            "queues.sales.dispositions[1]",
            "lower-case",
        ),
        (
            lambda d: d["queues"]["sales"].update(dispositions=["order/" + "x" * 33]),
            "queues.sales.dispositions[0]",
            "1 to 32",
        ),
        (
            lambda d: d["queues"]["sales"].update(dispositions=["order/new", "order/new"]),
            "queues.sales.dispositions",
            "more than once",
        ),
        (lambda d: d["queues"]["sales"].update(dispositions=[5]), "queues.sales.dispositions[0]", "kind/sub-code"),
        (lambda d: d.update(routing={}), "routing", "unknown key"),
        (lambda d: d["queues"]["sales"].update(resolving=["order/none"]), "queues.sales.resolving", "not in the queue"),
        (lambda d: d["queues"]["sales"].update(resolving="order/new"), "queues.sales.resolving", "an array"),
        (lambda d: d["queues"]["sales"].update(otf=5), "queues.sales.otf", "a table"),
        (lambda d: d["queues"]["sales"].update(otf={"window": 5}), "queues.sales.otf.window", "unknown key"),
        (
            lambda d: d["queues"]["sales"].update(otf={"repeat_window": -1}),
            "queues.sales.otf.repeat_window",
            "at least",
        ),
        (lambda d: d["queues"]["sales"].update(otf={"answer": "yes"}), "queues.sales.otf.answer", "true or false"),
        (lambda d: d["queues"]["sales"].update(otf={"order_promise": 0}), "queues.sales.otf.order_promise", "at least"),
    ],
)
def test_a_bad_document_is_refused_with_the_file_s_key(change: Any, key: str, words: str) -> None:
    document = copy.deepcopy(_shipped())
    change(document)
    problems = _problems(document)
    assert key in problems and words in problems[key], problems


def test_a_queue_without_dispositions_gets_the_default_catalogue_and_writes_it_out() -> None:
    document = copy.deepcopy(_shipped())
    document["queues"]["sales"].pop("dispositions", None)
    config, skills = routing_from_document(document, POLICY, "test")
    sales = next(q for q in config.queues if q.name == "sales")
    assert sales.dispositions == DEFAULT_DISPOSITIONS
    assert {c.partition("/")[0] for c in DEFAULT_DISPOSITIONS} == {"inquiry", "complaint", "order", "support"}
    assert document_of(config, skills)["queues"]["sales"]["dispositions"] == list(DEFAULT_DISPOSITIONS)


def test_a_queue_s_own_catalogue_round_trips() -> None:
    document = copy.deepcopy(_shipped())
    document["queues"]["sales"]["dispositions"] = ["order/new", "order/upsell", "inquiry/price"]
    config, skills = routing_from_document(document, POLICY, "test")
    again = document_of(config, skills)
    assert again["queues"]["sales"]["dispositions"] == ["order/new", "order/upsell", "inquiry/price"]
    assert routing_from_document(again, POLICY, "test")[0] == config


def test_every_problem_is_listed_at_once() -> None:
    document = _shipped()
    document["queues"]["sales"]["sla_target"] = 2
    document["agents"]["agent1"]["skills"]["billing"] = 9
    assert {"queues.sales.sla_target", "agents.agent1.skills.billing"} <= set(_problems(document))


def test_skill_users_include_widening() -> None:
    document = _shipped()
    assert skill_users(document, "billing") == {
        "queues": ["billing", "support"],
        "agents": ["agent1", "agent2", "agent3", "agent5"],
    }
    assert skill_users(document, "nothing") == {"queues": [], "agents": []}


def test_an_endpoint_is_stored_in_its_one_form() -> None:
    document = _shipped()
    document["agents"]["agent2"]["endpoint"] = "PJSIP/agent2"
    config, skills = routing_from_document(document, POLICY, "test")
    assert next(a.endpoint for a in config.agents if a.id == "agent2") == "agent2"
    assert document_of(config, skills)["agents"]["agent2"]["endpoint"] == "agent2"


def test_the_declared_overflow_targets_come_from_the_policy() -> None:
    document = _shipped()
    document["queues"]["sales"]["overflow"] = "operator"
    config, _ = routing_from_document(document, RoutingPolicy(overflow_targets=("voicemail", "operator")), "test")
    assert config.queue("sales").overflow_target == "operator"  # type: ignore[union-attr]


def test_a_queue_s_callback_settings_round_trip() -> None:
    """What the REST API stores keeps them: a revision made through it must not drop a callback."""
    document = _shipped()
    document["queues"]["sales"].update(callback_after=45, callback_attempts=2, callback_gap=30)
    config, skills = routing_from_document(document, POLICY, "test")
    sales = config.queue("sales")
    assert sales is not None
    assert (sales.callback_after_seconds, sales.callback_attempts, sales.callback_gap_seconds) == (45, 2, 30)
    assert routing_from_document(document_of(config, skills), POLICY, "test") == (config, skills)
    billing = config.queue("billing")
    assert billing is not None and billing.callback_after_seconds is None
    assert "callback_after" not in document_of(config, skills)["queues"]["billing"]
