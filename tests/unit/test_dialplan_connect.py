"""acd-connect's two forms of an offer ring the same way (docs/dialplan.md, "Connecting").

The one-action form (``~<agent>~<offer>~<ring>~<epoch>~<record>``) sets the offer's variables from its
target and then rings with its own copy of the old form's steps (a jump to them would add one more
jump before the Dial, where a cancel that lands on it is lost). The copy must not drift, and the way to
the Dial must hold no more jumps than the old form's.
"""

from __future__ import annotations

import re
from pathlib import Path

DIALPLAN = Path(__file__).resolve().parents[2] / "dialplan" / "acd-queue.conf"


def extensions(context: str) -> dict[str, list[str]]:
    """Each extension of ``context``: its steps (application and data, label kept), comments dropped."""
    out: dict[str, list[str]] = {}
    current, exten = "", ""
    for raw in DIALPLAN.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if m := re.fullmatch(r"\[([^\]]+)\]", line):
            current = m.group(1)
            continue
        if current != context:
            continue
        if m := re.fullmatch(r"exten\s*=>\s*([^,]+),1,(.*)", line):
            exten = m.group(1)
            out[exten] = [m.group(2)]
        elif m := re.fullmatch(r"same\s*=>\s*n(\([^)]+\))?,(.*)", line):
            out[exten].append((m.group(1) or "") + m.group(2))
    return out


CONNECT = extensions("acd-connect")
ONE_ACTION, OLD = CONNECT["_~."], CONNECT["_[0-9A-Za-z]."]


def ringing(steps: list[str]) -> list[str]:
    """From the AcdRinging step to the Hangup after an answer."""
    start = next(i for i, s in enumerate(steps) if s.startswith("(offered)UserEvent(AcdRinging,"))
    end = next(i for i, s in enumerate(steps) if i > start and s == "Hangup()")
    return steps[start : end + 1]


def test_both_forms_ring_with_the_same_steps() -> None:
    assert ringing(ONE_ACTION) == ringing(OLD)
    assert any(s.startswith("Dial(PJSIP/${ACD_AGENT},") for s in ringing(OLD))


def test_the_one_action_form_has_no_more_jumps_before_its_dial_than_the_old() -> None:
    def jumps(steps: list[str]) -> int:
        before = steps[: steps.index(ringing(steps)[0])]
        return sum(1 for s in before if re.match(r"(\([^)]+\))?(Goto|GotoIf|Gosub)\(", s))

    assert jumps(ONE_ACTION) <= jumps(OLD) == 2


def test_nothing_of_the_target_is_used_before_its_characters_are_filtered() -> None:
    """The first use of the extension is the FILTER to the fields' characters (ACD_X, that the fields are
    cut from); every later step reads it or the fields, except the length comparison that refuses a
    shortened one."""
    uses = [s for s in ONE_ACTION if "${EXTEN" in s]
    assert re.findall(r"\$\{[^{}]*\$\{EXTEN[^}]*\}[^}]*\}", uses[0]) == ["${FILTER(-_.0-9A-Za-z~,${EXTEN:1})}"]
    assert all("${LEN(${EXTEN:1})}" in s and s.count("${EXTEN") == 1 for s in uses[1:]), uses


def test_every_ring_clears_an_earlier_answer_before_its_dial() -> None:
    """``SHARED(ACD_ANSWERED)`` is the answer of the offer that rings now, never an earlier one's (an answer
    in the last moment of a ring the ACD cancelled sends the caller back to holding with it set): the h
    extension would trace the next agent's ring as a talk, and a resync take it for one (docs/dialplan.md,
    "Ends the ACD did not see")."""
    for steps in (ONE_ACTION, OLD):
        ring = ringing(steps)
        dial = next(i for i, s in enumerate(ring) if s.startswith("Dial("))
        assert any(re.match(r"MSet\(.*[(,]SHARED\(ACD_ANSWERED\)=[,)]", s) for s in ring[:dial]), ring[:dial]
