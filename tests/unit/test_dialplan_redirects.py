"""The caller's dialplan stays safe under a Redirect that races a jump (docs/dialplan.md, "Redirects").

Asterisk lets a running Goto, GotoIf, Gosub or Return win over a Redirect that lands at that moment:
the jump goes one priority early (target - 1). These are the rules that keep that harmless, checked
on the contexts the ACD redirects callers into or out of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

DIALPLANS = [
    Path(__file__).resolve().parents[2] / "dialplan" / name
    for name in ("acd-queue.conf", "acd-transfer.conf", "acd-callback.conf")
]
REDIRECTED = (
    "acd-enqueue",
    "acd-hold",
    "acd-announce",
    "acd-connect",
    "acd-connect-mark",
    "acd-overflow",
    "acd-transfer",
    "acd-callback-offer",  # a caller offered a callback may be rung meanwhile
    "acd-callback-confirm",
)
JUMPS = ("Goto", "GotoIf")
# (one more slice of music only delays the next check)
HARMLESS_TWICE = re.compile(r"^(NoOp|Set|MSet|Goto|GotoIf|MusicOnHold)\(|^ExecIf\([^?]*\?Set\(")
BLOCKING = ("MusicOnHold", "Dial", "Hangup")


@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    priority: int
    label: str
    app: str
    data: str


def parse(text: str) -> list[Step]:
    steps: list[Step] = []
    context, exten, priority = "", "", 0
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip() if not raw.strip().startswith(";") else ""
        if not line:
            continue
        if m := re.fullmatch(r"\[([^\]]+)\]", line):
            context = m.group(1)
            continue
        if m := re.fullmatch(r"exten\s*=>\s*([^,]+),1,(.*)", line):
            exten, priority, rest = m.group(1), 1, m.group(2)
        elif m := re.fullmatch(r"same\s*=>\s*n(?:\(([^)]+)\))?,(.*)", line):
            priority += 1
            rest = m.group(2) if m.group(1) is None else f"({m.group(1)}){m.group(2)}"
        else:
            continue
        label = ""
        if lm := re.match(r"\(([^)]+)\)(.*)", rest):
            label, rest = lm.group(1), lm.group(2)
        am = re.fullmatch(r"(\w+)\((.*)\)", rest)
        assert am, f"cannot read {raw!r}"
        steps.append(Step(context, exten, priority, label, am.group(1), am.group(2)))
    return steps


STEPS = [step for dialplan in DIALPLANS for step in parse(dialplan.read_text())]
WATCHED = [s for s in STEPS if s.context in REDIRECTED and s.exten != "h"]


def targets(step: Step) -> list[tuple[str, str, str]]:
    """(context, exten, label or priority) of each place a Goto/GotoIf can jump to."""
    data = step.data.split("?", 1)[1] if step.app == "GotoIf" else step.data
    out = []
    for place in (p for p in data.split(":") if p):
        parts = place.split(",")
        context, exten = step.context, step.exten
        if len(parts) == 3:
            context, exten, where = parts
        elif len(parts) == 2:
            exten, where = parts
        else:
            (where,) = parts
        # a jump to the extension a variable names: acd-connect's to the agent's (checked as an endpoint name),
        # or a claim's to its target (acd-enqueue, docs/dialplan.md "Claims")
        if exten == "${ACD_CLAIM}" or (exten == "${EXTEN}" and step.exten.startswith("_~")):
            exten = "~agent1~" + "0" * 32 + "~15~~0"
        out.append((context, "agent1" if exten.startswith("${") else exten, where))
    return out


def matches(pattern: str, exten: str) -> bool:
    """An extension as Asterisk matches it: itself, or a ``_`` pattern (X, N, Z, [..], ., !)."""
    if pattern == exten or not pattern.startswith("_"):
        return pattern == exten
    wild = {"X": "[0-9]", "N": "[2-9]", "Z": "[1-9]", ".": ".+", "!": ".*"}
    tokens = re.findall(r"\[[^\]]*\]|.", pattern[1:])
    regex = "".join(t if t.startswith("[") else wild.get(t.upper(), re.escape(t)) for t in tokens)
    return re.fullmatch(regex, exten) is not None


def find(context: str, exten: str, where: str) -> Step:
    for step in STEPS:
        if (
            step.context == context
            and matches(step.exten, exten)
            and (step.label == where or str(step.priority) == where)
        ):
            return step
    raise AssertionError(f"no {context},{exten},{where}")


def test_the_parse_sees_the_contexts() -> None:
    assert {s.context for s in WATCHED} == set(REDIRECTED)
    assert any(s.app == "Dial" for s in WATCHED)


def test_no_gosub_where_the_acd_redirects() -> None:
    assert [f"{s.context},{s.exten},{s.priority}" for s in WATCHED if s.app.startswith(("Gosub", "Return"))] == []


@pytest.mark.parametrize("jump", [s for s in WATCHED if s.app in JUMPS], ids=lambda s: f"{s.context}-{s.priority}")
def test_every_jump_lands_on_a_label_after_a_step_harmless_twice(jump: Step) -> None:
    for context, exten, where in targets(jump):
        target = find(context, exten, where)
        assert target.label == where, f"{jump}: jumps to a bare priority"
        assert target.priority >= 2, f"{jump}: target - 1 would be priority 0, which hangs the caller up"
        before = find(context, exten, str(target.priority - 1))
        assert HARMLESS_TWICE.match(f"{before.app}({before.data})"), f"{jump}: lands early on {before}"


ANSWERED_BY_A_REDIRECT = [
    s
    for s in WATCHED
    if s.app == "UserEvent" and s.data.split(",", 1)[0] in ("AcdEnqueue", "AcdDialResult", "AcdTransferred")
]


@pytest.mark.parametrize("event", ANSWERED_BY_A_REDIRECT, ids=lambda s: f"{s.context}-{s.priority}")
def test_no_jump_between_an_event_the_acd_answers_and_the_next_wait(event: Step) -> None:
    """The ACD redirects a millisecond after AcdEnqueue, a failed Dial's AcdDialResult or a transfer's
    AcdTransferred: land safely."""
    after = [s for s in WATCHED if (s.context, s.exten) == (event.context, event.exten) and s.priority > event.priority]
    for step in after:
        if step.app in BLOCKING:
            return
        assert step.app not in (*JUMPS, "Gosub", "GosubIf", "Return"), f"{step} runs a jump after {event.data}"
    raise AssertionError(f"{event} is never followed by a wait")


def test_those_events_are_found() -> None:
    assert {s.data.split(",", 1)[0] for s in ANSWERED_BY_A_REDIRECT} == {
        "AcdEnqueue",
        "AcdDialResult",
        "AcdTransferred",
    }
